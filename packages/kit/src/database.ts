import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, type SqliteDialectConfig, sql } from 'kysely';
import pg from 'pg';

export type Dialect = 'sqlite' | 'postgres';

export interface Database<DB> {
  db: Kysely<DB>;
  dialect: Dialect;
  /** Human description without credentials, for logs. */
  describe: string;
  /** The better-sqlite3 handle (SQLite only), for prepared statements on hot read paths. */
  sqlite?: SQLite.Database;
  close(): Promise<void>;
}

// int8 (COUNT(*), BIGINT) and NUMERIC come back as strings from pg by default; ours fit in a double.
pg.types.setTypeParser(20, (v) => Number.parseInt(v, 10));
pg.types.setTypeParser(1700, (v) => Number.parseFloat(v));

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}

/** Opens `postgres://…` with a pool, anything else as a SQLite file path (`sqlite:` prefix optional). */
export function openDatabase<DB>(url: string, options: { poolSize?: number } = {}): Database<DB> {
  if (isPostgresUrl(url)) {
    const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 10 });
    pool.on('error', () => {
      /* idle client errors are reported on the next query */
    });
    const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
    const safe = new URL(url);
    return {
      db,
      dialect: 'postgres',
      describe: `postgres://${safe.hostname}:${safe.port || 5432}${safe.pathname}`,
      close: () => db.destroy(),
    };
  }
  const file = url.replace(/^sqlite:(\/\/)?/, '');
  if (file !== ':memory:') {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    privateDatabaseFile(file);
  }
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<DB>({ dialect: new SqliteDialect({ database: cachingStatements(sqlite) }) });
  return { db, dialect: 'sqlite', describe: `sqlite:${file}`, sqlite, close: () => db.destroy() };
}

/**
 * Kysely prepares every query anew; preparing costs more than running a small indexed statement. Reusing the
 * statement per SQL text is safe: better-sqlite3 runs statements synchronously, Kysely serialises queries on
 * its one connection (a stream holds it until it ends), and SQLite re-prepares a statement itself after a
 * schema change. The cache is bounded (queries with IN lists of varying length have distinct texts).
 */
function cachingStatements(sqlite: SQLite.Database, max = 500): SqliteDialectConfig['database'] {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => sqlite.close(),
    prepare: (text: string) => {
      let stmt = cache.get(text);
      if (!stmt) {
        stmt = sqlite.prepare(text);
        if (cache.size >= max) cache.delete(cache.keys().next().value as string);
        cache.set(text, stmt);
      }
      return stmt;
    },
  };
}

export interface Migration {
  /** Sortable unique id, e.g. `001_users`. */
  id: string;
  /** SQL statements per dialect, run in order inside one transaction. */
  sqlite: string[];
  postgres: string[];
}

/**
 * Applies pending migrations in id order, each in its own transaction, recording them in `schema_migrations`.
 * Several instances starting at once are serialised: an advisory lock on PostgreSQL, BEGIN IMMEDIATE on SQLite
 * (see writeTransaction), and each re-reads `schema_migrations` under it.
 */
export async function migrate<DB>(database: Database<DB>, migrations: Migration[]): Promise<string[]> {
  const db = database.db as unknown as Kysely<Record<string, never>>;
  await sql`CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL)`.execute(
    db,
  );
  const sorted = [...migrations].sort((a, b) => a.id.localeCompare(b.id));
  const applied: string[] = [];
  for (const m of sorted) {
    await writeTransaction(db, database.dialect, async (trx) => {
      if (database.dialect === 'postgres') await sql`SELECT pg_advisory_xact_lock(7305112)`.execute(trx);
      const done = await sql<{ id: string }>`SELECT id FROM schema_migrations WHERE id = ${m.id}`.execute(
        trx,
      );
      if (done.rows.length > 0) return;
      for (const statement of database.dialect === 'postgres' ? m.postgres : m.sqlite) {
        await sql.raw(statement).execute(trx);
      }
      await sql`INSERT INTO schema_migrations (id, applied_at) VALUES (${m.id}, ${new Date().toISOString()})`.execute(
        trx,
      );
      applied.push(m.id);
    });
  }
  return applied;
}

/**
 * Runs `fn` in a transaction meant to read and then write. On SQLite it is `BEGIN IMMEDIATE`: the write lock is
 * taken before the first read, so another process's write cannot land between this read and this write (a
 * plain deferred transaction would fail with SQLITE_BUSY when it tries to write on a stale snapshot); other
 * processes wait for it through busy_timeout. On PostgreSQL it is a plain transaction: callers take the row or
 * advisory locks they need inside.
 */
export async function writeTransaction<DB, T>(
  db: Kysely<DB>,
  dialect: Dialect,
  fn: (trx: Kysely<DB>) => Promise<T>,
): Promise<T> {
  if (dialect === 'postgres') return db.transaction().execute(fn);
  return db.connection().execute(async (conn) => {
    await sql`BEGIN IMMEDIATE`.execute(conn);
    try {
      const result = await fn(conn);
      await sql`COMMIT`.execute(conn);
      return result;
    } catch (err) {
      await sql`ROLLBACK`.execute(conn).catch(() => undefined);
      throw err;
    }
  });
}

/** True when an error from either driver is a unique-constraint violation. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return (
    e?.code === '23505' ||
    e?.code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
  );
}

/**
 * A SQLite file is private data: created 0600 and set to 0600 on every open, whatever the umask (SQLite
 * itself creates 0644 minus the umask). Its -wal and -shm files take the database file's mode.
 */
function privateDatabaseFile(file: string): void {
  if (!existsSync(file)) closeSync(openSync(file, 'a', 0o600));
  for (const f of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
}
