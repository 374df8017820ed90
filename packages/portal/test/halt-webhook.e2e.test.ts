import { execFile } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createTestPostgresDatabase, tempDir, testPostgresUrl } from '@wispanel/kit/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { bin, root, type StartedPortal, startPortal } from './portal-process';

/**
 * The `release.halted` vendor webhook is durable: real portal processes, a real database (SQLite file or
 * PostgreSQL), a real HTTP receiver. The portal halts a release while the receiver is down (the attempt fails),
 * the portal is stopped, an operator halts another release with the CLI while no portal runs, the receiver comes
 * up, the portal is started again → both webhooks arrive, signed, each exactly once (a third start sends
 * nothing more).
 */
const run = promisify(execFile);
const SECRET = 'vendor-hook-secret-e2e';
// biome-ignore lint/suspicious/noExplicitAny: JSON printed by the CLI and the API
type Json = Record<string, any>;

async function cli(args: string[]): Promise<Json> {
  const { stdout } = await run(process.execPath, [bin, ...args, '--json'], { cwd: root });
  return JSON.parse(stdout);
}

const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createNetServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

interface Got {
  headers: IncomingHttpHeaders;
  raw: string;
  body: Json;
}

/** A vendor's webhook receiver on a fixed port (started later: "down" until then). */
function receiver(port: number): Promise<{ got: Got[]; server: Server }> {
  const got: Got[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => {
      raw += c;
    });
    req.on('end', () => {
      got.push({ headers: req.headers, raw, body: JSON.parse(raw) });
      res.writeHead(204).end();
    });
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve({ got, server })));
}

async function waitFor<T>(fn: () => Promise<T | undefined | false>, ms: number, what: () => string) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(what());
}

