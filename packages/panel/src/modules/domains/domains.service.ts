import { AppError, type Dialect, forbidden, notFound, validationError } from '@wispanel/kit';
import type { Kysely } from 'kysely';
import type { PanelDB } from '../../db/schema';
import type { Actor } from '../auth/actor';
import type { LicenseGate } from '../resources/license-gate';
import {
  canManageOwner,
  insertOwned,
  type ListFilter,
  listOwned,
  ownedBy,
  type Page,
  setStatus,
  stateFields,
  visibleUsers,
} from '../resources/ownership';
import type { Provisioner } from '../resources/provisioner';
import { hostnameProblem } from './hostname';

interface DomainRow {
  id: number;
  domain: string;
  owner_id: number;
  owner: string;
  status: string;
  license_disabled_at: string | null;
  license_disabled_reason: string | null;
  created_at: string;
  updated_at: string;
}

export function domainView(d: DomainRow) {
  return {
    id: d.id,
    domain: d.domain,
    owner: d.owner,
    ...stateFields(d),
    created_at: d.created_at,
    updated_at: d.updated_at,
  };
}

export class DomainService {
  constructor(
    private readonly db: Kysely<PanelDB>,
    private readonly dialect: Dialect,
    private readonly clock: () => Date,
    private readonly gate: LicenseGate,
    private readonly provisioner: Provisioner,
  ) {}

  private base() {
    return this.db
      .selectFrom('domains')
      .innerJoin('users', 'users.id', 'domains.owner_id')
      .selectAll('domains')
      .select('users.username as owner');
  }

  async find(actor: Actor, domain: string): Promise<DomainRow> {
    const row = await this.base()
      .where('domains.domain', '=', domain.toLowerCase())
      .where(ownedBy(actor, 'domains'))
      .executeTakeFirst();
    if (!row) throw notFound(`Domain '${domain}'`);
    return row;
  }

  async get(actor: Actor, domain: string) {
    return domainView(await this.find(actor, domain));
  }

  async list(actor: Actor, page: Page, filter: ListFilter = {}) {
    const { rows, pagination } = await listOwned<DomainRow>(
      this.dialect,
      'domains',
      this.base(),
      actor,
      page,
      filter,
      'domains.domain',
    );
    return { domains: rows.map(domainView), pagination };
  }

  /** The owner an actor names (default: itself), which must be an account the actor may manage. */
  async resolveOwner(actor: Actor, username: string | undefined): Promise<{ id: number; username: string }> {
    if (username === undefined || username === actor.username)
      return { id: actor.userId, username: actor.username };
    const owner = await this.db
      .selectFrom('users')
      .select(['id', 'username', 'creator_id'])
      .where('username', '=', username)
      .where(visibleUsers(actor))
      .executeTakeFirst();
    if (!owner)
      throw new AppError('VALIDATION_ERROR', `owner: no account '${username}'`, {
        details: { owner: [`No account '${username}'`] },
      });
    if (!canManageOwner(actor, owner)) throw forbidden(`You may not create resources for '${username}'`);
    return owner;
  }

  static normalize(domain: string | undefined): string {
    const d = (domain ?? '').trim().toLowerCase().replace(/\.$/, '');
    const problem = hostnameProblem(d);
    if (problem) throw validationError(problem, { domain: [problem] });
    return d;
  }

  async create(actor: Actor, input: { domain?: string; owner?: string }) {
    const domain = DomainService.normalize(input.domain);
    const owner = await this.resolveOwner(actor, input.owner);
    const now = this.clock().toISOString();
    await insertOwned(
      this.db,
      this.dialect,
      this.gate,
      actor,
      { kind: 'domain', table: 'domains', label: 'Domain' },
      { column: 'domain', value: domain },
      { domain, owner_id: owner.id },
      now,
    );
    await this.provisioner.apply({ action: 'create', kind: 'domain', name: domain, owner: owner.username });
    return this.get(actor, domain);
  }

  async update(actor: Actor, domain: string, input: { owner?: string }) {
    const row = await this.find(actor, domain);
    if (input.owner !== undefined && input.owner !== row.owner) {
      if (actor.role === 'user')
        throw forbidden('Only an admin or reseller may move a domain to another owner');
      const owner = await this.resolveOwner(actor, input.owner);
      await this.db
        .updateTable('domains')
        .set({ owner_id: owner.id, updated_at: this.clock().toISOString() })
        .where('id', '=', row.id)
        .execute();
    }
    return this.get(actor, row.domain);
  }

  async setSuspended(actor: Actor, domain: string, suspended: boolean) {
    const row = await this.find(actor, domain);
    if (actor.role === 'user') throw forbidden('Only an admin or reseller may suspend a domain');
    await setStatus(this.db, 'domains', row.id, suspended, this.clock());
    await this.provisioner.apply({
      action: suspended ? 'suspend' : 'unsuspend',
      kind: 'domain',
      name: row.domain,
      owner: row.owner,
    });
    return this.get(actor, row.domain);
  }

  /** Deleting is always allowed (also over license limits); databases attached to it are detached. */
  async delete(actor: Actor, domain: string): Promise<void> {
    const row = await this.find(actor, domain);
    await this.db.transaction().execute(async (tx) => {
      await tx.updateTable('databases').set({ domain_id: null }).where('domain_id', '=', row.id).execute();
      await tx.deleteFrom('domains').where('id', '=', row.id).execute();
    });
    await this.provisioner.apply({ action: 'delete', kind: 'domain', name: row.domain, owner: row.owner });
  }
}
