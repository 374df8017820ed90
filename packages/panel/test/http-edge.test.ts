import type { AddressInfo } from 'node:net';
import { httpFrom as get, rawHttp, slowBody, slowHeaders } from '@wispanel/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPanelHarness, type PanelHarness } from './harness';

/**
 * Issue 9 items 4, 5 and 10 on a real listening panel (real TCP sockets; several loopback source addresses,
 * 127.0.0.x, stand for different clients and for a proxy).
 */

function listen(h: PanelHarness): Promise<number> {
  return h.app
    .listen({ host: '127.0.0.1', port: 0 })
    .then(() => (h.app.server.address() as AddressInfo).port);
}

const panelEnvelope = (status: number) => ({
  success: false,
  code: expect.any(String),
  error: expect.any(String),
  message: expect.any(String),
  status,
});

describe('requests the HTTP parser refuses are answered in the panel envelope (item 10)', () => {
  let h: PanelHarness;
  let port: number;
  beforeAll(async () => {
    h = await createPanelHarness();
    port = await listen(h);
  });
  afterAll(() => h.close());

  const cases: Array<[string, string, number, RegExp]> = [
    ['a bad request line', 'GARBAGE\r\n\r\n', 400, /request line/i],
    ['an invalid request target', 'GET no-slash HTTP/1.1\r\nHost: x\r\n\r\n', 400, /./],
    [
      'an invalid header character',
      'GET /api/v1/health HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n',
      400,
      /header/i,
    ],
    [
      'a duplicate Content-Length',
      'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}',
      400,
      /Content-Length/,
    ],
    [
      'Content-Length with Transfer-Encoding',
      'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n',
      400,
      /Transfer-Encoding/,
    ],
    [
      'oversized headers',
      `GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      431,
      /too large/,
    ],
    ['a missing Host header', 'GET /api/v1/health HTTP/1.1\r\n\r\n', 400, /Host/],
    [
      'a request line over the header limit',
      `GET /api/v1/health?x=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
      431,
      /too large/,
    ],
  ];

  it.each(cases)('%s', async (_name, text, status, message) => {
    const res = await rawHttp(port, text);
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const body = JSON.parse(res.body);
    expect(body).toMatchObject(panelEnvelope(status));
    expect(body.error).toMatch(message);
    expect(res.body).not.toContain('statusCode');
  });

  // A path parameter longer than the router takes (500 characters) is refused before any route runs: 414
  // URI_TOO_LONG in the envelope, with a short message that does not echo the request's URL back.
  it.each([
    ['GET', `/api/v1/users/${'q'.repeat(5000)}`],
    ['DELETE', `/api/v1/users/${'q'.repeat(5000)}?x=1`],
  ])('an over-long path (%s) is 414 URI_TOO_LONG without the URL echoed', async (method, path) => {
    const res = await rawHttp(port, `${method} ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect(res.status).toBe(414);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const body = JSON.parse(res.body);
    expect(body).toMatchObject({ ...panelEnvelope(414), code: 'URI_TOO_LONG' });
    expect(body.error).toMatch(/too long/i);
    expect(res.body).not.toContain('q'.repeat(60));
    expect(res.body.length).toBeLessThan(400);
  });

  it('an over-long path on no route is a 404 whose message carries only a short prefix of the path', async () => {
    const res = await rawHttp(
      port,
      `GET /${'q'.repeat(5000)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    );
    expect(res.status).toBe(404);
    const body = JSON.parse(res.body);
    expect(body).toMatchObject({ ...panelEnvelope(404), code: 'NOT_FOUND' });
    expect(res.body).not.toContain('q'.repeat(120));
    expect(res.body.length).toBeLessThan(500);
  });

  it('still serves a well-formed request on the same server', async () => {
    const res = await rawHttp(port, 'GET /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(res.status).toBe(200);
  });
});

// "true" was "trust every hop" (the client's own leftmost entry won); it now means a proxy on this machine.
describe.each(['127.0.0.1', 'true'])(
  'X-Forwarded-For is believed only from configured proxies (item 4), trustProxy=%s',
  (setting) => {
    let h: PanelHarness;
    let port: number;
    let key: string;
    const PROXY = '127.0.0.1';
    const CLIENT = '127.0.0.5';
    beforeAll(async () => {
      h = await createPanelHarness({ flags: { trustProxy: setting, loginRateLimit: 3, rateLimit: 100_000 } });
      port = await listen(h);
      key = (await h.key('admin', { permissions: ['all'], ip_whitelist: ['203.0.113.7'] })).secret;
    });
    afterAll(() => h.close());

    const me = (from: string, xff?: string) =>
      get(port, '/api/v1/auth/me', {
        from,
        headers: { authorization: `Bearer ${key}`, ...(xff ? { 'x-forwarded-for': xff } : {}) },
      });

    it('a client spoofing the leftmost X-Forwarded-For entry through the proxy does not pass the IP whitelist', async () => {
      // the proxy appends the address it saw (the real client) to what the client sent
      const spoofed = await me(PROXY, `203.0.113.7, 198.51.100.9`);
      expect(spoofed.status).toBe(403);
      expect(JSON.parse(spoofed.body).error).toContain('198.51.100.9');
      // the real whitelisted client through the proxy passes
      expect((await me(PROXY, '203.0.113.7')).status).toBe(200);
    });

    // with loopback trusted, every 127.x source here is a proxy: the direct-client cases need the address list
    it.skipIf(setting === 'true')(
      'a client that is not a configured proxy cannot set its address at all',
      async () => {
        const direct = await me(CLIENT, '203.0.113.7');
        expect(direct.status).toBe(403);
        expect(JSON.parse(direct.body).error).toContain(CLIENT);
      },
    );

    it('the login limit counts the real client, whatever it puts in X-Forwarded-For', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await get(port, '/api/v1/auth/login', {
          from: PROXY,
          method: 'POST',
          headers: { 'x-forwarded-for': `10.9.9.${i}, 198.51.100.77` },
          body: JSON.stringify({ username: 'admin', password: 'wrong password' }),
        });
        statuses.push(res.status);
      }
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
      if (setting === 'true') return;
      // sent directly with a spoofed header by a non-proxy, it is that peer that is counted
      const direct: number[] = [];
      for (let i = 0; i < 4; i++)
        direct.push(
          (
            await get(port, '/api/v1/auth/login', {
              from: '127.0.0.6',
              method: 'POST',
              headers: { 'x-forwarded-for': `10.8.8.${i}` },
              body: JSON.stringify({ username: 'admin', password: 'wrong password' }),
            })
          ).status,
        );
      expect(direct).toEqual([401, 401, 401, 429]);
    });

    it('refuses an invalid trust-proxy setting (or a hop count) at start, and reads "true" as loopback only', async () => {
      for (const bad of ['10.0.0.0/33', '1', 'proxy.example'])
        await expect(createPanelHarness({ flags: { trustProxy: bad } })).rejects.toThrow(
          /WISPANEL_TRUST_PROXY/,
        );
      const t = await createPanelHarness({ flags: { trustProxy: 'true' } });
      expect(t.config.trustProxy).toEqual(['loopback']);
      await t.close();
    });
  },
);

