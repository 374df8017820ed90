// The credential lookup and UI login (AuthService) against a real SQLite file, without HTTP: every rule of
// auth.service.ts asserted through its public methods, one rule per test. Also the mutation group `auth`
// (stryker.config.mjs): everything that runs the service happens inside a test (beforeAll only opens the
// database and writes rows with plain SQL), so Stryker runs each mutant only against the tests that reach it.
import { hash } from '@node-rs/argon2';
import { createLogger } from '@wispanel/kit';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../src/modules/auth/actor';
import { type Authenticated, AuthService, hashPassword } from '../src/modules/auth/auth.service';
import { LastUsedTracker } from '../src/modules/auth/last-used';
import { sha256Hex } from '../src/modules/auth/tokens';
import {
  expectRefused,
  insertKey,
  insertSession,
  insertUser,
  type RulesDb,
  refusal,
  rulesDatabase,
} from './rules-fixtures';

const rules = rulesDatabase('wispanel-auth-rules-');
let db: RulesDb;
let passwordHash: string;
const PASSWORD = 'correct horse battery';
const T0 = Date.parse('2030-01-01T00:00:00.000Z');

beforeAll(async () => {
  db = rules.db;
  passwordHash = await hash(PASSWORD, { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 });
});

const addUser = (o: Omit<Parameters<typeof insertUser>[1], 'passwordHash'> = {}) =>
  insertUser(db, { ...o, passwordHash });
const addKey = (userId: number, o: Parameters<typeof insertKey>[2] = {}) =>
  insertKey(db, userId, { createdAt: new Date(T0).toISOString(), ...o });
const addSession = (userId: number, createdAt: number, expiresAt: number) =>
  insertSession(db, userId, createdAt, expiresAt);

async function sessionExpiry(id: string): Promise<string | undefined> {
  const row = await db.db.selectFrom('sessions').select('expires_at').where('id', '=', id).executeTakeFirst();
  return row?.expires_at;
}

/** A service whose clock the test moves; `withSqlite: false` makes every lookup take the promise path. */
function service(o: { ttlHours?: number; idleMinutes?: number; withSqlite?: boolean } = {}) {
  const clock = { now: T0 };
  const lastUsed = new LastUsedTracker(db.db, createLogger({ level: 'silent' }));
  const auth = new AuthService(
    db.db,
    () => new Date(clock.now),
    lastUsed,
    o.ttlHours ?? 12,
    o.withSqlite === false ? undefined : db.sqlite,
    o.idleMinutes ?? 30,
  );
  return { auth, clock, lastUsed };
}

async function until(check: () => Promise<boolean>) {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('condition never met');
}

describe('hashPassword', () => {
  it('hashes with Argon2id, 19 MiB, 2 passes, 1 lane (OWASP minimum), salted', async () => {
    const a = await hashPassword('pw');
    expect(a).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
    expect(await hashPassword('pw')).not.toBe(a);
  });
});

