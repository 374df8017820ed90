import { verify } from '@node-rs/argon2';
import type { Role } from '@wispanel/contract';
import { AppError, conflict, type Dialect, forbidden, isUniqueViolation, notFound } from '@wispanel/kit';
import type { Database as SqliteHandle } from 'better-sqlite3';
import type { Kysely, Selectable, Updateable } from 'kysely';
import { HotQuery } from '../../db/hot-query';
import type { PanelDB, UserTable } from '../../db/schema';
import { type Actor, isRestrictedKey } from '../auth/actor';
import type { AccountProfile } from '../auth/auth.service';
import { hashPassword } from '../auth/auth.service';
import type { LicenseGate } from '../resources/license-gate';
import {
  canManageOwner,
  contains,
  type ListFilter,
  listPage,
  lockForCreate,
  type Page,
  setStatus,
  stateFields,
  stateFilter,
  visibleUsers,
  type Where,
} from '../resources/ownership';
import type { Provisioner } from '../resources/provisioner';

export interface CreateUserInput {
  username: string;
  email: string;
  password: string;
  role?: Role;
  package?: string;
}

export interface UpdateUserInput {
  email?: string;
  password?: string;
  /** Required with `password` when changing your own: proves the caller holds the login, not just a token. */
  current_password?: string;
  role?: Role;
  package?: string;
}

/** The caller's own account: the same columns the authenticator reads with the token. */
export type ProfileRow = AccountProfile;

type UserRow = Selectable<UserTable> & { creator: string | null };

/**
 * Setting a password (creating an account, or changing another account's) makes a login with that account's
 * full rights, usable from any address and never expiring: only a UI session or an unrestricted API key (scope
 * `all`, no IP whitelist, no expiry) may do it.
 */
function assertMaySetPassword(actor: Actor): void {
  if (isRestrictedKey(actor)) {
    throw forbidden(
      'Setting a password needs a UI session or an API key with scope all, no IP whitelist and no expiry (a password is a login with the full rights of its account)',
    );
  }
}

export function userView(u: UserRow) {
  return {
    id: u.id,
    username: u.username,
    email: u.email,
    role: u.role as Role,
    package: u.package,
    creator: u.creator,
    ...stateFields(u),
    created_at: u.created_at,
    updated_at: u.updated_at,
  };
}
export type UserView = ReturnType<typeof userView>;

/** Accounts (SPEC B1). Services take (actor, input) and never see HTTP. */
export class UserService {
  constructor(
    private readonly db: Kysely<PanelDB>,
    private readonly dialect: Dialect,
    private readonly clock: () => Date,
    private readonly gate: LicenseGate,
    private readonly provisioner: Provisioner,
    sqlite?: SqliteHandle,
  ) {
    this.profileLookup = new HotQuery(
      db as never,
      sqlite,
      'SELECT u.id, u.username, u.email, u.role, u.status, u.package, u.created_at, u.license_disabled_at, c.username AS creator FROM users u LEFT JOIN users c ON c.id = u.creator_id WHERE u.id = ?',
    );
  }

  private readonly profileLookup: HotQuery<ProfileRow>;

  /** The caller's own account (for /auth/me; on the hot path, so a prepared statement). */
  async profile(actor: Actor): Promise<ProfileRow> {
    const row = await this.profileLookup.get(actor.userId);
    if (!row) throw notFound(`User '${actor.username}'`);
    return row;
  }

  private base(db: Kysely<PanelDB> = this.db) {
    return db
      .selectFrom('users')
      .leftJoin('users as c', 'c.id', 'users.creator_id')
      .selectAll('users')
      .select('c.username as creator');
  }

  /** The account if `actor` may see it, else 404. */
  async find(actor: Actor, username: string): Promise<UserRow> {
    const row = await this.base()
      .where('users.username', '=', username)
      .where(visibleUsers(actor))
      .executeTakeFirst();
    if (!row) throw notFound(`User '${username}'`);
    return row;
  }

  async get(actor: Actor, username: string): Promise<UserView> {
    return userView(await this.find(actor, username));
  }

  async list(actor: Actor, page: Page, filter: ListFilter = {}) {
    const filters: Where[] = [visibleUsers(actor) as Where];
    if (filter.q) {
      const q = filter.q;
      filters.push((eb) =>
        eb.or([
          contains(this.dialect, 'users.username', q)(eb),
          contains(this.dialect, 'users.email', q)(eb),
        ]),
      );
    }
    const state = stateFilter('users', filter.status);
    if (state) filters.push(state);
    if (filter.role) {
      const role = filter.role;
      filters.push((eb) => eb('users.role', '=', role));
    }
    const { rows, pagination } = await listPage<UserRow>(this.base(), 'users', filters, page);
    return { users: rows.map(userView), pagination };
  }