describe('slow clients are cut off and cannot crowd others out (item 5)', () => {
  let h: PanelHarness;
  let port: number;
  const BODY_MS = 3000;
  const HEADERS_MS = 2000;
  beforeAll(async () => {
    h = await createPanelHarness({
      flags: {
        bodyTimeoutMs: BODY_MS,
        headersTimeoutMs: HEADERS_MS,
        maxConnectionsPerIp: 25,
        rateLimit: 100_000,
      },
    });
    port = await listen(h);
  });
  afterAll(() => h.close());

  it('200 slow connections (a byte every 1.5 s) do not stop others being served, and each is cut at its deadline', async () => {
    const started = Date.now();
    // 8 source addresses × 25 = 200 slow connections, each address at its cap
    const bodies = Array.from({ length: 160 }, (_, i) => slowBody(port, `127.0.0.${10 + (i % 8)}`, 1500));
    const heads = Array.from({ length: 40 }, (_, i) => slowHeaders(port, `127.0.0.${20 + (i % 2)}`, 1500));
    // others are served meanwhile, promptly
    const served: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t0 = Date.now();
      const res = await get(port, '/api/v1/health', { from: '127.0.0.2' });
      expect(res.status).toBe(200);
      served.push(Date.now() - t0);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(Math.max(...served)).toBeLessThan(1500);
    const bodyEnds = await Promise.all(bodies.map((b) => b.closed));
    const headEnds = await Promise.all(heads);
    for (const end of bodyEnds) {
      // answered 408 in the envelope, then closed: at the deadline (the sweep runs every second), not later
      expect(end.data).toMatch(/^HTTP\/1\.1 408/);
      expect(JSON.parse(end.data.split('\r\n\r\n')[1] ?? '')).toMatchObject({
        code: 'REQUEST_TIMEOUT',
        status: 408,
      });
      expect(end.at - started).toBeGreaterThanOrEqual(BODY_MS - 200);
      expect(end.at - started).toBeLessThan(BODY_MS + 4000);
    }
    for (const end of headEnds) {
      expect(end.data).toMatch(/^HTTP\/1\.1 408/);
      expect(end.at - started).toBeLessThan(HEADERS_MS + 4000);
    }
  }, 60_000);

  it('caps open connections per client address; the address is served again once they close', async () => {
    const from = '127.0.0.30';
    const open = Array.from({ length: 25 }, () => slowBody(port, from, 1000));
    await new Promise((r) => setTimeout(r, 300));
    // the 26th connection from the same address is closed without an answer
    const over = await rawHttp(port, 'GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n', {
      localAddress: from,
    });
    expect(over.status).toBe(0);
    // another address is not affected
    expect((await get(port, '/api/v1/health', { from: '127.0.0.31' })).status).toBe(200);
    for (const o of open) o.socket.destroy();
    await Promise.all(open.map((o) => o.closed));
    await new Promise((r) => setTimeout(r, 100));
    expect((await get(port, '/api/v1/health', { from })).status).toBe(200);
  }, 30_000);

  it('a request whose body arrives in time is served normally', async () => {
    const res = await get(port, '/api/v1/auth/login', {
      method: 'POST',
      body: JSON.stringify({ username: 'admin', password: 'nope nope' }),
    });
    expect(res.status).toBe(401);
  });
});
