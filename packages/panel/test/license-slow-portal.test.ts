/**
 * A slow and a flooding portal (issue 9 items 1 and 8). The panel runs in-process with its real HTTP client
 * (undici, real sockets) and its real background job (1 s tick); the portal is a real HTTP server on loopback
 * that either answers like the portal (the stand-in signs real Ed25519 files), trickles its answer one byte
 * every 2 s after the headers, or sends 200 MB. Nothing of the panel is faked.
 */
import { PortalDownloadClient, PortalDownloadError } from '@wispanel/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpLicensePortal } from '../src/modules/license/license-portal';
import { FakePortal, type HttpFakePortal, serveFakePortal } from './fake-license-portal';
import { createPanelHarness, type PanelHarness } from './harness';

/** docs/license.md: every portal call ends within 15 s (connect + headers + whole body). */
const DEADLINE_MS = 15_000;
/** Scheduling slack on a loaded 2-core machine. */
const SLACK_MS = 10_000;

let h: PanelHarness;
let fake: FakePortal;
let peer: HttpFakePortal;
let ticks = 0;
let clockRecords = 0;

beforeAll(async () => {
  fake = new FakePortal(() => Date.now());
  peer = await serveFakePortal(fake);
  h = await createPanelHarness({
    // The job refreshes about every 10 s (the shortest interval), so a slow portal catches its own refresh too.
    flags: { licenseTick: 1, licenseCheckInterval: 10 },
    deps: {
      licensePortal: new HttpLicensePortal(peer.url),
      portalKeys: fake.trusted,
      licenseGate: {
        assertCanCreate: (kind, actor, tx) =>
          h.app.panel.ctx.services.license.assertCanCreate(kind, actor, tx),
      },
    },
  });
  // Count the job's steps (the scheduler calls the service's tick on every step it starts).
  const service = h.app.panel.ctx.services.license;
  const tick = service.tick.bind(service);
  service.tick = () => {
    ticks += 1;
    return tick();
  };
  // …and records the trusted time on every firing, even while a step is still running.
  const recordTime = service.recordTime.bind(service);
  service.recordTime = () => {
    clockRecords += 1;
    return recordTime();
  };
}, 60_000);
afterAll(async () => {
  await h?.close();
  await peer?.close();
});

const post = (path: string, body?: unknown) =>
  h.call('POST', `/api/v1/license/${path}`, body === undefined ? {} : { body });

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms: number) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('a slow portal (headers, then a byte every 2 s)', () => {
  it('a refresh fails within the documented deadline, and everything works again at once with a healthy portal', async () => {
    const a = await post('activate', { key: 'WISP-ABCD-EFGH-JKMN' });
    expect(a.statusCode, a.body).toBe(200);

    peer.mode = 'slow';
    // The job's own refresh is now hanging on the portal.
    const calls = peer.received.length;
    await waitFor('the job to call the slow portal', () => peer.received.length > calls, 20_000);
    const started = Date.now();
    const recordsBefore = clockRecords;
    const refresh = post('refresh');
    // While the refresh hangs on the portal, reads answer and the job keeps firing.
    const summary = await h.call('GET', '/api/v1/license/summary');
    expect(summary.statusCode).toBe(200);
    await waitFor(
      'the job to keep firing while a portal call hangs',
      () => clockRecords >= recordsBefore + 3,
      8_000,
    );
    const r = await refresh;
    const took = Date.now() - started;
    expect([r.statusCode, r.json().code]).toEqual([503, 'PORTAL_UNREACHABLE']);
    expect(r.json().message).toMatch(/within 15 s/);
    expect(took).toBeGreaterThanOrEqual(DEADLINE_MS - 1000);
    expect(took).toBeLessThan(DEADLINE_MS + SLACK_MS);

    // The portal is healthy again: every license operation works without a restart.
    peer.mode = 'healthy';
    for (const [path, body] of [
      ['refresh', undefined],
      ['verify', undefined],
      ['activate', { key: 'WISP-ABCD-EFGH-JKMN' }],
      ['enforce', undefined],
      ['re-enable', undefined],
    ] as const) {
      const t0 = Date.now();
      const res = await post(path, body);
      expect(res.statusCode, `${path}: ${res.body}`).toBe(200);
      expect(Date.now() - t0, path).toBeLessThan(SLACK_MS);
    }
    const s = (await h.call('GET', '/api/v1/license/summary')).json();
    expect(s).toMatchObject({ status: 'active', is_valid: true });
    expect(s.portal.consecutive_failures).toBe(0);
    const ticksNow = ticks;
    await waitFor('the job to keep ticking afterwards', () => ticks >= ticksNow + 2, 8_000);
  }, 120_000);
});

describe('a portal answering 200 MB', () => {
  for (const declared of [false, true]) {
    it(`is refused with PORTAL_ANSWER_TOO_LARGE without buffering it (${declared ? 'with' : 'without'} Content-Length)`, async () => {
      peer.mode = 'huge';
      peer.hugeDeclared = declared;
      peer.hugeWritten = 0;
      global.gc?.();
      const rssBefore = process.memoryUsage().rss;
      let peak = rssBefore;
      const sampler = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().rss);
      }, 50);
      const r = await post('refresh');
      clearInterval(sampler);
      peak = Math.max(peak, process.memoryUsage().rss);
      peer.mode = 'healthy';
      expect([r.statusCode, r.json().code], r.body).toEqual([502, 'PORTAL_ANSWER_TOO_LARGE']);
      expect(r.json().message).toMatch(/larger than 1048576 bytes/);
      // The panel stopped reading early: far less than the 200 MB was sent, and memory did not follow it.
      expect(peer.hugeWritten).toBeLessThan(100 * 1024 * 1024);
      expect(peak - rssBefore).toBeLessThan(64 * 1024 * 1024);
      const s = (await h.call('GET', '/api/v1/license/summary')).json();
      expect(s.portal.last_error.code).toBe('PORTAL_ANSWER_TOO_LARGE');
      expect(s.is_valid).toBe(true);
    }, 60_000);
  }
});

describe('a check-update answer of 200 MB', () => {
  it('is refused with PORTAL_ANSWER_TOO_LARGE by the download client, and a slow one ends at its deadline', async () => {
    const client = new PortalDownloadClient({ baseUrl: peer.url, timeoutMs: 3000 });
    try {
      peer.mode = 'huge';
      peer.hugeDeclared = false;
      peer.hugeWritten = 0;
      const err = await client
        .checkUpdate({
          key: 'WISP-ABCD-EFGH-JKMN',
          hardware_id: 'a'.repeat(64),
          current_version: '1.0.0',
        } as never)
        .catch((e) => e);
      expect(err).toBeInstanceOf(PortalDownloadError);
      expect(err.code).toBe('PORTAL_ANSWER_TOO_LARGE');
      expect(peer.hugeWritten).toBeLessThan(100 * 1024 * 1024);
      peer.mode = 'slow';
      const t0 = Date.now();
      const slow = await client
        .checkUpdate({
          key: 'WISP-ABCD-EFGH-JKMN',
          hardware_id: 'a'.repeat(64),
          current_version: '1.0.0',
        } as never)
        .catch((e) => e);
      expect(slow.code).toBe('PORTAL_UNREACHABLE');
      expect(Date.now() - t0).toBeLessThan(3000 + SLACK_MS);
    } finally {
      peer.mode = 'healthy';
      await client.close();
    }
  }, 60_000);
});
