// Key issuing, listing, revoking and disabling (ApiKeyService) against a real SQLite file, without HTTP: the
// no-escalation rules (scopes, IP whitelist, expiry), ownership and the stored shape, through the service's
// public methods. Also the mutation group `auth` (stryker.config.mjs): the service only runs inside tests.
import { API_KEY_SCOPES, type Role } from '@wispanel/contract';
import { createLogger } from '@wispanel/kit';
import { beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyService } from '../src/modules/api-keys/api-keys.service';
import type { Actor } from '../src/modules/auth/actor';
import { LastUsedTracker } from '../src/modules/auth/last-used';
import { sha256Hex } from '../src/modules/auth/tokens';
import { allowAllLicenseGate } from '../src/modules/resources/license-gate';
import { RecordingProvisioner } from '../src/modules/resources/provisioner';
import { UserService } from '../src/modules/users/users.service';
import { expectRefused, insertUser, type RulesDb, refusal, rulesDatabase } from './rules-fixtures';

const rules = rulesDatabase('wispanel-api-keys-rules-');
let db: RulesDb;
const T0 = Date.parse('2030-01-01T00:00:00.000Z');
const DAY = 86_400_000;

beforeAll(() => {
  db = rules.db;
});

function setup() {
  const clock = { now: T0 };
  const now = () => new Date(clock.now);
  const lastUsed = new LastUsedTracker(db.db, createLogger({ level: 'silent' }));
  const users = new UserService(
    db.db,
    db.dialect,
    now,
    allowAllLicenseGate,
    new RecordingProvisioner(),
    db.sqlite,
  );
  return { keys: new ApiKeyService(db.db, now, users, lastUsed), clock, lastUsed };
}

/** An account row and an actor for it (an `all` key unless told otherwise). */
async function account(role: Role, o: { creatorId?: number; actor?: Partial<Actor> } = {}) {
  const { id, username } = await insertUser(db, { role, creatorId: o.creatorId ?? null });
  const actor: Actor = {
    userId: id,
    username,
    email: `${username}@example.com`,
    role,
    creatorId: o.creatorId ?? null,
    via: 'api_key',
    keyId: '0123456789abcdef',
    permissions: ['all'],
    keyIpWhitelist: [],
    keyExpiresAt: null,
    ...o.actor,
  };
  return { id, username, actor };
}

const storedRow = (id: string) =>
  db.db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();

