// The trusted clock (docs/license.md, "Trusted clock") with fake system and monotonic clocks: it never goes
// back, keeps advancing while the system clock is turned back, follows small forward drift at once, follows a
// big forward jump only after it held for the settle time and only before a signed portal time was seen, and a
// signed portal time replaces it. Plus the persisted floor record (trustedFloor / acceptSignedTime).
import { describe, expect, it } from 'vitest';
import { acceptSignedTime, TrustedTime, trustedFloor } from '../src/modules/license/trusted-clock';

const T0 = Date.parse('2026-03-01T00:00:00.000Z');
const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

function clocks(start = T0) {
  const c = { system: start, mono: 1_000_000 };
  const sources = {
    system: () => c.system,
    monotonic: () => c.mono,
    toleranceMs: 5 * MIN,
    settleMs: 10 * MIN,
  };
  /** Real time passes: both clocks move. */
  const pass = (ms: number) => {
    c.system += ms;
    c.mono += ms;
  };
  return { c, sources, pass };
}

describe('TrustedTime', () => {
  it('starts at the later of the system clock and the persisted floor', () => {
    const { sources } = clocks();
    expect(new TrustedTime(sources, null).now()).toBe(T0);
    expect(new TrustedTime(sources, T0 - MIN).now()).toBe(T0);
    const t = new TrustedTime(sources, T0 + 60 * MIN);
    expect(t.now()).toBe(T0 + 60 * MIN);
    expect(t.systemAheadMs).toBe(0);
  });

  it('keeps advancing with the monotonic clock when the system clock is turned back', () => {
    const { c, sources, pass } = clocks();
    const t = new TrustedTime(sources, null);
    pass(MIN);
    expect(t.now()).toBe(T0 + MIN);
    c.system -= 86_400_000;
    expect(t.now()).toBe(T0 + MIN);
    pass(2 * MIN);
    expect(t.now()).toBe(T0 + 3 * MIN);
    expect(t.systemAheadMs).toBe(0);
  });

  it('never goes back when the monotonic clock does', () => {
    const { c, sources, pass } = clocks();
    const t = new TrustedTime(sources, null);
    pass(MIN);
    expect(t.now()).toBe(T0 + MIN);
    c.mono -= 10 * MIN;
    expect(t.now()).toBe(T0 + MIN);
    c.mono += 10 * MIN + 1000; // 1 s after the highest reading
    c.system = T0 + MIN + 1000;
    expect(t.now()).toBe(T0 + MIN + 1000);
  });

  it('follows a system clock ahead by up to the tolerance at once, and not beyond it', () => {
    const { c, sources } = clocks();
    const t = new TrustedTime(sources, null);
    c.system = T0 + 5 * MIN;
    expect(t.now()).toBe(T0 + 5 * MIN);
    expect(t.systemAheadMs).toBe(0);
    c.system = T0 + 10 * MIN + 1;
    expect(t.now()).toBe(T0 + 5 * MIN);
    expect(t.systemAheadMs).toBe(5 * MIN + 1);
  });

  it('follows a forward jump only after it held, at the same offset, for the settle time', () => {
    const { c, sources, pass } = clocks();
    const t = new TrustedTime(sources, null);
    const jump = 3 * 86_400_000;
    c.system += jump;
    expect(t.now()).toBe(T0);
    expect(t.systemAheadMs).toBe(jump);
    pass(10 * MIN - 1);
    expect(t.now()).toBe(T0 + 10 * MIN - 1);
    pass(1);
    expect(t.now()).toBe(T0 + 10 * MIN + jump);
    expect(t.systemAheadMs).toBe(0);
  });

  it('restarts the wait when the offset changes by more than the tolerance, not when it wobbles within it', () => {
    const { c, sources, pass } = clocks();
    const t = new TrustedTime(sources, null);
    c.system += 86_400_000;
    t.now();
    pass(6 * MIN);
    c.system += 5 * MIN; // wobble within tolerance: same jump
    expect(t.now()).toBe(T0 + 6 * MIN);
    pass(4 * MIN);
    expect(t.now()).toBe(T0 + 10 * MIN + 86_400_000 + 5 * MIN);

    const second = clocks();
    const u = new TrustedTime(second.sources, null);
    second.c.system += 86_400_000;
    u.now();
    second.pass(6 * MIN);
    second.c.system += 5 * MIN + 1; // a new jump: the wait starts again
    expect(u.now()).toBe(T0 + 6 * MIN);
    second.pass(9 * MIN);
    expect(u.now()).toBe(T0 + 15 * MIN);
    second.pass(MIN);
    expect(u.now()).toBe(T0 + 16 * MIN + 86_400_000 + 5 * MIN + 1);
  });

  it('forgets a jump once the system clock is back (a brief jump is never followed)', () => {
    const { c, sources, pass } = clocks();
    const t = new TrustedTime(sources, null);
    c.system += 86_400_000;
    t.now();
    pass(9 * MIN);
    c.system -= 86_400_000 + MIN; // back, even a bit behind
    expect(t.now()).toBe(T0 + 9 * MIN);
    expect(t.systemAheadMs).toBe(0);
    c.system += 86_400_000 + MIN;
    pass(2 * MIN);
    expect(t.now()).toBe(T0 + 11 * MIN); // the 9 minutes before do not count
  });

  it('takes a signed portal time as the trusted time and then never follows a forward jump', () => {
    const { c, sources, pass } = clocks();
    const t = new TrustedTime(sources, null);
    pass(MIN);
    t.acceptSigned(T0 + 30 * MIN);
    expect(t.now()).toBe(T0 + 30 * MIN);
    pass(MIN);
    expect(t.now()).toBe(T0 + 31 * MIN);
    c.system = T0 + 31 * MIN + 86_400_000;
    t.now();
    pass(60 * MIN);
    expect(t.now()).toBe(T0 + 91 * MIN);
    expect(t.systemAheadMs).toBe(86_400_000);
    t.acceptSigned(T0 + 92 * MIN);
    expect(t.systemAheadMs).toBe(0);
    t.acceptSigned(Number.NaN);
    expect(t.now()).toBe(T0 + 92 * MIN);
  });

  it('takes a signed time behind it too (a clock that ran ahead is corrected)', () => {
    const { sources } = clocks();
    const t = new TrustedTime(sources, T0 + 86_400_000);
    t.acceptSigned(T0 + MIN);
    expect(t.now()).toBe(T0 + MIN);
  });
});