  /**
   * Admins create any role; resellers create users under themselves. Also used by `wispanel init` with a
   * system actor. Race-free against license limits: gate + insert in one locked transaction.
   */
  async create(actor: Actor, input: CreateUserInput): Promise<UserView> {
    const role = input.role ?? 'user';
    if (actor.role === 'reseller' && role !== 'user')
      throw forbidden('A reseller may only create accounts with role user');
    if (actor.role === 'user') throw forbidden('This action requires role admin or reseller');
    assertMaySetPassword(actor);
    const email = input.email.toLowerCase();
    const passwordHash = await hashPassword(input.password);
    const now = this.clock().toISOString();
    let id: number;
    try {
      id = await this.db.transaction().execute(async (tx) => {
        await lockForCreate(tx, this.dialect);
        const clash = await tx
          .selectFrom('users')
          .select(['username', 'email'])
          .where((eb) => eb.or([eb('username', '=', input.username), eb('email', '=', email)]))
          .executeTakeFirst();
        if (clash?.username === input.username)
          throw conflict(`Username '${input.username}' is already taken`);
        if (clash) throw conflict(`Email '${email}' is already in use`);
        await this.gate.assertCanCreate('account', actor, tx);
        const inserted = await tx
          .insertInto('users')
          .values({
            username: input.username,
            email,
            password_hash: passwordHash,
            role,
            package: input.package ?? 'default',
            creator_id: actor.userId > 0 ? actor.userId : null,
            status: 'active',
            license_disabled_at: null,
            license_disabled_reason: null,
            created_at: now,
            updated_at: now,
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        return inserted.id;
      });
    } catch (err) {
      if (isUniqueViolation(err))
        throw conflict(`Username '${input.username}' or email '${email}' is already in use`);
      throw err;
    }
    await this.provisioner.apply({ action: 'create', kind: 'account', name: input.username });
    const row = await this.base().where('users.id', '=', id).executeTakeFirstOrThrow();
    return userView(row);
  }

  async update(actor: Actor, username: string, input: UpdateUserInput): Promise<UserView> {
    const user = await this.find(actor, username);
    const self = user.id === actor.userId;
    if (input.role !== undefined && input.role !== user.role) {
      if (actor.role !== 'admin') throw forbidden('Only an admin may change a role');
      if (self) throw forbidden('You cannot change your own role');
    }
    if (input.package !== undefined && input.package !== user.package && (self || actor.role === 'user')) {
      if (actor.role !== 'admin')
        throw forbidden('Only an admin or the reseller of an account may change its package');
    }
    if (input.password !== undefined) {
      if (self) await this.assertCurrentPassword(user.id, input.current_password);
      else assertMaySetPassword(actor);
    }
    const set: Updateable<UserTable> = { updated_at: this.clock().toISOString() };
    if (input.email !== undefined) set.email = input.email.toLowerCase();
    if (input.password !== undefined) set.password_hash = await hashPassword(input.password);
    if (input.role !== undefined) set.role = input.role;
    if (input.package !== undefined) set.package = input.package;
    try {
      await this.db.transaction().execute(async (tx) => {
        await tx.updateTable('users').set(set).where('id', '=', user.id).execute();
        if (input.password !== undefined) {
          // A new password ends every session of the account; the UI session changing its own password stays.
          let end = tx.deleteFrom('sessions').where('user_id', '=', user.id);
          if (self && actor.via === 'session' && actor.sessionId)
            end = end.where('id', '!=', actor.sessionId);
          await end.execute();
        }
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict(`Email '${String(set.email)}' is already in use`);
      throw err;
    }
    return this.get(actor, username);
  }

  /** 400 when missing, 403 when it is not the account's password (argon2 verify, constant time). */
  private async assertCurrentPassword(userId: number, current: string | undefined): Promise<void> {
    if (current === undefined || current === '') {
      const text = 'current_password is required to change your own password';
      throw new AppError('VALIDATION_ERROR', text, { details: { current_password: [text] } });
    }
    const row = await this.db
      .selectFrom('users')
      .select('password_hash')
      .where('id', '=', userId)
      .executeTakeFirstOrThrow();
    const ok = await verify(row.password_hash, current).catch(() => false);
    if (!ok) throw forbidden('current_password is not the password of this account');
  }

  /** Admin suspension, separate from the license mark: enforcement never touches it and vice versa. */
  async setSuspended(actor: Actor, username: string, suspended: boolean): Promise<UserView> {
    const user = await this.find(actor, username);
    if (user.id === actor.userId)
      throw forbidden(`You cannot ${suspended ? 'suspend' : 'unsuspend'} your own account`);
    if (!canManageOwner(actor, user)) throw forbidden('Not allowed');
    await setStatus(this.db, 'users', user.id, suspended, this.clock());
    await this.provisioner.apply({
      action: suspended ? 'suspend' : 'unsuspend',
      kind: 'account',
      name: username,
    });
    return this.get(actor, username);
  }

  /** Refuses (409) while the account still owns domains, databases or accounts: nothing is deleted by surprise. */
  async delete(actor: Actor, username: string): Promise<void> {
    const user = await this.find(actor, username);
    if (user.id === actor.userId) throw forbidden('You cannot delete your own account');
    const count = async (q: Promise<{ n: number | string | bigint }>) => Number((await q).n);
    const [domains, databases, accounts] = await Promise.all([
      count(
        this.db
          .selectFrom('domains')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('owner_id', '=', user.id)
          .executeTakeFirstOrThrow(),
      ),
      count(
        this.db
          .selectFrom('databases')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('owner_id', '=', user.id)
          .executeTakeFirstOrThrow(),
      ),
      count(
        this.db
          .selectFrom('users')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('creator_id', '=', user.id)
          .executeTakeFirstOrThrow(),
      ),
    ]);
    if (domains + databases + accounts > 0) {
      throw new AppError(
        'CONFLICT',
        `User '${username}' still owns ${domains} domain(s), ${databases} database(s) and ${accounts} account(s); delete them first`,
      );
    }
    await this.db.deleteFrom('users').where('id', '=', user.id).execute();
    await this.provisioner.apply({ action: 'delete', kind: 'account', name: username });
  }
}