describe('ApiKeyService.issue', () => {
  it('issues a key shown once and stored only as its SHA-256, with the documented view', async () => {
    const admin = await account('admin');
    const user = await account('user');
    const { keys } = setup();
    const out = await keys.issue(admin.actor, user.username, {
      name: 'billing',
      permissions: ['domains', 'read'],
      ip_whitelist: ['203.0.113.0/24', '2001:db8::1'],
      expires_in: 90,
    });
    expect(out.secret).toMatch(/^wsp_[0-9a-f]{48}$/);
    expect(out.key).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{16}$/),
      name: 'billing',
      key_prefix: out.secret.slice(0, 12),
      permissions: ['domains', 'read'],
      ip_whitelist: ['203.0.113.0/24', '2001:db8::1'],
      last_used: null,
      created_at: new Date(T0).toISOString(),
      expires_at: new Date(T0 + 90 * DAY).toISOString(),
      enabled: true,
    });
    const row = await storedRow(out.key.id);
    expect(row).toEqual({
      id: out.key.id,
      user_id: user.id,
      name: 'billing',
      key_prefix: out.secret.slice(0, 12),
      secret_hash: sha256Hex(out.secret),
      permissions: '["domains","read"]',
      ip_whitelist: '["203.0.113.0/24","2001:db8::1"]',
      last_used: null,
      created_at: new Date(T0).toISOString(),
      expires_at: new Date(T0 + 90 * DAY).toISOString(),
      enabled: 1,
    });
    expect(JSON.stringify(row)).not.toContain(out.secret.slice(4));
  });

  it('defaults to a read-only key that never expires and may be used from anywhere; repeated scopes count once', async () => {
    const admin = await account('admin');
    const { keys } = setup();
    const out = await keys.issue(admin.actor, admin.username, { name: 'd' });
    expect(out.key).toMatchObject({ permissions: ['read'], ip_whitelist: [], expires_at: null });
    const zero = await keys.issue(admin.actor, admin.username, {
      name: 'z',
      permissions: ['read', 'domains', 'read'],
      expires_in: 0,
    });
    expect(zero.key).toMatchObject({ permissions: ['read', 'domains'], expires_at: null });
  });

  it('refuses an unknown scope with a 400 naming it and the known ones', async () => {
    const admin = await account('admin');
    const { keys } = setup();
    const err = await refusal(() =>
      keys.issue(admin.actor, admin.username, { name: 'x', permissions: ['read', 'root', 'god'] }),
    );
    const text = `permissions: unknown scope 'root' (known: ${API_KEY_SCOPES.join(', ')})`;
    expect(API_KEY_SCOPES).toContain('all');
    expectRefused(err, 'VALIDATION_ERROR', 400, text);
    expect(err.details).toEqual({ permissions: [text] });
  });

  it('a key without `all` grants only scopes it holds itself; a key with `all` grants any', async () => {
    const admin = await account('admin', { actor: { permissions: ['api-keys', 'domains'] } });
    const { keys } = setup();
    const ok = await keys.issue(admin.actor, admin.username, { name: 'ok', permissions: ['domains'] });
    expect(ok.key.permissions).toEqual(['domains']);
    expectRefused(
      await refusal(() =>
        keys.issue(admin.actor, admin.username, { name: 'x', permissions: ['domains', 'users', 'all'] }),
      ),
      'FORBIDDEN',
      403,
      'API key cannot grant permissions it does not hold: users, all',
    );
    // The default scope `read` is a scope too: a key without it cannot hand it out.
    expect((await refusal(() => keys.issue(admin.actor, admin.username, { name: 'r' }))).status).toBe(403);
    const all = await account('admin');
    const wide = await keys.issue(all.actor, all.username, { name: 'w', permissions: ['all', 'users'] });
    expect(wide.key.permissions).toEqual(['all', 'users']);
  });

  it('trims and de-duplicates the IP whitelist and refuses an entry that is not an address or CIDR', async () => {
    const admin = await account('admin');
    const { keys } = setup();
    const out = await keys.issue(admin.actor, admin.username, {
      name: 'ip',
      ip_whitelist: [' 10.0.0.1 ', '10.0.0.1', '\t2001:db8::/32'],
    });
    expect(out.key.ip_whitelist).toEqual(['10.0.0.1', '2001:db8::/32']);
    for (const bad of ['10.0.0.300', 'example.com', '10.0.0.0/33', ''])
      expect(
        (
          await refusal(() =>
            keys.issue(admin.actor, admin.username, { name: 'b', ip_whitelist: ['10.0.0.1', bad] }),
          )
        ).message,
      ).toBe(`ip_whitelist: '${bad}' is not an IPv4/IPv6 address or CIDR`);
    const err = await refusal(() =>
      keys.issue(admin.actor, admin.username, { name: 'b', ip_whitelist: ['nope'] }),
    );
    expect(err.code).toBe('VALIDATION_ERROR');
    expect(err.details).toEqual({
      ip_whitelist: ["ip_whitelist: 'nope' is not an IPv4/IPv6 address or CIDR"],
    });
  });

  it('a key with an IP whitelist issues only keys whose every entry lies within it (empty = any address = wider)', async () => {
    const admin = await account('admin', { actor: { keyIpWhitelist: ['10.0.0.0/8', '192.0.2.7'] } });
    const { keys } = setup();
    const ok = await keys.issue(admin.actor, admin.username, {
      name: 'in',
      ip_whitelist: ['10.1.0.0/16', '192.0.2.7'],
    });
    expect(ok.key.ip_whitelist).toEqual(['10.1.0.0/16', '192.0.2.7']);
    const message =
      'API key cannot issue a key with a wider IP whitelist than its own (10.0.0.0/8, 192.0.2.7): every entry must lie within it';
    for (const wider of [[], ['11.0.0.1'], ['10.0.0.0/7'], ['10.0.0.1', '192.0.2.8']])
      expectRefused(
        await refusal(() => keys.issue(admin.actor, admin.username, { name: 'x', ip_whitelist: wider })),
        'FORBIDDEN',
        403,
        message,
      );
    // An actor without a whitelist (a session) may issue any.
    const session = await account('admin', { actor: { via: 'session', keyIpWhitelist: undefined } });
    expect(
      (await keys.issue(session.actor, session.username, { name: 's', ip_whitelist: ['11.0.0.1'] })).key
        .ip_whitelist,
    ).toEqual(['11.0.0.1']);
  });

  it('a key with an expiry issues only keys that do not outlive it: capped within its remaining (rounded up) days', async () => {
    const own = new Date(T0 + 9.5 * DAY).toISOString();
    const admin = await account('admin', { actor: { keyExpiresAt: own } });
    const { keys } = setup();
    const message = `API key expiring at ${own} cannot issue a key that outlives it: set expires_in to at most 10 day(s)`;
    expectRefused(
      await refusal(() => keys.issue(admin.actor, admin.username, { name: 'x' })),
      'FORBIDDEN',
      403,
      message,
    );
    expectRefused(
      await refusal(() => keys.issue(admin.actor, admin.username, { name: 'x', expires_in: 0 })),
      'FORBIDDEN',
      403,
      message,
    );
    expectRefused(
      await refusal(() => keys.issue(admin.actor, admin.username, { name: 'x', expires_in: 11 })),
      'FORBIDDEN',
      403,
      message,
    );
    // 10 days (within the rounded-up 10) is capped at the issuing key's own expiry.
    expect(
      (await keys.issue(admin.actor, admin.username, { name: 'c', expires_in: 10 })).key.expires_at,
    ).toBe(own);
    // 9 days ends before it and is kept.
    expect((await keys.issue(admin.actor, admin.username, { name: 'k', expires_in: 9 })).key.expires_at).toBe(
      new Date(T0 + 9 * DAY).toISOString(),
    );
    // Exactly on a day boundary: 3 days left allows 3, which ends exactly at the issuing key's expiry.
    const exact = new Date(T0 + 3 * DAY).toISOString();
    const other = await account('admin', { actor: { keyExpiresAt: exact } });
    expect((await keys.issue(other.actor, other.username, { name: 'e', expires_in: 3 })).key.expires_at).toBe(
      exact,
    );
    expect(
      (await refusal(() => keys.issue(other.actor, other.username, { name: 'e', expires_in: 4 }))).message,
    ).toBe(
      `API key expiring at ${exact} cannot issue a key that outlives it: set expires_in to at most 3 day(s)`,
    );
  });

  it('only an admin issues keys for another account; others get 403, or 404 when they cannot see it', async () => {
    const admin = await account('admin');
    const reseller = await account('reseller');
    const customer = await account('user', { creatorId: reseller.id });
    const stranger = await account('user');
    const { keys } = setup();
    expect((await keys.issue(admin.actor, customer.username, { name: 'a' })).key.name).toBe('a');
    expect((await keys.issue(reseller.actor, reseller.username, { name: 'own' })).key.name).toBe('own');
    expect((await keys.issue(customer.actor, customer.username, { name: 'own' })).key.name).toBe('own');
    expectRefused(
      await refusal(() => keys.issue(reseller.actor, customer.username, { name: 'x' })),
      'FORBIDDEN',
      403,
      'Only an admin may manage API keys of another account',
    );
    expect((await refusal(() => keys.issue(customer.actor, stranger.username, { name: 'x' }))).code).toBe(
      'NOT_FOUND',
    );
    expect((await refusal(() => keys.list(reseller.actor, customer.username))).code).toBe('FORBIDDEN');
    expect((await refusal(() => keys.list(reseller.actor, stranger.username))).code).toBe('NOT_FOUND');
  });
});

