/**
 * The license webhook end to end: a real local HTTP receiver (node:http on 127.0.0.1), a panel built by the
 * harness with the webhook configured and a stand-in portal signing real license files, license events
 * triggered through the public API. Checks order, signature, retries, a hanging receiver and the logs.
 */
import { execFile } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createLogger } from '@wispanel/kit';
import { tempDir } from '@wispanel/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakePortal } from './fake-license-portal';
import { createPanelHarness, type PanelHarness } from './harness';

const SECRET = 'whsec-test-0123456789abcdef-never-logged';

interface Received {
  headers: IncomingHttpHeaders;
  body: Buffer;
  status: number;
}

/** A real HTTP receiver; `answers` are the statuses to give next (then 200); `hang` never answers. */
class Receiver {
  readonly got: Received[] = [];
  answers: number[] = [];
  hang = false;
  private server!: Server;
  private readonly hanging: ServerResponse[] = [];
  url = '';
  async start() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        if (this.hang) {
          this.got.push({ headers: req.headers, body: Buffer.concat(chunks), status: 0 });
          this.hanging.push(res);
          return;
        }
        const status = this.answers.shift() ?? 200;
        this.got.push({ headers: req.headers, body: Buffer.concat(chunks), status });
        res.writeHead(status, { 'content-type': 'text/plain' }).end(String(status));
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks/license`;
  }
  /** Deliveries answered 2xx, parsed. */
  accepted() {
    return this.got
      .filter((r) => r.status >= 200 && r.status < 300)
      .map((r) => JSON.parse(r.body.toString()));
  }
  async close() {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** What a receiver does: HMAC-SHA256 of the exact body bytes, compared in constant time. */
function verify(body: Buffer, header: string | string[] | undefined, secret: string): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(body).digest('hex')}`);
  const got = Buffer.from(String(header ?? ''));
  return got.length === expected.length && timingSafeEqual(got, expected);
}

const portal = new FakePortal(() => Date.now());
const receiver = new Receiver();
const logDir = tempDir('wispanel-hook-log-');
const logFile = join(logDir.path, 'panel.log');
const logger = createLogger({ level: 'info', name: 'panel', destination: logFile });
let h: PanelHarness;

beforeAll(async () => {
  await receiver.start();
  h = await createPanelHarness({
    flags: { licenseTick: 0, licenseWebhookUrl: receiver.url, licenseWebhookSecret: SECRET },
    deps: {
      logger,
      licensePortal: portal,
      portalKeys: portal.trusted,
      random: () => 0.5,
      licenseWebhookTuning: { retryDelaysMs: [50, 50, 50], timeoutMs: 2_000 },
    },
  });
});
afterAll(async () => {
  await h?.close();
  await receiver.close();
  logDir.remove();
});

const auditAscending = async () =>
  (
    (await h.call('GET', '/api/v1/license/audit')).json().entries as { id: number; action: string }[]
  ).reverse();

describe('license webhook (real HTTP receiver)', () => {
  it('POSTs every audit entry in audit order, signed with the secret; a tampered body fails verification', async () => {
    const a = await h.call('POST', '/api/v1/license/activate', { body: { key: 'wisp-abcd-efgh-jkmn' } });
    expect(a.statusCode, a.body).toBe(200);
    expect((await h.call('POST', '/api/v1/license/refresh')).statusCode).toBe(200);
    expect((await h.call('POST', '/api/v1/license/verify')).statusCode).toBe(200);
    expect((await h.call('POST', '/api/v1/license/enforce')).statusCode).toBe(200);

    const audit = await auditAscending();
    expect(audit.map((e) => e.action)).toEqual(['activate', 'refresh', 'verify', 'enforce']);
    await expect.poll(() => receiver.accepted().length, { timeout: 5_000, interval: 20 }).toBe(audit.length);

    const got = receiver.accepted();
    expect(got.map((b) => b.id)).toEqual(audit.map((e) => e.id));
    expect(got.map((b) => b.event)).toEqual(audit.map((e) => `license.${e.action}`));
    expect(got[0]).toMatchObject({
      event: 'license.activate',
      action: 'activate',
      actor: 'admin',
      outcome: 'success',
      code: 'VALID',
      message: 'Activated pro license',
      at: expect.stringMatching(/\+00:00$/),
      sent_at: expect.any(String),
      panel: { hardware_id: h.deps.hardwareId, version: expect.any(String) },
    });
    expect(got[0]).toHaveProperty('detail');
    expect(Math.abs(Date.parse(got[0].sent_at) - Date.now())).toBeLessThan(60_000);

    for (const r of receiver.got) {
      const body = JSON.parse(r.body.toString());
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.headers['x-wispanel-event']).toBe(body.event);
      expect(r.headers['x-wispanel-delivery']).toBe(String(body.id));
      expect(r.headers['x-wispanel-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
      expect(verify(r.body, r.headers['x-wispanel-signature'], SECRET)).toBe(true);
      expect(verify(r.body, r.headers['x-wispanel-signature'], 'another-secret-0123456789')).toBe(false);
      expect(r.body.toString()).not.toContain(SECRET);
    }
    // Changing one byte of the body (the outcome, the timestamp) breaks the signature.
    const first = receiver.got[0] as Received;
    const tampered = Buffer.from(first.body.toString().replace('"success"', '"failed"'));
    expect(tampered.equals(first.body)).toBe(false);
    expect(verify(tampered, first.headers['x-wispanel-signature'], SECRET)).toBe(false);
  });

  it('retries a delivery answered 500 (same delivery id, re-signed) until a 2xx, keeping the order', async () => {
    const before = receiver.got.length;
    receiver.answers = [500, 503];
    expect((await h.call('POST', '/api/v1/license/refresh')).statusCode).toBe(200);
    expect((await h.call('POST', '/api/v1/license/verify')).statusCode).toBe(200);
    await expect.poll(() => receiver.got.length - before, { timeout: 5_000, interval: 20 }).toBe(4);
    const tries = receiver.got.slice(before);
    expect(tries.map((t) => t.status)).toEqual([500, 503, 200, 200]);
    const ids = tries.map((t) => Number(t.headers['x-wispanel-delivery']));
    expect(ids[0]).toBe(ids[1]);
    expect(ids[1]).toBe(ids[2]);
    expect(ids[3]).toBeGreaterThan(ids[2] as number);
    for (const t of tries) expect(verify(t.body, t.headers['x-wispanel-signature'], SECRET)).toBe(true);
  });

  it('does not retry a 4xx other than 408/429, and logs the final failure once without the secret', async () => {
    const before = receiver.got.length;
    receiver.answers = [400];
    expect((await h.call('POST', '/api/v1/license/verify')).statusCode).toBe(200);
    expect((await h.call('POST', '/api/v1/license/refresh')).statusCode).toBe(200);
    await expect.poll(() => receiver.got.length - before, { timeout: 5_000, interval: 20 }).toBe(2);
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.got.slice(before).map((t) => t.status)).toEqual([400, 200]);

    logger.flush();
    const lines = () =>
      readFileSync(logFile, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l));
    await expect
      .poll(() => lines().filter((l) => /license webhook delivery .* failed/.test(l.msg)).length, {
        timeout: 5_000,
        interval: 20,
      })
      .toBe(1);
    const failure = lines().find((l) => /license webhook delivery .* failed/.test(l.msg));
    expect(failure).toMatchObject({
      level: 40,
      webhook: { status: 400, attempts: 1, event: 'license.verify' },
    });
    expect(lines().some((l) => typeof l.msg === 'string' && l.msg.startsWith('license: '))).toBe(true);
    expect(readFileSync(logFile, 'utf8')).not.toContain(SECRET);
  });
});

