import type { Dialect } from '@wispanel/kit';
import { type Kysely, type Selectable, sql } from 'kysely';

export interface ReleaseRolloutsTable {
  version: string;
  /** 0 = no plan was set: offered to everyone, still watched by the halt policy. */
  planned: number;
  /** JSON `[{ percent, after_hours }]`. */
  stages: string;
  min_failures: number;
  failure_rate: number;
  critical_skips_stages: number;
  state: 'staging' | 'paused' | 'halted' | 'complete';
  stage_index: number;
  stage_started_at: string;
  /** Bumped at every stage change and resume: the halt policy counts reports of the current epoch only. */
  epoch: number;
  reason: string | null;
  halted_at: string | null;
  /** Who took the last halt: `policy` (automatic) or the actor (`admin:wpa_…`, `cli:operator`). */
  halted_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface RolloutServersTable {
  version: string;
  hardware_id: string;
  license_id: string | null;
  offered_at: string | null;
  started_at: string | null;
  finished_at: string | null;
  outcome: string | null;
  step: string | null;
  error_code: string | null;
  duration_ms: number | null;
  epoch: number | null;
}

export interface InstallReportsTable {
  hardware_id: string;
  attempt_id: string;
  license_id: string;
  from_version: string;
  to_version: string;
  outcome: string;
  step: string | null;
  error_code: string | null;
  duration_ms: number | null;
  epoch: number;
  received_at: string;
}

export interface CanaryLicensesTable {
  license_id: string;
  created_at: string;
}

export interface FleetServersTable {
  hardware_id: string;
  license_id: string;
  version: string;
  channel: string | null;
  last_seen_at: string;
}

export interface RolloutTables {
  release_rollouts: ReleaseRolloutsTable;
  rollout_servers: RolloutServersTable;
  install_reports: InstallReportsTable;
  canary_licenses: CanaryLicensesTable;
  fleet_servers: FleetServersTable;
  licenses: { id: string; tier: string; status: string; expires_at: string | null };
  activations: {
    license_id: string;
    hardware_id: string;
    panel_version: string;
    last_seen_at: string;
  };
}

export type RolloutRow = Selectable<ReleaseRolloutsTable>;

/** SQL of the rollouts module; the rules are in rollout-plan.ts and the service. */
export class RolloutsRepository {
  constructor(
    readonly db: Kysely<RolloutTables>,
    readonly dialect: Dialect,
  ) {}

  async find(version: string, trx: Kysely<RolloutTables> = this.db): Promise<RolloutRow | undefined> {
    return trx.selectFrom('release_rollouts').selectAll().where('version', '=', version).executeTakeFirst();
  }

  /** The row, locked against other writers until the transaction ends (PostgreSQL; SQLite holds the db lock). */
  async findForUpdate(version: string, trx: Kysely<RolloutTables>): Promise<RolloutRow | undefined> {
    let q = trx.selectFrom('release_rollouts').selectAll().where('version', '=', version);
    if (this.dialect === 'postgres') q = q.forUpdate();
    return q.executeTakeFirst();
  }

  async findMany(versions: string[]): Promise<RolloutRow[]> {
    if (versions.length === 0) return [];
    return this.db.selectFrom('release_rollouts').selectAll().where('version', 'in', versions).execute();
  }

  async list(): Promise<RolloutRow[]> {
    return this.db.selectFrom('release_rollouts').selectAll().execute();
  }

  async insertIfMissing(row: RolloutRow, trx: Kysely<RolloutTables> = this.db): Promise<void> {
    await trx
      .insertInto('release_rollouts')
      .values(row)
      .onConflict((oc) => oc.column('version').doNothing())
      .execute();
  }

  async replace(row: RolloutRow, trx: Kysely<RolloutTables> = this.db): Promise<void> {
    const { version, created_at: _c, ...rest } = row;
    const res = await trx
      .updateTable('release_rollouts')
      .set(rest)
      .where('version', '=', version)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) await trx.insertInto('release_rollouts').values(row).execute();
  }