describe('ApiKeyService list, get, revoke, enable', () => {
  it('lists one account’s keys oldest first (then by id), with the last use seen in memory over the stored one', async () => {
    const admin = await account('admin');
    const user = await account('user');
    const other = await account('user');
    const { keys, clock, lastUsed } = setup();
    clock.now = T0 + 2000;
    const b = await keys.issue(admin.actor, user.username, { name: 'b' });
    clock.now = T0 + 1000;
    const a = await keys.issue(admin.actor, user.username, { name: 'a' });
    clock.now = T0 + 3000;
    const c1 = await keys.issue(admin.actor, user.username, { name: 'c1' });
    const c2 = await keys.issue(admin.actor, user.username, { name: 'c2' });
    await keys.issue(admin.actor, other.username, { name: 'other' });
    const third = [c1, c2].sort((x, y) => (x.key.id < y.key.id ? -1 : 1));
    await db.db
      .updateTable('api_keys')
      .set({ last_used: '2029-01-01T00:00:00.000Z' })
      .where('id', 'in', [a.key.id, b.key.id])
      .execute();
    lastUsed.touch(b.key.id, new Date(T0 + 5000));
    const listed = await keys.list(admin.actor, user.username);
    expect(listed.map((k) => k.name)).toEqual(['a', 'b', third[0]?.key.name, third[1]?.key.name]);
    expect(listed[0]).toEqual({ ...a.key, last_used: '2029-01-01T00:00:00.000Z' });
    expect(listed[1]?.last_used).toBe(new Date(T0 + 5000).toISOString());
    expect(listed[2]?.last_used).toBeNull();
  });

  it('gets one key of the named account; another account’s key id is 404', async () => {
    const admin = await account('admin');
    const user = await account('user');
    const other = await account('user');
    const { keys } = setup();
    const k = await keys.issue(admin.actor, user.username, { name: 'g', permissions: ['domains'] });
    expect(await keys.get(admin.actor, user.username, k.key.id)).toEqual(k.key);
    expectRefused(
      await refusal(() => keys.get(admin.actor, other.username, k.key.id)),
      'NOT_FOUND',
      404,
      `API key '${k.key.id}' not found`,
    );
    expect((await refusal(() => keys.get(admin.actor, user.username, 'ffffffffffffffff'))).code).toBe(
      'NOT_FOUND',
    );
    expect((await refusal(() => keys.get(other.actor, user.username, k.key.id))).code).toBe('NOT_FOUND');
  });

  it('revokes exactly one key and forgets its unsaved last use', async () => {
    const admin = await account('admin');
    const user = await account('user');
    const { keys, lastUsed } = setup();
    const k1 = await keys.issue(admin.actor, user.username, { name: 'k1' });
    const k2 = await keys.issue(admin.actor, user.username, { name: 'k2' });
    lastUsed.touch(k1.key.id, new Date(T0));
    await keys.revoke(admin.actor, user.username, k1.key.id);
    expect(await storedRow(k1.key.id)).toBeUndefined();
    expect(lastUsed.get(k1.key.id)).toBeUndefined();
    expect(await storedRow(k2.key.id)).toBeDefined();
    expect((await refusal(() => keys.revoke(admin.actor, user.username, k1.key.id))).code).toBe('NOT_FOUND');
    const other = await account('user');
    expect((await refusal(() => keys.revoke(admin.actor, other.username, k2.key.id))).code).toBe('NOT_FOUND');
    expect(await storedRow(k2.key.id)).toBeDefined();
  });

  it('disables and re-enables exactly one key', async () => {
    const admin = await account('admin');
    const user = await account('user');
    const { keys } = setup();
    const k1 = await keys.issue(admin.actor, user.username, { name: 'k1' });
    const k2 = await keys.issue(admin.actor, user.username, { name: 'k2' });
    expect(await keys.setEnabled(admin.actor, user.username, k1.key.id, false)).toEqual({
      ...k1.key,
      enabled: false,
    });
    expect((await storedRow(k1.key.id))?.enabled).toBe(0);
    expect((await storedRow(k2.key.id))?.enabled).toBe(1);
    expect(await keys.setEnabled(admin.actor, user.username, k1.key.id, true)).toEqual({
      ...k1.key,
      enabled: true,
    });
    expect((await storedRow(k1.key.id))?.enabled).toBe(1);
  });
});
