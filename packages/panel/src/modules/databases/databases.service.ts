import { AppError, type Dialect, forbidden, notFound } from '@wispanel/kit';
import type { Kysely } from 'kysely';
import type { PanelDB } from '../../db/schema';
import type { Actor } from '../auth/actor';
import type { LicenseGate } from '../resources/license-gate';
import {
  insertOwned,
  type ListFilter,
  listOwned,
  ownedBy,
  type Page,
  setStatus,
  stateFields,
} from '../resources/ownership';
import type { Provisioner } from '../resources/provisioner';

const MAX_NAME = 64;

interface DatabaseRow {
  id: number;
  name: string;
  owner_id: number;
  owner: string;
  db_user: string;
  domain_id: number | null;
  domain: string | null;
  status: string;
  license_disabled_at: string | null;
  license_disabled_reason: string | null;
  created_at: string;
  updated_at: string;
}

export function databaseView(d: DatabaseRow) {
  return {
    id: d.id,
    name: d.name,
    owner: d.owner,
    user: d.db_user,
    domain: d.domain,
    ...stateFields(d),
    created_at: d.created_at,
    updated_at: d.updated_at,
  };
}

/**
 * Database names and database users are `<owner>_<name>`, and `<name>` has no `_` (usernames may): so the
 * owner of any name is everything before its last `_` (ownerOfDatabaseName) and two owners can never produce
 * the same name or database user (`bob` + `x_shop` would be user `bob_x`'s `shop`). `<owner>_` may be written
 * by the caller; it is added otherwise.
 */
export function prefixed(owner: string, name: string): string {
  return name.startsWith(`${owner}_`) ? name : `${owner}_${name}`;
}

/** The part after the owner prefix, for the `_` rule. */
function ownPart(owner: string, name: string): string {
  return name.startsWith(`${owner}_`) ? name.slice(owner.length + 1) : name;
}

/** The owner a database name or database user belongs to: everything before its last `_` (null if none). */
export function ownerOfDatabaseName(name: string): string | null {
  const i = name.lastIndexOf('_');
  return i > 0 ? name.slice(0, i) : null;
}

export interface CreateDatabaseInput {
  name: string;
  user?: string;
  password?: string;
  domain?: string;
}

export class DatabaseService {
  constructor(
    private readonly db: Kysely<PanelDB>,
    private readonly dialect: Dialect,
    private readonly clock: () => Date,
    private readonly gate: LicenseGate,
    private readonly provisioner: Provisioner,
  ) {}

  private base() {
    return this.db
      .selectFrom('databases')
      .innerJoin('users', 'users.id', 'databases.owner_id')
      .leftJoin('domains', 'domains.id', 'databases.domain_id')
      .selectAll('databases')
      .select(['users.username as owner', 'domains.domain as domain']);
  }

  async find(actor: Actor, name: string): Promise<DatabaseRow> {
    const row = await this.base()
      .where('databases.name', '=', name)
      .where(ownedBy(actor, 'databases'))
      .executeTakeFirst();
    if (!row) throw notFound(`Database '${name}'`);
    return row;
  }

  async get(actor: Actor, name: string) {
    return databaseView(await this.find(actor, name));
  }

  async list(actor: Actor, page: Page, filter: ListFilter = {}) {
    const { rows, pagination } = await listOwned<DatabaseRow>(
      this.dialect,
      'databases',
      this.base(),
      actor,
      page,
      filter,
      'databases.name',
    );
    return { databases: rows.map(databaseView), pagination };
  }

  private async visibleDomain(actor: Actor, domain: string) {
    const row = await this.db
      .selectFrom('domains')
      .innerJoin('users', 'users.id', 'domains.owner_id')
      .select(['domains.id', 'domains.owner_id', 'users.username as owner'])
      .where('domains.domain', '=', domain.toLowerCase())
      .where(ownedBy(actor, 'domains'))
      .executeTakeFirst();
    if (!row)
      throw new AppError('VALIDATION_ERROR', `domain: no domain '${domain}'`, {
        details: { domain: [`No domain '${domain}'`] },
      });
    return row;
  }

  /** Owner = the domain's owner when a domain is given, else the caller. */
  async create(actor: Actor, input: CreateDatabaseInput) {
    let owner = { id: actor.userId, username: actor.username };
    let domainId: number | null = null;
    if (input.domain !== undefined) {
      const d = await this.visibleDomain(actor, input.domain);
      owner = { id: d.owner_id, username: d.owner };
      domainId = d.id;
    }
    for (const [field, value] of [
      ['name', input.name],
      ['user', input.user],
    ] as const) {
      if (value === undefined) continue;
      const part = ownPart(owner.username, value);
      if (part === '' || part.includes('_')) {
        const text = `${field} '${value}': the part after '${owner.username}_' must be letters and digits (no '_'), so every name says its owner`;
        throw new AppError('VALIDATION_ERROR', text, { details: { [field]: [text] } });
      }
    }
    const name = prefixed(owner.username, input.name);
    const dbUser = prefixed(owner.username, input.user ?? input.name);
    for (const [field, value] of [
      ['name', name],
      ['user', dbUser],
    ] as const) {
      if (value.length > MAX_NAME) {
        const text = `${field} with the owner prefix ('${value}') must be at most ${MAX_NAME} characters`;
        throw new AppError('VALIDATION_ERROR', text, { details: { [field]: [text] } });
      }
    }
    const now = this.clock().toISOString();
    await insertOwned(
      this.db,
      this.dialect,
      this.gate,
      actor,
      { kind: 'database', table: 'databases', label: 'Database' },
      { column: 'name', value: name },
      { name, owner_id: owner.id, db_user: dbUser, domain_id: domainId },
      now,
    );
    await this.provisioner.apply({
      action: 'create',
      kind: 'database',
      name,
      owner: owner.username,
      dbUser,
      ...(input.password ? { password: input.password } : {}),
    });
    return this.get(actor, name);
  }

  async update(actor: Actor, name: string, input: { password?: string; domain?: string | null }) {
    const row = await this.find(actor, name);
    if (input.domain !== undefined) {
      let domainId: number | null = null;
      if (input.domain !== null) {
        const d = await this.visibleDomain(actor, input.domain);
        if (d.owner_id !== row.owner_id) throw forbidden(`Domain '${input.domain}' belongs to another owner`);
        domainId = d.id;
      }
      await this.db
        .updateTable('databases')
        .set({ domain_id: domainId, updated_at: this.clock().toISOString() })
        .where('id', '=', row.id)
        .execute();
    }
    if (input.password !== undefined) {
      await this.provisioner.apply({
        action: 'create',
        kind: 'database',
        name: row.name,
        owner: row.owner,
        dbUser: row.db_user,
        password: input.password,
      });
    }
    return this.get(actor, name);
  }

  async setSuspended(actor: Actor, name: string, suspended: boolean) {
    const row = await this.find(actor, name);
    if (actor.role === 'user') throw forbidden('Only an admin or reseller may suspend a database');
    await setStatus(this.db, 'databases', row.id, suspended, this.clock());
    await this.provisioner.apply({
      action: suspended ? 'suspend' : 'unsuspend',
      kind: 'database',
      name: row.name,
      owner: row.owner,
    });
    return this.get(actor, name);
  }

  async delete(actor: Actor, name: string): Promise<void> {
    const row = await this.find(actor, name);
    await this.db.deleteFrom('databases').where('id', '=', row.id).execute();
    await this.provisioner.apply({ action: 'delete', kind: 'database', name: row.name, owner: row.owner });
  }
}
