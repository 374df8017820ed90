// How the panel reads a credential (docs/panel-api.md "Authentication"): the Authorization header's exact
// grammar, the expiry instants of keys and sessions (a controlled clock), account states, the rate-limit
// headers on every answer to a token, the exact refusal texts, and what the route table records.
import { createApp, createLogger, MemoryRateLimiter } from '@wispanel/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installAuth } from '../src/modules/auth/auth.hook';
import { createPanelHarness, type PanelHarness } from './harness';

let now = new Date('2030-06-01T12:00:00.000Z');
let h: PanelHarness;
let dana: { username: string; key: string };
const PASSWORD = 'correct horse battery';

beforeAll(async () => {
  h = await createPanelHarness({
    flags: { rateLimit: 100_000, sessionTtlHours: 2, sessionIdleMinutes: 120 },
    deps: { clock: () => now },
  });
  dana = await h.account('user');
});
afterAll(() => h.close());

const me = (authorization: string | undefined, ip?: string) =>
  h.call('GET', '/api/v1/auth/me', {
    key: null,
    headers: authorization === undefined ? {} : { authorization },
    ...(ip ? { ip } : {}),
  });
const login = async (username: string) => {
  const res = await h.call('POST', '/api/v1/auth/login', {
    key: null,
    body: { username, password: PASSWORD },
    ip: `198.51.100.${Math.floor(Math.random() * 200) + 1}`,
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as { token: string; expires_at: string };
};

describe('the Authorization header', () => {
  it('accepts "Bearer <token>" with any case, spaces or tabs around the token', async () => {
    for (const header of [
      `Bearer ${dana.key}`,
      `bearer ${dana.key}`,
      `BEARER ${dana.key}`,
      `Bearer\t${dana.key}`,
      `Bearer   ${dana.key}  `,
      `Bearer ${dana.key}\t`,
    ]) {
      const res = await me(header);
      expect(res.statusCode, JSON.stringify(header)).toBe(200);
      expect(res.json().username).toBe(dana.username);
    }
  });

  it('refuses anything else as 401 Invalid credentials, and no header as Missing authorization', async () => {
    expect((await me(undefined)).json()).toMatchObject({
      code: 'UNAUTHORIZED',
      error: 'Missing authorization',
    });
    expect((await me('')).json()).toMatchObject({ code: 'UNAUTHORIZED', error: 'Missing authorization' });
    for (const header of [
      'Bearer',
      'Bearer ',
      dana.key,
      `Basic ${dana.key}`,
      `xBearer ${dana.key}`,
      `Bearer ${dana.key} extra`,
      `Bearer${dana.key}`,
      `Bearer ${dana.key}0`,
      `Bearer ${dana.key.slice(0, -1)}`,
      `Bearer ${dana.key.toUpperCase()}`,
      `Bearer wss_${'a'.repeat(63)}`,
      `Bearer wsp_${'a'.repeat(48)}`,
    ]) {
      const res = await me(header);
      expect(res.statusCode, header).toBe(401);
      expect(res.json().error, header).toBe('Invalid credentials');
    }
  });

  it('sends the rate-limit headers with every answer to a token, counting down', async () => {
    const first = await me(`Bearer ${dana.key}`);
    const second = await me(`Bearer ${dana.key}`);
    expect(first.headers['x-ratelimit-limit']).toBe('100000');
    const left = Number(first.headers['x-ratelimit-remaining']);
    expect(left).toBeGreaterThan(0);
    expect(Number(second.headers['x-ratelimit-remaining'])).toBe(left - 1);
    expect(Number(first.headers['x-ratelimit-reset'])).toBeGreaterThan(Date.now() / 1000 - 1);
    const unknown = await me(`Bearer wsp_${'c'.repeat(48)}`);
    expect(unknown.headers['x-ratelimit-limit']).toBe('100000');
    expect((await me('Basic abc')).headers['x-ratelimit-limit']).toBeUndefined();
  });

  it('answers over the limit with 429, the limit in the message and the headers', async () => {
    const limited = await createPanelHarness({ flags: { rateLimit: 1 } });
    try {
      expect((await limited.call('GET', '/api/v1/auth/me')).statusCode).toBe(200);
      const res = await limited.call('GET', '/api/v1/auth/me');
      expect(res.statusCode).toBe(429);
      expect(res.json()).toMatchObject({
        code: 'RATE_LIMITED',
        error: 'Rate limit exceeded: 1 requests per minute',
      });
      expect(res.headers['x-ratelimit-limit']).toBe('1');
      expect(res.headers['x-ratelimit-remaining']).toBe('0');
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    } finally {
      await limited.close();
    }
  });
});

describe('credential lifetimes (controlled clock)', () => {
  it('ends an API key at its expires_at exactly', async () => {
    const k = await h.key(dana.username, { name: 'short', expires_in: 1 }, dana.key);
    const row = await h.deps.db
      .selectFrom('api_keys')
      .select('expires_at')
      .where('id', '=', k.id)
      .executeTakeFirstOrThrow();
    expect(row.expires_at).toBe(new Date(now.getTime() + 86_400_000).toISOString());
    const saved = now;
    try {
      now = new Date(Date.parse(row.expires_at as string) - 1);
      expect((await me(`Bearer ${k.secret}`)).statusCode).toBe(200);
      now = new Date(Date.parse(row.expires_at as string));
      const res = await me(`Bearer ${k.secret}`);
      expect(res.statusCode).toBe(401);
      expect(res.json().error).toBe('API key has expired');
    } finally {
      now = saved;
    }
  });

  it('ends a session after the configured hours exactly', async () => {
    const { token, expires_at } = await login(dana.username);
    expect(expires_at).toBe(new Date(now.getTime() + 2 * 3_600_000).toISOString());
    const saved = now;
    try {
      now = new Date(Date.parse(expires_at) - 1);
      const ok = await me(`Bearer ${token}`);
      expect(ok.statusCode).toBe(200);
      expect(ok.json()).toMatchObject({ username: dana.username, auth: { method: 'session' } });
      now = new Date(Date.parse(expires_at));
      const res = await me(`Bearer ${token}`);
      expect(res.statusCode).toBe(401);
      expect(res.json().error).toBe('Session has expired');
    } finally {
      now = saved;
    }
  });

  it('deletes expired sessions at the next login, and only those', async () => {
    const old = await login(dana.username);
    const saved = now;
    try {
      now = new Date(Date.parse(old.expires_at) - 60_000);
      const fresh = await login(dana.username);
      now = new Date(Date.parse(old.expires_at));
      await login(dana.username);
      const hashes = (await h.deps.db.selectFrom('sessions').select(['expires_at']).execute()).map(
        (s) => s.expires_at,
      );
      expect(hashes).not.toContain(old.expires_at);
      expect(hashes).toContain(fresh.expires_at);
    } finally {
      now = saved;
    }
  });

  it('refuses a suspended account and one disabled by the license, for keys and sessions', async () => {
    const eve = await h.account('user');
    const session = await login(eve.username);
    await h.deps.db
      .updateTable('users')
      .set({ status: 'suspended' })
      .where('username', '=', eve.username)
      .execute();
    for (const token of [eve.key, session.token]) {
      const res = await me(`Bearer ${token}`);
      expect(res.statusCode).toBe(403);
      expect(res.json()).toMatchObject({ code: 'FORBIDDEN', error: 'Account is suspended' });
    }
    await h.deps.db
      .updateTable('users')
      .set({ status: 'active', license_disabled_at: now.toISOString() })
      .where('username', '=', eve.username)
      .execute();
    for (const token of [eve.key, session.token]) {
      const res = await me(`Bearer ${token}`);
      expect(res.json()).toMatchObject({
        code: 'LICENSE_RESOURCE_DISABLED',
        error: 'Account is disabled by the license (over the license limits)',
      });
    }
    const again = await h.call('POST', '/api/v1/auth/login', {
      key: null,
      body: { username: eve.username, password: PASSWORD },
      ip: '198.51.100.250',
    });
    expect(again.json().code).toBe('LICENSE_RESOURCE_DISABLED');
  });

  it('gives a session every scope of its account and an API key exactly its own', async () => {
    const { token } = await login(dana.username);
    expect((await me(`Bearer ${token}`)).json().auth).toMatchObject({ method: 'session' });
    const reader = await h.key(dana.username, { name: 'reader', permissions: ['read'] }, dana.key);
    const meAsKey = (await me(`Bearer ${reader.secret}`)).json();
    expect(meAsKey.auth).toMatchObject({ method: 'api_key', key_id: reader.id, permissions: ['read'] });
    const create = (key: string) =>
      h.call('POST', '/api/v1/domains', {
        key,
        body: { domain: `d${Math.floor(Math.random() * 1e9)}.example` },
      });
    expect((await create(token)).statusCode).toBe(201);
    expect((await create(reader.secret)).statusCode).toBe(403);
  });

  it('tells an API key to revoke itself instead of logging out', async () => {
    const res = await h.call('POST', '/api/v1/auth/logout', { key: dana.key });
    expect(res.json()).toMatchObject({
      code: 'VALIDATION_ERROR',
      error:
        'Logout ends a UI session; an API key is revoked with DELETE /api/v1/users/{username}/api-keys/{id}',
    });
  });
});

describe('refusal texts', () => {
  it('names the address, the roles and the scope', async () => {
    const fenced = await h.key(dana.username, { name: 'fenced', ip_whitelist: ['10.1.2.0/24'] }, dana.key);
    const ip = await me(`Bearer ${fenced.secret}`, '10.1.3.4');
    expect(ip.json()).toMatchObject({
      code: 'FORBIDDEN',
      error: 'API key is not allowed from IP address 10.1.3.4',
    });
    expect((await me(`Bearer ${fenced.secret}`, '10.1.2.4')).statusCode).toBe(200);
    const role = await h.call('GET', '/api/v1/license/summary', { key: dana.key });
    expect(role.json()).toMatchObject({ code: 'FORBIDDEN', error: 'This action requires role admin' });
    const domainsOnly = await h.key(dana.username, { name: 'domains', permissions: ['domains'] }, dana.key);
    const scope = await h.call('GET', '/api/v1/databases', { key: domainsOnly.secret });
    expect(scope.json()).toMatchObject({
      code: 'FORBIDDEN',
      error: "API key is not scoped for 'databases' on this request",
    });
    // Any valid key may read /auth/me (resource null), whatever its scopes.
    expect((await me(`Bearer ${domainsOnly.secret}`)).statusCode).toBe(200);
  });
});

describe('the route table and registration', () => {
  it('records each route once with its declaration; HEAD twins of GET routes are not listed', () => {
    const routes = h.app.panel.routes;
    const keys = routes.map((r) => `${r.method} ${r.url}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.filter((k) => k.startsWith('HEAD '))).toEqual([]);
    const loginRoute = routes.find((r) => r.url === '/api/v1/auth/login');
    expect(loginRoute).toMatchObject({ method: 'POST', public: true, auth: null, hasBody: true });
    const meRoute = routes.find((r) => r.url === '/api/v1/auth/me');
    expect(meRoute).toMatchObject({ method: 'GET', public: false, auth: { resource: null }, hasBody: false });
    expect(meRoute?.auth?.roles).toEqual(expect.arrayContaining(['admin', 'reseller', 'user']));
  });

  it('notes the roles and scope of each authenticated route in its OpenAPI description', async () => {
    const doc = (await h.call('GET', '/api/v1/openapi.json', { key: null })).json();
    const summary = doc.paths['/api/v1/license/summary'].get;
    expect(summary.description).toContain('Roles: admin. API key scope: license.');
    const meDoc = doc.paths['/api/v1/auth/me'].get;
    expect(meDoc.description).toMatch(/API key scope: any\.$/);
    expect(doc.paths['/api/v1/health'].get.security).toEqual([]);
  });

  it('fails closed on an incomplete declaration and keeps a route own onRequest hooks first', async () => {
    const app = createApp({ logger: createLogger({ level: 'silent' }) });
    const order: string[] = [];
    const hook = (name: string) => (_req: unknown, _rep: unknown, done: () => void) => {
      order.push(name);
      done();
    };
    const fakeAuth = {
      authenticate: () => {
        order.push('auth');
        return {
          actor: {
            userId: 1,
            username: 'a',
            email: 'a@x',
            role: 'admin',
            creatorId: null,
            via: 'session',
            permissions: ['all'],
          },
          ipWhitelist: [],
          profile: null,
        };
      },
    };
    installAuth(app, { auth: fakeAuth as never, limiter: new MemoryRateLimiter(100) });
    const declared = (auth: unknown) => () =>
      app.get(`/r${Math.random()}`, { config: { auth } as never }, async () => 'x');
    expect(declared({ resource: 'users', roles: [] })).toThrow(/no auth declaration/);
    expect(declared({ roles: ['admin'] })).toThrow(/no auth declaration/);
    expect(declared({ resource: 'users', roles: 'admin' })).toThrow(/no auth declaration/);
    expect(declared({ resource: 'users', roles: ['admin'] })).not.toThrow();
    app.get(
      '/single',
      {
        config: { auth: { resource: null, roles: ['admin'] } },
        onRequest: hook('own'),
      },
      async () => 'ok',
    );
    app.get(
      '/many',
      {
        config: { auth: { resource: null, roles: ['admin'] } },
        onRequest: [hook('own1'), hook('own2')],
      },
      async () => 'ok',
    );
    await app.ready();
    const token = `wss_${'d'.repeat(64)}`;
    expect((await app.inject({ url: '/single', headers: { authorization: `Bearer ${token}` } })).body).toBe(
      'ok',
    );
    expect(order).toEqual(['own', 'auth']);
    order.length = 0;
    expect((await app.inject({ url: '/many', headers: { authorization: `Bearer ${token}` } })).body).toBe(
      'ok',
    );
    expect(order).toEqual(['own1', 'own2', 'auth']);
    await app.close();
  });
});
