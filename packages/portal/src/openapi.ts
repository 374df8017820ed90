import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildPortalApp } from './app';
import { loadPortalConfig } from './config';
import { initKeyStore } from './modules/signing/signing-keys';
import { openPortalDatabase } from './store';

/** Builds the app over a throwaway SQLite database and returns the OpenAPI document it serves (with examples). */
export async function openApiDocument(): Promise<unknown> {
  const dir = mkdtempSync(join(tmpdir(), 'wispanel-openapi-'));
  try {
    const config = loadPortalConfig({ dataDir: dir }, {});
    initKeyStore(config.keysDir);
    const database = await openPortalDatabase(config);
    const app = await buildPortalApp({ config, database });
    await app.ready();
    // Exactly what a running portal serves (examples included).
    const doc = (await app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json();
    await app.close();
    await database.close();
    return doc;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
