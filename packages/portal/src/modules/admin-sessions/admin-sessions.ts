/**
 * Web console sessions of the portal (docs/portal-console.md "Sessions"). A vendor signs in with an admin key,
 * which is exchanged for a random session token kept only in an `HttpOnly; Secure; SameSite=Strict` cookie
 * (the key itself is never stored by the browser). Sessions live in the database (SHA-256 of the token), so
 * every portal instance behind a load balancer accepts them; they end at sign-out, after `idleMinutes`
 * without a request, after `lifetimeHours` in any case, and at once when their admin key is revoked.
 */
import { hash, randomBytes } from 'node:crypto';
import { csrfTokenFor } from '@wispanel/kit';
import type { Kysely } from 'kysely';
import type { AdminKeys } from '../admin-keys/admin-keys';

export const ADMIN_SESSION_COOKIE = '__Host-wispanel_portal_session';
export const ADMIN_SESSION_TOKEN_PATTERN = /^wps_[0-9a-f]{64}$/;
export const ADMIN_CSRF_LABEL = 'wispanel-portal-csrf';
/** last_seen_at is written at most this often per session (a request does not cost a write). */
const TOUCH_EVERY_MS = 30_000;

export interface AdminSessionsTable {
  token_hash: string;
  key_prefix: string;
  ip: string | null;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
}

interface Tables {
  admin_sessions: AdminSessionsTable;
  admin_keys: { key_prefix: string; name: string; revoked_at: string | null };
}

export interface AdminSession {
  key_prefix: string;
  key_name: string;
  created_at: string;
  /** The hard end of the session. */
  expires_at: string;
  /** When it ends if no request comes before. */
  idle_expires_at: string;
  csrf_token: string;
}

export interface AdminSessionOptions {
  idleMinutes: number;
  lifetimeHours: number;
}

const sha256 = (text: string) => hash('sha256', text, 'hex');

export class AdminSessions {
  private readonly db: Kysely<Tables>;

  constructor(
    // biome-ignore lint/suspicious/noExplicitAny: any service database; this module types its own tables.
    db: Kysely<any>,
    private readonly adminKeys: AdminKeys,
    private readonly clock: () => Date,
    readonly options: AdminSessionOptions = { idleMinutes: 30, lifetimeHours: 12 },
  ) {
    this.db = db as Kysely<Tables>;
  }

  /** Signs in with an admin key: a new session, or null when the key is not an active admin key. */
  async create(adminKey: string, ip: string): Promise<{ token: string; session: AdminSession } | null> {
    const prefix = await this.adminKeys.check(adminKey);
    if (!prefix) return null;
    const now = this.clock();
    const token = `wps_${randomBytes(32).toString('hex')}`;
    const row: AdminSessionsTable = {
      token_hash: sha256(token),
      key_prefix: prefix,
      ip,
      created_at: now.toISOString(),
      last_seen_at: now.toISOString(),
      expires_at: new Date(now.getTime() + this.options.lifetimeHours * 3_600_000).toISOString(),
    };
    await this.db.insertInto('admin_sessions').values(row).execute();
    // Old sessions are removed here rather than by a timer: sign-ins are rare, the table stays small.
    await this.db.deleteFrom('admin_sessions').where('expires_at', '<', now.toISOString()).execute();
    const name = await this.db
      .selectFrom('admin_keys')
      .select('name')
      .where('key_prefix', '=', prefix)
      .executeTakeFirst();
    return { token, session: this.present(token, row, name?.name ?? '', now) };
  }

  /** The live session of a token, sliding its idle timer; null when unknown, idle, expired or key revoked. */
  async lookup(token: string): Promise<AdminSession | null> {
    if (!ADMIN_SESSION_TOKEN_PATTERN.test(token)) return null;
    const now = this.clock();
    const row = await this.db
      .selectFrom('admin_sessions')
      .innerJoin('admin_keys', 'admin_keys.key_prefix', 'admin_sessions.key_prefix')
      .select([
        'admin_sessions.token_hash',
        'admin_sessions.key_prefix',
        'admin_sessions.ip',
        'admin_sessions.created_at',
        'admin_sessions.last_seen_at',
        'admin_sessions.expires_at',
        'admin_keys.name',
        'admin_keys.revoked_at',
      ])
      .where('admin_sessions.token_hash', '=', sha256(token))
      .executeTakeFirst();
    if (!row || row.revoked_at !== null) return null;
    const idleEnd = Date.parse(row.last_seen_at) + this.options.idleMinutes * 60_000;
    if (now.getTime() >= Date.parse(row.expires_at) || now.getTime() >= idleEnd) {
      await this.end(token);
      return null;
    }
    let lastSeen = row.last_seen_at;
    if (now.getTime() - Date.parse(row.last_seen_at) >= TOUCH_EVERY_MS) {
      lastSeen = now.toISOString();
      await this.db
        .updateTable('admin_sessions')
        .set({ last_seen_at: lastSeen })
        .where('token_hash', '=', row.token_hash)
        .execute();
    }
    return this.present(token, { ...row, last_seen_at: lastSeen }, row.name, now);
  }

  async end(token: string): Promise<void> {
    if (!ADMIN_SESSION_TOKEN_PATTERN.test(token)) return;
    await this.db.deleteFrom('admin_sessions').where('token_hash', '=', sha256(token)).execute();
  }

  private present(
    token: string,
    row: Pick<AdminSessionsTable, 'key_prefix' | 'created_at' | 'last_seen_at' | 'expires_at'>,
    name: string,
    now: Date,
  ): AdminSession {
    const idle = Math.max(now.getTime(), Date.parse(row.last_seen_at)) + this.options.idleMinutes * 60_000;
    return {
      key_prefix: row.key_prefix,
      key_name: name,
      created_at: row.created_at,
      expires_at: row.expires_at,
      idle_expires_at: new Date(Math.min(idle, Date.parse(row.expires_at))).toISOString(),
      csrf_token: csrfTokenFor(token, ADMIN_CSRF_LABEL),
    };
  }
}
