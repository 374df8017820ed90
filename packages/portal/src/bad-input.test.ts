import { testPostgresUrl } from '@wispanel/kit/testing';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { familyOf } from './http/errors';
import { createTestPortal, type TestDialect, type TestPortal } from './testing';

/**
 * Every route of the portal (read from its own OpenAPI document, so routes added later are covered too) gets
 * hostile input: it must answer a documented 4xx in its family's envelope, never a 500. Every admin route must
 * refuse a missing or wrong X-Admin-Key.
 */
let t: TestPortal;
let routes: Array<{
  method: string;
  path: string;
  hasBody: boolean;
  hasQuery: boolean;
  /** Documented as needing no credential (`security: []`): the console sign-in. */
  open: boolean;
}> = [];

beforeAll(async () => {
  t = await createTestPortal('sqlite');
  await t.app.ready();
  const doc = t.app.swagger() as {
    paths: Record<
      string,
      Record<string, { requestBody?: unknown; parameters?: Array<{ in: string }>; security?: unknown[] }>
    >;
  };
  routes = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({
      method: method.toUpperCase(),
      path: path.replace(/\{[^}]+\}/g, 'x'),
      hasBody: Boolean(op.requestBody),
      hasQuery: (op.parameters ?? []).some((p) => p.in === 'query'),
      open: Array.isArray(op.security) && op.security.length === 0,
    })),
  );
});
afterAll(() => t?.close());

function expectEnvelope(url: string, status: number, body: Record<string, unknown>) {
  expect(status, `${url} → ${status} ${JSON.stringify(body)}`).toBeGreaterThanOrEqual(400);
  expect(status, `${url} → ${status} ${JSON.stringify(body)}`).toBeLessThan(500);
  const family = familyOf(url.split('?')[0]!);
  if (family === 'license')
    expect(body).toMatchObject({ valid: false, code: expect.any(String), error: expect.any(String) });
  else if (family === 'download') expect(body).toMatchObject({ error: expect.any(String) });
  else expect(body).toMatchObject({ success: false, code: expect.any(String), error: expect.any(String) });
  expect(JSON.stringify(body)).not.toMatch(/at .*\.ts:\d+|stack/);
}

const hostileBodies: Array<[string, string]> = [
  ['malformed JSON', '{"key":'],
  ['an array', '[1,2,3]'],
  ['null', 'null'],
  ['a string', '"hello"'],
  ['a number', '42'],
  ['an empty object', '{}'],
  [
    'wrong types everywhere',
    JSON.stringify({
      key: 1,
      hardware_id: [],
      nonce: {},
      tier: 5,
      name: null,
      days: 'ten',
      max_users: '1',
      version: 7,
      usage: 'lots',
      reason: ['x'],
    }),
  ],
  ['prototype pollution', '{"__proto__":{"admin":true},"constructor":{"prototype":{"x":1}}}'],
  ['deep nesting', `${'{"a":'.repeat(500)}1${'}'.repeat(500)}`],
  [
    'long strings',
    JSON.stringify({
      key: 'W'.repeat(10_000),
      hardware_id: 'f'.repeat(10_000),
      name: 'n'.repeat(10_000),
      tier: 't'.repeat(10_000),
    }),
  ],
  [
    'unicode and control characters',
    JSON.stringify({ key: 'WISP-\u0000\u202e-ÄÖÜ-😀😀', hardware_id: '\ud800'.repeat(64), tier: '\u0000' }),
  ],
];

