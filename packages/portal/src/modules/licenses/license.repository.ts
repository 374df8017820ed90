import { randomBytes } from 'node:crypto';
import { type Dialect, writeTransaction } from '@wispanel/kit';
import { type Kysely, sql } from 'kysely';
import type { ActivationsTable, LicensesTable, PortalTables } from '../../db';
import type { CheckRow } from '../license-api/check.repository';
import { type Tier, tierFromRow } from '../tiers/tiers.service';

/**
 * The one data layer of the `licenses` and `activations` tables, shared by the vendor's license admin
 * (`licenses/`) and the panel-facing license protocol (`license-api/`): the row lock, id generation, tier
 * parsing and every query. The check hot path's single-statement read and group-committed writes are in
 * `license-api/check.repository.ts` (its joined row is split here, by `fromCheckRow`).
 */

export const newActivationId = () => `act_${randomBytes(8).toString('hex')}`;

/** The status a license effectively has now: a term that ended reads as `expired`. */
export function effectiveStatus(
  row: Pick<LicensesTable, 'status' | 'expires_at'>,
  now: Date,
): 'active' | 'suspended' | 'revoked' | 'expired' {
  if (row.status === 'revoked') return 'revoked';
  if (row.status === 'suspended') return 'suspended';
  if (row.expires_at !== null && row.expires_at <= now.toISOString()) return 'expired';
  return 'active';
}

/** What a server reported when it was last seen (hostname, version, usage). */
export type ActivationSeenFields = Pick<
  ActivationsTable,
  'hostname' | 'panel_version' | 'last_seen_at' | 'last_usage'
>;

export interface LicenseListFilter {
  status?: 'active' | 'suspended' | 'revoked' | 'expired';
  tier?: string;
  q?: string;
  hardware_id?: string;
  page: number;
  per_page: number;
}

export class LicenseRepository {
  constructor(
    private readonly db: Kysely<PortalTables>,
    private readonly dialect: Dialect,
  ) {}

  /**
   * Runs `fn` in a transaction that owns the license row: `SELECT … FOR UPDATE` on PostgreSQL (other portal
   * instances sharing the database wait on that row), `BEGIN IMMEDIATE` on SQLite (one writer at a time across
   * processes, taken before the first read so a read-then-write cannot interleave).
   */
  async withLock<T>(
    where: { id: string } | { keyHash: string },
    fn: (trx: Kysely<PortalTables>, license: LicensesTable | undefined) => Promise<T>,
  ): Promise<T> {
    const select = (trx: Kysely<PortalTables>) => {
      let q = trx.selectFrom('licenses').selectAll();
      q = 'id' in where ? q.where('id', '=', where.id) : q.where('key_hash', '=', where.keyHash);
      return q;
    };
    if (this.dialect === 'postgres') {
      return this.db
        .transaction()
        .execute(async (trx) => fn(trx, await select(trx).forUpdate().executeTakeFirst()));
    }
    return writeTransaction(this.db, this.dialect, async (conn) =>
      fn(conn, await select(conn).executeTakeFirst()),
    );
  }

  /** A transaction for a new license row and its event. */
  transaction<T>(fn: (trx: Kysely<PortalTables>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(fn);
  }

  byId(id: string): Promise<LicensesTable | undefined> {
    return this.db.selectFrom('licenses').selectAll().where('id', '=', id).executeTakeFirst();
  }

  byKeyHash(keyHash: string): Promise<LicensesTable | undefined> {
    return this.db.selectFrom('licenses').selectAll().where('key_hash', '=', keyHash).executeTakeFirst();
  }

  async insert(trx: Kysely<PortalTables>, row: LicensesTable): Promise<void> {
    await trx.insertInto('licenses').values(row).execute();
  }

  async update(trx: Kysely<PortalTables>, id: string, set: Partial<LicensesTable>): Promise<void> {
    await trx.updateTable('licenses').set(set).where('id', '=', id).execute();
  }

  /** The tier a license names, its features parsed. */
  async tier(trx: Kysely<PortalTables>, name: string): Promise<Tier> {
    const row = await trx.selectFrom('tiers').selectAll().where('name', '=', name).executeTakeFirstOrThrow();
    return tierFromRow(row);
  }

  /** The check read split into the license row, its tier, the activation count and the asker's activation. */
  fromCheckRow(joined: CheckRow): { row: LicensesTable; tier: Tier; used: number; mine: string | null } {
    const {
      max_users,
      max_domains,
      max_databases,
      features,
      lease_days,
      grace_days,
      tier_created_at,
      tier_updated_at,
      activations_used,
      activation_id,
      ...row
    } = joined;
    const tier = tierFromRow({
      name: row.tier,
      max_users,
      max_domains,
      max_databases,
      features,
      lease_days,
      grace_days,
      created_at: tier_created_at,
      updated_at: tier_updated_at,
    });
    return { row, tier, used: Number(activations_used), mine: activation_id };
  }

  /** A license's activations, oldest first. */
  activations(licenseId: string, trx: Kysely<PortalTables> = this.db): Promise<ActivationsTable[]> {
    return trx
      .selectFrom('activations')
      .selectAll()
      .where('license_id', '=', licenseId)
      .orderBy('activated_at')
      .execute();
  }

  async activationCounts(ids: string[]): Promise<Map<string, number>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db
      .selectFrom('activations')
      .select(['license_id', (eb) => eb.fn.countAll<number>().as('n')])
      .where('license_id', 'in', ids)
      .groupBy('license_id')
      .execute();
    return new Map(rows.map((r) => [r.license_id, Number(r.n)]));
  }

