import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, testPostgresUrl } from '@wispanel/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPortal, type TestDialect, type TestPortal } from '../../testing';

/**
 * The portal web console's server side: admin key → session cookie, CSRF on state-changing cookie requests,
 * sign-out, idle expiry, a revoked key ending its sessions, the admin-keys API, and the console's HTML
 * headers. Over a real database (SQLite file; PostgreSQL too when available).
 */
const dialects: TestDialect[] = testPostgresUrl ? ['sqlite', 'postgres'] : ['sqlite'];

describe.each(dialects)('portal console sessions on %s', (dialect) => {
  let t: TestPortal;
  let now = Date.parse('2026-11-30T10:00:00Z');
  beforeAll(async () => {
    t = await createTestPortal(dialect, { clock: () => new Date(now) });
  });
  afterAll(() => t?.close());

  const signIn = async (key = t.adminKey) => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/session',
      payload: { admin_key: key },
    });
    const cookie = String(res.headers['set-cookie'] ?? '');
    const token = /__Host-wispanel_portal_session=([^;]*)/.exec(cookie)?.[1] ?? '';
    return { res, cookie, token, csrf: res.json().csrf_token as string };
  };
  const asCookie = (token: string) => `__Host-wispanel_portal_session=${token}`;

  it('signs in with an admin key: HttpOnly Secure SameSite=Strict __Host- cookie, no key in the answer', async () => {
    const { res, cookie, token } = await signIn();
    expect(res.statusCode).toBe(200);
    expect(cookie).toMatch(/^__Host-wispanel_portal_session=wps_[0-9a-f]{64}; Path=\/; Max-Age=\d+;/);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('Secure');
    expect(cookie).toContain('SameSite=Strict');
    expect(res.body).not.toContain(t.adminKey);
    expect(res.body).not.toContain(token);
    expect(res.json()).toMatchObject({
      success: true,
      key_prefix: t.adminKey.slice(0, 12),
      idle_minutes: 30,
    });
    // The session token is stored only hashed.
    const rows = await t.services.db
      .selectFrom('admin_sessions' as never)
      .selectAll()
      .execute();
    expect(JSON.stringify(rows)).not.toContain(token);
  });

  it('a wrong key is 401 in the admin envelope, sets no cookie, and is logged', async () => {
    const { res } = await signIn(`wpa_${'0'.repeat(64)}`);
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual({ success: false, error: 'Invalid or missing API key', code: 'UNAUTHORIZED' });
    expect(res.headers['set-cookie']).toBeUndefined();
    const events = await t.services.events.list({ action: 'admin_session.refused' });
    expect(events.length).toBeGreaterThan(0);
  });

  it('the cookie authenticates admin reads; writes need the CSRF token and the same origin', async () => {
    const { token, csrf } = await signIn();
    const read = await t.app.inject({
      method: 'GET',
      url: '/api/v1/admin/tiers',
      headers: { cookie: asCookie(token) },
    });
    expect(read.statusCode).toBe(200);

    const body = { tier: 'free', customer_name: 'csrf test' };
    const noToken = await t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/licenses',
      headers: { cookie: asCookie(token) },
      payload: body,
    });
    expect(noToken.statusCode).toBe(403);
    expect(noToken.json().error).toMatch(/CSRF token missing/);

    const wrong = await t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/licenses',
      headers: { cookie: asCookie(token), 'x-csrf-token': 'a'.repeat(64) },
      payload: body,
    });
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json().error).toMatch(/does not match/);

    const crossOrigin = await t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/licenses',
      headers: {
        cookie: asCookie(token),
        'x-csrf-token': csrf,
        origin: 'https://evil.example',
        host: 'portal.example',
      },
      payload: body,
    });
    expect(crossOrigin.statusCode).toBe(403);

    const before = (await t.services.licenses.list({})).pagination?.total ?? -1;
    const ok = await t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/licenses',
      headers: { cookie: asCookie(token), 'x-csrf-token': csrf },
      payload: body,
    });
    expect(ok.statusCode).toBe(201);
    const after = (await t.services.licenses.list({})).pagination?.total ?? -1;
    expect(after).toBe(before + 1);
    // The event names the admin key the session belongs to.
    const issued = await t.services.events.list({ action: 'license.issued', limit: 1 });
    expect(issued[0]?.actor).toBe(`admin:${t.adminKey.slice(0, 12)}`);
  });

  it('GET /admin/session gives the CSRF token back after a reload; X-Admin-Key callers have no session', async () => {
    const { token, csrf } = await signIn();
    const me = await t.app.inject({
      method: 'GET',
      url: '/api/v1/admin/session',
      headers: { cookie: asCookie(token) },
    });
    expect(me.statusCode).toBe(200);
    expect(me.json().csrf_token).toBe(csrf);
    const byKey = await t.app.inject({
      method: 'GET',
      url: '/api/v1/admin/session',
      headers: { 'x-admin-key': t.adminKey },
    });
    expect(byKey.statusCode).toBe(401);
  });

  it('sign-out ends the session for good and clears the cookie', async () => {
    const { token, csrf } = await signIn();
    const out = await t.app.inject({
      method: 'DELETE',
      url: '/api/v1/admin/session',
      headers: { cookie: asCookie(token), 'x-csrf-token': csrf },
    });
    expect(out.statusCode).toBe(200);
    expect(String(out.headers['set-cookie'])).toMatch(/__Host-wispanel_portal_session=; Path=\/; Max-Age=0/);
    const after = await t.app.inject({
      method: 'GET',
      url: '/api/v1/admin/tiers',
      headers: { cookie: asCookie(token) },
    });
    expect(after.statusCode).toBe(401);
  });

  it('a session ends after the idle time, and slides while used', async () => {
    const { token } = await signIn();
    const get = () =>
      t.app.inject({ method: 'GET', url: '/api/v1/admin/tiers', headers: { cookie: asCookie(token) } });
    now += 20 * 60_000;
    expect((await get()).statusCode).toBe(200);
    now += 20 * 60_000; // 40 min after sign-in, 20 after the last request
    expect((await get()).statusCode).toBe(200);
    now += 31 * 60_000;
    const idle = await get();
    expect(idle.statusCode).toBe(401);
    expect(idle.json().error).toMatch(/sign in again/);
  });

  it('revoking the admin key ends the sessions made with it (within the key cache time)', async () => {
    const { admin_key: second } = (
      await t.app.inject({
        method: 'POST',
        url: '/api/v1/admin/admin-keys',
        headers: { 'x-admin-key': t.adminKey },
        payload: { name: 'support desk' },
      })
    ).json();
    expect(second).toMatch(/^wpa_[0-9a-f]{64}$/);
    const { token } = await signIn(second);
    const get = () =>
      t.app.inject({ method: 'GET', url: '/api/v1/admin/tiers', headers: { cookie: asCookie(token) } });
    expect((await get()).statusCode).toBe(200);
    const list = (
      await t.app.inject({
        method: 'GET',
        url: '/api/v1/admin/admin-keys',
        headers: { 'x-admin-key': t.adminKey },
      })
    ).json();
    expect(JSON.stringify(list)).not.toContain(second);
    const id = list.admin_keys.find((k: { name: string }) => k.name === 'support desk').id;
    const revoked = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/admin/admin-keys/${id}`,
      headers: { 'x-admin-key': t.adminKey },
    });
    expect(revoked.statusCode).toBe(200);
    expect(revoked.json().record.revoked_at).not.toBeNull();
    expect((await get()).statusCode).toBe(401);
  });

  it('the admin API refuses to revoke the last active key (409), so the console cannot lock itself out', async () => {
    const keys = (
      await t.app.inject({
        method: 'GET',
        url: '/api/v1/admin/admin-keys',
        headers: { 'x-admin-key': t.adminKey },
      })
    ).json().admin_keys as Array<{ id: string; revoked_at: string | null }>;
    const active = keys.filter((k) => k.revoked_at === null);
    expect(active).toHaveLength(1);
    const res = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/admin/admin-keys/${active[0]!.id}`,
      headers: { 'x-admin-key': t.adminKey },
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('CONFLICT');
  });

  it('bad sign-in bodies are 422 naming the field', async () => {
    for (const payload of [
      {},
      { admin_key: 42 },
      { admin_key: 'x', extra: 1 },
      { admin_key: 'x'.repeat(201) },
    ]) {
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/admin/session', payload });
      expect(res.statusCode).toBe(422);
      expect(Object.keys(res.json().details).length).toBeGreaterThan(0);
    }
  });

  it('events can be filtered by actor, result code and time', async () => {
    const actor = `admin:${t.adminKey.slice(0, 12)}`;
    const res = await t.app.inject({
      method: 'GET',
      url: `/api/v1/admin/events?actor=${encodeURIComponent(actor)}&result_code=OK&since=2026-01-01T00:00:00Z&until=2030-01-01T00:00:00Z`,
      headers: { 'x-admin-key': t.adminKey },
    });
    expect(res.statusCode).toBe(200);
    const events = res.json().events as Array<{ actor: string; result_code: string }>;
    expect(events.length).toBeGreaterThan(0);
    for (const e of events) {
      expect(e.actor).toBe(actor);
      expect(e.result_code).toBe('OK');
    }
    const none = await t.app.inject({
      method: 'GET',
      url: '/api/v1/admin/events?until=2000-01-01T00:00:00Z',
      headers: { 'x-admin-key': t.adminKey },
    });
    expect(none.json().events).toEqual([]);
  });
});