describe('AuthService.authenticate with an API key', () => {
  it('grants the account, the key and its limits, synchronously, with the account profile', async () => {
    const creator = await addUser({ role: 'reseller' });
    const u = await addUser({ role: 'user', creatorId: creator.id });
    const key = await addKey(u.id, {
      permissions: ['domains', 'read'],
      ipWhitelist: ['203.0.113.0/24'],
      expiresAt: '2031-01-01T00:00:00.000Z',
    });
    const { auth, lastUsed } = service();
    const grant = auth.authenticate(key.secret) as Authenticated;
    expect(grant).not.toBeInstanceOf(Promise);
    expect(grant).toEqual({
      actor: {
        userId: u.id,
        username: u.username,
        email: u.email,
        role: 'user',
        creatorId: creator.id,
        via: 'api_key',
        keyId: key.id,
        permissions: ['domains', 'read'],
        keyIpWhitelist: ['203.0.113.0/24'],
        keyExpiresAt: '2031-01-01T00:00:00.000Z',
      },
      ipWhitelist: ['203.0.113.0/24'],
      profile: {
        id: u.id,
        username: u.username,
        email: u.email,
        role: 'user',
        status: 'active',
        package: 'default',
        created_at: '2029-06-01T00:00:00.000Z',
        license_disabled_at: null,
        creator: creator.username,
      },
    });
    expect(lastUsed.get(key.id)).toBe(new Date(T0).toISOString());
  });

  it('computes the hash itself when the caller does not pass it', async () => {
    const u = await addUser();
    const key = await addKey(u.id);
    const { auth } = service();
    expect((auth.authenticate(key.secret) as Authenticated).actor.keyId).toBe(key.id);
    expect((auth.authenticate(key.secret, sha256Hex(key.secret)) as Authenticated).actor.keyId).toBe(key.id);
  });

  it('hands out one frozen grant per stored row: a request cannot widen what the next one sees', async () => {
    const u = await addUser();
    const key = await addKey(u.id, { permissions: ['read'], ipWhitelist: ['10.0.0.1'] });
    const { auth } = service();
    const a = auth.authenticate(key.secret) as Authenticated;
    const b = auth.authenticate(key.secret) as Authenticated;
    expect(b).toBe(a);
    for (const part of [a, a.actor, a.actor.permissions, a.actor.keyIpWhitelist, a.ipWhitelist, a.profile])
      expect(Object.isFrozen(part)).toBe(true);
    expect(() => a.actor.permissions.push('all')).toThrow(TypeError);
    expect(() => (a.ipWhitelist as string[]).pop()).toThrow(TypeError);
    expect(() => (a.actor.keyIpWhitelist as string[]).pop()).toThrow(TypeError);
    expect(() => Object.assign(a.profile, { role: 'admin' })).toThrow(TypeError);
    expect(() => Object.assign(a.actor, { role: 'admin' })).toThrow(TypeError);
    expect(() => Object.assign(a, { ipWhitelist: [] })).toThrow(TypeError);
  });

  it('refuses an unknown key, a token of neither kind and a session token for a key: 401 Invalid credentials', async () => {
    const { auth } = service();
    expectRefused(
      await refusal(() => auth.authenticate(`wsp_${'0'.repeat(48)}`)),
      'UNAUTHORIZED',
      401,
      'Invalid credentials',
    );
    expectRefused(
      await refusal(() => auth.authenticate(`wss_${'0'.repeat(64)}`)),
      'UNAUTHORIZED',
      401,
      'Invalid credentials',
    );
    for (const bad of ['', 'wsp_', `wsp_${'A'.repeat(48)}`, `xwsp_${'0'.repeat(48)}`, 'Bearer x'])
      expectRefused(await refusal(() => auth.authenticate(bad)), 'UNAUTHORIZED', 401, 'Invalid credentials');
  });

  it('refuses a text that is not a token whatever digest the caller passes with it', async () => {
    const u = await addUser();
    const key = await addKey(u.id);
    const s = await addSession(u.id, T0, T0 + 60_000);
    const { auth } = service();
    for (const [text, digest] of [
      ['not-a-token', key.hash],
      ['not-a-token', s.hash],
      [key.secret.slice(0, -1), key.hash],
      [`${s.token}0`, s.hash],
    ] as const)
      expectRefused(
        await refusal(() => auth.authenticate(text, digest)),
        'UNAUTHORIZED',
        401,
        'Invalid credentials',
      );
  });

  it('refuses a disabled key (401) and does not record a use', async () => {
    const u = await addUser();
    const key = await addKey(u.id, { enabled: false });
    const { auth, lastUsed } = service();
    expectRefused(
      await refusal(() => auth.authenticate(key.secret)),
      'UNAUTHORIZED',
      401,
      'API key is disabled',
    );
    expect(lastUsed.get(key.id)).toBeUndefined();
  });

  it('refuses a key from the instant it expires, not a millisecond before; no expiry = never', async () => {
    const u = await addUser();
    const key = await addKey(u.id, { expiresAt: new Date(T0 + 1).toISOString() });
    const forever = await addKey(u.id, { expiresAt: null });
    const { auth, clock, lastUsed } = service();
    expect((auth.authenticate(key.secret) as Authenticated).actor.keyId).toBe(key.id);
    clock.now = T0 + 1;
    lastUsed.forget(key.id);
    expectRefused(
      await refusal(() => auth.authenticate(key.secret)),
      'UNAUTHORIZED',
      401,
      'API key has expired',
    );
    expect(lastUsed.get(key.id)).toBeUndefined();
    clock.now = T0 + 100 * 365 * 86_400_000;
    expect((auth.authenticate(forever.secret) as Authenticated).actor.keyId).toBe(forever.id);
  });

  it('refuses a key of a suspended account (403) and of a license-disabled one (LICENSE_RESOURCE_DISABLED)', async () => {
    const suspended = await addUser({ status: 'suspended' });
    const disabled = await addUser({ licenseDisabled: true });
    const k1 = await addKey(suspended.id);
    const k2 = await addKey(disabled.id);
    const { auth, lastUsed } = service();
    expectRefused(
      await refusal(() => auth.authenticate(k1.secret)),
      'FORBIDDEN',
      403,
      'Account is suspended',
    );
    const err = await refusal(() => auth.authenticate(k2.secret));
    expect(err.code).toBe('LICENSE_RESOURCE_DISABLED');
    expect(err.message).toBe('Account is disabled by the license (over the license limits)');
    expect(lastUsed.get(k1.id)).toBeUndefined();
    expect(lastUsed.get(k2.id)).toBeUndefined();
  });

  it('sees a key disabled, an account suspended or a key revoked on the very next call', async () => {
    const u = await addUser();
    const key = await addKey(u.id);
    const { auth } = service();
    expect((auth.authenticate(key.secret) as Authenticated).actor.keyId).toBe(key.id);
    await db.db.updateTable('users').set({ status: 'suspended' }).where('id', '=', u.id).execute();
    expect((await refusal(() => auth.authenticate(key.secret))).message).toBe('Account is suspended');
    await db.db.updateTable('users').set({ status: 'active' }).where('id', '=', u.id).execute();
    await db.db.updateTable('api_keys').set({ enabled: 0 }).where('id', '=', key.id).execute();
    expect((await refusal(() => auth.authenticate(key.secret))).message).toBe('API key is disabled');
    await db.db.deleteFrom('api_keys').where('id', '=', key.id).execute();
    expect((await refusal(() => auth.authenticate(key.secret))).message).toBe('Invalid credentials');
  });

  it('answers with a promise when the lookup needs one (an open transaction; PostgreSQL), with the same rules', async () => {
    const u = await addUser();
    const key = await addKey(u.id, { permissions: ['read'] });
    const off = await addKey(u.id, { enabled: false });
    const { auth } = service();
    let pending: unknown[] = [];
    // While a transaction holds the connection the lookup waits for it (never reads uncommitted rows).
    await db.db.transaction().execute(async () => {
      pending = [
        auth.authenticate(key.secret),
        auth.authenticate(`wsp_${'1'.repeat(48)}`),
        auth.authenticate(off.secret),
      ];
      for (const p of pending) {
        expect(p).toBeInstanceOf(Promise);
        (p as Promise<unknown>).catch(() => {});
      }
    });
    expect(((await pending[0]) as Authenticated).actor).toMatchObject({
      keyId: key.id,
      permissions: ['read'],
    });
    expect((await refusal(() => pending[1])).message).toBe('Invalid credentials');
    expect((await refusal(() => pending[2])).message).toBe('API key is disabled');
  });
});

