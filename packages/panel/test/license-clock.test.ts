/**
 * The license clock in-process, over a real SQLite data dir: the panel's system clock and its monotonic clock
 * are injected separately (a `date -s` moves the first, never the second), and the stand-in portal keeps its
 * own, true time (it signs real Ed25519 files). Covers a forward jump that is corrected (issue 15 item 9), a
 * clock turned back making the panel ask the portal (issue 9 item 2), and the audit log writing only changes
 * while something stays disabled (issue 15 item 10). The restarts under faketime are in
 * license-clock-e2e.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY, FakePortal, T0 } from './fake-license-portal';
import { createPanelHarness, type PanelHarness } from './harness';

/** True time (the portal's), the panel's system clock, and its monotonic clock. */
let trueNow = T0;
let system = T0;
let mono = 0;
const advance = (ms: number) => {
  trueNow += ms;
  system += ms;
  mono += ms;
};

let h: PanelHarness;
let portal: FakePortal;

beforeAll(async () => {
  portal = new FakePortal(() => trueNow);
  h = await createPanelHarness({
    flags: {
      licenseTick: 0,
      licenseEnforceAfterHours: 24,
      unlicensedMaxUsers: 5,
      unlicensedMaxDomains: 1,
      unlicensedMaxDatabases: 1,
    },
    deps: {
      clock: () => new Date(system),
      monotonic: () => mono,
      licensePortal: portal,
      portalKeys: portal.trusted,
      random: () => 0.5,
    },
  });
});
afterAll(async () => {
  await h?.close();
});

const license = () => h.app.panel.ctx.services.license;
const tick = () => license().tick();
const summary = async () => (await h.call('GET', '/api/v1/license/summary')).json();
const audit = async () => (await h.call('GET', '/api/v1/license/audit?limit=500')).json().entries;

describe('a forward clock jump, then corrected (issue 15 item 9)', () => {
  it('does not push the schedule out, leaves the license valid, and needs no manual refresh', async () => {
    const a = await h.call('POST', '/api/v1/license/activate', { body: { key: 'WISP-ABCD-EFGH-JKMN' } });
    expect(a.statusCode, a.body).toBe(200);
    await tick();
    const auditBefore = (await audit()).length;

    // +363 days for 40 s (the monotonic clock and the portal's time move 40 s), with the job running.
    system += 363 * DAY;
    for (let i = 0; i < 4; i++) {
      advance(10_000);
      await tick();
    }
    system = trueNow; // corrected (NTP, an operator)
    advance(60_000);
    await tick();

    const s = await summary();
    expect(s).toMatchObject({ status: 'active', is_valid: true, reason: null, message: 'License active' });
    expect(s.message).not.toMatch(/portal check/);
    expect(Object.values(s.creation_frozen)).toEqual([false, false, false]);
    // The next check is where a normal schedule puts it (a day ± 20 %), not a year ahead.
    expect(Date.parse(s.portal.next_check_at) - trueNow).toBeLessThanOrEqual(1.2 * DAY);
    expect(Date.parse(s.clock.trusted_time)).toBeLessThan(trueNow + 5 * 60_000);
    // Nothing was recorded as lost while the clock was wrong.
    const entries = (await audit()).slice(0, (await audit()).length - auditBefore);
    expect(
      entries.filter((e: { outcome: string }) => ['invalid', 'expired', 'grace'].includes(e.outcome)),
    ).toEqual([]);
    const created = await h.call('POST', '/api/v1/domains', { body: { domain: 'after-jump.example.com' } });
    expect(created.statusCode, created.body).toBe(201);
  });

  it('a jump that stays is not followed after a portal check: the portal time plus the monotonic clock is kept', async () => {
    const calls = portal.calls.length;
    system += 363 * DAY;
    try {
      for (let i = 0; i < 15; i++) {
        advance(60_000);
        await tick();
      }
      const s = await summary();
      expect(s).toMatchObject({ status: 'active', is_valid: true, reason: null });
      expect(Math.abs(Date.parse(s.clock.trusted_time) - trueNow)).toBeLessThan(5 * 60_000);
      expect(Date.parse(s.portal.next_check_at) - trueNow).toBeLessThanOrEqual(1.2 * DAY);
      // Nothing was due: no extra portal traffic either.
      expect(portal.calls.slice(calls)).toEqual([]);
    } finally {
      system = trueNow;
    }
    advance(60_000);
    await tick();
    expect(await summary()).toMatchObject({ status: 'active', is_valid: true });
  });
});

describe('a clock turned back (issue 9 item 2)', () => {
  it('makes the panel ask the portal at once, and due times keep coming from the trusted time', async () => {
    await tick();
    const calls = portal.calls.length;
    const checkAt = Date.parse((await summary()).portal.next_check_at);
    system -= 2 * DAY;
    advance(60_000);
    await tick();
    expect((await summary()).clock.behind).toBe(true);
    expect(portal.calls.slice(calls)).toEqual(['refresh']);
    const s = await summary();
    expect(s.clock.behind).toBe(true);
    expect(s).toMatchObject({ status: 'active', is_valid: true });
    // The next check is a normal interval after the portal's (true) time, not after the rolled-back clock.
    expect(Date.parse(s.portal.next_check_at)).toBeGreaterThan(trueNow + 0.7 * DAY);
    expect(checkAt).toBeGreaterThan(0);
    // The clock stays behind: the trusted time keeps moving with the monotonic clock, so the check comes.
    const n = portal.calls.length;
    for (let i = 0; i < 30; i++) {
      advance(3_600_000);
      await tick();
    }
    expect(portal.calls.slice(n)).toContain('refresh');
    system = trueNow;
  });
});

describe('while something stays disabled (issue 15 item 10)', () => {
  it('each job step writes only changes to the audit log', async () => {
    const domains = h.app.panel.ctx.services.domains;
    expect(domains).toBeDefined();
    // Let the license lapse: portal refuses (unsigned, so nothing ends early), lease + grace pass.
    portal.up = false;
    for (const d of ['x1.example.com', 'x2.example.com']) {
      const r = await h.call('POST', '/api/v1/domains', { body: { domain: d } });
      expect([201, 403]).toContain(r.statusCode);
    }
    advance(22 * DAY);
    await tick();
    advance(25 * 3_600_000);
    await tick();
    const s = await summary();
    expect(s.is_valid).toBe(false);
    expect(s.enforcement.disabled.domains).toBeGreaterThan(0);
    const before = (await audit()).length;
    for (let i = 0; i < 3; i++) {
      advance(60_000);
      await tick();
    }
    const added = (await audit()).slice(0, (await audit()).length - before);
    // Only failed portal checks (a real change of the retry state) may appear; no "nothing to do" rows.
    expect(added.filter((e: { outcome: string }) => e.outcome === 'nothing_to_do')).toEqual([]);
    expect(added.filter((e: { action: string }) => ['enforce', 're-enable'].includes(e.action))).toEqual([]);
    // A manual call is still answered and audited, even when it changes nothing.
    const manual = await h.call('POST', '/api/v1/license/enforce');
    expect(manual.json().disabled_total).toBe(0);
    expect((await audit())[0]).toMatchObject({ action: 'enforce', outcome: 'nothing_to_do' });
    portal.up = true;
  });
});
