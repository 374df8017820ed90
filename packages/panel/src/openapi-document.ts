import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
    const doc = app.swagger() as unknown as Record<string, unknown>;
    await app.close();
    return withRecordedExamples(JSON.parse(JSON.stringify(doc)) as Record<string, unknown>);
  } finally {
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export const serializeOpenApi = (doc: unknown) => `${JSON.stringify(doc, null, 2)}\n`;

const EXAMPLES = new URL('../openapi-examples.json', import.meta.url);

/**
 * Real answers recorded from a running panel (scripts/record-examples.ts → openapi-examples.json), each put into
 * its operation as the JSON `example` of its status. test/openapi.test.ts validates every one against its schema.
 */
export function withRecordedExamples(doc: Record<string, unknown>): Record<string, unknown> {
  if (!existsSync(EXAMPLES)) return doc;
  const examples = JSON.parse(readFileSync(EXAMPLES, 'utf8')) as Record<string, Record<string, unknown>>;
  // biome-ignore lint/suspicious/noExplicitAny: walking a JSON document
  const paths = doc.paths as Record<string, Record<string, any>>;
  for (const [operation, byStatus] of Object.entries(examples)) {
    const [method, path] = operation.split(' ') as [string, string];
    const op = paths[path]?.[method.toLowerCase()];
    if (!op) throw new Error(`openapi-examples.json: ${operation} is not an operation of the panel`);
    for (const [status, example] of Object.entries(byStatus)) {
      const media = op.responses?.[status]?.content?.['application/json'];
      if (!media) throw new Error(`openapi-examples.json: ${operation} documents no JSON answer ${status}`);
      media.example = example;
    }
  }
  return doc;
}
