import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withRecordedExamples } from '@wispanel/kit';
import { buildPortalApp } from './app';
import { loadPortalConfig } from './config';
import { initKeyStore } from './modules/signing/signing-keys';
import { openPortalDatabase } from './store';

/** Real answers of a running portal (scripts/record-examples.ts), put into the document as examples. */
const EXAMPLES = new URL('../openapi-examples.json', import.meta.url);

/** Builds the app over a throwaway SQLite database and returns its OpenAPI document, with recorded examples. */
export async function openApiDocument(): Promise<unknown> {
  const dir = mkdtempSync(join(tmpdir(), 'wispanel-openapi-'));
  try {
    const config = loadPortalConfig({ dataDir: dir }, {});
    initKeyStore(config.keysDir);
    const database = await openPortalDatabase(config);
    const app = await buildPortalApp({ config, database });
    await app.ready();
    const doc = withRecordedExamples(
      JSON.parse(JSON.stringify(app.swagger())) as Record<string, unknown>,
      EXAMPLES,
      'portal',
    );
    await app.close();
    await database.close();
    return doc;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
