import { describe, expect, it } from 'vitest';
import {
  decide,
  inWindow,
  type MaintenanceWindow,
  nextCheckDelay,
  nextWindowStart,
  policyProblems,
} from './update-policy';
import { UpdateScheduler } from './update-scheduler';

const at = (iso: string) => new Date(iso);

describe('maintenance window (fake clock)', () => {
  it('a window across midnight belongs to the day it starts', () => {
    const w: MaintenanceWindow = { days: ['fri'], start: '23:00', end: '02:00', timezone: 'UTC' };
    // 2026-03-06 is a Friday.
    expect(inWindow(w, at('2026-03-06T22:59:00Z'))).toBe(false);
    expect(inWindow(w, at('2026-03-06T23:00:00Z'))).toBe(true);
    expect(inWindow(w, at('2026-03-07T01:59:00Z'))).toBe(true); // Saturday night, still Friday's window
    expect(inWindow(w, at('2026-03-07T02:00:00Z'))).toBe(false);
    expect(inWindow(w, at('2026-03-07T23:30:00Z'))).toBe(false); // Saturday is not a start day
    expect(inWindow(w, at('2026-03-06T00:30:00Z'))).toBe(false); // Thursday's window does not exist
  });

  it('follows the wall clock of its time zone', () => {
    const w: MaintenanceWindow = {
      days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'],
      start: '02:00',
      end: '04:00',
      timezone: 'Asia/Tokyo',
    };
    expect(inWindow(w, at('2026-03-01T17:00:00Z'))).toBe(true); // 02:00 JST
    expect(inWindow(w, at('2026-03-01T19:00:00Z'))).toBe(false); // 04:00 JST
    const ny = { ...w, timezone: 'America/New_York' };
    // The same UTC instant is 01:30 in winter (EST, UTC-5) and 02:30 in summer (EDT, UTC-4).
    expect(inWindow(ny, at('2026-01-15T06:30:00Z'))).toBe(false);
    expect(inWindow(ny, at('2026-07-15T06:30:00Z'))).toBe(true);
  });

  it('DST: spring forward shortens the window, fall back lengthens it (Europe/Berlin)', () => {
    const w: MaintenanceWindow = { days: ['sun'], start: '01:30', end: '03:30', timezone: 'Europe/Berlin' };
    // 2026-03-29: 02:00 CET → 03:00 CEST. Local 01:30 = 00:30Z; local 03:30 = 01:30Z: one real hour.
    expect(inWindow(w, at('2026-03-29T00:29:00Z'))).toBe(false);
    expect(inWindow(w, at('2026-03-29T00:30:00Z'))).toBe(true);
    expect(inWindow(w, at('2026-03-29T01:29:00Z'))).toBe(true);
    expect(inWindow(w, at('2026-03-29T01:30:00Z'))).toBe(false);
    // 2026-10-25: 03:00 CEST → 02:00 CET. Local 01:30 = 23:30Z (Sat); local 03:30 = 02:30Z: three real hours.
    expect(inWindow(w, at('2026-10-24T23:30:00Z'))).toBe(true);
    expect(inWindow(w, at('2026-10-25T01:15:00Z'))).toBe(true); // the repeated 02:15
    expect(inWindow(w, at('2026-10-25T02:29:00Z'))).toBe(true);
    expect(inWindow(w, at('2026-10-25T02:30:00Z'))).toBe(false);
    // A window wholly inside the skipped hour does not occur that night.
    const skipped: MaintenanceWindow = {
      days: ['sun'],
      start: '02:15',
      end: '02:45',
      timezone: 'Europe/Berlin',
    };
    const night = Array.from(
      { length: 6 * 60 },
      (_, i) => new Date(Date.parse('2026-03-28T22:00:00Z') + i * 60_000),
    );
    expect(night.some((t) => inWindow(skipped, t))).toBe(false);
    expect(nextWindowStart(skipped, at('2026-03-28T22:00:00Z'))?.toISOString()).toBe(
      '2026-04-05T00:15:00.000Z',
    );
  });

  it('the next opening is found in the window time zone', () => {
    const w: MaintenanceWindow = {
      days: ['wed'],
      start: '03:00',
      end: '04:00',
      timezone: 'America/Los_Angeles',
    };
    // 2026-03-02 is a Monday; Wednesday 03:00 PST = 11:00Z.
    expect(nextWindowStart(w, at('2026-03-02T12:00:00Z'))?.toISOString()).toBe('2026-03-04T11:00:00.000Z');
    expect(nextWindowStart(null, at('2026-03-02T12:00:00Z'))).toBeNull();
  });

  it('validation names the unknown time zone and every bad field; end before start is allowed', () => {
    expect(
      policyProblems({ window: { days: ['mon'], start: '23:00', end: '01:00', timezone: 'Europe/Berlin' } }),
    ).toEqual({});
    expect(
      policyProblems({ window: { days: ['mon'], start: '02:00', end: '03:00', timezone: 'Mars/Olympus' } }),
    ).toEqual({
      'window.timezone': ['unknown time zone "Mars/Olympus": use an IANA name such as Europe/Berlin'],
    });
    const p = policyProblems({
      auto_update: 'sometimes' as never,
      channel: 'nightly' as never,
      window: { days: ['funday' as never], start: '24:00', end: '7', timezone: 'UTC' },
    });
    expect(Object.keys(p).sort()).toEqual([
      'auto_update',
      'channel',
      'window.days',
      'window.end',
      'window.start',
    ]);
  });
});

