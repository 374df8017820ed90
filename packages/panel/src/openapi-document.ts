import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, migrate, openDatabase } from '@wispanel/kit';
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
    // Exactly what a running panel serves (examples included).
    const res = await app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
    await app.close();
    return res.json() as Record<string, unknown>;
  } finally {
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export const serializeOpenApi = (doc: unknown) => `${JSON.stringify(doc, null, 2)}\n`;