  /** Binds a hardware id to a license (a new activation id). */
  async bind(
    trx: Kysely<PortalTables>,
    licenseId: string,
    hardwareId: string,
    activatedAt: string,
    seen: ActivationSeenFields,
  ): Promise<void> {
    await trx
      .insertInto('activations')
      .values({
        id: newActivationId(),
        license_id: licenseId,
        hardware_id: hardwareId,
        activated_at: activatedAt,
        ...seen,
      })
      .execute();
  }

  async touch(trx: Kysely<PortalTables>, activationId: string, seen: ActivationSeenFields): Promise<void> {
    await trx.updateTable('activations').set(seen).where('id', '=', activationId).execute();
  }

  /** Removes the activation matching `activation` (a hardware id, or also an activation id); true when one was. */
  async unbind(
    trx: Kysely<PortalTables>,
    licenseId: string,
    activation: { hardwareId: string } | { hardwareIdOrId: string },
  ): Promise<boolean> {
    let q = trx.deleteFrom('activations').where('license_id', '=', licenseId);
    if ('hardwareId' in activation) q = q.where('hardware_id', '=', activation.hardwareId);
    else {
      const a = activation.hardwareIdOrId;
      q = q.where((eb) => eb.or([eb('hardware_id', '=', a), eb('id', '=', a)]));
    }
    const res = await q.executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  /** A page of licenses matching the filter (newest first) and the total. */
  async list(filter: LicenseListFilter, now: string): Promise<{ rows: LicensesTable[]; total: number }> {
    let q = this.db.selectFrom('licenses');
    if (filter.tier) q = q.where('tier', '=', filter.tier);
    if (filter.status === 'expired') {
      q = q.where('status', '=', 'active').where('expires_at', 'is not', null).where('expires_at', '<=', now);
    } else if (filter.status === 'active') {
      q = q
        .where('status', '=', 'active')
        .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]));
    } else if (filter.status) {
      q = q.where('status', '=', filter.status);
    }
    if (filter.q) {
      const needle = `%${filter.q.toLowerCase().replace(/[%_\\]/g, (c) => `\\${c}`)}%`;
      const last4 = filter.q.toUpperCase().replace(/^WISP-\*{4}/, '');
      q = q.where((eb) =>
        eb.or([
          sql<boolean>`lower(customer_name) LIKE ${needle} ESCAPE '\\'`,
          sql<boolean>`lower(customer_email) LIKE ${needle} ESCAPE '\\'`,
          eb('key_last4', '=', last4),
          eb('id', '=', filter.q!),
        ]),
      );
    }
    if (filter.hardware_id) {
      const hw = filter.hardware_id;
      q = q.where('id', 'in', (eb) =>
        eb.selectFrom('activations').select('license_id').where('hardware_id', '=', hw),
      );
    }
    const totalRow = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const rows = await q
      .selectAll()
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(filter.per_page)
      .offset((filter.page - 1) * filter.per_page)
      .execute();
    return { rows, total: Number(totalRow.n) };
  }

  /** Licenses by stored status (the metrics gauge). */
  async countByStatus(): Promise<Map<string, number>> {
    const rows = await this.db
      .selectFrom('licenses')
      .select(['status', (eb) => eb.fn.countAll<string | number>().as('n')])
      .groupBy('status')
      .execute();
    return new Map(rows.map((r) => [r.status, Number(r.n)]));
  }

  /** Status and term of a license for a hardware id still activated on it (undefined: not activated). */
  activeFor(licenseId: string, hardwareId: string) {
    return this.db
      .selectFrom('licenses')
      .innerJoin('activations', 'activations.license_id', 'licenses.id')
      .select(['licenses.status', 'licenses.expires_at'])
      .where('licenses.id', '=', licenseId)
      .where('activations.hardware_id', '=', hardwareId)
      .executeTakeFirst();
  }

  /** The license with this key hash and its activation of `hardwareId` (undefined: not activated there). */
  activatedByKeyHash(keyHash: string, hardwareId: string) {
    return this.db
      .selectFrom('licenses')
      .innerJoin('activations', 'activations.license_id', 'licenses.id')
      .select([
        'licenses.id',
        'licenses.tier',
        'licenses.status',
        'licenses.issued_at',
        'licenses.expires_at',
        'activations.hardware_id',
        'activations.activated_at',
        'activations.last_seen_at',
      ])
      .where('licenses.key_hash', '=', keyHash)
      .where('activations.hardware_id', '=', hardwareId)
      .executeTakeFirst();
  }
}