describe('AuthService.authenticate with a UI session', () => {
  it('grants the account with every scope and no IP limit, frozen, once per row', async () => {
    const u = await addUser({ role: 'admin' });
    const s = await addSession(u.id, T0, T0 + 30 * 60_000);
    const { auth } = service();
    const grant = auth.authenticate(s.token) as Authenticated;
    expect(grant).not.toBeInstanceOf(Promise);
    expect(grant).toEqual({
      actor: {
        userId: u.id,
        username: u.username,
        email: u.email,
        role: 'admin',
        creatorId: null,
        via: 'session',
        sessionId: s.id,
        permissions: ['all'],
      },
      ipWhitelist: [],
      profile: {
        id: u.id,
        username: u.username,
        email: u.email,
        role: 'admin',
        status: 'active',
        package: 'default',
        created_at: '2029-06-01T00:00:00.000Z',
        license_disabled_at: null,
        creator: null,
      },
    });
    expect(auth.authenticate(s.token, s.hash)).toBe(grant);
    for (const part of [grant, grant.actor, grant.actor.permissions, grant.ipWhitelist, grant.profile])
      expect(Object.isFrozen(part)).toBe(true);
  });

  it('refuses a session from the instant its deadline passes, not a millisecond before', async () => {
    const u = await addUser();
    const s = await addSession(u.id, T0, T0 + 60_000);
    const { auth, clock } = service();
    clock.now = T0 + 59_999;
    expect((auth.authenticate(s.token) as Authenticated).actor.sessionId).toBe(s.id);
    clock.now = T0 + 60_000;
    expectRefused(
      await refusal(() => auth.authenticate(s.token)),
      'UNAUTHORIZED',
      401,
      'Session has expired',
    );
  });

  it('refuses the session of a suspended or license-disabled account', async () => {
    const a = await addUser({ status: 'suspended' });
    const b = await addUser({ licenseDisabled: true });
    const sa = await addSession(a.id, T0, T0 + 60_000);
    const sb = await addSession(b.id, T0, T0 + 60_000);
    const { auth } = service();
    expectRefused(await refusal(() => auth.authenticate(sa.token)), 'FORBIDDEN', 403, 'Account is suspended');
    expect((await refusal(() => auth.authenticate(sb.token))).code).toBe('LICENSE_RESOURCE_DISABLED');
  });

  it('refuses an unknown session token (401 Invalid credentials), also on the promise path', async () => {
    const u = await addUser();
    const s = await addSession(u.id, T0, T0 + 60_000);
    const { auth } = service();
    expectRefused(
      await refusal(() => auth.authenticate(`wss_${'2'.repeat(64)}`)),
      'UNAUTHORIZED',
      401,
      'Invalid credentials',
    );
    let pending: unknown[] = [];
    await db.db.transaction().execute(async () => {
      pending = [auth.authenticate(s.token), auth.authenticate(`wss_${'3'.repeat(64)}`)];
      for (const p of pending) {
        expect(p).toBeInstanceOf(Promise);
        (p as Promise<unknown>).catch(() => {});
      }
    });
    expect(((await pending[0]) as Authenticated).actor.sessionId).toBe(s.id);
    expect((await refusal(() => pending[1])).message).toBe('Invalid credentials');
  });

  it('moves the idle deadline to now + idle when used, in the background', async () => {
    const u = await addUser();
    const s = await addSession(u.id, T0, T0 + 30 * 60_000);
    const { auth, clock } = service({ idleMinutes: 30, ttlHours: 12 });
    clock.now = T0 + 10 * 60_000;
    auth.authenticate(s.token);
    const want = new Date(T0 + 40 * 60_000).toISOString();
    await until(async () => (await sessionExpiry(s.id)) === want);
    // The moved deadline is what the next request checks.
    clock.now = T0 + 39 * 60_000;
    expect((auth.authenticate(s.token) as Authenticated).actor.sessionId).toBe(s.id);
  });

  it('writes the deadline at most once a minute: a move under 60 s is skipped, 60 s is written', async () => {
    const u = await addUser();
    const start = T0 + 30 * 60_000;
    const s1 = await addSession(u.id, T0, start);
    const s2 = await addSession(u.id, T0, start);
    const { auth, clock } = service({ idleMinutes: 30, ttlHours: 12 });
    clock.now = T0 + 59_999; // next = start + 59 999 ms
    auth.authenticate(s1.token);
    clock.now = T0 + 60_000;
    auth.authenticate(s2.token);
    const want = new Date(start + 60_000).toISOString();
    await until(async () => (await sessionExpiry(s2.id)) === want);
    expect(await sessionExpiry(s1.id)).toBe(new Date(start).toISOString());
  });

  it('with a short idle time writes once the deadline moves by half of it (1 min idle: 30 s)', async () => {
    const u = await addUser();
    const s1 = await addSession(u.id, T0, T0 + 60_000);
    const s2 = await addSession(u.id, T0, T0 + 60_000);
    const { auth, clock } = service({ idleMinutes: 1, ttlHours: 12 });
    clock.now = T0 + 29_999;
    auth.authenticate(s1.token);
    clock.now = T0 + 30_000;
    auth.authenticate(s2.token);
    const want = new Date(T0 + 90_000).toISOString();
    await until(async () => (await sessionExpiry(s2.id)) === want);
    expect(await sessionExpiry(s1.id)).toBe(new Date(T0 + 60_000).toISOString());
  });

  it('never moves the deadline past created_at + the session lifetime', async () => {
    const u = await addUser();
    const created = T0 - 60 * 60_000 + 5 * 60_000; // lifetime 1 h ends at T0 + 5 min
    const s = await addSession(u.id, created, T0 + 60_000);
    const { auth, clock } = service({ idleMinutes: 30, ttlHours: 1 });
    clock.now = T0;
    auth.authenticate(s.token);
    const cap = new Date(T0 + 5 * 60_000).toISOString();
    await until(async () => (await sessionExpiry(s.id)) === cap);
    clock.now = T0 + 5 * 60_000;
    expect((await refusal(() => auth.authenticate(s.token))).message).toBe('Session has expired');
  });

  it('never moves a deadline back: a slower request with an earlier clock does not shorten it', async () => {
    const u = await addUser();
    const s = await addSession(u.id, T0, T0 + 30 * 60_000);
    const { auth, clock } = service({ idleMinutes: 30, ttlHours: 12 });
    clock.now = T0 + 20 * 60_000; // writes T0 + 50 min
    auth.authenticate(s.token);
    clock.now = T0 + 10 * 60_000; // the row still says T0 + 30 min: writes T0 + 40 min unless guarded
    auth.authenticate(s.token);
    const want = new Date(T0 + 50 * 60_000).toISOString();
    await until(async () => (await sessionExpiry(s.id)) === want);
    await new Promise((r) => setTimeout(r, 50));
    expect(await sessionExpiry(s.id)).toBe(want);
  });
});

