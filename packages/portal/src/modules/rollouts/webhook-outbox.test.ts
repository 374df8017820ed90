import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { type Database, openDatabase, writeTransaction } from '@wispanel/kit';
import { testPostgresUrl } from '@wispanel/kit/testing';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { PortalTables } from '../../db';
import { createTestPortal, type TestDialect, type TestPortal } from '../../testing';
import { WebhookOutbox, type WebhookOutboxTables } from './webhook-outbox';

/**
 * The outbox itself, on the real databases (SQLite file, PostgreSQL) with a real HTTP receiver: one delivery per
 * row however many instances pass at once, retries with backoff, give-up rules, atomicity with the decision.
 */
const SECRET = 'outbox-secret';

interface Got {
  headers: IncomingHttpHeaders;
  raw: string;
}

async function receiver(answer: (n: number) => number) {
  const got: Got[] = [];
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => {
      raw += c;
    });
    req.on('end', () => {
      got.push({ headers: req.headers, raw });
      res.writeHead(answer(got.length)).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  const url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/hook`;
  return { got, url, close: () => new Promise((r) => server.close(r)) };
}

const dialects: TestDialect[] = testPostgresUrl ? ['sqlite', 'postgres'] : ['sqlite'];

describe.each(dialects)('webhook outbox on %s', (dialect) => {
  let portal: TestPortal;
  let now = Date.parse('2026-03-01T10:00:00Z');
  const clock = () => new Date(now);
  const extra: Database<PortalTables>[] = [];
  const outbox = (
    url: string,
    db: Kysely<PortalTables>,
    o: Partial<ConstructorParameters<typeof WebhookOutbox>[0]> = {},
  ) =>
    new WebhookOutbox({
      db: db as unknown as Kysely<WebhookOutboxTables>,
      dialect: portal.services.database.dialect,
      now: clock,
      target: { url, secret: SECRET },
      version: 'test',
      recordEvent: (e) => portal.services.events.append(e),
      ...o,
    });
  const rows = () =>
    (portal.services.db as unknown as Kysely<WebhookOutboxTables>)
      .selectFrom('webhook_outbox')
      .selectAll()
      .orderBy('created_at')
      .execute();

  beforeAll(async () => {
    portal = await createTestPortal(dialect, { clock }); // no webhook configured: its own sender stays idle
  }, 60_000);
  afterAll(async () => {
    for (const d of extra) await d.close();
    await portal?.close();
  });
  beforeEach(async () => {
    await (portal.services.db as unknown as Kysely<WebhookOutboxTables>)
      .deleteFrom('webhook_outbox')
      .execute();
  });

  it('two instances passing at once over 12 rows: each row sent exactly once, signed, with its delivery id', async () => {
    const hook = await receiver(() => 204);
    const other = openDatabase<PortalTables>(portal.config.databaseUrl);
    extra.push(other);
    const a = outbox(hook.url, portal.services.db);
    const b = outbox(hook.url, other.db);
    const ids: string[] = [];
    for (let i = 0; i < 12; i++)
      ids.push(await a.enqueue('release.halted', `1.5.${i}`, { version: `1.5.${i}` }));
    await Promise.all([a.pass(), b.pass(), a.pass(), b.pass()]);
    await Promise.all([a.drain(), b.drain()]);
    expect(hook.got).toHaveLength(12);
    const seen = hook.got.map((g) => g.headers['x-wispanel-delivery']);
    expect(new Set(seen).size).toBe(12);
    expect([...seen].sort()).toEqual([...ids].sort());
    for (const g of hook.got) {
      expect(g.headers['x-wispanel-signature']).toBe(
        `sha256=${createHmac('sha256', SECRET).update(g.raw).digest('hex')}`,
      );
      expect(JSON.parse(g.raw).delivery).toBe(g.headers['x-wispanel-delivery']);
    }
    expect((await rows()).every((r) => r.state === 'delivered' && Number(r.attempts) === 1)).toBe(true);
    await hook.close();
  });

  it('a 5xx is retried after the backoff (not before), with the same delivery id; then delivered', async () => {
    const hook = await receiver((n) => (n === 1 ? 503 : 204));
    const o = outbox(hook.url, portal.services.db, { retryDelaysMs: [10_000, 60_000] });
    const id = await o.enqueue('release.halted', '2.0.0', { version: '2.0.0' });
    expect(await o.pass()).toBe(1);
    let [row] = await rows();
    expect(row).toMatchObject({ state: 'pending', last_error: 'HTTP 503' });
    expect(Number(row!.attempts)).toBe(1);
    const wait = Date.parse(row!.next_attempt_at) - now;
    expect(wait).toBeGreaterThanOrEqual(9_000); // 10 s ± 10 %
    expect(wait).toBeLessThanOrEqual(11_000);
    now += 8_000;
    expect(await o.pass()).toBe(0); // not due yet
    now += 4_000;
    expect(await o.pass()).toBe(1);
    [row] = await rows();
    expect(row).toMatchObject({ state: 'delivered', last_error: null });
    expect(hook.got.map((g) => g.headers['x-wispanel-delivery'])).toEqual([id, id]);
    expect(hook.got.map((g) => g.headers['x-wispanel-attempt'])).toEqual(['1', '2']);
    await hook.close();
  });

  it('a 4xx other than 408/429 is given up at once (webhook.failed event); an unreachable one after the max age', async () => {
    const hook = await receiver(() => 401);
    const o = outbox(hook.url, portal.services.db);
    const id = await o.enqueue('release.halted', '3.0.0', { version: '3.0.0' });
    await o.pass();
    expect((await rows())[0]).toMatchObject({ state: 'failed', last_error: 'HTTP 401' });
    now += 3_600_000;
    expect(await o.pass()).toBe(0);
    expect(hook.got).toHaveLength(1);
    const failed = await portal.services.events.list({ action: 'webhook.failed' });
    expect(failed.some((e) => e.data?.delivery === id && e.result_code === 'HTTP_401')).toBe(true);
    await hook.close();

    // Nobody listens: retried until the row is older than the max age, then given up.
    const down = outbox(hook.url, portal.services.db, { maxAgeMs: 60_000, retryDelaysMs: [10_000] });
    await down.enqueue('release.halted', '3.0.1', { version: '3.0.1' });
    await down.pass();
    let row = (await rows()).find((r) => r.subject === '3.0.1')!;
    expect(row.state).toBe('pending');
    expect(row.last_error).toMatch(/ECONNREFUSED|fetch failed/);
    now += 61_000;
    await down.pass();
    row = (await rows()).find((r) => r.subject === '3.0.1')!;
    expect(row.state).toBe('failed');
  });

  it('a row queued long before any instance could send it is given up unsent (no late news)', async () => {
    const hook = await receiver(() => 204);
    const queuer = new WebhookOutbox({
      db: portal.services.db as unknown as Kysely<WebhookOutboxTables>,
      dialect: portal.services.database.dialect,
      now: clock,
      target: null,
      version: 'test',
    });
    const fresh = await queuer.enqueue('release.halted', '6.0.0', {});
    now += 2 * 60_000;
    const late = await queuer.enqueue('release.halted', '6.0.1', {});
    const o = outbox(hook.url, portal.services.db, { maxAgeMs: 90_000 });
    await o.drain();
    expect(hook.got.map((g) => g.headers['x-wispanel-delivery'])).toEqual([late]);
    const byId = new Map((await rows()).map((r) => [r.id, r]));
    expect(byId.get(fresh)).toMatchObject({ state: 'failed', last_error: 'expired before it could be sent' });
    expect(byId.get(late)).toMatchObject({ state: 'delivered' });
    const failed = await portal.services.events.list({ action: 'webhook.failed' });
    expect(failed.some((e) => e.data?.delivery === fresh && e.result_code === 'EXPIRED')).toBe(true);
    await hook.close();
  });

  it('queued inside the decision’s transaction: a rolled-back decision leaves no webhook', async () => {
    const o = outbox('http://127.0.0.1:9/never', portal.services.db);
    await expect(
      writeTransaction(portal.services.db, portal.services.database.dialect, async (trx) => {
        await o.enqueue('release.halted', '4.0.0', {}, trx as unknown as Kysely<WebhookOutboxTables>);
        throw new Error('the decision failed');
      }),
    ).rejects.toThrow('the decision failed');
    expect(await rows()).toEqual([]);
  });

  it('hostile receivers: a stall is cut at the timeout, an endless answer is not read, a redirect is not followed, stop() aborts at once', async () => {
    const servers: Server[] = [];
    const serve = async (handler: Parameters<typeof createServer>[1]) => {
      const server = createServer(handler);
      servers.push(server);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const a = server.address();
      return `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/hook`;
    };
    const drips: NodeJS.Timeout[] = [];
    const drip = (write: () => void) => drips.push(setInterval(write, 1000));
    let elsewhere = 0;
    const other = await serve((req, res) => {
      elsewhere++;
      req.resume();
      res.writeHead(204).end();
    });
    const row = async (subject: string) => (await rows()).find((r) => r.subject === subject)!;
    const timed = async (url: string, subject: string) => {
      const o = outbox(url, portal.services.db, { timeoutMs: 1_500 });
      await o.enqueue('release.halted', subject, { version: subject });
      const t0 = Date.now();
      await o.pass();
      return { ms: Date.now() - t0, row: await row(subject) };
    };

    // The status line, then one header byte a second, never the end of the headers: cut at the deadline.
    const stall = await serve((req, res) => {
      req.resume();
      res.socket?.write('HTTP/1.1 200 OK\r\nX-Slow: ');
      drip(() => res.socket?.write('x'));
    });
    const stalled = await timed(stall, '7.0.0');
    expect(stalled.ms).toBeGreaterThanOrEqual(1_400);
    expect(stalled.ms).toBeLessThan(15_000);
    expect(stalled.row).toMatchObject({ state: 'pending' });
    expect(stalled.row.last_error).toMatch(/timeout|abort/i);

    // 2xx headers, then a body of a byte a second without end: delivered without reading it.
    const endless = await serve((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('x');
      drip(() => res.write('x'));
    });
    const answered = await timed(endless, '7.0.1');
    expect(answered.ms).toBeLessThan(1_400);
    expect(answered.row).toMatchObject({ state: 'delivered' });

    // A redirect to another host: the signed body never goes there. Retrying cannot change a redirect (the URL is
    // wrong), so the delivery is given up at once, saying why.
    const redirect = await serve((req, res) => {
      req.resume();
      res.writeHead(307, { location: other }).end();
    });
    const moved = await timed(redirect, '7.0.2');
    expect(moved.row).toMatchObject({
      state: 'failed',
      last_error: 'HTTP 307: redirects are not followed (set the webhook URL to the final address)',
    });
    expect(elsewhere).toBe(0);

    // Shutting down while a receiver never answers: stop() returns at once, not at the deadline.
    const silent = await serve((req) => req.resume());
    const o = outbox(silent, portal.services.db, { timeoutMs: 60_000 });
    await o.enqueue('release.halted', '7.0.3', { version: '7.0.3' });
    o.start();
    await expect.poll(async () => Number((await row('7.0.3')).attempts), { timeout: 10_000 }).toBe(1);
    const t0 = Date.now();
    await o.stop();
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(await row('7.0.3')).toMatchObject({ state: 'pending' });

    for (const d of drips) clearInterval(d);
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  }, 60_000);

  it('an instance without a webhook configured only queues (the CLI, a portal without the setting)', async () => {
    const hook = await receiver(() => 204);
    const o = new WebhookOutbox({
      db: portal.services.db as unknown as Kysely<WebhookOutboxTables>,
      dialect: portal.services.database.dialect,
      now: clock,
      target: null,
      version: 'test',
    });
    await o.enqueue('release.halted', '5.0.0', {});
    o.start();
    expect(await o.pass()).toBe(0);
    await o.stop();
    expect((await rows())[0]).toMatchObject({ state: 'pending' });
    expect(Number((await rows())[0]!.attempts)).toBe(0);
    await hook.close();
  });
});
