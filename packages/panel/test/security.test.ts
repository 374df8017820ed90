/**
 * The shared security suite: walks the panel's route table (every module's routes, including ones added
 * later) and checks each authenticated route for missing, bad, expired and disabled keys, wrong scope, IP
 * whitelist, role, another owner's resource and the rate limit. A route with a path parameter that has no
 * fixture below fails the suite: add one.
 */
import { createApp, createLogger, MemoryRateLimiter } from '@wispanel/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteEntry } from '../src/modules/auth/auth.hook';
import { installAuth } from '../src/modules/auth/auth.hook';
import { createPanelHarness, type PanelHarness } from './harness';

const PUBLIC_ROUTES = new Set([
  'GET /api/v1/health',
  'POST /api/v1/auth/login',
  'GET /api/v1/openapi.json',
  'GET /api/v1/docs',
  // The web console's static files (modules/console): the page, its hashed assets, the reference page's files.
  'GET /',
  'GET /assets/*',
  'GET /favicon.svg',
  'GET /robots.txt',
  'GET /api/v1/docs/:file',
]);

/** Values for path parameters: resources owned by `alice`, whom `bob` must not see. */
let PARAM_FIXTURES: Record<string, string> = {};
/** Bodies that pass validation, for routes whose handler must be reached (ownership checks). */
const SAMPLE_BODIES: Record<string, unknown> = {
  'POST /api/v1/users/:username/api-keys': { name: 'probe' },
};

let h: PanelHarness;
let routes: RouteEntry[];
let alice: { username: string; key: string };
let bob: { username: string; key: string };
let reseller: { username: string; key: string };

beforeAll(async () => {
  h = await createPanelHarness({ flags: { rateLimit: 100_000 } });
  routes = h.app.panel.routes.filter((r) => r.method !== 'HEAD');
  alice = await h.account('user');
  bob = await h.account('user');
  reseller = await h.account('reseller');
  const domain = await h.call('POST', '/api/v1/domains', {
    key: alice.key,
    body: { domain: 'alice-site.example' },
  });
  expect(domain.statusCode).toBe(201);
  const db = await h.call('POST', '/api/v1/databases', { key: alice.key, body: { name: 'shop' } });
  expect(db.statusCode).toBe(201);
  const aliceKey = await h.key(alice.username, { name: 'second' }, alice.key);
  PARAM_FIXTURES = {
    username: alice.username,
    domain: 'alice-site.example',
    name: db.json().database.name,
    id: aliceKey.id,
  };
});
afterAll(() => h.close());

function urlOf(route: RouteEntry): string {
  return route.url.replace(/:([A-Za-z0-9_]+)/g, (_m, p: string) => {
    const v = PARAM_FIXTURES[p];
    if (v === undefined)
      throw new Error(
        `security suite: no fixture for path parameter ':${p}' (route ${route.method} ${route.url}); add it to PARAM_FIXTURES`,
      );
    return encodeURIComponent(v);
  });
}

const bodyOf = (route: RouteEntry) =>
  SAMPLE_BODIES[`${route.method} ${route.url}`] ?? (route.hasBody ? {} : undefined);
const authed = () => routes.filter((r) => !r.public);
const label = (r: RouteEntry) => `${r.method} ${r.url}`;

function expectEnvelope(
  res: {
    statusCode: number;
    headers: Record<string, unknown>;
    json: () => { error: string; message: string };
  },
  status: number,
  code: string,
) {
  expect(res.statusCode, JSON.stringify(res.json())).toBe(status);
  const body = res.json();
  expect(body).toMatchObject({ success: false, code, status });
  expect(body.error).toBe(body.message);
  expect(res.headers['x-request-id']).toBeTruthy();
}

describe('route table', () => {
  it('has only the documented public routes; every other route declares auth', () => {
    expect(routes.length).toBeGreaterThan(20);
    for (const r of routes) {
      if (r.public) expect(PUBLIC_ROUTES.has(label(r)), `${label(r)} is public`).toBe(true);
      else expect(r.auth?.roles.length, label(r)).toBeGreaterThan(0);
    }
  });

  it('refuses to register a route without an auth declaration (fails closed)', () => {
    const app = createApp({ logger: createLogger({ level: 'silent' }) });
    installAuth(app, { auth: {} as never, limiter: new MemoryRateLimiter(1) });
    expect(() => app.get('/naked', async () => 'hi')).toThrow(/no auth declaration/);
    expect(() =>
      app.get(
        '/both',
        { config: { public: true, auth: { resource: null, roles: ['admin'] } } },
        async () => 'x',
      ),
    ).toThrow(/both public and auth/);
  });
});

