import type { Database } from '@wispanel/kit';
import { type CompiledQuery, type Insertable, type Kysely, sql } from 'kysely';
import type { EventsTable, LicensesTable, PortalTables } from '../../db';
import { Batcher } from './batcher';

/** A license with its tier's terms and, for one hardware id, its activation: what verify/refresh decide on. */
export type CheckRow = LicensesTable & {
  max_users: number;
  max_domains: number;
  max_databases: number;
  features: string;
  lease_days: number;
  grace_days: number;
  tier_created_at: string;
  tier_updated_at: string;
  /** Activations the license has (any hardware id). */
  activations_used: number;
  /** The activation of the asking hardware id, or null when it has none. */
  activation_id: string | null;
};

/** What verify/refresh note about the asking server: seen now, with what it reported (absent = unchanged). */
export interface ActivationSeen {
  id: string;
  last_seen_at: string;
  last_usage?: string;
  panel_version?: string;
  hostname?: string;
}

/** One verify/refresh outcome to store: its event, and the activation it saw (when the server is bound). */
export interface CheckRecord {
  event: Insertable<EventsTable>;
  seen?: ActivationSeen;
}

const KEY = '\u0000key';
const HARDWARE = '\u0000hardware';
const EVENT_COLUMNS = [
  'at',
  'license_id',
  'action',
  'actor',
  'ip',
  'hardware_id',
  'panel_version',
  'usage',
  'result_code',
  'data',
] as const;

/**
 * Storage of the license check (verify/refresh), the portal's hot path.
 *
 * Reads: one statement per check (license, tier, activation count and the asker's activation), compiled once;
 * on SQLite run straight on the better-sqlite3 handle when no transaction is open on it (an open one — an
 * activation or admin change awaiting between its statements — would show its uncommitted rows, so then the
 * read queues behind it through Kysely like any other query).
 *
 * Writes, group-committed: `record()` queues the check's event and last-seen update and resolves once they are
 * committed; everything queued while the previous batch was being written goes out in the next one — one
 * transaction (SQLite) or one statement (PostgreSQL: one round trip, one WAL flush) per batch instead of one or
 * two per check. The caller answers only after `record()` resolved, so a crash (kill -9, power loss with
 * PostgreSQL's durable defaults) loses no event whose answer a panel received: what it can lose is the batch
 * being written, whose requests got no answer (their panels retry). A failing batch is retried record by
 * record, so one bad row fails only its own request.
 */
export class CheckRepository {
  private readonly read: CompiledQuery<CheckRow>;
  private readonly sqlite: Database<PortalTables>['sqlite'];
  private readStatement?: import('better-sqlite3').Statement;
  private readonly reads: Batcher<{ keyHash: string; hardwareId: string }, CheckRow | undefined>;
  private readonly writes = new Batcher<CheckRecord, void>(async (records) => {
    await this.write(records);
    return [];
  });

  constructor(
    private readonly db: Kysely<PortalTables>,
    database: Pick<Database<PortalTables>, 'dialect' | 'sqlite'>,
  ) {
    this.sqlite = database.dialect === 'sqlite' ? database.sqlite : undefined;
    this.read = sql<CheckRow>`
      SELECT licenses.*,
        tiers.max_users, tiers.max_domains, tiers.max_databases, tiers.features, tiers.lease_days,
        tiers.grace_days, tiers.created_at AS tier_created_at, tiers.updated_at AS tier_updated_at,
        (SELECT count(*) FROM activations a WHERE a.license_id = licenses.id) AS activations_used,
        (SELECT a.id FROM activations a WHERE a.license_id = licenses.id AND a.hardware_id = ${HARDWARE})
          AS activation_id
      FROM licenses INNER JOIN tiers ON tiers.name = licenses.tier
      WHERE licenses.key_hash = ${KEY}`.compile(db);
    // PostgreSQL: the checks that arrive together are read together, one round trip for the lot.
    this.reads = new Batcher(async (asks) => {
      const { rows } = await sql<CheckRow & { n: number }>`
        SELECT q.n, licenses.*,
          tiers.max_users, tiers.max_domains, tiers.max_databases, tiers.features, tiers.lease_days,
          tiers.grace_days, tiers.created_at AS tier_created_at, tiers.updated_at AS tier_updated_at,
          (SELECT count(*) FROM activations a WHERE a.license_id = licenses.id) AS activations_used,
          (SELECT a.id FROM activations a WHERE a.license_id = licenses.id AND a.hardware_id = q.hardware_id)
            AS activation_id
        FROM unnest(${asks.map((a) => a.keyHash)}::text[], ${asks.map((a) => a.hardwareId)}::text[])
          WITH ORDINALITY AS q(key_hash, hardware_id, n)
        INNER JOIN licenses ON licenses.key_hash = q.key_hash
        INNER JOIN tiers ON tiers.name = licenses.tier`.execute(db);
      const found: Array<CheckRow | undefined> = asks.map(() => undefined);
      for (const { n, ...row } of rows) found[Number(n) - 1] = row;
      return found;
    });
  }

