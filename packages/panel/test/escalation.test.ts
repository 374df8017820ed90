import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cidrWithin } from '../src/modules/auth/ip-whitelist';
import { createPanelHarness, type PanelHarness } from './harness';

/**
 * Issue 9 items 3 and 11: a narrower credential must never reach wider rights, and a password change ends the
 * account's sessions. Real SQLite, real argon2, the real auth hook (in-process inject with a chosen client IP).
 */
let h: PanelHarness;
const PASSWORD = 'correct horse battery';
const IP = '203.0.113.7';

beforeAll(async () => {
  h = await createPanelHarness({ flags: { rateLimit: 100_000, loginRateLimit: 1000 } });
});
afterAll(() => h.close());

const login = (username: string, password: string) =>
  h.call('POST', '/api/v1/auth/login', { key: null, body: { username, password }, ip: '198.51.100.1' });

describe('changing a password', () => {
  it('needs the current password when changing your own (a users-scoped, IP-limited key cannot take over its account)', async () => {
    const a = await h.account('admin');
    const limited = await h.key(a.username, { permissions: ['users'], ip_whitelist: [IP] });
    const noCurrent = await h.call('PATCH', `/api/v1/users/${a.username}`, {
      key: limited.secret,
      ip: IP,
      body: { password: 'attacker password 1' },
    });
    expect(noCurrent.statusCode).toBe(400);
    expect(noCurrent.json()).toMatchObject({
      code: 'VALIDATION_ERROR',
      details: { current_password: [expect.any(String)] },
    });
    const wrong = await h.call('PATCH', `/api/v1/users/${a.username}`, {
      key: limited.secret,
      ip: IP,
      body: { password: 'attacker password 1', current_password: 'not it at all' },
    });
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json()).toMatchObject({
      code: 'FORBIDDEN',
      error: 'current_password is not the password of this account',
    });
    // the password did not change: the new one does not log in, the old one does
    expect((await login(a.username, 'attacker password 1')).statusCode).toBe(401);
    expect((await login(a.username, PASSWORD)).statusCode).toBe(200);
    // with the current password the change goes through (the caller already held the login)
    const ok = await h.call('PATCH', `/api/v1/users/${a.username}`, {
      key: limited.secret,
      ip: IP,
      body: { password: 'a brand new password', current_password: PASSWORD },
    });
    expect(ok.statusCode).toBe(200);
    expect(JSON.stringify(ok.json())).not.toContain('password_hash');
    expect((await login(a.username, 'a brand new password')).statusCode).toBe(200);
  });

  it('needs the current password from a UI session too', async () => {
    const a = await h.account('user');
    const session = (await login(a.username, PASSWORD)).json().token;
    const res = await h.call('PATCH', `/api/v1/users/${a.username}`, {
      key: session,
      body: { password: 'another password 2' },
    });
    expect(res.statusCode).toBe(400);
    const ok = await h.call('PATCH', `/api/v1/users/${a.username}`, {
      key: session,
      body: { password: 'another password 2', current_password: PASSWORD },
    });
    expect(ok.statusCode).toBe(200);
  });

  it('refuses a password for another account through a restricted key (scope, IP whitelist or expiry)', async () => {
    const reseller = await h.account('reseller');
    const target = await h.account('user', { asKey: reseller.key });
    for (const [limits, ip] of [
      [{ permissions: ['users'] }, undefined],
      [{ permissions: ['all'], ip_whitelist: [IP] }, IP],
      [{ permissions: ['all'], expires_in: 30 }, undefined],
    ] as const) {
      const k = await h.key(reseller.username, limits);
      const set = await h.call('PATCH', `/api/v1/users/${target.username}`, {
        key: k.secret,
        ...(ip ? { ip } : {}),
        body: { password: 'taken over password' },
      });
      expect(set.statusCode, JSON.stringify(limits)).toBe(403);
      expect(set.json().error).toMatch(/scope all, no IP whitelist and no expiry/);
      const create = await h.call('POST', '/api/v1/users', {
        key: k.secret,
        ...(ip ? { ip } : {}),
        body: {
          username: `made${Math.floor(Math.random() * 1e6)}`,
          email: `m${Math.random()}@example.com`,
          password: 'new account password',
        },
      });
      expect(create.statusCode, JSON.stringify(limits)).toBe(403);
    }
    expect((await login(target.username, 'taken over password')).statusCode).toBe(401);
    // an unrestricted key (or a session) may set it, and other fields stay open to the users scope
    const full = await h.call('PATCH', `/api/v1/users/${target.username}`, {
      key: reseller.key,
      body: { password: 'reset by reseller' },
    });
    expect(full.statusCode).toBe(200);
    const usersOnly = await h.key(reseller.username, { permissions: ['users'] });
    const email = await h.call('PATCH', `/api/v1/users/${target.username}`, {
      key: usersOnly.secret,
      body: { email: `changed${Math.floor(Math.random() * 1e6)}@example.com` },
    });
    expect(email.statusCode).toBe(200);
  });
});