describe('trusted floor record', () => {
  it('is the latest valid time of the record and the extra times, or null', () => {
    expect(trustedFloor({ signed_time: null, observed_time: null })).toBeNull();
    expect(trustedFloor({ signed_time: 'garbage', observed_time: '' }, [null, undefined, 'x'])).toBeNull();
    expect(trustedFloor({ signed_time: iso(T0), observed_time: null })).toBe(T0);
    expect(trustedFloor({ signed_time: iso(T0), observed_time: iso(T0 - MIN) })).toBe(T0);
    expect(trustedFloor({ signed_time: iso(T0 - MIN), observed_time: iso(T0) })).toBe(T0);
    expect(trustedFloor({ signed_time: iso(T0), observed_time: null }, [iso(T0 + MIN), iso(T0 - MIN)])).toBe(
      T0 + MIN,
    );
    expect(trustedFloor({ signed_time: null, observed_time: null }, [iso(T0 - MIN), iso(T0)])).toBe(T0);
    // The epoch itself (0 ms) is a time, not "no floor".
    expect(trustedFloor({ signed_time: iso(0), observed_time: null })).toBe(0);
  });

  it('replaces the record with a valid signed time and ignores an invalid one', () => {
    const rec = { signed_time: iso(T0), observed_time: iso(T0 + 86_400_000) };
    expect(acceptSignedTime(rec, '2026-03-02T00:00:00Z')).toEqual({
      signed_time: '2026-03-02T00:00:00.000Z',
      observed_time: null,
    });
    expect(acceptSignedTime(rec, 'not a time')).toBe(rec);
  });
});
