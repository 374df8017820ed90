/**
 * Server-side search and filters of the list endpoints (docs/panel-api.md "Searching and filtering lists"):
 * `GET /users|/domains|/databases?q=&status=&owner=&role=` and `GET /license/audit?action=&outcome=&actor=&since=
 * &until=`, over a real SQLite file (and PostgreSQL when the test cluster runs). Totals count exactly what the
 * filter matches across pages; LIKE wildcards in `q` match themselves; bad values answer 400 naming the field.
 */
import { createLogger, migrate, openDatabase } from '@wispanel/kit';
import { createTestPostgresDatabase, tempDir, testPostgresUrl } from '@wispanel/kit/testing';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPanelApp } from '../src/app';
import { loadPanelConfig } from '../src/config';
import type { PanelDB } from '../src/db/schema';
import { migrations } from '../src/migrations';
import { allowAllLicenseGate } from '../src/modules/resources/license-gate';
import { containsPattern } from '../src/modules/resources/ownership';
import { initializeDataDir } from '../src/setup';
import { createPanelHarness, type PanelHarness } from './harness';

let h: PanelHarness;
beforeAll(async () => {
  h = await createPanelHarness({ flags: { rateLimit: 100_000 } });
});
afterAll(() => h.close());

const pw = 'correct horse battery';

async function ok(res: Promise<LightMyRequestResponse>, status = 201) {
  const r = await res;
  expect(r.statusCode, r.body).toBe(status);
  return r.json();
}

/** Every row of a filtered list, walking its pages; checks each page's total and page count agree. */
async function walk(path: string, field: string, perPage: number, key?: string) {
  const seen: string[] = [];
  let total = -1;
  for (let page = 1; page < 100; page++) {
    const sep = path.includes('?') ? '&' : '?';
    const r = await h.call('GET', `${path}${sep}page=${page}&per_page=${perPage}`, { key });
    expect(r.statusCode, r.body).toBe(200);
    const body = r.json();
    if (total === -1) total = body.pagination.total;
    expect(body.pagination.total).toBe(total);
    expect(body.pagination.total_pages).toBe(Math.max(1, Math.ceil(total / perPage)));
    const rows = body[field] as Array<Record<string, string>>;
    seen.push(...rows.map((x) => x.domain ?? x.name ?? x.username ?? ''));
    if (page >= body.pagination.total_pages) break;
  }
  return { total, names: seen };
}

function expect400(r: LightMyRequestResponse, field: string) {
  expect(r.statusCode, r.body).toBe(400);
  const body = r.json();
  expect(body).toMatchObject({ success: false, code: 'VALIDATION_ERROR', status: 400 });
  expect(body.message).toBe(body.error);
  expect(body.message).toContain(field);
  expect(Object.keys(body.details ?? {})).toContain(field);
}

describe('containsPattern', () => {
  it('escapes %, _ and the escape character itself', () => {
    expect(containsPattern('shop')).toBe('%shop%');
    expect(containsPattern('50%_off\\')).toBe('%50\\%\\_off\\\\%');
  });
});

