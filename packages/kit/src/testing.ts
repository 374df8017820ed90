import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/** Test helpers (never imported by production code). */

/** The PostgreSQL server `npm test` started, or undefined when none is available (suites then skip). */
export const testPostgresUrl: string | undefined = process.env.WISPANEL_TEST_PG_URL;

/** Creates a fresh, empty PostgreSQL database on the test server and returns its URL and a drop function. */
export async function createTestPostgresDatabase(
  serverUrl: string | undefined = testPostgresUrl,
): Promise<{ url: string; drop: () => Promise<void> }> {
  if (!serverUrl) throw new Error('WISPANEL_TEST_PG_URL is not set');
  const name = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** A temporary directory removed by the returned function. */
export function tempDir(prefix = 'wispanel-test-'): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