describe('bad input never causes a 500', () => {
  it('hostile bodies on every route with a body', async () => {
    let checked = 0;
    for (const r of routes.filter((x) => x.hasBody)) {
      for (const [, payload] of hostileBodies) {
        const res = await t.app.inject({
          method: r.method as InjectOptions['method'],
          url: r.path,
          payload,
          headers: { 'content-type': 'application/json', 'x-admin-key': t.adminKey },
        });
        if (res.statusCode < 400) continue; // e.g. an empty object is fine for a route whose fields are optional
        expectEnvelope(r.path, res.statusCode, res.json());
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(20);
  });

  it('wrong content types, oversized bodies and bad URLs', async () => {
    for (const r of routes.filter((x) => x.hasBody)) {
      const headers = { 'x-admin-key': t.adminKey };
      const text = await t.app.inject({
        method: r.method as InjectOptions['method'],
        url: r.path,
        payload: 'key=a',
        headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
      });
      expectEnvelope(r.path, text.statusCode, text.json());
      expect(text.statusCode).toBe(415);
      const big = await t.app.inject({
        method: r.method as InjectOptions['method'],
        url: r.path,
        payload: JSON.stringify({ notes: 'x'.repeat(70_000) }),
        headers: { ...headers, 'content-type': 'application/json' },
      });
      expectEnvelope(r.path, big.statusCode, big.json());
      expect(big.statusCode).toBe(413);
    }
    for (const url of [
      '/api/v1/admin/licenses/%E0%A4%A',
      `/api/v1/admin/licenses/${'a'.repeat(600)}`,
      '/api/v1/license/%00',
      '/api/v1/admin/tiers/%2e%2e%2f',
    ]) {
      const res = await t.app.inject({ method: 'GET', url, headers: { 'x-admin-key': t.adminKey } });
      expectEnvelope(url, res.statusCode, res.json());
    }
  });

  it('hostile query strings on every route with a query', async () => {
    for (const r of routes.filter((x) => x.hasQuery)) {
      for (const q of [
        'page=-1',
        'per_page=abc',
        'page=99999999999999999999999',
        'status[]=a&status[]=b',
        'unknown=1',
        `q=${'%FF'.repeat(3)}`,
        'before=0&limit=100000',
        'hardware_id=zz',
      ]) {
        const url = `${r.path}?${q}`;
        const res = await t.app.inject({
          method: r.method as InjectOptions['method'],
          url,
          headers: { 'x-admin-key': t.adminKey },
        });
        if (res.statusCode < 400) continue;
        expectEnvelope(url, res.statusCode, res.json());
      }
    }
  });

  it('an unknown query parameter is refused on every API route, naming it (not silently ignored)', async () => {
    const path = (p: string) =>
      p.replace(/\/x(?=\/|$)/g, (_m, at: number) => {
        const before = p.slice(0, at);
        if (before.endsWith('versions')) return '/1.0.0';
        // A well-formed delivery id (a malformed one is refused first, before the query is looked at).
        return before.endsWith('deliveries') ? '/00000000-0000-4000-8000-000000000000' : '/x';
      });
    const checked: string[] = [];
    for (const r of routes.filter((x) => x.method === 'GET' && x.path.startsWith('/api/'))) {
      // The artifact download needs its token first (a missing required parameter is reported before).
      const extra = r.path.startsWith('/api/v1/download/artifact/') ? 'token=abc&' : '';
      const url = `${path(r.path)}?${extra}bogus=1`;
      const res = await t.app.inject({ method: 'GET', url, headers: { 'x-admin-key': t.adminKey } });
      expectEnvelope(url, res.statusCode, res.json());
      if (res.statusCode === 404) continue; // a path parameter that names nothing is found missing first
      expect(res.statusCode, url).toBe(422);
      expect(Object.keys(res.json().details ?? {}), url).toContain('bogus');
      checked.push(r.path);
    }
    expect(checked).toEqual(
      expect.arrayContaining(['/api/v1/keys', '/api/v1/admin/tiers', '/api/v1/health']),
    );
  });

  it('the documented license validation shape', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/license/verify',
      payload: { key: 'WISP-AAAA-BBBB-CCCC', hardware_id: 'abc' },
    });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toEqual({
      valid: false,
      error: 'Invalid request data',
      code: 'VALIDATION_ERROR',
      details: {
        hardware_id: [
          'The hardware id field must be 64 characters.',
          'The hardware id field must contain only lowercase hexadecimal characters (0-9, a-f).',
        ],
      },
    });
  });
});

describe('admin authentication on every admin route', () => {
  it('refuses a missing, wrong, or misplaced X-Admin-Key with the documented 401', async () => {
    const admin = routes.filter((r) => r.path.startsWith('/api/v1/admin/') && !r.open);
    // The only admin-family route open without a key is the console sign-in (it takes the key in its body).
    expect(
      routes.filter((r) => r.open && r.path.startsWith('/api/v1/admin/')).map((r) => `${r.method} ${r.path}`),
    ).toEqual(['POST /api/v1/admin/session']);
    expect(admin.length).toBeGreaterThanOrEqual(10);
    const attempts: Array<Record<string, string>> = [
      {},
      { 'x-admin-key': '' },
      { 'x-admin-key': 'wpa_'.padEnd(68, '0') },
      { 'x-admin-key': `${t.adminKey}x` },
      { 'x-admin-key': t.adminKey.toUpperCase() },
      { authorization: `Bearer ${t.adminKey}` },
    ];
    for (const r of admin) {
      for (const headers of attempts) {
        const res = await t.app.inject({
          method: r.method as InjectOptions['method'],
          url: r.path,
          headers,
          ...(r.hasBody ? { payload: {} } : {}),
        });
        expect(res.statusCode, `${r.method} ${r.path} ${JSON.stringify(headers)}`).toBe(401);
        expect(res.json()).toEqual({
          success: false,
          error: 'Invalid or missing API key',
          code: 'UNAUTHORIZED',
        });
      }
    }
  });

  it('public routes need no key; /api/v1/keys is readable by anyone', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/keys' })).statusCode).toBe(200);
  });
});

