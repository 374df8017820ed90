import type { Database, Statement } from 'better-sqlite3';
import { CompiledQuery, type Kysely } from 'kysely';

/**
 * Change detector for one SQLite database: `total_changes()` moves when this connection writes anything
 * (every write of this process goes through it; ~0.1 µs), `PRAGMA data_version` when another connection (another
 * process, e.g. a CLI command) commits. data_version costs a look at the WAL index, which showed as a quarter of
 * the request CPU under load, so it is read at most every OTHER_PROCESS_CHECK_MS.
 */
export const OTHER_PROCESS_CHECK_MS = 250;

class SqliteChangeStamp {
  private readonly dataVersion: Statement;
  private readonly totalChanges: Statement;
  private version = 0;
  private checkedAt = 0;

  constructor(sqlite: Database) {
    this.dataVersion = sqlite.prepare('PRAGMA data_version').pluck();
    this.totalChanges = sqlite.prepare('SELECT total_changes()').pluck();
  }

  current(): string {
    const now = Date.now();
    if (now - this.checkedAt >= OTHER_PROCESS_CHECK_MS || now < this.checkedAt) {
      this.version = this.dataVersion.get() as number;
      this.checkedAt = now;
    }
    return `${this.version}:${this.totalChanges.get() as number}`;
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
 * SqliteChangeStamp), so a repeated lookup costs a counter read instead of a join. A revoked key, a suspension
 * or a license mark written by this process is seen on the very next request; one written by another process
 * within OTHER_PROCESS_CHECK_MS. While a transaction is open on the shared connection a cached lookup waits
 * for it through Kysely (so it never reads uncommitted rows) and is not cached: never call a cached lookup from
 * inside a transaction callback (it would wait for itself).
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

  /** Returned by `getSync` when the answer needs a round trip (PostgreSQL, or an open transaction on SQLite). */
  static readonly ASYNC: unique symbol = Symbol('HotQuery.ASYNC');

  async get(...params: unknown[]): Promise<Row | undefined> {
    const answer = this.getSync(...params);
    if (answer !== HotQuery.ASYNC) return answer;
    // PostgreSQL, or another request's Kysely transaction holds the shared SQLite connection: a direct read
    // would see its uncommitted rows (a key re-enabled or an account unsuspended by a transaction that then
    // rolls back), and caching that read would keep them after the rollback (ROLLBACK does not move
    // total_changes()). Kysely's connection lock makes this read wait for the commit or rollback; not cached.
    const result = await this.db.executeQuery<Row>(
      CompiledQuery.raw(this.sqlite ? this.text : this.pgText, params),
    );
    return result.rows[0];
  }

  /**
   * The answer without leaving the current tick when that is possible (SQLite outside a transaction: a cached
   * row or one prepared-statement read), else HotQuery.ASYNC — then call `get`. Lets the per-request auth hook
   * stay synchronous on the common path.
   */
  getSync(...params: unknown[]): Row | undefined | typeof HotQuery.ASYNC {
    if (!this.sqlite) return HotQuery.ASYNC;
    if (this.stamp && this.sqlite.inTransaction) return HotQuery.ASYNC;
    this.statement ??= this.sqlite.prepare(this.text);
    if (!this.stamp) return this.statement.get(...params) as Row | undefined;
    const now = this.stamp.current();
    if (now !== this.cachedAt) {
      this.cache.clear();
      this.cachedAt = now;
    }
    const key = params.length === 1 ? String(params[0]) : params.join('\u0000');
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