describe('a key issuing keys', () => {
  it('cannot issue a key with scopes it does not hold', async () => {
    const a = await h.account('admin');
    const k = await h.key(a.username, { permissions: ['api-keys', 'domains'] });
    for (const permissions of [['all'], ['read'], ['users'], ['api-keys', 'users']]) {
      const res = await h.call('POST', `/api/v1/users/${a.username}/api-keys`, {
        key: k.secret,
        body: { name: 'up', permissions },
      });
      expect(res.statusCode, permissions.join()).toBe(403);
    }
    const ok = await h.call('POST', `/api/v1/users/${a.username}/api-keys`, {
      key: k.secret,
      body: { name: 'same', permissions: ['domains'] },
    });
    expect(ok.statusCode).toBe(201);
  });

  it('cannot drop or widen its IP whitelist', async () => {
    const a = await h.account('admin');
    const k = await h.key(a.username, {
      permissions: ['all'],
      ip_whitelist: ['203.0.113.0/24', '2001:db8::/48'],
    });
    const issue = (ip_whitelist?: string[]) =>
      h.call('POST', `/api/v1/users/${a.username}/api-keys`, {
        key: k.secret,
        ip: IP,
        body: { name: 'child', permissions: ['read'], ...(ip_whitelist ? { ip_whitelist } : {}) },
      });
    for (const wider of [
      undefined,
      [],
      ['203.0.112.0/23'],
      ['0.0.0.0/0'],
      ['198.51.100.1'],
      ['203.0.113.5', '10.0.0.1'],
      ['2001:db8::/47'],
      ['::/0'],
    ]) {
      const res = await issue(wider);
      expect(res.statusCode, JSON.stringify(wider)).toBe(403);
      expect(res.json().error).toMatch(/IP whitelist/);
    }
    for (const narrower of [
      ['203.0.113.0/24'],
      ['203.0.113.128/25', '203.0.113.7'],
      ['2001:db8:0:1::/64'],
      ['2001:db8::1'],
    ]) {
      const res = await issue(narrower);
      expect(res.statusCode, JSON.stringify(narrower)).toBe(201);
      expect(res.json().key.ip_whitelist).toEqual(narrower);
    }
  });

  it('cannot issue a key that outlives it', async () => {
    const a = await h.account('admin');
    const k = await h.key(a.username, { permissions: ['all'], expires_in: 10 });
    const issue = (expires_in?: number) =>
      h.call('POST', `/api/v1/users/${a.username}/api-keys`, {
        key: k.secret,
        body: { name: 'child', ...(expires_in === undefined ? {} : { expires_in }) },
      });
    for (const longer of [undefined, 0, 11, 3650]) {
      const res = await issue(longer);
      expect(res.statusCode, String(longer)).toBe(403);
      expect(res.json().error).toMatch(/outlive/);
    }
    const ok = await issue(10);
    expect(ok.statusCode).toBe(201);
    const issued = Date.parse(ok.json().key.expires_at);
    const own = await h.deps.db
      .selectFrom('api_keys')
      .select('expires_at')
      .where('id', '=', k.id)
      .executeTakeFirstOrThrow();
    expect(issued).toBeLessThanOrEqual(Date.parse(own.expires_at as string));
  });

  it('has no way to a UI session: login takes a password, never a key', async () => {
    const a = await h.account('admin');
    const res = await h.call('POST', '/api/v1/auth/login', {
      key: a.key,
      body: { username: a.username, password: a.key },
      ip: '198.51.100.1',
    });
    expect(res.statusCode).toBe(401);
  });
});