describe('AuthService.login', () => {
  it('logs in by username or by email (any case) and returns a session token that authenticates', async () => {
    const u = await addUser({ role: 'reseller' });
    const { auth, clock } = service({ idleMinutes: 30, ttlHours: 12 });
    const a = await auth.login(u.username, PASSWORD, '198.51.100.7');
    expect(a.token).toMatch(/^wss_[0-9a-f]{64}$/);
    expect(a.expires_at).toBe(new Date(T0 + 30 * 60_000).toISOString());
    expect(a.user).toEqual({ username: u.username, role: 'reseller' });
    const row = await db.db
      .selectFrom('sessions')
      .selectAll()
      .where('token_hash', '=', sha256Hex(a.token))
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      user_id: u.id,
      ip: '198.51.100.7',
      created_at: new Date(T0).toISOString(),
      expires_at: a.expires_at,
    });
    expect(JSON.stringify(row)).not.toContain(a.token);
    const grant = auth.authenticate(a.token) as Authenticated;
    expect(grant.actor).toMatchObject({ userId: u.id, via: 'session', sessionId: row.id });
    clock.now = T0 + 1;
    const b = await auth.login(u.email.toUpperCase(), PASSWORD, '::1');
    expect(b.user.username).toBe(u.username);
    expect(b.token).not.toBe(a.token);
  });

  it('a session lifetime shorter than the idle time bounds the first deadline', async () => {
    const u = await addUser();
    const { auth } = service({ idleMinutes: 30, ttlHours: 0.25 });
    expect((await auth.login(u.username, PASSWORD, '::1')).expires_at).toBe(
      new Date(T0 + 15 * 60_000).toISOString(),
    );
  });

  it('refuses a wrong password, an unknown name and a username in another case alike: 401 Invalid credentials', async () => {
    const u = await addUser();
    const { auth } = service();
    for (const [login, pw] of [
      [u.username, 'wrong password'],
      [u.username, ''],
      ['nobody-here', PASSWORD],
      ['nobody-here', 'not a real password'],
      ['', ''],
      [u.username.toUpperCase(), PASSWORD],
    ] as const)
      expectRefused(
        await refusal(() => auth.login(login, pw, '::1')),
        'UNAUTHORIZED',
        401,
        'Invalid credentials',
      );
    const count = await db.db
      .selectFrom('sessions')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('user_id', '=', u.id)
      .executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(0);
  });

  it('refuses every password for an account whose stored hash is unreadable (no 500, no way in)', async () => {
    const u = await addUser();
    await db.db
      .updateTable('users')
      .set({ password_hash: 'not-an-argon2-hash' })
      .where('id', '=', u.id)
      .execute();
    const { auth } = service();
    for (const pw of [PASSWORD, 'not-an-argon2-hash', ''])
      expectRefused(
        await refusal(() => auth.login(u.username, pw, '::1')),
        'UNAUTHORIZED',
        401,
        'Invalid credentials',
      );
  });

  it('refuses a suspended or license-disabled account only after the password is right', async () => {
    const s = await addUser({ status: 'suspended' });
    const d = await addUser({ licenseDisabled: true });
    const { auth } = service();
    expect((await refusal(() => auth.login(s.username, 'nope', '::1'))).message).toBe('Invalid credentials');
    expectRefused(
      await refusal(() => auth.login(s.username, PASSWORD, '::1')),
      'FORBIDDEN',
      403,
      'Account is suspended',
    );
    expect((await refusal(() => auth.login(d.username, PASSWORD, '::1'))).code).toBe(
      'LICENSE_RESOURCE_DISABLED',
    );
    const count = await db.db
      .selectFrom('sessions')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('user_id', 'in', [s.id, d.id])
      .executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(0);
  });

  it('removes sessions whose deadline has passed (at the instant, not before) when someone logs in', async () => {
    const u = await addUser();
    const gone = await addSession(u.id, T0 - 60_000, T0);
    const kept = await addSession(u.id, T0 - 60_000, T0 + 1);
    const { auth } = service();
    await auth.login(u.username, PASSWORD, '::1');
    expect(await sessionExpiry(gone.id)).toBeUndefined();
    expect(await sessionExpiry(kept.id)).toBe(new Date(T0 + 1).toISOString());
  });
});