async function scenario(dbArgs: (dir: string) => Promise<string[]>) {
  const dir = tempDir('wispanel-halt-webhook-');
  cleanups.push(() => dir.remove());
  const common = ['--data-dir', dir.path, ...(await dbArgs(dir.path))];
  const hookPort = await freePort();
  const hookUrl = `http://127.0.0.1:${hookPort}/hooks/wispanel`;
  const serve = [
    '--release-webhook-url',
    hookUrl,
    '--release-webhook-secret',
    SECRET,
    '--rate-limit',
    '100000',
  ];
  const init = await cli(['init', ...common]);
  const adminKey = init.admin_key as string;
  for (const v of ['1.5.0', '1.6.0']) {
    const artifact = join(dir.path, `wispanel-${v}.tar.gz`);
    writeFileSync(artifact, randomBytes(2048));
    await cli(['release', 'publish', artifact, '--version', v, ...common]);
  }
  await cli(['release', 'rollout', 'set', '1.5.0', '--stages', '100', '--min-failures', '3', ...common]);

  const started: StartedPortal[] = [];
  const start = async () => {
    const p = await startPortal([...common, ...serve]);
    started.push(p);
    cleanups.push(p.stop);
    return p;
  };
  const call = async (base: string, method: string, path: string, body?: unknown, admin = false) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(admin ? { 'x-admin-key': adminKey } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Json };
  };
  const health = async (base: string, v: string) =>
    (await call(base, 'GET', `/api/v1/admin/versions/${v}/health`, undefined, true)).body.health as Json;

  // 1. Portal A halts 1.5.0 on the third failing server; the receiver is down, so the first attempt fails.
  const a = await start();
  for (let i = 0; i < 3; i++) {
    const issued = await call(a.url, 'POST', '/api/v1/admin/licenses', { tier: 'pro' }, true);
    const key = issued.body.license_key as string;
    const hw = randomBytes(32).toString('hex');
    expect((await call(a.url, 'POST', '/api/v1/license/activate', { key, hardware_id: hw })).body.valid).toBe(
      true,
    );
    const r = await call(a.url, 'POST', '/api/v1/download/report', {
      key,
      hardware_id: hw,
      nonce: `nonce-${i}-xxxxxx`,
      attempt_id: `job-${i}`,
      from_version: '1.4.2',
      to_version: '1.5.0',
      outcome: 'failed',
      step: 'health_check',
      error_code: 'UPDATE_HEALTH_CHECK_FAILED',
      duration_ms: 900,
    });
    expect(r.status).toBe(200);
  }
  const failedOnce = await waitFor(
    async () => {
      const h = await health(a.url, '1.5.0');
      return h.halt?.webhook?.attempts >= 1 && h.halt.webhook.last_error ? h : undefined;
    },
    30_000,
    () => 'portal A never attempted the webhook',
  );
  // The halt reason is visible in the health answer: state, reason, when, by whom, and the delivery.
  expect(failedOnce.rollout).toMatchObject({ state: 'halted', halted_by: 'policy' });
  expect(failedOnce.rollout.reason).toMatch(/3 of 3 servers failed/);
  expect(failedOnce.halt).toMatchObject({
    active: true,
    by: 'policy',
    trigger: 'automatic',
    at: failedOnce.rollout.halted_at,
    reason: failedOnce.rollout.reason,
  });
  expect(failedOnce.halt.webhook).toMatchObject({ state: 'pending', delivered_at: null });
  expect(failedOnce.halt.webhook.last_error).toMatch(/ECONNREFUSED|fetch failed/);
  const autoDelivery = failedOnce.halt.webhook.delivery as string;
  await a.stop();

  // 2. No portal runs: the operator halts 1.6.0 from the command line. It is queued, not lost.
  const halted = await cli([
    'release',
    'rollout',
    'halt',
    '1.6.0',
    '--reason',
    'bad schema migration on CentOS 7',
    ...common,
  ]);
  expect(halted.rollout).toMatchObject({
    state: 'halted',
    reason: 'bad schema migration on CentOS 7',
    halted_by: 'cli:operator',
  });
  expect(halted.webhook).toMatchObject({ state: 'pending', attempts: 0 });
  const cliDelivery = halted.webhook.delivery as string;
  expect(cliDelivery).not.toBe(autoDelivery);

  // 3. The receiver comes up; the portal is started again: both webhooks arrive.
  const hook = await receiver(hookPort);
  cleanups.push(() => new Promise((r) => hook.server.close(r)));
  const b = await start();
  await waitFor(
    async () => hook.got.length >= 2,
    60_000,
    () => `deliveries after the restart: ${JSON.stringify(hook.got.map((g) => g.body))}`,
  );
  const byId = new Map(hook.got.map((g) => [g.headers['x-wispanel-delivery'] as string, g]));
  expect([...byId.keys()].sort()).toEqual([autoDelivery, cliDelivery].sort());
  for (const g of hook.got) {
    expect(g.headers['content-type']).toBe('application/json');
    expect(g.headers['x-wispanel-event']).toBe('release.halted');
    const mac = `sha256=${createHmac('sha256', SECRET).update(g.raw).digest('hex')}`;
    expect(g.headers['x-wispanel-signature']).toBe(mac);
    expect(g.body.delivery).toBe(g.headers['x-wispanel-delivery']);
  }
  const auto = byId.get(autoDelivery)!;
  expect(auto.body).toMatchObject({
    event: 'release.halted',
    version: '1.5.0',
    trigger: 'automatic',
    halted_by: 'policy',
    counts: { failed: 3, succeeded: 0 },
  });
  expect(Number(auto.headers['x-wispanel-attempt'])).toBeGreaterThanOrEqual(2); // failed once before the restart
  const manual = byId.get(cliDelivery)!;
  expect(manual.body).toMatchObject({
    event: 'release.halted',
    version: '1.6.0',
    trigger: 'manual',
    halted_by: 'cli:operator',
    reason: 'bad schema migration on CentOS 7',
  });
  expect(manual.headers['x-wispanel-attempt']).toBe('1');
  const h5 = await waitFor(
    async () => {
      const h = await health(b.url, '1.5.0');
      return h.halt.webhook.state === 'delivered' ? h : undefined;
    },
    10_000,
    () => 'the delivery was not recorded',
  );
  expect(h5.halt.webhook.delivered_at).toEqual(expect.any(String));
  expect((await health(b.url, '1.6.0')).halt).toMatchObject({
    active: true,
    by: 'cli:operator',
    trigger: 'manual',
    reason: 'bad schema migration on CentOS 7',
    webhook: { delivery: cliDelivery, state: 'delivered', attempts: 1 },
  });
  await b.stop();

  // 4. Delivered once: another start sends nothing more (two poll periods and then some).
  const c = await start();
  await new Promise((r) => setTimeout(r, 5_000));
  expect(hook.got).toHaveLength(2);
  const events = (await call(c.url, 'GET', '/api/v1/admin/events?action=webhook.delivered', undefined, true))
    .body.events as Json[];
  expect(events.map((e) => e.data.delivery).sort()).toEqual([autoDelivery, cliDelivery].sort());
  await c.stop();
}

/**
 * A delivery the receiver refused (410: e.g. it did not know the secret yet) is given up; once the receiver is
 * fixed, the operator sends it again — with `wispanel-portal webhooks redeliver` while the portal runs (its sender
 * picks the row up within its 2 s poll) and with the admin API — and each arrives again with the same delivery
 * id, once.
 */