describe('sessions after a password change', () => {
  it('ends every session of the account except the one that changed its own password', async () => {
    const a = await h.account('user');
    const s1 = (await login(a.username, PASSWORD)).json().token;
    const s2 = (await login(a.username, PASSWORD)).json().token;
    const other = await h.account('user');
    const s3 = (await login(other.username, PASSWORD)).json().token;
    const res = await h.call('PATCH', `/api/v1/users/${a.username}`, {
      key: s1,
      body: { password: 'rotated password 1', current_password: PASSWORD },
    });
    expect(res.statusCode).toBe(200);
    expect((await h.call('GET', '/api/v1/auth/me', { key: s1 })).statusCode).toBe(200);
    expect((await h.call('GET', '/api/v1/auth/me', { key: s2 })).statusCode).toBe(401);
    expect((await h.call('GET', '/api/v1/auth/me', { key: s3 })).statusCode).toBe(200);
    // API keys are separate credentials and stay
    expect((await h.call('GET', '/api/v1/auth/me', { key: a.key })).statusCode).toBe(200);
  });

  it('ends all of them when the change comes through a key or from another account', async () => {
    const a = await h.account('user');
    const s1 = (await login(a.username, PASSWORD)).json().token;
    const byKey = await h.call('PATCH', `/api/v1/users/${a.username}`, {
      key: a.key,
      body: { password: 'rotated password 2', current_password: PASSWORD },
    });
    expect(byKey.statusCode).toBe(200);
    expect((await h.call('GET', '/api/v1/auth/me', { key: s1 })).statusCode).toBe(401);
    const s2 = (await login(a.username, 'rotated password 2')).json().token;
    const byAdmin = await h.call('PATCH', `/api/v1/users/${a.username}`, {
      body: { password: 'reset by admin 1' },
    });
    expect(byAdmin.statusCode).toBe(200);
    expect((await h.call('GET', '/api/v1/auth/me', { key: s2 })).statusCode).toBe(401);
  });

  it('keeps sessions when something other than the password changes', async () => {
    const a = await h.account('user');
    const s1 = (await login(a.username, PASSWORD)).json().token;
    const res = await h.call('PATCH', `/api/v1/users/${a.username}`, {
      body: { email: `${a.username}.new@example.com` },
    });
    expect(res.statusCode).toBe(200);
    expect((await h.call('GET', '/api/v1/auth/me', { key: s1 })).statusCode).toBe(200);
  });
});

describe('cidrWithin', () => {
  it.each([
    ['203.0.113.7', '203.0.113.0/24', true],
    ['203.0.113.0/24', '203.0.113.0/24', true],
    ['203.0.113.0/25', '203.0.113.0/24', true],
    ['203.0.113.128/25', '203.0.113.0/24', true],
    ['203.0.112.0/23', '203.0.113.0/24', false],
    ['203.0.114.0/24', '203.0.113.0/24', false],
    ['203.0.113.255', '203.0.113.0/24', true],
    ['203.0.114.0', '203.0.113.0/24', false],
    ['10.0.0.1', '10.0.0.1', true],
    ['10.0.0.2', '10.0.0.1', false],
    ['10.0.0.0/31', '10.0.0.1', false],
    ['1.2.3.4', '0.0.0.0/0', true],
    ['0.0.0.0/0', '1.2.3.4/1', false],
    ['2001:db8::1', '2001:db8::/32', true],
    ['2001:db9::1', '2001:db8::/32', false],
    ['2001:db8::/31', '2001:db8::/32', false],
    ['::ffff:203.0.113.9', '203.0.113.0/24', true],
    ['203.0.113.9', '::ffff:203.0.113.0/120', true],
    ['203.0.113.9', '2001:db8::/32', false],
    ['2001:db8::1', '0.0.0.0/0', false],
    ['::', '::/0', true],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '::/0', true],
    ['1:2:3:4:5:6:7:8', '1:2:3:4::/64', true],
    ['1:2:3:5::', '1:2:3:4::/64', false],
    ['nonsense', '0.0.0.0/0', false],
    ['1.2.3.4', 'nonsense', false],
  ])('%s within %s: %s', (inner, outer, expected) => {
    expect(cidrWithin(inner, outer)).toBe(expected);
  });
});
