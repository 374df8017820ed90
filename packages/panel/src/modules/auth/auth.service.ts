import { hash, verify } from '@node-rs/argon2';
import type { Role } from '@wispanel/contract';
import { AppError, forbidden, unauthorized } from '@wispanel/kit';
import type { Database as SqliteHandle } from 'better-sqlite3';
import type { Kysely } from 'kysely';
import { HotQuery } from '../../db/hot-query';
import type { PanelDB } from '../../db/schema';
import type { Actor } from './actor';
import type { LastUsedTracker } from './last-used';
import { API_KEY_PATTERN, digestsEqual, newSessionToken, SESSION_TOKEN_PATTERN, sha256Hex } from './tokens';

/** @node-rs/argon2's Algorithm.Argon2id (a const enum, not importable under verbatimModuleSyntax). */
const ARGON2ID = 2;

export async function hashPassword(password: string): Promise<string> {
  return hash(password, { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 });
}

// Verified when the login name is unknown, so both answers take as long.
let dummyHash: Promise<string> | undefined;

interface UserColumns {
  user_id: number;
  username: string;
  email: string;
  role: string;
  creator_id: number | null;
  status: string;
  license_disabled_at: string | null;
  package: string;
  created_at: string;
  creator: string | null;
}
type KeyRow = UserColumns & {
  key_id: string;
  secret_hash: string;
  permissions: string;
  ip_whitelist: string;
  expires_at: string | null;
  enabled: number;
};
type SessionRow = UserColumns & {
  session_id: string;
  token_hash: string;
  expires_at: string;
  session_created_at: string;
};

/** The caller's account as read together with the token (saves /auth/me a second query). */
export interface AccountProfile {
  id: number;
  username: string;
  email: string;
  role: Role;
  status: string;
  package: string;
  created_at: string;
  license_disabled_at: string | null;
  creator: string | null;
}

export interface Authenticated {
  actor: Actor;
  ipWhitelist: string[];
  profile: AccountProfile;
}

const profileOf = (row: UserColumns): AccountProfile => ({
  id: row.user_id,
  username: row.username,
  email: row.email,
  role: row.role as Role,
  status: row.status,
  package: row.package,
  created_at: row.created_at,
  license_disabled_at: row.license_disabled_at,
  creator: row.creator,
});

/** The account part of an actor, as read together with a key or session. */
const accountOf = (row: UserColumns) => ({
  userId: row.user_id,
  username: row.username,
  email: row.email,
  role: row.role as Role,
  creatorId: row.creator_id,
});

function freezeGrant(grant: Authenticated): Authenticated {
  Object.freeze(grant.actor.permissions);
  if (grant.actor.keyIpWhitelist) Object.freeze(grant.actor.keyIpWhitelist);
  Object.freeze(grant.actor);
  Object.freeze(grant.ipWhitelist);
  Object.freeze(grant.profile);
  return Object.freeze(grant);
}

/** Turns a bearer token into an actor, and runs UI login/logout. Knows nothing of HTTP. */
export class AuthService {
  constructor(
    private readonly db: Kysely<PanelDB>,
    private readonly clock: () => Date,
    private readonly lastUsed: LastUsedTracker,
    private readonly sessionTtlHours: number,
    sqlite?: SqliteHandle,
    /** Idle expiry of UI sessions: `expires_at` is the idle deadline, moved forward on use. */
    private readonly sessionIdleMinutes = 30,
  ) {
    const user =
      'u.id AS user_id, u.username, u.email, u.role, u.creator_id, u.status, u.license_disabled_at, u.package, u.created_at, c.username AS creator';
    this.keyLookup = new HotQuery(
      db as never,
      sqlite,
      `SELECT k.id AS key_id, k.secret_hash, k.permissions, k.ip_whitelist, k.expires_at, k.enabled, ${user} FROM api_keys k INNER JOIN users u ON u.id = k.user_id LEFT JOIN users c ON c.id = u.creator_id WHERE k.secret_hash = ?`,
      { cache: true },
    );
    this.sessionLookup = new HotQuery(
      db as never,
      sqlite,
      `SELECT s.id AS session_id, s.token_hash, s.expires_at, s.created_at AS session_created_at, ${user} FROM sessions s INNER JOIN users u ON u.id = s.user_id LEFT JOIN users c ON c.id = u.creator_id WHERE s.token_hash = ?`,
      { cache: true },
    );
  }

  private readonly keyLookup: HotQuery<KeyRow>;
  private readonly sessionLookup: HotQuery<SessionRow>;

  /**
   * Throws 401 UNAUTHORIZED (unknown/expired/disabled) or 403 FORBIDDEN (account suspended). Answers without a
   * promise when the lookup can (SQLite, see HotQuery.getSync), so the per-request hook stays synchronous.
   */
  authenticate(token: string, tokenHash = sha256Hex(token)): Authenticated | Promise<Authenticated> {
    if (API_KEY_PATTERN.test(token)) {
      const row = this.keyLookup.getSync(tokenHash);
      if (row === HotQuery.ASYNC)
        return this.keyLookup.get(tokenHash).then((r) => this.fromKeyRow(r, tokenHash));
      return this.fromKeyRow(row, tokenHash);
    }
    if (SESSION_TOKEN_PATTERN.test(token)) {
      const row = this.sessionLookup.getSync(tokenHash);
      if (row === HotQuery.ASYNC)
        return this.sessionLookup.get(tokenHash).then((r) => this.fromSessionRow(r, tokenHash));
      return this.fromSessionRow(row, tokenHash);
    }
    throw unauthorized('Invalid credentials');
  }