describe('GET /domains?q=', () => {
  let reseller: { username: string; key: string };
  beforeAll(async () => {
    reseller = await h.account('reseller', { username: 'resq' });
    for (let i = 1; i <= 27; i++) {
      await ok(
        h.call('POST', '/api/v1/domains', { body: { domain: `shop-${String(i).padStart(2, '0')}.example` } }),
      );
    }
    for (const d of ['blog.example', 'shop1x.test', 'myshop.example.org'])
      await ok(h.call('POST', '/api/v1/domains', { body: { domain: d } }));
    // The reseller's own shop: visible to it; the admin's are not.
    await ok(
      h.call('POST', '/api/v1/domains', { key: reseller.key, body: { domain: 'resellershop.example' } }),
    );
  });

  it('searches the whole list, not a page: totals and pages agree with the filter', async () => {
    const all = await walk('/api/v1/domains?q=shop', 'domains', 10);
    expect(all.total).toBe(27 + 3); // shop-NN, shop1x, myshop, resellershop
    expect(new Set(all.names).size).toBe(all.total);
    for (const n of all.names) expect(n).toContain('shop');
    // A name on the third unfiltered page is found from page 1 of the search.
    const one = await ok(h.call('GET', '/api/v1/domains?q=shop-27'), 200);
    expect(one.domains.map((d: { domain: string }) => d.domain)).toEqual(['shop-27.example']);
    expect(one.pagination).toMatchObject({ total: 1, total_pages: 1, page: 1 });
    // Unfiltered total is the whole table; a search matching nothing is an empty page, not an error.
    expect((await ok(h.call('GET', '/api/v1/domains'), 200)).pagination.total).toBe(31);
    expect(await ok(h.call('GET', '/api/v1/domains?q=nothing-like-this'), 200)).toMatchObject({
      domains: [],
      pagination: { total: 0, total_pages: 1 },
    });
    // Empty q = no filter.
    expect((await ok(h.call('GET', '/api/v1/domains?q='), 200)).pagination.total).toBe(31);
  });

  it('is case-insensitive', async () => {
    expect((await ok(h.call('GET', '/api/v1/domains?q=SHOP-0'), 200)).pagination.total).toBe(9);
  });

  it('LIKE wildcards in q match themselves (% and _ are escaped, never "anything")', async () => {
    // Unescaped, `%` would match every row and `shop_` would match "shop-01", "shop1x", ...
    for (const q of ['%', '%25', '_', 'shop_', 'shop%', '%shop', '\\', 'shop\\', "shop'"]) {
      const r = await h.call('GET', `/api/v1/domains?q=${encodeURIComponent(q)}`);
      expect(r.statusCode, `${q}: ${r.body}`).toBe(200);
      expect(r.json().pagination.total, q).toBe(0);
    }
  });

  it('never shows what the caller may not see: a reseller searching finds only its own', async () => {
    const mine = await walk('/api/v1/domains?q=shop', 'domains', 5, reseller.key);
    expect(mine.names).toEqual(['resellershop.example']);
    expect(mine.total).toBe(1);
    // Naming another owner does not widen what it sees; neither does a role filter on accounts.
    const others = await ok(h.call('GET', '/api/v1/domains?owner=admin', { key: reseller.key }), 200);
    expect(others).toMatchObject({ domains: [], pagination: { total: 0 } });
    const admins = await ok(h.call('GET', '/api/v1/users?role=admin', { key: reseller.key }), 200);
    expect(admins).toMatchObject({ users: [], pagination: { total: 0 } });
  });

  it('status and owner filters combine with q; the totals follow', async () => {
    for (const d of ['shop-03.example', 'shop-04.example'])
      await ok(h.call('POST', `/api/v1/domains/${d}/suspend`), 200);
    const suspended = await ok(h.call('GET', '/api/v1/domains?status=suspended'), 200);
    expect(suspended.domains.map((d: { domain: string }) => d.domain)).toEqual([
      'shop-03.example',
      'shop-04.example',
    ]);
    expect(suspended.pagination.total).toBe(2);
    expect((await ok(h.call('GET', '/api/v1/domains?q=shop-0&status=active'), 200)).pagination.total).toBe(7);
    expect((await ok(h.call('GET', '/api/v1/domains?status=disabled'), 200)).pagination.total).toBe(0);
    const byOwner = await ok(h.call('GET', '/api/v1/domains?owner=resq'), 200);
    expect(byOwner.domains.map((d: { domain: string }) => d.domain)).toEqual(['resellershop.example']);
    expect((await ok(h.call('GET', '/api/v1/domains?owner=resq&q=blog'), 200)).pagination.total).toBe(0);
  });

  it('refuses bad values with 400 VALIDATION_ERROR naming the field', async () => {
    expect400(await h.call('GET', '/api/v1/domains?status=gone'), 'status');
    expect400(await h.call('GET', `/api/v1/domains?q=${'a'.repeat(101)}`), 'q');
    expect400(await h.call('GET', `/api/v1/domains?owner=${'a'.repeat(65)}`), 'owner');
    expect400(await h.call('GET', '/api/v1/domains?q=%00'), 'q');
    expect400(await h.call('GET', '/api/v1/domains?q=a&q=b'), 'q');
    expect400(await h.call('GET', '/api/v1/domains?colour=red'), 'colour');
  });
});