  /** Applies `changes` when the row is still at `expect` (state, stage, epoch): false when someone else moved it. */
  async updateIf(
    version: string,
    expect: { state: RolloutRow['state']; stage_index: number; epoch: number },
    changes: Partial<RolloutRow>,
    trx: Kysely<RolloutTables> = this.db,
  ): Promise<boolean> {
    const res = await trx
      .updateTable('release_rollouts')
      .set(changes)
      .where('version', '=', version)
      .where('state', '=', expect.state)
      .where('stage_index', '=', expect.stage_index)
      .where('epoch', '=', expect.epoch)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  async isCanary(licenseId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('canary_licenses')
      .select('license_id')
      .where('license_id', '=', licenseId)
      .executeTakeFirst();
    return row !== undefined;
  }

  async setCanary(licenseId: string, canary: boolean, at: string): Promise<boolean> {
    if (!canary) {
      const res = await this.db
        .deleteFrom('canary_licenses')
        .where('license_id', '=', licenseId)
        .executeTakeFirst();
      return Number(res.numDeletedRows) > 0;
    }
    const res = await this.db
      .insertInto('canary_licenses')
      .values({ license_id: licenseId, created_at: at })
      .onConflict((oc) => oc.column('license_id').doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async listCanaries(): Promise<string[]> {
    const rows = await this.db
      .selectFrom('canary_licenses')
      .select('license_id')
      .orderBy('license_id')
      .execute();
    return rows.map((r) => r.license_id);
  }

  async markOffered(version: string, hardwareId: string, licenseId: string, at: string): Promise<void> {
    await this.db
      .insertInto('rollout_servers')
      .values({ version, hardware_id: hardwareId, license_id: licenseId, offered_at: at })
      .onConflict((oc) => oc.columns(['version', 'hardware_id']).doNothing())
      .execute();
  }

  async markStarted(version: string, hardwareId: string, licenseId: string, at: string): Promise<void> {
    await this.db
      .insertInto('rollout_servers')
      .values({ version, hardware_id: hardwareId, license_id: licenseId, started_at: at })
      .onConflict((oc) =>
        oc.columns(['version', 'hardware_id']).doUpdateSet({
          started_at: sql`COALESCE(rollout_servers.started_at, ${at})`,
        }),
      )
      .execute();
  }

  async seen(
    hardwareId: string,
    licenseId: string,
    version: string,
    channel: string,
    at: string,
  ): Promise<void> {
    await this.db
      .insertInto('fleet_servers')
      .values({ hardware_id: hardwareId, license_id: licenseId, version, channel, last_seen_at: at })
      .onConflict((oc) =>
        oc.column('hardware_id').doUpdateSet({ license_id: licenseId, version, channel, last_seen_at: at }),
      )
      .execute();
  }

  async findReport(hardwareId: string, attemptId: string, trx: Kysely<RolloutTables>) {
    return trx
      .selectFrom('install_reports')
      .selectAll()
      .where('hardware_id', '=', hardwareId)
      .where('attempt_id', '=', attemptId)
      .executeTakeFirst();
  }

  async insertReport(row: Selectable<InstallReportsTable>, trx: Kysely<RolloutTables>): Promise<void> {
    await trx.insertInto('install_reports').values(row).execute();
  }

  /** The server's last outcome for this release (one row per server: repeated failures count once). */
  async recordOutcome(
    row: Omit<RolloutServersTable, 'offered_at' | 'started_at'>,
    trx: Kysely<RolloutTables>,
  ): Promise<void> {
    const { version: _v, hardware_id: _h, ...rest } = row;
    await trx
      .insertInto('rollout_servers')
      .values({ ...row, offered_at: null, started_at: row.finished_at })
      .onConflict((oc) =>
        oc.columns(['version', 'hardware_id']).doUpdateSet({
          ...rest,
          started_at: sql`COALESCE(rollout_servers.started_at, ${row.finished_at})`,
        }),
      )
      .execute();
  }

  async countsInEpoch(version: string, epoch: number, trx: Kysely<RolloutTables>) {
    const rows = await trx
      .selectFrom('rollout_servers')
      .select(['outcome', (eb) => eb.fn.countAll<string | number>().as('n')])
      .where('version', '=', version)
      .where('epoch', '=', epoch)
      .where('outcome', 'is not', null)
      .groupBy('outcome')
      .execute();
    const n = (o: string) => Number(rows.find((r) => r.outcome === o)?.n ?? 0);
    return { succeeded: n('succeeded'), failed: n('failed') + n('rolled_back') };
  }

  async servers(version: string) {
    return this.db
      .selectFrom('rollout_servers')
      .select(['offered_at', 'started_at', 'outcome', 'step', 'error_code', 'duration_ms', 'epoch'])
      .where('version', '=', version)
      .execute();
  }

  async reportCount(version: string): Promise<number> {
    const row = await this.db
      .selectFrom('install_reports')
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .where('to_version', '=', version)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async reportCountsByOutcome(): Promise<Array<{ outcome: string; n: number }>> {
    const rows = await this.db
      .selectFrom('install_reports')
      .select(['outcome', (eb) => eb.fn.countAll<string | number>().as('n')])
      .groupBy('outcome')
      .execute();
    return rows.map((r) => ({ outcome: r.outcome, n: Number(r.n) }));
  }

  async fleet(since: string) {
    const servers = await this.db
      .selectFrom('fleet_servers')
      .selectAll()
      .where('last_seen_at', '>=', since)
      .orderBy('last_seen_at', 'desc')
      .execute();
    // Servers that refreshed their license but never checked for updates still count (version from the license call).
    const known = new Set(servers.map((s) => s.hardware_id));
    const activations = await this.db
      .selectFrom('activations')
      .select(['license_id', 'hardware_id', 'panel_version', 'last_seen_at'])
      .where('last_seen_at', '>=', since)
      .execute();
    for (const a of activations) {
      if (known.has(a.hardware_id)) continue;
      servers.push({
        hardware_id: a.hardware_id,
        license_id: a.license_id,
        version: a.panel_version,
        channel: null,
        last_seen_at: a.last_seen_at,
      });
    }
    const tiers = await this.db
      .selectFrom('licenses')
      .select(['tier', (eb) => eb.fn.countAll<string | number>().as('n')])
      .where('status', '=', 'active')
      .groupBy('tier')
      .execute();
    return { servers, tiers: tiers.map((t) => ({ tier: t.tier, licenses: Number(t.n) })) };
  }
}
