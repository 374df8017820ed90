import { join } from 'node:path';
import { openDatabase } from '@wispanel/kit';
import { tempDir } from '@wispanel/kit/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HotQuery } from './hot-query';

// The cached lookup shares its better-sqlite3 connection with Kysely transactions. A lookup made while another
// request's transaction is open must not see (and keep) that transaction's uncommitted rows.
describe('HotQuery (SQLite, cached) under an open transaction', () => {
  const dir = tempDir();
  const database = openDatabase<{ keys: { id: number; enabled: number } }>(join(dir.path, 'hq.db'));
  const lookup = new HotQuery<{ id: number; enabled: number }>(
    database.db as never,
    database.sqlite,
    'SELECT id, enabled FROM keys WHERE id = ?',
    { cache: true },
  );

  beforeAll(async () => {
    await sql`CREATE TABLE keys (id INTEGER PRIMARY KEY, enabled INTEGER NOT NULL)`.execute(database.db);
    await sql`INSERT INTO keys (id, enabled) VALUES (1, 0)`.execute(database.db);
  });
  afterAll(async () => {
    await database.close();
    dir.remove();
  });

  it('a disabled key re-enabled by a transaction that rolls back stays disabled, during and after', async () => {
    expect((await lookup.get(1))?.enabled).toBe(0);
    let during: Promise<{ enabled: number } | undefined> | undefined;
    await expect(
      database.db.transaction().execute(async (tx) => {
        await tx.updateTable('keys').set({ enabled: 1 }).where('id', '=', 1).execute();
        during = lookup.get(1); // another request authenticating while the transaction is open
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect((await during)?.enabled).toBe(0);
    expect((await lookup.get(1))?.enabled).toBe(0);
  });

  it('a committed change is seen right after the commit', async () => {
    await database.db.transaction().execute(async (tx) => {
      await tx.updateTable('keys').set({ enabled: 1 }).where('id', '=', 1).execute();
    });
    expect((await lookup.get(1))?.enabled).toBe(1);
  });
});