describe('license webhook with a receiver that never answers', () => {
  it('API answers do not wait for it; the bounded queue drops the oldest waiting deliveries with a counted warning', async () => {
    const hung = new Receiver();
    hung.hang = true;
    await hung.start();
    const dir = tempDir('wispanel-hook-hang-');
    const file = join(dir.path, 'panel.log');
    const hangLogger = createLogger({ level: 'info', name: 'panel', destination: file });
    const hp = await createPanelHarness({
      flags: { licenseTick: 0, licenseWebhookUrl: hung.url, licenseWebhookSecret: SECRET },
      deps: {
        logger: hangLogger,
        licensePortal: portal,
        portalKeys: portal.trusted,
        random: () => 0.5,
        // Default timeout (5 s) and delays; only the queue bound is small.
        licenseWebhookTuning: { maxQueue: 2 },
      },
    });
    try {
      const t0 = performance.now();
      const a = await hp.call('POST', '/api/v1/license/activate', { body: { key: 'wisp-hang-hang-hang' } });
      const ms = performance.now() - t0;
      expect(a.statusCode, a.body).toBe(200);
      expect(ms).toBeLessThan(1_000);
      await expect.poll(() => hung.got.length, { timeout: 5_000, interval: 20 }).toBe(1);
      // The activate delivery is in flight and hangs; three more entries: the bound (2) drops two waiting ones.
      for (let i = 0; i < 3; i += 1) {
        const t1 = performance.now();
        expect((await hp.call('POST', '/api/v1/license/refresh')).statusCode).toBe(200);
        expect(performance.now() - t1).toBeLessThan(1_000);
      }
      hangLogger.flush();
      const drops = () =>
        readFileSync(file, 'utf8')
          .split('\n')
          .filter((l) => l.includes('license webhook queue full'))
          .map((l) => JSON.parse(l));
      await expect.poll(() => drops().length, { timeout: 5_000, interval: 20 }).toBe(2);
      expect(drops().map((l) => l.webhook.dropped_total)).toEqual([1, 2]);
      expect(drops()[0]).toMatchObject({ level: 40, webhook: { dropped: 1, queued: 2 } });
      expect(readFileSync(file, 'utf8')).not.toContain(SECRET);
    } finally {
      await hp.close();
      await hung.close();
      dir.remove();
    }
  });
});

describe('wispanel start with a bad webhook setting', () => {
  const bin = new URL('../bin/wispanel.mjs', import.meta.url).pathname;
  const run = promisify(execFile);
  const start = async (args: string[], env: Record<string, string>) => {
    const dir = tempDir('wispanel-hook-start-');
    try {
      await run(process.execPath, [bin, 'start', '--data-dir', dir.path, '--port', '0', ...args], {
        env: { ...process.env, ...env },
        timeout: 30_000,
      });
      return { code: 0, out: '' };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, out: `${e.stdout}${e.stderr}` };
    } finally {
      dir.remove();
    }
  };

  it('refuses to start, naming the setting, and never echoes the secret', async () => {
    const r = await start(['--license-webhook-url', 'ftp://user:pw@hooks.example.com/x'], {
      WISPANEL_LICENSE_WEBHOOK_SECRET: SECRET,
    });
    expect(r.code).not.toBe(0);
    expect(r.out).toContain(
      'WISPANEL_LICENSE_WEBHOOK_URL (--license-webhook-url) must be http:// or https://',
    );
    expect(r.out).toContain('ftp://hooks.example.com/x');
    expect(r.out).not.toContain('user:pw');
    expect(r.out).not.toContain(SECRET);
  }, 40_000);
});