describe('GET /users?q= and GET /databases?q=', () => {
  beforeAll(async () => {
    for (const [username, email] of [
      ['ann', 'a_b@mail.example'],
      ['bob', 'axb@mail.example'],
      ['carl', 'carl@Other.example'],
    ] as const)
      await ok(h.call('POST', '/api/v1/users', { body: { username, email, password: pw } }));
    for (const name of ['shop', 'xshop', 'blog'])
      await ok(h.call('POST', '/api/v1/databases', { body: { name } }));
  });

  it('users: username or e-mail, case-insensitive; `_` in q is a literal underscore', async () => {
    const u = async (q: string) =>
      (await ok(h.call('GET', `/api/v1/users?q=${encodeURIComponent(q)}`), 200)).users.map(
        (x: { username: string }) => x.username,
      );
    expect(await u('a_b')).toEqual(['ann']); // not bob (axb)
    expect(await u('ANN')).toEqual(['ann']);
    expect(await u('other.EXAMPLE')).toEqual(['carl']);
    expect(await u('%')).toEqual([]);
    const users = await ok(h.call('GET', '/api/v1/users?role=reseller'), 200);
    expect(users.users.map((x: { username: string }) => x.username)).toEqual(['resq']);
    expect400(await h.call('GET', '/api/v1/users?role=root'), 'role');
    expect400(await h.call('GET', '/api/v1/users?status=deleted'), 'status');
  });

  it('databases: by name; `_` in q is literal', async () => {
    const d = async (q: string) =>
      (await ok(h.call('GET', `/api/v1/databases?q=${encodeURIComponent(q)}`), 200)).databases.map(
        (x: { name: string }) => x.name,
      );
    expect(await d('shop')).toEqual(['admin_shop', 'admin_xshop']);
    // Unescaped, `mi_` would match every "admin_…" ("min") and `min%b` would match "admin_blog".
    expect(await d('mi_')).toEqual([]);
    expect(await d('min_b')).toEqual(['admin_blog']);
    expect(await d('min%b')).toEqual([]); // a literal %, not "anything"
    expect((await ok(h.call('GET', '/api/v1/databases?q=ADMIN_&per_page=2'), 200)).pagination).toMatchObject({
      total: 3,
      total_pages: 2,
    });
  });
});

describe('GET /license/audit filters', () => {
  const base = Date.parse('2035-05-01T00:00:00Z');
  beforeAll(async () => {
    const rows = [];
    for (let i = 0; i < 40; i++) {
      rows.push({
        at: new Date(base + i * 3_600_000).toISOString(),
        action: i % 4 === 0 ? 'activate' : i % 4 === 1 ? 'refresh' : i % 4 === 2 ? 'enforce' : 'verify',
        actor: i % 2 === 0 ? 'admin' : 'system',
        outcome: i % 5 === 0 ? 'failed' : 'success',
        code: null,
        message: `entry ${i}`,
        detail: null,
      });
    }
    // The real table through the panel's own database handle (entries as the license module writes them).
    await h.deps.db.insertInto('license_audit').values(rows).execute();
  });

  const audit = async (q: string) => ok(h.call('GET', `/api/v1/license/audit?${q}`), 200);

  it('action, outcome and actor filter; total counts every match across pages', async () => {
    const a = await audit('action=activate&limit=4');
    expect(a.total).toBe(10);
    expect(a.entries).toHaveLength(4);
    for (const e of a.entries) expect(e.action).toBe('activate');
    // Walk the filtered pages by `before`: 10 distinct entries, newest first, then nothing.
    const ids: number[] = [];
    let before = '';
    for (let i = 0; i < 5; i++) {
      const page = await audit(`action=activate&limit=4${before}`);
      expect(page.total).toBe(10);
      ids.push(...page.entries.map((e: { id: number }) => e.id));
      if (page.entries.length < 4) break;
      before = `&before=${ids[ids.length - 1]}`;
    }
    expect(ids).toHaveLength(10);
    expect([...ids].sort((x, y) => y - x)).toEqual(ids);
    expect((await audit('outcome=failed&actor=admin')).total).toBe(4); // i = 0, 10, 20, 30
    expect((await audit('action=refresh&actor=admin')).total).toBe(0); // refresh rows are odd: system
    expect((await audit('actor=nobody')).entries).toEqual([]);
  });

  it('since/until bound the time (inclusive), in any offset; the total follows', async () => {
    const r = await audit('since=2035-05-01T10:00:00Z&until=2035-05-01T19:00:00Z&limit=100');
    expect(r.total).toBe(10);
    expect(r.entries.map((e: { message: string }) => e.message)).toEqual(
      Array.from({ length: 10 }, (_, k) => `entry ${19 - k}`),
    );
    // The same instants written with a +02:00 offset.
    const shifted = await audit('since=2035-05-01T12:00:00%2B02:00&until=2035-05-01T21:00:00%2B02:00');
    expect(shifted.total).toBe(10);
    expect((await audit('since=2035-05-02T15:00:00Z')).total).toBe(1);
  });

  it('refuses bad values with 400 naming the field', async () => {
    expect400(await h.call('GET', '/api/v1/license/audit?since=yesterday'), 'since');
    expect400(await h.call('GET', '/api/v1/license/audit?until=2035-13-01T00:00:00Z'), 'until');
    expect400(
      await h.call('GET', '/api/v1/license/audit?since=2035-05-02T00:00:00Z&until=2035-05-01T00:00:00Z'),
      'until',
    );
    expect400(await h.call('GET', '/api/v1/license/audit?action=no%20spaces'), 'action');
    expect400(await h.call('GET', '/api/v1/license/audit?outcome=%25'), 'outcome');
    expect400(await h.call('GET', `/api/v1/license/audit?actor=${'x'.repeat(65)}`), 'actor');
  });
});