describe('AuthService.logout', () => {
  it('ends exactly the calling session', async () => {
    const u = await addUser();
    const { auth } = service();
    const a = await auth.login(u.username, PASSWORD, '::1');
    const b = await auth.login(u.username, PASSWORD, '::1');
    const actor = (auth.authenticate(a.token) as Authenticated).actor;
    await auth.logout(actor);
    expect((await refusal(() => auth.authenticate(a.token))).message).toBe('Invalid credentials');
    expect((auth.authenticate(b.token) as Authenticated).actor.userId).toBe(u.id);
  });

  it('refuses an API key (revoked elsewhere) and a session actor without a session id: 400', async () => {
    const u = await addUser();
    const key = await addKey(u.id);
    const s = await addSession(u.id, T0, T0 + 60_000);
    const { auth } = service();
    const keyActor = (auth.authenticate(key.secret) as Authenticated).actor;
    const message =
      'Logout ends a UI session; an API key is revoked with DELETE /api/v1/users/{username}/api-keys/{id}';
    expectRefused(await refusal(() => auth.logout(keyActor)), 'VALIDATION_ERROR', 400, message);
    const noId: Actor = { ...keyActor, via: 'session', keyId: undefined, sessionId: undefined };
    expectRefused(await refusal(() => auth.logout(noId)), 'VALIDATION_ERROR', 400, message);
    // A key actor carrying a session id (never built by authenticate) still cannot end that session.
    const forged: Actor = { ...keyActor, sessionId: s.id };
    expectRefused(await refusal(() => auth.logout(forged)), 'VALIDATION_ERROR', 400, message);
    expect(await sessionExpiry(s.id)).toBe(new Date(T0 + 60_000).toISOString());
  });
});
