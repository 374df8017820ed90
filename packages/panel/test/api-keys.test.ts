import SQLite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OTHER_PROCESS_CHECK_MS } from '../src/db/hot-query';
import { createPanelHarness, type PanelHarness } from './harness';

let h: PanelHarness;
beforeAll(async () => {
  h = await createPanelHarness({ flags: { rateLimit: 100_000 } });
});
afterAll(() => h.close());

describe('API keys', () => {
  it('issues a key with the documented 201 shape, shown once, stored only as a hash', async () => {
    const res = await h.call('POST', '/api/v1/users/admin/api-keys', {
      body: {
        name: 'billing',
        permissions: ['domains', 'read'],
        ip_whitelist: ['203.0.113.0/24', '2001:db8::1'],
        expires_in: 90,
      },
    });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(Object.keys(body).sort()).toEqual(['api_key', 'key', 'message', 'secret_key', 'success']);
    expect(body.success).toBe(true);
    expect(body.secret_key).toMatch(/^wsp_[0-9a-f]{48}$/);
    expect(body.api_key).toBe(body.secret_key);
    expect(Object.keys(body.key).sort()).toEqual(
      [
        'created_at',
        'enabled',
        'expires_at',
        'id',
        'ip_whitelist',
        'key_prefix',
        'last_used',
        'name',
        'permissions',
      ].sort(),
    );
    expect(body.key).toMatchObject({
      name: 'billing',
      key_prefix: body.secret_key.slice(0, 12),
      permissions: ['domains', 'read'],
      ip_whitelist: ['203.0.113.0/24', '2001:db8::1'],
      last_used: null,
      enabled: true,
    });
    expect(body.key.id).toMatch(/^[0-9a-f]{16}$/);
    const days = (Date.parse(body.key.expires_at) - Date.parse(body.key.created_at)) / 86_400_000;
    expect(days).toBeCloseTo(90, 5);

    const row = await h.deps.db
      .selectFrom('api_keys')
      .selectAll()
      .where('id', '=', body.key.id)
      .executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(body.secret_key.slice(4));

    const list = await h.call('GET', '/api/v1/users/admin/api-keys');
    expect(list.statusCode).toBe(200);
    expect(list.body).not.toContain(body.secret_key.slice(12));
    expect(list.json().keys.find((k: { id: string }) => k.id === body.key.id)).toMatchObject({
      name: 'billing',
      key_prefix: body.key.key_prefix,
    });
  });

  it('defaults to read-only, never-expiring keys', async () => {
    const res = await h.call('POST', '/api/v1/users/admin/api-keys', { body: { name: 'defaults' } });
    expect(res.json().key).toMatchObject({ permissions: ['read'], ip_whitelist: [], expires_at: null });
    const reader = res.json().secret_key;
    expect((await h.call('GET', '/api/v1/domains', { key: reader })).statusCode).toBe(200);
    expect(
      (await h.call('POST', '/api/v1/domains', { key: reader, body: { domain: 'r.example' } })).statusCode,
    ).toBe(403);
  });

  it('revokes and disables keys; both take effect at once', async () => {
    const k = await h.key('admin', { name: 'temp' });
    expect((await h.call('GET', '/api/v1/auth/me', { key: k.secret })).statusCode).toBe(200);
    expect((await h.call('POST', `/api/v1/users/admin/api-keys/${k.id}/disable`)).json().key.enabled).toBe(
      false,
    );
    expect((await h.call('GET', '/api/v1/auth/me', { key: k.secret })).json().error).toBe(
      'API key is disabled',
    );
    expect((await h.call('POST', `/api/v1/users/admin/api-keys/${k.id}/enable`)).json().key.enabled).toBe(
      true,
    );
    expect((await h.call('GET', '/api/v1/auth/me', { key: k.secret })).statusCode).toBe(200);
    expect((await h.call('DELETE', `/api/v1/users/admin/api-keys/${k.id}`)).statusCode).toBe(200);
    expect((await h.call('GET', '/api/v1/auth/me', { key: k.secret })).json().error).toBe(
      'Invalid credentials',
    );
    expect((await h.call('GET', `/api/v1/users/admin/api-keys/${k.id}`)).statusCode).toBe(404);
  });

  it('sees a change written by another process within the cache check interval (auth lookups are cached)', async () => {
    const k = await h.key('admin', { name: 'external' });
    for (let i = 0; i < 3; i++)
      expect((await h.call('GET', '/api/v1/auth/me', { key: k.secret })).statusCode).toBe(200);
    const other = new SQLite(h.config.databaseUrl);
    try {
      const settle = () => new Promise((r) => setTimeout(r, OTHER_PROCESS_CHECK_MS + 20));
      other.prepare('UPDATE api_keys SET enabled = 0 WHERE id = ?').run(k.id);
      await settle();
      expect((await h.call('GET', '/api/v1/auth/me', { key: k.secret })).json().error).toBe(
        'API key is disabled',
      );
      other.prepare('UPDATE api_keys SET enabled = 1 WHERE id = ?').run(k.id);
      await settle();
      expect((await h.call('GET', '/api/v1/auth/me', { key: k.secret })).statusCode).toBe(200);
      other.prepare('DELETE FROM api_keys WHERE id = ?').run(k.id);
      await settle();
      expect((await h.call('GET', '/api/v1/auth/me', { key: k.secret })).json().error).toBe(
        'Invalid credentials',
      );
    } finally {
      other.close();
    }
  });

  it('keeps last_used in memory and writes it in a batch, not per request', async () => {
    const k = await h.key('admin', { name: 'usage' });
    await h.call('GET', '/api/v1/auth/me', { key: k.secret });
    const stored = await h.deps.db
      .selectFrom('api_keys')
      .select('last_used')
      .where('id', '=', k.id)
      .executeTakeFirstOrThrow();
    expect(stored.last_used).toBeNull();
    const shown = (await h.call('GET', `/api/v1/users/admin/api-keys/${k.id}`)).json().key.last_used;
    expect(shown).not.toBeNull();
    await h.app.panel.ctx.services.lastUsed.flush();
    const flushed = await h.deps.db
      .selectFrom('api_keys')
      .select('last_used')
      .where('id', '=', k.id)
      .executeTakeFirstOrThrow();
    expect(flushed.last_used).toBe(shown);
  });

  it('lets users and resellers manage only their own keys; admins anyone', async () => {
    const r = await h.account('reseller');
    const cust = await h.call('POST', '/api/v1/users', {
      key: r.key,
      body: { username: 'kcust', email: 'k@example.com', password: 'long enough pw' },
    });
    expect(cust.statusCode).toBe(201);
    expect(
      (await h.call('POST', '/api/v1/users/kcust/api-keys', { key: r.key, body: { name: 'x' } })).statusCode,
    ).toBe(403);
    expect(
      (await h.call('POST', '/api/v1/users/admin/api-keys', { key: r.key, body: { name: 'x' } })).statusCode,
    ).toBe(404);
    expect(
      (await h.call('POST', '/api/v1/users/kcust/api-keys', { body: { name: 'by admin' } })).statusCode,
    ).toBe(201);
    expect(
      (await h.call('POST', `/api/v1/users/${r.username}/api-keys`, { key: r.key, body: { name: 'own' } }))
        .statusCode,
    ).toBe(201);
  });

  it('never lets a key grant more than it holds', async () => {
    const limited = await h.key('admin', { name: 'keys+read', permissions: ['api-keys', 'read'] });
    const up = await h.call('POST', '/api/v1/users/admin/api-keys', {
      key: limited.secret,
      body: { name: 'escalate', permissions: ['all'] },
    });
    expect(up.statusCode).toBe(403);
    const same = await h.call('POST', '/api/v1/users/admin/api-keys', {
      key: limited.secret,
      body: { name: 'ok', permissions: ['read'] },
    });
    expect(same.statusCode).toBe(201);
  });
});
