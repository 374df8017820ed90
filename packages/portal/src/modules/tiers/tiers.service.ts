import type { PortalTier } from '@wispanel/contract';
import { AppError, isUniqueViolation } from '@wispanel/kit';
import type { Kysely } from 'kysely';
import type { PortalTables, TiersTable } from '../../db';
import type { Actor, EventLog } from '../events/event-log';

export type Tier = PortalTier;

export type TierInput = Omit<Tier, 'created_at' | 'updated_at'>;
export type TierPatch = Partial<Omit<TierInput, 'name'>>;

export const DEFAULT_TIERS: TierInput[] = [
  {
    name: 'free',
    max_users: 30,
    max_domains: 100,
    max_databases: -1,
    features: [],
    lease_days: 14,
    grace_days: 7,
  },
  {
    name: 'pro',
    max_users: 250,
    max_domains: 1000,
    max_databases: -1,
    features: ['backups', 'ssl', 'api'],
    lease_days: 14,
    grace_days: 14,
  },
  {
    name: 'enterprise',
    max_users: -1,
    max_domains: -1,
    max_databases: -1,
    features: ['backups', 'ssl', 'api', 'reseller', 'priority-support'],
    lease_days: 30,
    grace_days: 30,
  },
];

export function tierFromRow(row: TiersTable): Tier {
  return { ...row, features: JSON.parse(row.features) as string[] };
}

export class TierService {
  constructor(
    private readonly db: Kysely<PortalTables>,
    private readonly events: EventLog,
    private readonly clock: () => Date,
  ) {}

  /** Inserts the default tiers that do not exist yet (never changes an existing tier). */
  async seedDefaults(): Promise<string[]> {
    const added: string[] = [];
    for (const t of DEFAULT_TIERS) {
      const now = this.clock().toISOString();
      const res = await this.db
        .insertInto('tiers')
        .values({ ...t, features: JSON.stringify(t.features), created_at: now, updated_at: now })
        .onConflict((oc) => oc.column('name').doNothing())
        .executeTakeFirst();
      if (Number(res.numInsertedOrUpdatedRows ?? 0) > 0) added.push(t.name);
    }
    return added;
  }

  async list(): Promise<Tier[]> {
    const rows = await this.db.selectFrom('tiers').selectAll().orderBy('name').execute();
    return rows.map(tierFromRow);
  }

  async get(name: string): Promise<Tier> {
    const row = await this.db.selectFrom('tiers').selectAll().where('name', '=', name).executeTakeFirst();
    if (!row) throw new AppError('NOT_FOUND', `Tier not found`);
    return tierFromRow(row);
  }

  async create(actor: Actor, input: TierInput): Promise<Tier> {
    const now = this.clock().toISOString();
    try {
      await this.db.transaction().execute(async (trx) => {
        await trx
          .insertInto('tiers')
          .values({ ...input, features: JSON.stringify(input.features), created_at: now, updated_at: now })
          .execute();
        await this.events.append(
          { action: 'tier.created', actor, resultCode: 'OK', data: { tier: input.name } },
          trx,
        );
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('CONFLICT', `Tier ${input.name} already exists`);
      throw err;
    }
    return this.get(input.name);
  }

  async update(actor: Actor, name: string, patch: TierPatch): Promise<Tier> {
    const before = await this.get(name);
    const now = this.clock().toISOString();
    const values: Record<string, unknown> = { updated_at: now };
    for (const [k, v] of Object.entries(patch)) {
      if (v !== undefined) values[k] = k === 'features' ? JSON.stringify(v) : v;
    }
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('tiers').set(values).where('name', '=', name).execute();
      await this.events.append(
        { action: 'tier.updated', actor, resultCode: 'OK', data: { tier: name, before, changes: patch } },
        trx,
      );
    });
    return this.get(name);
  }
}