  /**
   * What a row grants, computed once per row object: the cached lookup hands out the same object until anything
   * in the database changes, so the JSON columns are parsed and the digest compared once, not per request.
   * Frozen, because every request with that token shares it.
   */
  private readonly granted = new WeakMap<object, Authenticated>();

  /** The row's grant from `granted`, or built (after the constant-time digest check) and remembered. */
  private grantOf(
    row: object,
    storedHash: string,
    tokenHash: string,
    build: () => Authenticated,
  ): Authenticated {
    let grant = this.granted.get(row);
    if (!grant) {
      if (!digestsEqual(storedHash, tokenHash)) throw unauthorized('Invalid credentials');
      grant = freezeGrant(build());
      this.granted.set(row, grant);
    }
    return grant;
  }

  private fromKeyRow(row: KeyRow | undefined, tokenHash: string): Authenticated {
    if (!row) throw unauthorized('Invalid credentials');
    const grant = this.grantOf(row, row.secret_hash, tokenHash, () => ({
      actor: {
        ...accountOf(row),
        via: 'api_key',
        keyId: row.key_id,
        permissions: JSON.parse(row.permissions) as string[],
        keyIpWhitelist: JSON.parse(row.ip_whitelist) as string[],
        keyExpiresAt: row.expires_at,
      },
      ipWhitelist: JSON.parse(row.ip_whitelist) as string[],
      profile: profileOf(row),
    }));
    if (!row.enabled) throw unauthorized('API key is disabled');
    const now = this.clock();
    if (row.expires_at && Date.parse(row.expires_at) <= now.getTime())
      throw unauthorized('API key has expired');
    this.assertAccountUsable(row.status, row.license_disabled_at);
    this.lastUsed.touch(row.key_id, now);
    return grant;
  }

  private fromSessionRow(row: SessionRow | undefined, tokenHash: string): Authenticated {
    if (!row) throw unauthorized('Invalid credentials');
    const grant = this.grantOf(row, row.token_hash, tokenHash, () => ({
      actor: { ...accountOf(row), via: 'session', sessionId: row.session_id, permissions: ['all'] },
      ipWhitelist: [],
      profile: profileOf(row),
    }));
    const now = this.clock().getTime();
    const expires = Date.parse(row.expires_at);
    if (expires <= now) throw unauthorized('Session has expired');
    this.assertAccountUsable(row.status, row.license_disabled_at);
    this.slideIdleDeadline(row.session_id, row.session_created_at, expires, now);
    return grant;
  }

  /**
   * Idle expiry: a used session's deadline moves to now + idle, never past created_at + lifetime. Written at
   * most once a minute per session (the write also refreshes the cached lookup), in the background.
   */
  private slideIdleDeadline(sessionId: string, createdAt: string, expires: number, now: number): void {
    const idleMs = this.sessionIdleMinutes * 60_000;
    const cap = Date.parse(createdAt) + this.sessionTtlHours * 3_600_000;
    const next = Math.min(now + idleMs, cap);
    if (next - expires < Math.min(60_000, idleMs / 2)) return;
    this.db
      .updateTable('sessions')
      .set({ expires_at: new Date(next).toISOString() })
      .where('id', '=', sessionId)
      .where('expires_at', '<', new Date(next).toISOString())
      .execute()
      .catch(() => {
        /* the next request tries again; a failed write only shortens the session */
      });
  }

  private assertAccountUsable(status: string, licenseDisabledAt: string | null): void {
    if (status !== 'active') throw forbidden('Account is suspended');
    if (licenseDisabledAt)
      throw new AppError(
        'LICENSE_RESOURCE_DISABLED',
        'Account is disabled by the license (over the license limits)',
      );
  }

  /** Username or email + password → a session token (shown once, stored hashed). */
  async login(
    login: string,
    password: string,
    ip: string,
  ): Promise<{ token: string; expires_at: string; user: { username: string; role: Role } }> {
    const user = await this.db
      .selectFrom('users')
      .select(['id', 'username', 'role', 'password_hash', 'status', 'license_disabled_at'])
      .where((eb) => eb.or([eb('username', '=', login), eb('email', '=', login.toLowerCase())]))
      .executeTakeFirst();
    dummyHash ??= hashPassword('not a real password');
    const ok = await verify(user?.password_hash ?? (await dummyHash), password).catch(() => false);
    if (!user || !ok) throw unauthorized('Invalid credentials');
    this.assertAccountUsable(user.status, user.license_disabled_at);
    const now = this.clock();
    const session = newSessionToken();
    const expires = new Date(
      now.getTime() + Math.min(this.sessionTtlHours * 60, this.sessionIdleMinutes) * 60_000,
    ).toISOString();
    await this.db.deleteFrom('sessions').where('expires_at', '<=', now.toISOString()).execute();
    await this.db
      .insertInto('sessions')
      .values({
        id: session.id,
        token_hash: session.hash,
        user_id: user.id,
        ip,
        created_at: now.toISOString(),
        expires_at: expires,
      })
      .execute();
    return {
      token: session.token,
      expires_at: expires,
      user: { username: user.username, role: user.role as Role },
    };
  }

  async logout(actor: Actor): Promise<void> {
    if (actor.via !== 'session' || !actor.sessionId) {
      throw new AppError(
        'VALIDATION_ERROR',
        'Logout ends a UI session; an API key is revoked with DELETE /api/v1/users/{username}/api-keys/{id}',
      );
    }
    await this.db.deleteFrom('sessions').where('id', '=', actor.sessionId).execute();
  }
}
