import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { isUniqueViolation, type Migration, migrate, openDatabase } from './database';
import { createTestPostgresDatabase, tempDir, testPostgresUrl } from './testing';

const migrations: Migration[] = [
  {
    id: '001_items',
    sqlite: ['CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)'],
    postgres: ['CREATE TABLE items (id SERIAL PRIMARY KEY, name TEXT NOT NULL UNIQUE)'],
  },
];

async function exercise(url: string) {
  const database = openDatabase<{ items: { id: number; name: string } }>(url);
  try {
    expect(await migrate(database, migrations)).toEqual(['001_items']);
    expect(await migrate(database, migrations)).toEqual([]);
    await database.db
      .insertInto('items')
      .values({ name: 'a' } as never)
      .execute();
    const dup = await database.db
      .insertInto('items')
      .values({ name: 'a' } as never)
      .execute()
      .catch((e) => e);
    expect(isUniqueViolation(dup)).toBe(true);
    const count = await sql<{ n: number }>`SELECT COUNT(*) AS n FROM items`.execute(database.db);
    expect(count.rows[0]?.n).toBe(1);
  } finally {
    await database.close();
  }
}

describe('database', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('migrates once and detects unique violations on SQLite', async () => {
    await exercise(`${dir.path}/test.db`);
  });

  it.skipIf(!testPostgresUrl)('migrates once and detects unique violations on PostgreSQL', async () => {
    const pgdb = await createTestPostgresDatabase();
    try {
      await exercise(pgdb.url);
    } finally {
      await pgdb.drop();
    }
  });

  it('reuses one prepared statement per SQL text on SQLite, and still sees schema changes', async () => {
    const database = openDatabase<{ items: { id: number; name: string } }>(`${dir.path}/cache.db`);
    try {
      await migrate(database, migrations);
      await database.db
        .insertInto('items')
        .values([{ name: 'a' }, { name: 'b' }] as never)
        .execute();
      const prepare = vi.spyOn(database.sqlite!, 'prepare');
      const byName = (name: string) =>
        database.db.selectFrom('items').selectAll().where('name', '=', name).execute();
      expect(await byName('a')).toEqual([{ id: 1, name: 'a' }]);
      expect(await byName('b')).toEqual([{ id: 2, name: 'b' }]);
      expect(await byName('zz')).toEqual([]);
      expect(prepare).toHaveBeenCalledTimes(1);
      await sql`ALTER TABLE items ADD COLUMN note TEXT`.execute(database.db);
      expect(await byName('a')).toEqual([{ id: 1, name: 'a', note: null }]);
      await database.db.transaction().execute(async (trx) => {
        await trx.selectFrom('items').selectAll().execute();
      });
      await database.db.transaction().execute(async (trx) => {
        await trx.selectFrom('items').selectAll().execute();
      });
      prepare.mockRestore();
    } finally {
      await database.close();
    }
  });

  it('several processes migrating one new SQLite file at once all succeed and apply each migration once', {
    timeout: 60_000,
  }, async () => {
    const file = join(dir.path, 'shared.db');
    const fixture = fileURLToPath(new URL('../test/fixtures/migrate-db.ts', import.meta.url));
    const runs = await Promise.all(
      Array.from(
        { length: 4 },
        () =>
          new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
            const child = spawn(process.execPath, ['--import', 'tsx', fixture, file], { stdio: 'pipe' });
            let out = '';
            let err = '';
            child.stdout.on('data', (d) => {
              out += d;
            });
            child.stderr.on('data', (d) => {
              err += d;
            });
            child.on('close', (code) => resolve({ code, out, err }));
          }),
      ),
    );
    for (const r of runs) expect(r.code, r.err).toBe(0);
    // Every migration was applied by exactly one of them.
    const applied = runs.flatMap((r) => JSON.parse(r.out) as string[]).sort();
    expect(applied).toEqual(['001_items', '002_filler', '003_more']);
    const database = openDatabase<Record<string, never>>(file);
    try {
      const rows = await sql<{ id: string }>`SELECT id FROM schema_migrations ORDER BY id`.execute(
        database.db,
      );
      expect(rows.rows.map((r) => r.id)).toEqual(['001_items', '002_filler', '003_more']);
      const once = await sql<{ n: number }>`SELECT COUNT(*) AS n FROM items WHERE name = 'once'`.execute(
        database.db,
      );
      expect(once.rows[0]?.n).toBe(1);
    } finally {
      await database.close();
    }
  });
});
