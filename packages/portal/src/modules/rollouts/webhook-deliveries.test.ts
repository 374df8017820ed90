import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { WebhookDeliveryListAnswer, WebhookRedeliveredAnswer } from '@wispanel/contract';
import { testPostgresUrl } from '@wispanel/kit/testing';
import type { Kysely } from 'kysely';
import { Value } from 'typebox/value';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestPortal, type TestDialect, type TestPortal } from '../../testing';
import { WebhookOutbox, type WebhookOutboxTables } from './webhook-outbox';

/**
 * Given-up vendor webhook deliveries: the admin list and redeliver (`/api/v1/admin/webhooks/deliveries…`) on the
 * real databases (SQLite file, PostgreSQL), with a real HTTP receiver and the real outbox sender.
 */
const SECRET = 'deliveries-secret-never-shown';
const DAY = 86_400_000;

// biome-ignore lint/suspicious/noExplicitAny: JSON answers, checked by the assertions
type Json = Record<string, any>;

/** A receiver whose answer the test sets (`status`), recording every request. */
async function receiver() {
  const got: Array<{ headers: IncomingHttpHeaders; body: Json }> = [];
  const state = { status: 204 };
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => {
      raw += c;
    });
    req.on('end', () => {
      got.push({ headers: req.headers, body: JSON.parse(raw) });
      res.writeHead(state.status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  const url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/hook`;
  return { got, state, url, close: () => new Promise((r) => server.close(r)) };
}

const dialects: TestDialect[] = testPostgresUrl ? ['sqlite', 'postgres'] : ['sqlite'];

describe.each(dialects)('webhook deliveries: list and redeliver on %s', (dialect) => {
  let portal: TestPortal;
  let hook: Awaited<ReturnType<typeof receiver>>;
  let sender: WebhookOutbox;
  let now = Date.parse('2026-03-01T10:00:00Z');
  const clock = () => new Date(now);
  const table = () => portal.services.db as unknown as Kysely<WebhookOutboxTables>;
  const rows = () => table().selectFrom('webhook_outbox').selectAll().execute();
  const admin = (method: 'GET' | 'POST', url: string, payload?: unknown, headers: Json = {}) =>
    portal.app.inject({
      method,
      url,
      headers: { 'x-admin-key': portal.adminKey, ...headers },
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  const list = async (query = '') => {
    const res = await admin('GET', `/api/v1/admin/webhooks/deliveries${query}`);
    expect(res.statusCode, res.body).toBe(200);
    expect(Value.Errors(WebhookDeliveryListAnswer, res.json())).toEqual([]);
    return res.json() as Json;
  };
  const redeliveredEvents = async (id: string) =>
    (await portal.services.events.list({ action: 'webhook.redelivered', limit: 500 })).filter(
      (e) => e.data?.delivery === id,
    );
  const redeliver = (id: string, payload?: unknown, headers?: Json) =>
    admin('POST', `/api/v1/admin/webhooks/deliveries/${id}/redeliver`, payload, headers);
  /** A delivery the receiver refused (410): given up at once, like a vendor whose endpoint was misconfigured. */
  const givenUp = async (version: string) => {
    const id = await portal.services.webhooks.enqueue('release.halted', version, { version, reason: 'test' });
    hook.state.status = 410;
    expect(await sender.pass()).toBe(1);
    hook.state.status = 204;
    return id;
  };

  beforeAll(async () => {
    hook = await receiver();
    // The portal itself has no webhook configured (its own sender stays idle); `sender` is the sending
    // instance, driven pass by pass with the fake clock.
    portal = await createTestPortal(dialect, { clock });
    sender = new WebhookOutbox({
      db: table(),
      dialect: portal.services.database.dialect,
      now: clock,
      target: { url: hook.url, secret: SECRET },
      version: 'test',
      recordEvent: (e) => portal.services.events.append(e),
    });
  }, 60_000);
  afterAll(async () => {
    await portal?.close();
    await hook?.close();
  });
  beforeEach(async () => {
    await table().deleteFrom('webhook_outbox').execute();
    hook.got.length = 0;
    hook.state.status = 204;
  });

  it('the list shows every delivery newest first with its last attempt (time, HTTP status, error), filtered by state, paged; never the secret', async () => {
    const delivered = await portal.services.webhooks.enqueue('release.halted', '1.0.0', { version: '1.0.0' });
    await sender.pass();
    now += 60_000;
    const failed = await givenUp('1.1.0');
    now += 60_000;
    const retrying = await portal.services.webhooks.enqueue('release.halted', '1.2.0', { version: '1.2.0' });
    hook.state.status = 503;
    await sender.pass();
    now += 60_000;
    const unsent = await portal.services.webhooks.enqueue('release.halted', '1.3.0', { version: '1.3.0' });

    const all = await list();
    expect(all.deliveries.map((d: Json) => d.id)).toEqual([unsent, retrying, failed, delivered]);
    expect(all.pagination).toEqual({ page: 1, per_page: 25, total: 4, total_pages: 1 });
    const [u, r, f, d] = all.deliveries as [Json, Json, Json, Json];
    expect(d).toMatchObject({
      event: 'release.halted',
      subject: '1.0.0',
      state: 'delivered',
      attempts: 1,
      last_status: 204,
      last_error: null,
      next_attempt_at: null,
      expires_at: null,
      delivered_at: expect.any(String),
      last_attempt_at: expect.any(String),
      redelivered_at: null,
      redeliveries: 0,
      payload: { version: '1.0.0' },
    });
    expect(f).toMatchObject({
      state: 'failed',
      attempts: 1,
      last_status: 410,
      last_error: 'HTTP 410',
      next_attempt_at: null,
      expires_at: null,
      delivered_at: null,
    });
    expect(r).toMatchObject({ state: 'pending', attempts: 1, last_status: 503, last_error: 'HTTP 503' });
    expect(Date.parse(r.next_attempt_at)).toBeGreaterThan(Date.parse(r.last_attempt_at));
    expect(r.expires_at).toBe(new Date(Date.parse(r.created_at) + 3 * DAY).toISOString());
    expect(u).toMatchObject({
      state: 'pending',
      attempts: 0,
      last_attempt_at: null,
      last_status: null,
      last_error: null,
      next_attempt_at: u.created_at,
    });
    const text = JSON.stringify(all);
    expect(text).not.toContain(SECRET);
    expect(text).not.toMatch(/signature|sha256=|secret/i);

    expect((await list('?state=failed')).deliveries.map((x: Json) => x.id)).toEqual([failed]);
    expect((await list('?state=pending')).deliveries.map((x: Json) => x.id)).toEqual([unsent, retrying]);
    expect((await list('?subject=1.2.0&event=release.halted')).deliveries.map((x: Json) => x.id)).toEqual([
      retrying,
    ]);
    const page2 = await list('?per_page=2&page=2');
    expect(page2.deliveries.map((x: Json) => x.id)).toEqual([failed, delivered]);
    expect(page2.pagination).toEqual({ page: 2, per_page: 2, total: 4, total_pages: 2 });
    expect((await list('?per_page=2&page=3')).deliveries).toEqual([]);

    const one = await admin('GET', `/api/v1/admin/webhooks/deliveries/${failed}`);
    expect(one.statusCode).toBe(200);
    expect(one.json().delivery).toEqual(f);
  });

  it('an attempt the receiver never answered records no status, only the network error', async () => {
    const dead = new WebhookOutbox({
      db: table(),
      dialect: portal.services.database.dialect,
      now: clock,
      target: { url: 'http://127.0.0.1:9/hook', secret: SECRET },
      version: 'test',
    });
    const id = await portal.services.webhooks.enqueue('release.halted', '1.4.0', { version: '1.4.0' });
    await dead.pass();
    const [d] = (await list()).deliveries as Json[];
    expect(d).toMatchObject({
      id,
      state: 'pending',
      last_status: null,
      last_attempt_at: clock().toISOString(),
    });
    expect(d!.last_error).toMatch(/ECONNREFUSED|fetch failed/);
  });

  it('redeliver: a failed delivery goes back to pending with the same id and a fresh start, webhook.redelivered names the admin, the receiver gets it again', async () => {
    const id = await givenUp('2.0.0');
    now += 3_600_000;
    const res = await redeliver(id);
    expect(res.statusCode, res.body).toBe(200);
    expect(Value.Errors(WebhookRedeliveredAnswer, res.json())).toEqual([]);
    const at = clock().toISOString();
    expect(res.json().delivery).toMatchObject({
      id,
      state: 'pending',
      attempts: 0,
      next_attempt_at: at,
      last_error: null,
      last_status: null,
      redelivered_at: at,
      redeliveries: 1,
      expires_at: new Date(now + 3 * DAY).toISOString(),
    });
    const [event] = await redeliveredEvents(id);
    expect(event).toMatchObject({
      actor: `admin:${portal.adminKey.slice(0, 12)}`,
      result_code: 'OK',
      data: {
        delivery: id,
        event: 'release.halted',
        subject: '2.0.0',
        previous: { attempts: 1, last_status: 410, last_error: 'HTTP 410' },
      },
    });
    expect(await sender.pass()).toBe(1);
    expect(hook.got.map((g) => g.headers['x-wispanel-delivery'])).toEqual([id, id]);
    expect(hook.got[1]!.headers['x-wispanel-attempt']).toBe('1');
    expect(hook.got[1]!.body).toMatchObject({ event: 'release.halted', delivery: id, version: '2.0.0' });
    expect((await rows())[0]).toMatchObject({ state: 'delivered', last_status: 204 });
  });

  it('a delivery given up after the 3-day window gets a fresh window when redelivered: sent, not given up again at once', async () => {
    const id = await portal.services.webhooks.enqueue('release.halted', '2.1.0', { version: '2.1.0' });
    now += 4 * DAY; // nobody could send it in time
    expect(await sender.pass()).toBe(1);
    expect(hook.got).toHaveLength(0);
    expect((await rows())[0]).toMatchObject({
      state: 'failed',
      last_error: 'expired before it could be sent',
    });
    expect((await redeliver(id)).statusCode).toBe(200);
    expect(await sender.pass()).toBe(1);
    expect(hook.got.map((g) => g.headers['x-wispanel-delivery'])).toEqual([id]);
    expect((await rows())[0]).toMatchObject({ state: 'delivered' });
    // …and the fresh window is 3 days too: a redelivered row still failing after them is given up again.
    const again = await givenUp('2.2.0');
    expect((await redeliver(again)).statusCode).toBe(200);
    hook.state.status = 503;
    await sender.pass();
    now += 3 * DAY + 1;
    await table().updateTable('webhook_outbox').set({ next_attempt_at: clock().toISOString() }).execute();
    await sender.pass();
    const [row] = (await list('?subject=2.2.0')).deliveries as Json[];
    expect(row).toMatchObject({ state: 'failed', last_status: 503 });
  });

  it('redelivering a pending or delivered delivery is a 409 naming its state; an unknown id is a 404; nothing changes', async () => {
    const pending = await portal.services.webhooks.enqueue('release.halted', '3.0.0', { version: '3.0.0' });
    const res = await redeliver(pending);
    expect(res.statusCode).toBe(409);
    expect(res.json()).toEqual({
      success: false,
      code: 'CONFLICT',
      error: `Delivery ${pending} is pending, not failed: only a given-up (failed) delivery can be redelivered`,
    });
    await sender.pass();
    const delivered = await redeliver(pending);
    expect(delivered.statusCode).toBe(409);
    expect(delivered.json().error).toMatch(/is delivered, not failed/);
    const unknown = await redeliver('00000000-0000-4000-8000-000000000000');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ success: false, code: 'NOT_FOUND' });
    expect(
      (await admin('GET', '/api/v1/admin/webhooks/deliveries/00000000-0000-4000-8000-000000000000'))
        .statusCode,
    ).toBe(404);
    expect((await rows())[0]).toMatchObject({ state: 'delivered', attempts: 1 });
    expect(await redeliveredEvents(pending)).toEqual([]);
  });

  it('two redelivers at once, on two portal instances: one 200, one 409; one pending row, one event, one request', async () => {
    const id = await givenUp('4.0.0');
    const second = await portal.secondInstance();
    const url = `/api/v1/admin/webhooks/deliveries/${id}/redeliver`;
    const headers = { 'x-admin-key': portal.adminKey };
    const answers = await Promise.all([
      portal.app.inject({ method: 'POST', url, headers }),
      second.inject({ method: 'POST', url, headers }),
      portal.app.inject({ method: 'POST', url, headers }),
      second.inject({ method: 'POST', url, headers }),
    ]);
    expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 409, 409, 409]);
    const all = await rows();
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ id, state: 'pending', redeliveries: 1 });
    expect(await redeliveredEvents(id)).toHaveLength(1);
    await Promise.all([sender.pass(), sender.pass()]);
    expect(hook.got.map((g) => g.headers['x-wispanel-delivery'])).toEqual([id, id]); // the refusal, then once
  });

  it('credentials: none, wrong, a panel license key or a revoked admin key → 401; a console session reads but needs its CSRF token to redeliver', async () => {
    const id = await givenUp('5.0.0');
    const url = `/api/v1/admin/webhooks/deliveries/${id}/redeliver`;
    const listUrl = '/api/v1/admin/webhooks/deliveries';
    const issued = await admin('POST', '/api/v1/admin/licenses', { tier: 'pro' });
    const { key: spare } = await portal.services.adminKeys.create('spare');
    await portal.services.adminKeys.revoke({ kind: 'cli', id: 'operator', ip: null }, spare.slice(0, 12));
    // (revoke() through this portal's own AdminKeys drops its key cache: refused at once.)
    for (const headers of [
      {},
      { 'x-admin-key': `wpa_${'0'.repeat(64)}` },
      { 'x-admin-key': issued.json().license_key },
      { 'x-admin-key': spare },
      { authorization: `Bearer ${portal.adminKey}` },
    ]) {
      for (const [method, u] of [
        ['POST', url],
        ['GET', listUrl],
        ['GET', `${listUrl}/${id}`],
      ] as const) {
        const res = await portal.app.inject({ method, url: u, headers });
        expect(res.statusCode, `${method} ${u} ${JSON.stringify(headers)}`).toBe(401);
        expect(res.json()).toEqual({
          success: false,
          code: 'UNAUTHORIZED',
          error: 'Invalid or missing API key',
        });
      }
    }
    const signIn = await portal.app.inject({
      method: 'POST',
      url: '/api/v1/admin/session',
      payload: { admin_key: portal.adminKey },
    });
    const token = /__Host-wispanel_portal_session=([^;]*)/.exec(String(signIn.headers['set-cookie']))?.[1];
    const cookie = `__Host-wispanel_portal_session=${token}`;
    const read = await portal.app.inject({ method: 'GET', url: listUrl, headers: { cookie } });
    expect(read.statusCode).toBe(200);
    expect(read.json().deliveries.map((d: Json) => d.id)).toEqual([id]);
    const noCsrf = await portal.app.inject({ method: 'POST', url, headers: { cookie } });
    expect(noCsrf.statusCode).toBe(403);
    expect(noCsrf.json()).toMatchObject({ success: false, code: 'FORBIDDEN' });
    expect((await rows())[0]).toMatchObject({ state: 'failed' });
    const ok = await portal.app.inject({
      method: 'POST',
      url,
      headers: { cookie, 'x-csrf-token': signIn.json().csrf_token },
    });
    expect(ok.statusCode, ok.body).toBe(200);
    const [event] = await redeliveredEvents(id);
    expect(event?.actor).toBe(`admin:${portal.adminKey.slice(0, 12)}`);
  });

  it('bad input is a 4xx in the admin envelope naming what is wrong, never a 500', async () => {
    const id = await givenUp('6.0.0');
    const cases: Array<[string, string, number, string?]> = [
      ['GET', '/api/v1/admin/webhooks/deliveries?state=lost', 422, 'state'],
      ['GET', '/api/v1/admin/webhooks/deliveries?secret=1', 422, 'secret'],
      ['GET', '/api/v1/admin/webhooks/deliveries?per_page=1000', 422, 'per_page'],
      ['GET', '/api/v1/admin/webhooks/deliveries?page=0', 422, 'page'],
      ['GET', '/api/v1/admin/webhooks/deliveries?page=abc', 422, 'page'],
      ['GET', `/api/v1/admin/webhooks/deliveries?subject=${'9'.repeat(65)}`, 422, 'subject'],
      ['GET', '/api/v1/admin/webhooks/deliveries?subject=a%00b', 422, 'subject'],
      ['GET', '/api/v1/admin/webhooks/deliveries/not-a-uuid', 422, 'id'],
      ['POST', '/api/v1/admin/webhooks/deliveries/not-a-uuid/redeliver', 422, 'id'],
      ['POST', `/api/v1/admin/webhooks/deliveries/${id.toUpperCase()}/redeliver`, 422, 'id'],
      ['POST', `/api/v1/admin/webhooks/deliveries/${id}%00/redeliver`, 422, 'id'],
      ['POST', '/api/v1/admin/webhooks/deliveries/..%2F..%2Fadmin-keys/redeliver', 422, 'id'],
      ['POST', `/api/v1/admin/webhooks/deliveries/${id}'%20OR%20'1'='1/redeliver`, 422, 'id'],
      ['POST', `/api/v1/admin/webhooks/deliveries/${'a'.repeat(90)}/redeliver`, 422, 'id'],
      // Longer than the router takes for a path parameter: refused before the route (URI too long).
      ['POST', `/api/v1/admin/webhooks/deliveries/${'a'.repeat(5000)}/redeliver`, 414],
      ['POST', '/api/v1/admin/webhooks/deliveries//redeliver', 422, 'id'],
      ['POST', `/api/v1/admin/webhooks/deliveries/${id}/redeliver/..%2F..%2F..%2Fadmin-keys`, 404],
    ];
    for (const [method, url, status, field] of cases) {
      const res = await admin(method as 'GET' | 'POST', url);
      expect(res.statusCode, `${method} ${url.slice(0, 120)}: ${res.body}`).toBe(status);
      const body = res.json();
      const code =
        { 422: 'VALIDATION_ERROR', 404: 'NOT_FOUND', 414: 'URI_TOO_LONG' }[status] ?? expect.any(String);
      expect(body).toMatchObject({ success: false, code, error: expect.any(String) });
      if (field) expect(Object.keys(body.details ?? {}), url.slice(0, 120)).toContain(field);
    }
    expect((await redeliver('not-a-uuid')).json().details).toEqual({
      id: ['The id field must be a delivery id (a lowercase UUID).'],
    });
    expect(
      (await admin('GET', '/api/v1/admin/webhooks/deliveries?secret=1&state=lost')).json().details,
    ).toEqual({
      secret: ['The secret field is not allowed.'],
      state: ['The selected state is invalid.'],
    });
    const extra = await redeliver(id, { force: true });
    expect(extra.statusCode).toBe(422);
    expect(extra.json().details).toHaveProperty('force');
    const notJson = await admin('POST', `/api/v1/admin/webhooks/deliveries/${id}/redeliver`, '[1,2]', {
      'content-type': 'application/json',
    });
    expect(notJson.statusCode).toBe(422);
    // Nothing above changed the row; an empty JSON object is fine.
    expect((await rows())[0]).toMatchObject({ state: 'failed' });
    expect((await redeliver(id, {})).statusCode).toBe(200);
  });
});
