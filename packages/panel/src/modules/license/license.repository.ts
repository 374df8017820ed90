import { type Kysely, sql } from 'kysely';
import type { PanelDB } from '../../db/schema';
import type { CountedResource } from '../resources/license-gate';
import type { LicenseStateTable } from './license.schema';
import './license.schema';

export const RESOURCE_KINDS: readonly CountedResource[] = ['account', 'domain', 'database'];
type ResourceTable = 'users' | 'domains' | 'databases';
export const TABLE_OF: Record<CountedResource, ResourceTable> = {
  account: 'users',
  domain: 'domains',
  database: 'databases',
};

export type Usage = Record<CountedResource, number>;
export type LicenseState = LicenseStateTable;

export interface DisabledResource {
  type: CountedResource;
  id: number;
  name: string;
  owner: string | null;
  disabled_at: string;
  reason: string;
}

export interface AuditEntry {
  id: number;
  at: string;
  action: string;
  actor: string;
  outcome: string;
  code: string | null;
  message: string;
  detail: unknown;
}

/** `GET /license/audit` filters, all optional, combined with AND; `since`/`until` are ISO instants (inclusive). */
export interface AuditFilter {
  action?: string;
  outcome?: string;
  actor?: string;
  since?: string;
  until?: string;
}

export interface AffectedResource {
  id: number;
  name: string;
  /** Admin status ('active' | 'suspended'). */
  status: string;
  owner: string | null;
}

/** How many changed rows an enforce/re-enable answer lists by name; the counts are always complete. */
export const REPORT_LIMIT = 1000;

/** All SQL of the license module. Enforcement is a few set-based statements, not a row-by-row loop. */
export class LicenseRepository {
  constructor(private readonly db: Kysely<PanelDB>) {}

  async state(): Promise<LicenseState> {
    const row = await this.db.selectFrom('license_state').selectAll().where('id', '=', 1).executeTakeFirst();
    if (row) return row;
    const fresh: LicenseState = {
      id: 1,
      license_key: null,
      activated_at: null,
      last_checked: null,
      last_error_code: null,
      last_error: null,
      last_error_at: null,
      consecutive_failures: 0,
      next_refresh_at: null,
      signed_time: null,
      observed_time: null,
      over_limit_since: null,
      last_status: null,
      portal_verdict: null,
      portal_verdict_at: null,
      pending_deactivations: null,
      license_file_time: null,
      updated_at: new Date().toISOString(),
    };
    await this.db
      .insertInto('license_state')
      .values(fresh)
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
    return fresh;
  }

  /** The activated license key (null: none), read without creating the state row (`wispanel update`). */
  async activatedKey(): Promise<string | null> {
    const row = await this.db
      .selectFrom('license_state')
      .select('license_key')
      .where('id', '=', 1)
      .executeTakeFirst();
    return row?.license_key ?? null;
  }

  async saveState(patch: Partial<Omit<LicenseState, 'id'>>, now: Date): Promise<void> {
    await this.state();
    await this.db
      .updateTable('license_state')
      .set({ ...patch, updated_at: now.toISOString() })
      .where('id', '=', 1)
      .execute();
  }

  async audit(
    entry: {
      action: string;
      actor: string;
      outcome: string;
      code?: string | null;
      message: string;
      detail?: unknown;
    },
    now: Date,
  ): Promise<AuditEntry> {
    const row = {
      at: now.toISOString(),
      action: entry.action,
      actor: entry.actor,
      outcome: entry.outcome,
      code: entry.code ?? null,
      message: entry.message,
      detail: entry.detail === undefined ? null : JSON.stringify(entry.detail),
    };
    const inserted = await this.db
      .insertInto('license_audit')
      .values(row)
      .returning('id')
      .executeTakeFirstOrThrow();
    return { ...row, id: Number(inserted.id), detail: entry.detail ?? null };
  }

  async auditLog(limit: number, beforeId?: number, filter: AuditFilter = {}): Promise<AuditEntry[]> {
    let q = this.auditWhere(filter).selectAll().orderBy('id', 'desc').limit(limit);
    if (beforeId !== undefined) q = q.where('id', '<', beforeId);
    const rows = await q.execute();
    return rows.map((r) => ({ ...r, id: Number(r.id), detail: r.detail ? JSON.parse(r.detail) : null }));
  }