  /** The license with this key hash, its tier and the activation of `hardwareId`; undefined when unknown. */
  async license(keyHash: string, hardwareId: string): Promise<CheckRow | undefined> {
    const parameters = this.read.parameters.map((p) => (p === KEY ? keyHash : hardwareId));
    if (this.sqlite && !this.sqlite.inTransaction) {
      this.readStatement ??= this.sqlite.prepare(this.read.sql);
      return this.readStatement.get(...parameters) as CheckRow | undefined;
    }
    if (this.sqlite) return (await this.db.executeQuery<CheckRow>({ ...this.read, parameters })).rows[0];
    return this.reads.run({ keyHash, hardwareId });
  }

  /** Stores the check's event (and last-seen update); resolves once committed. */
  record(record: CheckRecord): Promise<void> {
    return this.writes.run(record);
  }

  private async write(records: CheckRecord[]): Promise<void> {
    // One update per activation (the latest values win), then the events in arrival order.
    const seen = new Map<string, ActivationSeen>();
    for (const { seen: s } of records) if (s) seen.set(s.id, { ...seen.get(s.id), ...s });
    const events = records.map((r) => r.event);
    if (this.sqlite) return this.writeSqlite([...seen.values()], events);
    const column = <T>(rows: T[], f: (row: T) => string | null | undefined) => rows.map((r) => f(r) ?? null);
    const s = [...seen.values()];
    const e = (name: (typeof EVENT_COLUMNS)[number]) =>
      column(events, (ev) => ev[name] as string | null | undefined);
    // One statement: one round trip and one commit for the whole batch.
    await sql`
      WITH v AS (
        SELECT * FROM unnest(${column(s, (x) => x.id)}::text[], ${column(s, (x) => x.last_seen_at)}::text[],
          ${column(s, (x) => x.last_usage)}::text[], ${column(s, (x) => x.panel_version)}::text[],
          ${column(s, (x) => x.hostname)}::text[]) AS v(id, last_seen_at, last_usage, panel_version, hostname)
      ), seen AS (
        UPDATE activations SET last_seen_at = v.last_seen_at,
          last_usage = coalesce(v.last_usage, activations.last_usage),
          panel_version = coalesce(v.panel_version, activations.panel_version),
          hostname = coalesce(v.hostname, activations.hostname)
        FROM v WHERE activations.id = v.id RETURNING activations.id
      )
      INSERT INTO events (at, license_id, action, actor, ip, hardware_id, panel_version, usage, result_code, data)
      SELECT at, license_id, action, actor, ip, hardware_id, panel_version, usage, result_code, data
      FROM unnest(${e('at')}::text[], ${e('license_id')}::text[], ${e('action')}::text[], ${e('actor')}::text[],
        ${e('ip')}::text[], ${e('hardware_id')}::text[], ${e('panel_version')}::text[], ${e('usage')}::text[],
        ${e('result_code')}::text[], ${e('data')}::text[])
        WITH ORDINALITY AS e(at, license_id, action, actor, ip, hardware_id, panel_version, usage, result_code,
          data, n)
      ORDER BY n`.execute(this.db);
  }

  private sqliteWriter?: (seen: ActivationSeen[], events: Insertable<EventsTable>[]) => void;

  private async writeSqlite(seen: ActivationSeen[], events: Insertable<EventsTable>[]): Promise<void> {
    const sqlite = this.sqlite!;
    if (!this.sqliteWriter) {
      const update = sqlite.prepare(
        `UPDATE activations SET last_seen_at = ?, last_usage = coalesce(?, last_usage),
           panel_version = coalesce(?, panel_version), hostname = coalesce(?, hostname) WHERE id = ?`,
      );
      const insert = sqlite.prepare(
        `INSERT INTO events (${EVENT_COLUMNS.join(', ')}) VALUES (${EVENT_COLUMNS.map(() => '?').join(', ')})`,
      );
      const transaction = sqlite.transaction((s: ActivationSeen[], e: Insertable<EventsTable>[]) => {
        for (const x of s)
          update.run(x.last_seen_at, x.last_usage ?? null, x.panel_version ?? null, x.hostname ?? null, x.id);
        for (const ev of e) insert.run(...EVENT_COLUMNS.map((c) => ev[c] ?? null));
      });
      this.sqliteWriter = (s, e) => transaction.immediate(s, e);
    }
    const write = this.sqliteWriter;
    // A transaction open on the handle (another request between its statements) must end first: take the
    // connection through Kysely, which waits for it.
    if (sqlite.inTransaction) await this.db.connection().execute(async () => write(seen, events));
    else write(seen, events);
  }
}