describe('every authenticated route', () => {
  it('answers 401 without a key, with a malformed token and with an unknown key', async () => {
    for (const r of authed()) {
      const url = urlOf(r);
      const body = bodyOf(r);
      const none = await h.call(r.method, url, { key: null, body });
      expectEnvelope(none, 401, 'UNAUTHORIZED');
      expect(none.json().error, label(r)).toBe('Missing authorization');
      const malformed = await h.call(r.method, url, { key: 'not-a-key', body });
      expectEnvelope(malformed, 401, 'UNAUTHORIZED');
      const unknown = await h.call(r.method, url, { key: `wsp_${'ab'.repeat(24)}`, body });
      expectEnvelope(unknown, 401, 'UNAUTHORIZED');
      expect(unknown.json().error).toBe('Invalid credentials');
      expect(unknown.headers['x-ratelimit-limit'], label(r)).toBe(String(h.config.rateLimitPerMinute));
      if (r.method === 'GET')
        expect((await h.call('HEAD', url, { key: null })).statusCode, `HEAD ${r.url}`).toBe(401);
    }
  });

  it('answers 401 for an expired and for a disabled key', async () => {
    const expired = await h.key('admin', { name: 'expired', expires_in: 1 });
    await h.deps.db
      .updateTable('api_keys')
      .set({ expires_at: '2000-01-01T00:00:00.000Z' })
      .where('id', '=', expired.id)
      .execute();
    const disabled = await h.key('admin', { name: 'disabled' });
    const off = await h.call('POST', `/api/v1/users/admin/api-keys/${disabled.id}/disable`);
    expect(off.statusCode).toBe(200);
    for (const r of authed()) {
      const e = await h.call(r.method, urlOf(r), { key: expired.secret, body: bodyOf(r) });
      expectEnvelope(e, 401, 'UNAUTHORIZED');
      expect(e.json().error, label(r)).toBe('API key has expired');
      const d = await h.call(r.method, urlOf(r), { key: disabled.secret, body: bodyOf(r) });
      expectEnvelope(d, 401, 'UNAUTHORIZED');
      expect(d.json().error, label(r)).toBe('API key is disabled');
    }
  });

  it('answers 403 with the documented text for a key lacking the scope', async () => {
    const keys = new Map<string, string>();
    for (const r of authed()) {
      const resource = r.auth?.resource;
      if (!resource) continue;
      // A key scoped only for some other resource.
      const other = resource === 'users' ? 'domains' : 'users';
      if (!keys.has(other))
        keys.set(other, (await h.key('admin', { name: `only-${other}`, permissions: [other] })).secret);
      const res = await h.call(r.method, urlOf(r), { key: keys.get(other), body: bodyOf(r) });
      expectEnvelope(res, 403, 'FORBIDDEN');
      expect(res.json().error, label(r)).toBe(`API key is not scoped for '${resource}' on this request`);
    }
  });

  it('lets a read key GET but not write', async () => {
    const read = (await h.key('admin', { name: 'reader', permissions: ['read'] })).secret;
    for (const r of authed()) {
      const resource = r.auth?.resource;
      if (!resource) continue;
      const res = await h.call(r.method, urlOf(r), { key: read, body: bodyOf(r) });
      if (r.method === 'GET') {
        // Not every GET answers JSON (GET /metrics is Prometheus text): a refusal would be JSON.
        const json = String(res.headers['content-type'] ?? '').includes('json');
        expect([res.statusCode, json ? (res.json().error ?? '') : ''], label(r)).not.toEqual([
          403,
          expect.stringContaining('not scoped'),
        ]);
        if (json) expect(res.json().error ?? '', label(r)).not.toContain('not scoped');
      } else {
        expectEnvelope(res, 403, 'FORBIDDEN');
        expect(res.json().error, label(r)).toBe(`API key is not scoped for '${resource}' on this request`);
      }
    }
  });

  it('answers 403 from an IP outside the key whitelist, and serves one inside it', async () => {
    const fenced = (await h.key('admin', { name: 'fenced', ip_whitelist: ['10.9.9.0/24', '2001:db8::/32'] }))
      .secret;
    for (const r of authed()) {
      const res = await h.call(r.method, urlOf(r), { key: fenced, body: bodyOf(r), ip: '192.0.2.7' });
      expectEnvelope(res, 403, 'FORBIDDEN');
      expect(res.json().error, label(r)).toMatch(/not allowed from IP address/);
    }
    const inside = await h.call('GET', '/api/v1/auth/me', { key: fenced, ip: '10.9.9.42' });
    expect(inside.statusCode).toBe(200);
    const v6 = await h.call('GET', '/api/v1/auth/me', { key: fenced, ip: '2001:db8::5' });
    expect(v6.statusCode).toBe(200);
    const mapped = await h.call('GET', '/api/v1/auth/me', { key: fenced, ip: '::ffff:10.9.9.1' });
    expect(mapped.statusCode).toBe(200);
  });

  it('answers 403 to roles the route does not admit', async () => {
    let checked = 0;
    for (const r of authed()) {
      for (const [role, who] of [
        ['user', bob],
        ['reseller', reseller],
      ] as const) {
        if (r.auth?.roles.includes(role)) continue;
        const res = await h.call(r.method, urlOf(r), { key: who.key, body: bodyOf(r) });
        expectEnvelope(res, 403, 'FORBIDDEN');
        expect(res.json().error, label(r)).toMatch(/requires role/);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(5);
  });

  it("answers 404 for another owner's resource", async () => {
    let checked = 0;
    for (const r of authed()) {
      if (!r.url.includes(':') || !r.auth?.roles.includes('user')) continue;
      const res = await h.call(r.method, urlOf(r), { key: bob.key, body: bodyOf(r) });
      expectEnvelope(res, 404, 'NOT_FOUND');
      checked++;
    }
    expect(checked).toBeGreaterThan(10);
    // and alice's things are all still there
    expect((await h.call('GET', `/api/v1/domains/alice-site.example`, { key: alice.key })).statusCode).toBe(
      200,
    );
    expect(
      (await h.call('GET', `/api/v1/databases/${PARAM_FIXTURES.name}`, { key: alice.key })).statusCode,
    ).toBe(200);
  });

  it('refuses an unknown query parameter on every GET, naming it (never silently ignored)', async () => {
    const gets = authed().filter((r) => r.method === 'GET' && r.url.startsWith('/api/'));
    expect(gets.length).toBeGreaterThan(10);
    for (const r of gets) {
      const res = await h.call('GET', `${urlOf(r)}?bogus=1`);
      expectEnvelope(res, 400, 'VALIDATION_ERROR');
      expect(Object.keys((res.json() as { details?: object }).details ?? {}), label(r)).toContain('bogus');
    }
  });

  it('rate-limits every route per token (429 RATE_LIMITED + Retry-After)', async () => {
    const limited = await createPanelHarness({ flags: { rateLimit: 2 } });
    try {
      const rs = limited.app.panel.routes.filter((r) => r.method !== 'HEAD' && !r.public);
      expect(rs.length).toBe(authed().length);
      let n = 0;
      for (const r of rs) {
        // A fresh well-formed token per route: the limit applies before authentication.
        const token = `wsp_${(++n).toString(16).padStart(48, '0')}`;
        const url = r.url.replace(/:([A-Za-z0-9_]+)/g, 'x');
        for (let i = 0; i < 2; i++)
          expect((await limited.call(r.method, url, { key: token })).statusCode, label(r)).toBe(401);
        const res = await limited.call(r.method, url, { key: token });
        expectEnvelope(res, 429, 'RATE_LIMITED');
        expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
        expect(res.headers['x-ratelimit-remaining']).toBe('0');
        expect(Number(res.headers['x-ratelimit-reset'])).toBeGreaterThan(Date.now() / 1000 - 1);
      }
    } finally {
      await limited.close();
    }
  });
});
