import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, migrate, openDatabase, withRecordedExamples } from '@wispanel/kit';
import { buildPanelApp } from './app';
import { loadPanelConfig } from './config';
import type { PanelDB } from './db/schema';
import { migrations } from './migrations';

/** The OpenAPI document exactly as a running panel serves it (built in-process over a throwaway database). */
export async function generateOpenApiDocument(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'wispanel-openapi-'));
  const config = loadPanelConfig({ dataDir: dir, noTls: true, logLevel: 'silent' }, {});
  const database = openDatabase<PanelDB>(':memory:');
  try {
    await migrate(database, migrations);
    const app = await buildPanelApp({
      config,
      db: database.db,
      dialect: database.dialect,
      logger: createLogger({ level: 'silent' }),
      hardwareId: '0'.repeat(64),
    });
    const doc = app.swagger() as unknown as Record<string, unknown>;
    await app.close();
    return withRecordedExamples(
      JSON.parse(JSON.stringify(doc)) as Record<string, unknown>,
      EXAMPLES,
      'panel',
    );
  } finally {
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export const serializeOpenApi = (doc: unknown) => `${JSON.stringify(doc, null, 2)}\n`;

const EXAMPLES = new URL('../openapi-examples.json', import.meta.url);