describe('portal console static files', () => {
  it('serves index.html with the strict CSP, hashed assets immutable, SPA routes, and JSON 404 under /api', async () => {
    const dir = tempDir('wispanel-portal-console-');
    mkdirSync(join(dir.path, 'assets'));
    writeFileSync(join(dir.path, 'index.html'), '<!doctype html><title>portal</title>');
    writeFileSync(join(dir.path, 'assets', 'index-abc123.js'), 'console.log(1)');
    const { buildPortalApp } = await import('../../app');
    const t = await createTestPortal('sqlite');
    const app = await buildPortalApp({
      config: t.config,
      database: t.services.database,
      consoleDir: dir.path,
    });
    try {
      const index = await app.inject({ method: 'GET', url: '/', headers: { accept: 'text/html' } });
      expect(index.statusCode).toBe(200);
      expect(index.headers['content-security-policy']).toContain("script-src 'self'");
      expect(index.headers['content-security-policy']).not.toContain('unsafe-eval');
      expect(index.headers['cache-control']).toBe('no-cache');
      const page = await app.inject({
        method: 'GET',
        url: '/licenses/abc',
        headers: { accept: 'text/html' },
      });
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-security-policy']).toBeDefined();
      const asset = await app.inject({ method: 'GET', url: '/assets/index-abc123.js' });
      expect(asset.headers['cache-control']).toContain('immutable');
      const traversal = await app.inject({ method: 'GET', url: '/assets/..%2Fportal.db' });
      expect(traversal.statusCode).toBe(404);
      const api = await app.inject({
        method: 'GET',
        url: '/api/v1/nothing',
        headers: { accept: 'text/html' },
      });
      expect(api.statusCode).toBe(404);
      expect(api.json().code).toBe('NOT_FOUND');
    } finally {
      await app.close();
      await t.close();
      dir.remove();
    }
  });
});
