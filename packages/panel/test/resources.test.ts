import { AppError } from '@wispanel/kit';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LicenseGate } from '../src/modules/resources/license-gate';
import { RecordingProvisioner } from '../src/modules/resources/provisioner';
import { createPanelHarness, type PanelHarness } from './harness';

let h: PanelHarness;
const provisioner = new RecordingProvisioner();
beforeAll(async () => {
  h = await createPanelHarness({ flags: { rateLimit: 100_000 }, deps: { provisioner } });
});
afterAll(() => h.close());

const pw = 'correct horse battery';

describe('accounts', () => {
  it('creates, lists with pagination, gets, updates and deletes accounts', async () => {
    const created = await h.call('POST', '/api/v1/users', {
      body: { username: 'carol', email: 'Carol@Example.com', password: pw, package: 'gold' },
    });
    expect(created.statusCode).toBe(201);
    expect(created.json().user).toMatchObject({
      username: 'carol',
      email: 'carol@example.com',
      role: 'user',
      package: 'gold',
      creator: 'admin',
      status: 'active',
      disabled_by_license: false,
    });
    expect(created.body).not.toContain('password');
    expect(
      (
        await h.call('POST', '/api/v1/users', {
          body: { username: 'carol', email: 'c2@example.com', password: pw },
        })
      ).statusCode,
    ).toBe(409);
    expect(
      (
        await h.call('POST', '/api/v1/users', {
          body: { username: 'carol2', email: 'carol@example.com', password: pw },
        })
      ).statusCode,
    ).toBe(409);

    for (let i = 0; i < 4; i++)
      await h.call('POST', '/api/v1/users', {
        body: { username: `page${i}`, email: `p${i}@example.com`, password: pw },
      });
    const page = await h.call('GET', '/api/v1/users?page=2&per_page=2');
    expect(page.statusCode).toBe(200);
    expect(page.json().users).toHaveLength(2);
    expect(page.json().pagination).toMatchObject({ page: 2, per_page: 2 });
    expect(page.json().pagination.total).toBeGreaterThanOrEqual(6);

    const patched = await h.call('PATCH', '/api/v1/users/carol', {
      body: { email: 'carol@new.example', package: 'silver' },
    });
    expect(patched.json().user).toMatchObject({ email: 'carol@new.example', package: 'silver' });
    const del = await h.call('DELETE', '/api/v1/users/carol');
    expect(del.statusCode).toBe(200);
    expect((await h.call('GET', '/api/v1/users/carol')).statusCode).toBe(404);
    expect(
      provisioner.events.some((e) => e.kind === 'account' && e.action === 'delete' && e.name === 'carol'),
    ).toBe(true);
  });

  it('lets a reseller create users under itself and see only them; a user sees only itself', async () => {
    const r = await h.account('reseller');
    const mine = await h.call('POST', '/api/v1/users', {
      key: r.key,
      body: { username: 'rcust', email: 'rcust@example.com', password: pw },
    });
    expect(mine.statusCode).toBe(201);
    expect(mine.json().user.creator).toBe(r.username);
    const asAdmin = await h.call('POST', '/api/v1/users', {
      key: r.key,
      body: { username: 'radm', email: 'radm@example.com', password: pw, role: 'admin' },
    });
    expect(asAdmin.statusCode).toBe(403);
    const list = await h.call('GET', '/api/v1/users?per_page=100', { key: r.key });
    expect(
      list
        .json()
        .users.map((u: { username: string }) => u.username)
        .sort(),
    ).toEqual([r.username, 'rcust'].sort());
    expect((await h.call('GET', '/api/v1/users/admin', { key: r.key })).statusCode).toBe(404);

    const u = await h.account('user');
    const own = await h.call('GET', '/api/v1/users', { key: u.key });
    expect(own.json().users.map((x: { username: string }) => x.username)).toEqual([u.username]);
    expect((await h.call('GET', '/api/v1/users/rcust', { key: u.key })).statusCode).toBe(404);
    expect(
      (await h.call('PATCH', `/api/v1/users/${u.username}`, { key: u.key, body: { role: 'admin' } }))
        .statusCode,
    ).toBe(403);
    expect(
      (
        await h.call('PATCH', `/api/v1/users/${u.username}`, {
          key: u.key,
          body: { password: 'another long one', current_password: 'correct horse battery' },
        })
      ).statusCode,
    ).toBe(200);
  });

  it('suspension blocks the account and is separate from the license mark', async () => {
    const u = await h.account('user');
    const s = await h.call('POST', `/api/v1/users/${u.username}/suspend`);
    expect(s.json().user.status).toBe('suspended');
    const blocked = await h.call('GET', '/api/v1/auth/me', { key: u.key });
    expect(blocked.statusCode).toBe(403);
    expect(blocked.json().error).toBe('Account is suspended');
    // License enforcement marks separately; unsuspending does not lift it.
    await h.deps.db
      .updateTable('users')
      .set({ license_disabled_at: '2026-01-01T00:00:00.000Z', license_disabled_reason: 'over limit' })
      .where('username', '=', u.username)
      .execute();
    const un = await h.call('POST', `/api/v1/users/${u.username}/unsuspend`);
    expect(un.json().user).toMatchObject({
      status: 'active',
      disabled_by_license: true,
      license_disabled_reason: 'over limit',
    });
    expect((await h.call('GET', '/api/v1/auth/me', { key: u.key })).json().error).toContain(
      'Account is disabled by the license',
    );
    expect((await h.call('POST', '/api/v1/users/admin/suspend')).statusCode).toBe(403);
  });

  it('refuses to delete an account that still owns things (409)', async () => {
    const u = await h.account('user');
    await h.call('POST', '/api/v1/domains', { key: u.key, body: { domain: `${u.username}.example` } });
    const res = await h.call('DELETE', `/api/v1/users/${u.username}`);
    expect(res.statusCode).toBe(409);
    expect(res.json().error).toContain('1 domain');
  });
});