describe.skipIf(!testPostgresUrl)('on PostgreSQL (ILIKE, the same escaping)', () => {
  it('case-insensitive substring with % and _ literal; totals follow', async () => {
    const pg = await createTestPostgresDatabase();
    const dir = tempDir();
    const database = openDatabase<PanelDB>(pg.url);
    try {
      await migrate(database, migrations);
      const config = loadPanelConfig(
        { dataDir: dir.path, databaseUrl: pg.url, noTls: true, rateLimit: 100_000 },
        {},
      );
      const init = await initializeDataDir(config, {}, database);
      const app = await buildPanelApp({
        config,
        db: database.db,
        dialect: 'postgres',
        logger: createLogger({ level: 'silent' }),
        licenseGate: allowAllLicenseGate,
      });
      const call = (method: 'GET' | 'POST', url: string, body?: unknown) =>
        app.inject({
          method,
          url,
          headers: {
            authorization: `Bearer ${init.api_key}`,
            ...(body ? { 'content-type': 'application/json' } : {}),
          },
          payload: body ? JSON.stringify(body) : undefined,
        });
      try {
        for (const d of ['shop-a.example', 'shop-b.example', 'blog.example', 'shop1.test'])
          expect((await call('POST', '/api/v1/domains', { domain: d })).statusCode).toBe(201);
        for (const [u, e] of [
          ['ann', 'a_b@mail.example'],
          ['bob', 'axb@mail.example'],
        ])
          expect(
            (await call('POST', '/api/v1/users', { username: u, email: e, password: pw })).statusCode,
          ).toBe(201);
        const total = async (url: string) => {
          const r = await call('GET', url);
          expect(r.statusCode, r.body).toBe(200);
          return r.json().pagination.total as number;
        };
        expect(await total('/api/v1/domains?q=SHOP')).toBe(3);
        expect(await total('/api/v1/domains?q=shop-&per_page=1')).toBe(2);
        expect(await total('/api/v1/domains?q=shop_')).toBe(0);
        expect(await total('/api/v1/domains?q=%25')).toBe(0);
        expect(await total('/api/v1/domains?q=%5C')).toBe(0);
        expect(await total('/api/v1/users?q=A_B')).toBe(1);
        const audit = await call('GET', '/api/v1/license/audit?action=activate&since=2026-01-01T00:00:00Z');
        expect(audit.statusCode, audit.body).toBe(200);
        expect(audit.json().total).toBe(0);
      } finally {
        await app.close();
      }
    } finally {
      await database.close();
      await pg.drop();
      dir.remove();
    }
  });
});