describe('update policy', () => {
  const window: MaintenanceWindow = { days: ['sun'], start: '02:00', end: '03:00', timezone: 'UTC' };
  const inside = at('2026-03-01T02:30:00Z'); // Sunday
  const outside = at('2026-03-02T12:00:00Z');
  it('off never installs, notify only tells, critical installs critical ones at any time, all waits for the window', () => {
    for (const critical of [false, true]) {
      for (const now of [inside, outside]) {
        expect(decide({ auto_update: 'off', window }, { available: true, critical }, now).action).toBe(
          'none',
        );
        expect(decide({ auto_update: 'notify', window }, { available: true, critical }, now).action).toBe(
          'notify',
        );
      }
    }
    expect(
      decide({ auto_update: 'critical', window }, { available: true, critical: true }, outside).action,
    ).toBe('install');
    expect(decide({ auto_update: 'critical', window }, { available: true, critical: false }, inside)).toEqual(
      { action: 'notify', reason: 'not_critical' },
    );
    expect(decide({ auto_update: 'all', window }, { available: true, critical: false }, inside).action).toBe(
      'install',
    );
    expect(decide({ auto_update: 'all', window }, { available: true, critical: false }, outside)).toEqual({
      action: 'notify',
      reason: 'outside_window',
    });
    expect(decide({ auto_update: 'all', window }, { available: true, critical: true }, outside).action).toBe(
      'install',
    );
    expect(decide({ auto_update: 'all', window }, { available: false, critical: false }, inside).reason).toBe(
      'no_update',
    );
  });

  it('jitter keeps checks within ±25 % and never on the same mark', () => {
    const delays = Array.from({ length: 1000 }, () => nextCheckDelay(3_600_000));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(2_700_000);
    expect(Math.max(...delays)).toBeLessThanOrEqual(4_500_000);
    expect(new Set(delays).size).toBeGreaterThan(900);
  });

  it('the scheduler with policy off never installs (nor asks the portal)', async () => {
    let installs = 0;
    let checks = 0;
    const scheduler = new UpdateScheduler({
      policy: () => ({ auto_update: 'off', channel: 'stable', window: null }),
      check: async () => {
        checks++;
        return { available: true, critical: true, latest: '9.0.0' };
      },
      install: async () => {
        installs++;
      },
      notify: async () => {},
      notifiedVersion: () => null,
      setNotified: () => {},
      intervalMs: 1000,
    });
    for (let i = 0; i < 20; i++) expect((await scheduler.tick()).decision.reason).toBe('policy_off');
    expect([installs, checks]).toEqual([0, 0]);
  });

  it('notify tells once per version; outside the window the next check is at the opening plus a random delay', async () => {
    const notified: string[] = [];
    let last: string | null = null;
    let now = at('2026-03-02T12:00:00Z'); // Monday
    const scheduler = new UpdateScheduler({
      policy: () => ({ auto_update: 'all', channel: 'stable', window }),
      check: async () => ({ available: true, critical: false, latest: '1.5.0' }),
      install: async () => {
        throw new Error('must not install outside the window');
      },
      notify: async (u) => {
        notified.push(u.latest);
      },
      notifiedVersion: () => last,
      setNotified: (v) => {
        last = v;
      },
      clock: () => now,
      random: () => 0.5,
      intervalMs: 30 * 86_400_000,
    });
    const r = await scheduler.tick();
    expect(r.decision.reason).toBe('outside_window');
    // Sunday 2026-03-08 02:00Z is 5 d 14 h away, plus 5 minutes (random 0.5 × 10 min).
    expect(r.nextInMs).toBe(Date.parse('2026-03-08T02:05:00Z') - now.getTime());
    now = at('2026-03-03T12:00:00Z');
    await scheduler.tick();
    expect(notified).toEqual(['1.5.0']);
  });
});