describe('domains and databases', () => {
  it('creates domains with owners, refuses duplicates, enforces ownership', async () => {
    const r = await h.account('reseller');
    const cust = await h.call('POST', '/api/v1/users', {
      key: r.key,
      body: { username: 'dcust', email: 'dcust@example.com', password: pw },
    });
    expect(cust.statusCode).toBe(201);
    const d = await h.call('POST', '/api/v1/domains', {
      key: r.key,
      body: { domain: 'Shop.Example.', owner: 'dcust' },
    });
    expect(d.statusCode).toBe(201);
    expect(d.json().domain).toMatchObject({ domain: 'shop.example', owner: 'dcust', status: 'active' });
    expect((await h.call('POST', '/api/v1/domains', { body: { domain: 'shop.example' } })).statusCode).toBe(
      409,
    );
    expect(
      (await h.call('POST', '/api/v1/domains', { key: r.key, body: { domain: 'x.example', owner: 'admin' } }))
        .statusCode,
    ).toBe(400);
    const other = await h.account('user');
    expect((await h.call('GET', '/api/v1/domains/shop.example', { key: other.key })).statusCode).toBe(404);
    expect((await h.call('DELETE', '/api/v1/domains/shop.example', { key: other.key })).statusCode).toBe(404);
    expect((await h.call('GET', '/api/v1/domains/shop.example', { key: r.key })).statusCode).toBe(200);
    const sus = await h.call('POST', '/api/v1/domains/shop.example/suspend', { key: r.key });
    expect(sus.json().domain.status).toBe('suspended');
  });

  it('names databases <owner>_<name>, attaches to a domain (its owner), refuses duplicates', async () => {
    const u = await h.account('user');
    await h.call('POST', '/api/v1/domains', { key: u.key, body: { domain: 'blog.example' } });
    const db = await h.call('POST', '/api/v1/databases', {
      key: u.key,
      body: { name: 'wp', password: 'secret password 1' },
    });
    expect(db.statusCode).toBe(201);
    expect(db.json().database).toMatchObject({
      name: `${u.username}_wp`,
      owner: u.username,
      user: `${u.username}_wp`,
      domain: null,
    });
    expect(db.body).not.toContain('secret password 1');
    expect(
      (await h.call('POST', '/api/v1/databases', { key: u.key, body: { name: `${u.username}_wp` } }))
        .statusCode,
    ).toBe(409);
    const viaDomain = await h.call('POST', '/api/v1/databases', {
      body: { name: 'shop', domain: 'blog.example', user: 'shopuser' },
    });
    expect(viaDomain.json().database).toMatchObject({
      name: `${u.username}_shop`,
      owner: u.username,
      user: `${u.username}_shopuser`,
      domain: 'blog.example',
    });
    const created = provisioner.events.find((e) => e.kind === 'database' && e.name === `${u.username}_wp`);
    expect(JSON.stringify(created)).not.toContain('secret password 1');
    const list = await h.call('GET', '/api/v1/databases', { key: u.key });
    expect(list.json().databases).toHaveLength(2);
    expect((await h.call('DELETE', `/api/v1/databases/${u.username}_wp`, { key: u.key })).statusCode).toBe(
      200,
    );
  });

  it('ids grow monotonically, so newest-first is well defined', async () => {
    const u = await h.account('user');
    const ids: number[] = [];
    for (const n of ['a1', 'a2', 'a3'])
      ids.push(
        (
          await h.call('POST', '/api/v1/domains', {
            key: u.key,
            body: { domain: `${n}-${u.username}.example` },
          })
        ).json().domain.id,
      );
    await h.call('DELETE', `/api/v1/domains/a3-${u.username}.example`, { key: u.key });
    const again = (
      await h.call('POST', '/api/v1/domains', { key: u.key, body: { domain: `a4-${u.username}.example` } })
    ).json().domain.id;
    expect(ids[1]).toBeGreaterThan(ids[0] as number);
    expect(again).toBeGreaterThan(ids[2] as number);
  });
});

describe('license gate', () => {
  it('is asked inside the creation transaction; counting with tx is race-free under concurrency', async () => {
    const calls: string[] = [];
    const gate: LicenseGate = {
      async assertCanCreate(kind, _actor, tx) {
        calls.push(kind);
        const n = Number(
          (await sql<{ n: number }>`SELECT COUNT(*) AS n FROM domains`.execute(tx)).rows[0]?.n,
        );
        if (kind === 'domain' && n >= 5)
          throw new AppError('LICENSE_LIMIT_REACHED', 'Domain limit reached (5)');
      },
    };
    const g = await createPanelHarness({ flags: { rateLimit: 100_000 }, deps: { licenseGate: gate } });
    try {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          g.call('POST', '/api/v1/domains', { body: { domain: `d${i}.example` } }),
        ),
      );
      expect(results.filter((r) => r.statusCode === 201)).toHaveLength(5);
      const refused = results.filter((r) => r.statusCode === 403);
      expect(refused).toHaveLength(15);
      expect(refused[0]?.json()).toMatchObject({ code: 'LICENSE_LIMIT_REACHED' });
      expect((await g.call('GET', '/api/v1/domains')).json().pagination.total).toBe(5);
      await g.call('POST', '/api/v1/databases', { body: { name: 'x' } });
      await g.call('POST', '/api/v1/users', {
        body: { username: 'gated', email: 'g@example.com', password: pw },
      });
      expect(calls).toContain('database');
      expect(calls).toContain('account');
    } finally {
      await g.close();
    }
  });
});
