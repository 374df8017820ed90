import type { Database, Statement } from 'better-sqlite3';
import { CompiledQuery, type Kysely } from 'kysely';

/**
 * Change detector for one SQLite database: `PRAGMA data_version` moves when another connection (another
 * process) commits, `total_changes()` when this connection writes anything. Both together say exactly
 * whether anything in the file may have changed since the last look (~1 µs).
 */
class SqliteChangeStamp {
  private readonly dataVersion: Statement;
  private readonly totalChanges: Statement;

  constructor(sqlite: Database) {
    this.dataVersion = sqlite.prepare('PRAGMA data_version').pluck();
    this.totalChanges = sqlite.prepare('SELECT total_changes()').pluck();
  }

  current(): string {
    return `${this.dataVersion.get() as number}:${this.totalChanges.get() as number}`;
  }
}

const stamps = new WeakMap<Database, SqliteChangeStamp>();
const MAX_CACHED = 10_000;

/**
 * A read on the per-request hot path (token lookup), written once in SQL with `?` placeholders. On SQLite it
 * runs as a prepared better-sqlite3 statement (Kysely re-prepares every query, which dominated the profile);
 * on PostgreSQL through Kysely with `$n` placeholders.
 *
 * With `cache: true` (SQLite only) answers are kept in memory until anything in the database changes (see
 * SqliteChangeStamp), so a repeated lookup costs two pragma reads instead of a join — and a revoked key,
 * a suspension or a license mark written by any connection is seen on the very next request.
 */
export class HotQuery<Row> {
  private statement: Statement | undefined;
  private readonly pgText: string;
  private readonly stamp: SqliteChangeStamp | undefined;
  private readonly cache = new Map<string, Row>();
  private cachedAt = '';

  constructor(
    private readonly db: Kysely<unknown>,
    private readonly sqlite: Database | undefined,
    private readonly text: string,
    options: { cache?: boolean } = {},
  ) {
    let n = 0;
    this.pgText = text.replace(/\?/g, () => `$${++n}`);
    if (sqlite && options.cache) {
      let stamp = stamps.get(sqlite);
      if (!stamp) {
        stamp = new SqliteChangeStamp(sqlite);
        stamps.set(sqlite, stamp);
      }
      this.stamp = stamp;
    }
  }

  async get(...params: unknown[]): Promise<Row | undefined> {
    if (!this.sqlite) {
      const result = await this.db.executeQuery<Row>(CompiledQuery.raw(this.pgText, params));
      return result.rows[0];
    }
    this.statement ??= this.sqlite.prepare(this.text);
    if (!this.stamp) return this.statement.get(...params) as Row | undefined;
    const now = this.stamp.current();
    if (now !== this.cachedAt) {
      this.cache.clear();
      this.cachedAt = now;
    }
    const key = params.join('\u0000');
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    const row = this.statement.get(...params) as Row | undefined;
    if (row !== undefined) {
      if (this.cache.size >= MAX_CACHED) this.cache.clear();
      this.cache.set(key, row);
    }
    return row;
  }
}