describe('rate limiting on the public API', () => {
  it('limits per IP with headers, 429 in the license envelope, and leaves admin routes alone', async () => {
    const limited = await createTestPortal('sqlite', { rateLimit: 3 });
    try {
      const send = (ip: string) =>
        limited.app.inject({
          method: 'POST',
          url: '/api/v1/license/verify',
          remoteAddress: ip,
          payload: { key: 'WISP-AAAA-BBBB-CCCC', hardware_id: 'a'.repeat(64) },
        });
      const first = await send('10.0.0.1');
      expect(first.headers['x-ratelimit-limit']).toBe('3');
      expect(first.headers['x-ratelimit-remaining']).toBe('2');
      await send('10.0.0.1');
      await send('10.0.0.1');
      const over = await send('10.0.0.1');
      expect(over.statusCode).toBe(429);
      expect(over.json()).toMatchObject({ valid: false, code: 'RATE_LIMITED' });
      expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
      expect((await send('10.0.0.2')).statusCode).toBe(404); // another IP is not affected
      const adminRes = await limited.app.inject({
        method: 'GET',
        url: '/api/v1/admin/tiers',
        remoteAddress: '10.0.0.1',
        headers: { 'x-admin-key': limited.adminKey },
      });
      expect(adminRes.statusCode).toBe(200);
    } finally {
      await limited.close();
    }
  });
});

/** PostgreSQL text cannot hold U+0000 and BIGINT stops at 2^63: both once surfaced as 500s from the driver. */
describe.each<TestDialect>(testPostgresUrl ? ['sqlite', 'postgres'] : ['sqlite'])(
  'NUL characters and out-of-range numbers on %s',
  (dialect) => {
    let p: TestPortal;
    let key: string;
    let id: string;
    beforeAll(async () => {
      p = await createTestPortal(dialect);
      const issued = await p.app.inject({
        method: 'POST',
        url: '/api/v1/admin/licenses',
        headers: { 'x-admin-key': p.adminKey },
        payload: { tier: 'pro', term_days: 30 },
      });
      key = issued.json().license_key;
      id = issued.json().license.id;
    });
    afterAll(() => p?.close());

    it('answers 422 naming the field, never 500, and stores nothing', async () => {
      const hw = 'a'.repeat(64);
      const cases: Array<[InjectOptions['method'], string, Record<string, unknown> | undefined, string]> = [
        ['POST', '/api/v1/license/activate', { key, hardware_id: hw, hostname: 'a\u0000b' }, 'hostname'],
        [
          'POST',
          '/api/v1/license/verify',
          { key, hardware_id: hw, panel_version: '\u0000' },
          'panel_version',
        ],
        ['POST', '/api/v1/admin/licenses', { tier: 'pro', notes: 'x\u0000' }, 'notes'],
        ['POST', `/api/v1/admin/licenses/${id}/suspend`, { reason: '\u0000' }, 'reason'],
        ['PATCH', '/api/v1/admin/tiers/pro', { features: ['ok', 'b\u0000'] }, 'features.1'],
        ['GET', '/api/v1/admin/licenses/%00', undefined, 'id'],
        ['GET', '/api/v1/admin/tiers/%00', undefined, 'name'],
        ['GET', '/api/v1/admin/licenses?q=%00', undefined, 'q'],
        ['GET', '/api/v1/admin/licenses?tier=a%00', undefined, 'tier'],
        ['GET', '/api/v1/admin/events?action=%00', undefined, 'action'],
        ['GET', '/api/v1/admin/events?license_id=%00', undefined, 'license_id'],
        ['DELETE', `/api/v1/admin/licenses/${id}/activations/%00`, undefined, 'activation'],
        ['GET', '/api/v1/admin/events?before=9223372036854775807', undefined, 'before'],
      ];
      for (const [method, url, payload, field] of cases) {
        const res = await p.app.inject({
          method,
          url,
          headers: { 'x-admin-key': p.adminKey },
          ...(payload ? { payload } : {}),
        });
        const body = res.json();
        expect(res.statusCode, `${method} ${url} → ${res.body}`).toBe(422);
        expect(body.code, url).toBe('VALIDATION_ERROR');
        expect(Object.keys(body.details), url).toEqual([field]);
      }
      const license = await p.app.inject({
        method: 'GET',
        url: `/api/v1/admin/licenses/${id}`,
        headers: { 'x-admin-key': p.adminKey },
      });
      expect(license.json().license).toMatchObject({ status: 'active', activations: [] });
    });

    it('refuses to extend a term past the year 9999 (the date would no longer compare as text)', async () => {
      const h = { 'x-admin-key': p.adminKey };
      const far = await p.app.inject({
        method: 'POST',
        url: '/api/v1/admin/licenses',
        headers: h,
        payload: { tier: 'pro', expires_at: '9999-12-01T00:00:00Z' },
      });
      const farId = far.json().license.id;
      const res = await p.app.inject({
        method: 'POST',
        url: `/api/v1/admin/licenses/${farId}/extend`,
        headers: h,
        payload: { days: 100 },
      });
      expect(res.statusCode, res.body).toBe(422);
      expect(Object.keys(res.json().details)).toEqual(['days']);
      const after = await p.app.inject({ method: 'GET', url: `/api/v1/admin/licenses/${farId}`, headers: h });
      expect(after.json().license).toMatchObject({
        status: 'active',
        expires_at: '9999-12-01T00:00:00.000Z',
      });
    });
  },
);