  /** Entries matching `filter` (all pages: the cursor `before` is not part of it). */
  async auditCount(filter: AuditFilter = {}): Promise<number> {
    const row = await this.auditWhere(filter)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /**
   * Equality on action / outcome / actor (indexed with id for the newest-first walk) and a range on `at`
   * (indexed; stored as `toISOString()`, so the bounds are normalised to that form and compare as text).
   */
  private auditWhere(filter: AuditFilter) {
    let q = this.db.selectFrom('license_audit');
    if (filter.action) q = q.where('action', '=', filter.action);
    if (filter.outcome) q = q.where('outcome', '=', filter.outcome);
    if (filter.actor) q = q.where('actor', '=', filter.actor);
    if (filter.since) q = q.where('at', '>=', filter.since);
    if (filter.until) q = q.where('at', '<=', filter.until);
    return q;
  }

  async count(kind: CountedResource, db: Kysely<PanelDB> = this.db): Promise<number> {
    const row = await db
      .selectFrom(TABLE_OF[kind])
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async usage(db: Kysely<PanelDB> = this.db): Promise<Usage> {
    const [account, domain, database] = await Promise.all(RESOURCE_KINDS.map((k) => this.count(k, db)));
    return { account: account ?? 0, domain: domain ?? 0, database: database ?? 0 };
  }

  async disabledCount(kind: CountedResource): Promise<number> {
    const row = await this.db
      .selectFrom(TABLE_OF[kind])
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('license_disabled_at', 'is not', null)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Id of the oldest resource beyond the first `limit` (ranked by id), or null when there is no excess. */
  private async firstExcessId(
    db: Kysely<PanelDB>,
    kind: CountedResource,
    limit: number,
  ): Promise<number | null> {
    if (limit < 0) return null;
    const row = await db
      .selectFrom(TABLE_OF[kind])
      .select('id')
      .orderBy('id')
      .limit(1)
      .offset(limit)
      .executeTakeFirst();
    return row ? Number(row.id) : null;
  }

  /** The rows an enforcement step changes, with what the provisioner needs (name, owner, admin status). */
  private affected(
    tx: Kysely<PanelDB>,
    kind: CountedResource,
    where: ReturnType<typeof sql>,
    order: 'ASC' | 'DESC',
  ): Promise<AffectedResource[]> {
    const table = TABLE_OF[kind];
    const nameCol = kind === 'account' ? 'username' : kind === 'domain' ? 'domain' : 'name';
    const ownerCol = kind === 'account' ? 'creator_id' : 'owner_id';
    return sql<AffectedResource>`
      SELECT r.id, r.${sql.ref(nameCol)} AS name, r.status, o.username AS owner
        FROM ${sql.table(table)} r LEFT JOIN users o ON o.id = r.${sql.ref(ownerCol)}
       WHERE ${where} ORDER BY r.id ${sql.raw(order)}`
      .execute(tx)
      .then((res) => res.rows.map((r) => ({ ...r, id: Number(r.id) })));
  }

  /**
   * Marks the excess of one kind as disabled by the license: every resource after the oldest `limit`
   * that is neither suspended by an admin nor already marked. Returns them, newest first.
   */
  async disableExcess(
    kind: CountedResource,
    limit: number,
    reason: string,
    now: Date,
  ): Promise<{ count: number; resources: AffectedResource[] }> {
    return this.db.transaction().execute(async (tx) => {
      const first = await this.firstExcessId(tx, kind, limit);
      if (first === null) return { count: 0, resources: [] };
      const resources = await this.affected(
        tx,
        kind,
        sql`r.id >= ${first} AND r.status <> 'suspended' AND r.license_disabled_at IS NULL`,
        'DESC',
      );
      const result = await tx
        .updateTable(TABLE_OF[kind])
        .set({ license_disabled_at: now.toISOString(), license_disabled_reason: reason })
        .where('id', '>=', first)
        .where('status', '!=', 'suspended')
        .where('license_disabled_at', 'is', null)
        .executeTakeFirst();
      return { count: Number(result.numUpdatedRows), resources };
    });
  }

  /** Lifts the license mark from every marked resource within the oldest `limit` (all when unlimited). */
  async reenableWithin(
    kind: CountedResource,
    limit: number,
  ): Promise<{ count: number; resources: AffectedResource[] }> {
    return this.db.transaction().execute(async (tx) => {
      const first = await this.firstExcessId(tx, kind, limit);
      const resources = await this.affected(
        tx,
        kind,
        first === null
          ? sql`r.license_disabled_at IS NOT NULL`
          : sql`r.license_disabled_at IS NOT NULL AND r.id < ${first}`,
        'ASC',
      );
      let upd = tx
        .updateTable(TABLE_OF[kind])
        .set({ license_disabled_at: null, license_disabled_reason: null })
        .where('license_disabled_at', 'is not', null);
      if (first !== null) upd = upd.where('id', '<', first);
      const result = await upd.executeTakeFirst();
      return { count: Number(result.numUpdatedRows), resources };
    });
  }

  /** Resources disabled by license enforcement, newest first. */
  async disabled(limit: number, offset: number): Promise<{ total: number; resources: DisabledResource[] }> {
    const q = sql<{
      type: CountedResource;
      id: number;
      name: string;
      owner: string | null;
      disabled_at: string;
      reason: string;
    }>`
      SELECT * FROM (
        SELECT 'account' AS type, u.id, u.username AS name, c.username AS owner, u.license_disabled_at AS disabled_at, u.license_disabled_reason AS reason
          FROM users u LEFT JOIN users c ON c.id = u.creator_id WHERE u.license_disabled_at IS NOT NULL
        UNION ALL
        SELECT 'domain' AS type, d.id, d.domain AS name, o.username AS owner, d.license_disabled_at, d.license_disabled_reason
          FROM domains d LEFT JOIN users o ON o.id = d.owner_id WHERE d.license_disabled_at IS NOT NULL
        UNION ALL
        SELECT 'database' AS type, b.id, b.name AS name, o.username AS owner, b.license_disabled_at, b.license_disabled_reason
          FROM databases b LEFT JOIN users o ON o.id = b.owner_id WHERE b.license_disabled_at IS NOT NULL
      ) x ORDER BY disabled_at DESC, type, id DESC LIMIT ${limit} OFFSET ${offset}`;
    const [rows, counts] = await Promise.all([
      q.execute(this.db),
      Promise.all(RESOURCE_KINDS.map((k) => this.disabledCount(k))),
    ]);
    return {
      total: counts.reduce((a, b) => a + b, 0),
      resources: rows.rows.map((r) => ({ ...r, id: Number(r.id), reason: r.reason ?? '' })),
    };
  }
}
