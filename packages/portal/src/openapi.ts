import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildPortalApp } from './app';
import { loadPortalConfig } from './config';
import { initKeyStore } from './modules/signing/signing-keys';
import { openPortalDatabase } from './store';

/** Builds the app over a throwaway SQLite database and returns its OpenAPI document. */
export async function openApiDocument(): Promise<unknown> {
  const dir = mkdtempSync(join(tmpdir(), 'wispanel-openapi-'));
  try {
    const config = loadPortalConfig({ dataDir: dir }, {});
    initKeyStore(config.keysDir);
    const database = await openPortalDatabase(config);
    const app = await buildPortalApp({ config, database });
    await app.ready();
    const doc = app.swagger();
    await app.close();
    await database.close();
    return doc;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