async function redeliveryScenario(dbArgs: (dir: string) => Promise<string[]>) {
  const dir = tempDir('wispanel-redeliver-');
  cleanups.push(() => dir.remove());
  const common = ['--data-dir', dir.path, ...(await dbArgs(dir.path))];
  const hookPort = await freePort();
  const answer = { status: 410 };
  const got: Got[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => {
      raw += c;
    });
    req.on('end', () => {
      got.push({ headers: req.headers, raw, body: JSON.parse(raw) });
      res.writeHead(answer.status).end();
    });
  });
  await new Promise<void>((r) => server.listen(hookPort, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  const init = await cli(['init', ...common]);
  const adminKey = init.admin_key as string;
  for (const v of ['2.0.0', '2.1.0']) {
    const artifact = join(dir.path, `wispanel-${v}.tar.gz`);
    writeFileSync(artifact, randomBytes(1024));
    await cli(['release', 'publish', artifact, '--version', v, ...common]);
  }
  const portal = await startPortal([
    ...common,
    '--release-webhook-url',
    `http://127.0.0.1:${hookPort}/hooks/wispanel`,
    '--release-webhook-secret',
    SECRET,
  ]);
  cleanups.push(portal.stop);
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${portal.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', 'x-admin-key': adminKey },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Json };
  };
  const delivery = async (id: string) =>
    (await call('GET', `/api/v1/admin/webhooks/deliveries/${id}`)).body.delivery as Json;
  const givenUp = async (version: string) => {
    expect(
      (await call('POST', `/api/v1/admin/versions/${version}/rollout/halt`, { reason: 'e2e' })).status,
    ).toBe(200);
    return waitFor(
      async () => {
        const list = await call('GET', `/api/v1/admin/webhooks/deliveries?state=failed&subject=${version}`);
        return list.body.deliveries?.[0] as Json | undefined;
      },
      20_000,
      () => `${version}: never given up (receiver got ${got.length})`,
    );
  };

  // 1. Refused → given up; the CLI (another process, same database, portal running) lists it with why.
  const first = await givenUp('2.0.0');
  expect(first).toMatchObject({ state: 'failed', attempts: 1, last_status: 410, last_error: 'HTTP 410' });
  const listed = await cli(['webhooks', 'list', '--state', 'failed', ...common]);
  expect(listed.deliveries.map((d: Json) => d.id)).toEqual([first.id]);
  expect(JSON.stringify(listed)).not.toContain(SECRET);

  // 2. The receiver is fixed; the operator redelivers with the CLI: the running portal sends it, same id.
  answer.status = 204;
  const queued = await cli(['webhooks', 'redeliver', first.id, ...common]);
  expect(queued.delivery).toMatchObject({ id: first.id, state: 'pending', attempts: 0 });
  await waitFor(
    async () => (await delivery(first.id)).state === 'delivered',
    20_000,
    () => 'the CLI redelivery was not sent by the running portal',
  );

  // 3. Same through the admin API (the portal sends at once).
  answer.status = 410;
  const second = await givenUp('2.1.0');
  answer.status = 204;
  const redelivered = await call('POST', `/api/v1/admin/webhooks/deliveries/${second.id}/redeliver`);
  expect(redelivered.status).toBe(200);
  await waitFor(
    async () => (await delivery(second.id)).state === 'delivered',
    20_000,
    () => 'the API redelivery was not sent',
  );
  expect((await call('POST', `/api/v1/admin/webhooks/deliveries/${second.id}/redeliver`)).status).toBe(409);

  // Each delivery reached the receiver twice (the refusal, then once more), signed, with its own id.
  expect(got.map((g) => g.headers['x-wispanel-delivery'])).toEqual([
    first.id,
    first.id,
    second.id,
    second.id,
  ]);
  expect(got.map((g) => g.headers['x-wispanel-attempt'])).toEqual(['1', '1', '1', '1']);
  for (const g of got) {
    expect(g.headers['x-wispanel-signature']).toBe(
      `sha256=${createHmac('sha256', SECRET).update(g.raw).digest('hex')}`,
    );
  }
  expect(got.map((g) => g.body.version)).toEqual(['2.0.0', '2.0.0', '2.1.0', '2.1.0']);
  const events = (await call('GET', '/api/v1/admin/events?action=webhook.redelivered')).body.events as Json[];
  expect(events.map((e) => `${e.actor} ${e.data.delivery}`)).toEqual([
    `admin:${adminKey.slice(0, 12)} ${second.id}`,
    `cli:operator ${first.id}`,
  ]);
  await portal.stop();
}

describe('durable release.halted webhook (outbox) with real portal processes', () => {
  it('SQLite: halted with the receiver down, portal restarted, CLI halt while down → each delivered once', {
    timeout: 180_000,
  }, async () => {
    await scenario(async () => []);
  });
  it.skipIf(!testPostgresUrl)(
    'PostgreSQL: halted with the receiver down, portal restarted, CLI halt while down → each delivered once',
    { timeout: 180_000 },
    async () => {
      await scenario(async () => {
        const pg = await createTestPostgresDatabase();
        cleanups.push(() => pg.drop());
        return ['--database-url', pg.url];
      });
    },
  );
  it('SQLite: a refused delivery is given up; redelivered by the CLI and by the admin API, each arrives again once', {
    timeout: 120_000,
  }, async () => {
    await redeliveryScenario(async () => []);
  });
  it.skipIf(!testPostgresUrl)(
    'PostgreSQL: a refused delivery is given up; redelivered by the CLI and by the admin API, each arrives again once',
    { timeout: 120_000 },
    async () => {
      await redeliveryScenario(async () => {
        const pg = await createTestPostgresDatabase();
        cleanups.push(() => pg.drop());
        return ['--database-url', pg.url];
      });
    },
  );
});
