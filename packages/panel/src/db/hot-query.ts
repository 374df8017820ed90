import type { Database, Statement } from 'better-sqlite3';
import { CompiledQuery, type Kysely } from 'kysely';

/**
 * A read on the per-request hot path (token lookup), written once in SQL with `?` placeholders. On SQLite it
 * runs as a prepared better-sqlite3 statement (Kysely re-prepares every query, which dominated the profile);
 * on PostgreSQL through Kysely with `$n` placeholders.
 */
export class HotQuery<Row> {
  private statement: Statement | undefined;
  private readonly pgText: string;

  constructor(
    private readonly db: Kysely<unknown>,
    private readonly sqlite: Database | undefined,
    private readonly text: string,
  ) {
    let n = 0;
    this.pgText = text.replace(/\?/g, () => `$${++n}`);
  }

  async get(...params: unknown[]): Promise<Row | undefined> {
    if (this.sqlite) {
      this.statement ??= this.sqlite.prepare(this.text);
      return this.statement.get(...params) as Row | undefined;
    }
    const result = await this.db.executeQuery<Row>(CompiledQuery.raw(this.pgText, params));
    return result.rows[0];
  }
}
