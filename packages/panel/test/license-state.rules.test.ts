// The license state machine (evaluateLicense, src/modules/license/license-state.ts) rule by rule: the whole
// evaluation for each state (status, reason, message, limits, dates, refresh), every boundary instant (the
// instant itself and one millisecond before), each signed portal refusal, and the lease length a refresh is
// planned from. Pure: the clock is passed in.
import type { LicensePayload } from '@wispanel/contract';
import { describe, expect, it } from 'vitest';
import {
  DAY_MS,
  evaluateLicense,
  type LicenseEvaluation,
  type LicenseEvaluationInput,
} from '../src/modules/license/license-state';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const TERM_END = T0 + 365 * DAY_MS;
const LEASE_END = T0 + 14 * DAY_MS;
const TOLERANCE = 5 * 60_000;
const limits = { max_users: 30, max_domains: 100, max_databases: -1 };
const unlicensed = { max_users: 5, max_domains: 5, max_databases: 5 };

function payload(over: Partial<LicensePayload> = {}): LicensePayload {
  return {
    v: 1,
    license_id: 'lic_1',
    key_masked: 'WISP-****SA6T',
    tier: 'pro',
    limits,
    features: [],
    hardware_id: 'a'.repeat(64),
    issued_at: iso(T0),
    expires_at: iso(TERM_END),
    valid_until: iso(LEASE_END),
    lease_days: 14,
    grace_days: 7,
    server_time: iso(T0),
    nonce: 'n',
    status: 'active',
    ...over,
  };
}

function input(over: Partial<LicenseEvaluationInput>): LicenseEvaluationInput {
  return {
    payload: payload(),
    hasFile: true,
    hasKey: true,
    fileError: null,
    systemNow: T0 + DAY_MS,
    trustedFloor: T0,
    graceMs: null,
    unlicensed,
    clockToleranceMs: TOLERANCE,
    ...over,
  };
}

/** What every evaluation at `now` with the system clock on time carries. */
const onTime = (now: number) => ({ now, clock_behind: false, clock_behind_ms: 0 });
const noDates = { term_ends_at: null, lease_ends_at: null, grace_ends_at: null };

describe('no usable license file', () => {
  it('no key, no file: unlicensed, nothing to refresh', () => {
    expect(evaluateLicense(input({ payload: null, hasFile: false, hasKey: false }))).toEqual({
      status: 'unlicensed',
      is_valid: false,
      reason: 'NO_LICENSE',
      message: 'No license is activated; the unlicensed allowance applies',
      tier: 'unlicensed',
      limits: unlicensed,
      ...noDates,
      ...onTime(T0 + DAY_MS),
      needs_refresh: false,
    } satisfies LicenseEvaluation);
  });

  it('a key but no file: unlicensed until a refresh fetches one', () => {
    expect(evaluateLicense(input({ payload: null, hasFile: false }))).toEqual({
      status: 'unlicensed',
      is_valid: false,
      reason: 'NO_LICENSE_FILE',
      message: 'A license key is stored but no license file: refresh to fetch one',
      tier: 'unlicensed',
      limits: unlicensed,
      ...noDates,
      ...onTime(T0 + DAY_MS),
      needs_refresh: true,
    } satisfies LicenseEvaluation);
  });

  it('a rejected file: invalid with its reason; refreshed only when a key can fetch another', () => {
    const fileError = { reason: 'BAD_SIGNATURE', message: 'signature does not match' };
    const expected: LicenseEvaluation = {
      status: 'invalid',
      is_valid: false,
      reason: 'BAD_SIGNATURE',
      message: 'The stored license file is not accepted: signature does not match',
      tier: 'unlicensed',
      limits: unlicensed,
      ...noDates,
      ...onTime(T0 + DAY_MS),
      needs_refresh: true,
    };
    expect(evaluateLicense(input({ payload: null, fileError }))).toEqual(expected);
    expect(evaluateLicense(input({ payload: null, fileError, hasKey: false }))).toEqual({
      ...expected,
      needs_refresh: false,
    });
  });
});

describe('active', () => {
  it('inside term and lease: the license limits and dates', () => {
    expect(evaluateLicense(input({}))).toEqual({
      status: 'active',
      is_valid: true,
      reason: null,
      message: 'License active',
      tier: 'pro',
      limits,
      term_ends_at: TERM_END,
      lease_ends_at: LEASE_END,
      grace_ends_at: null,
      ...onTime(T0 + DAY_MS),
      needs_refresh: false,
    } satisfies LicenseEvaluation);
  });

  it('a perpetual license (no term end) has no term date and never reaches a term end', () => {
    const e = evaluateLicense(input({ payload: payload({ expires_at: null }) }));
    expect(e).toMatchObject({ status: 'active', reason: null, term_ends_at: null, lease_ends_at: LEASE_END });
  });

  it('the lease ends at its instant exactly; one millisecond before it is still active', () => {
    expect(evaluateLicense(input({ systemNow: LEASE_END - 1 })).status).toBe('active');
    expect(evaluateLicense(input({ systemNow: LEASE_END }))).toMatchObject({
      status: 'grace',
      reason: 'LEASE_ENDED',
    });
  });

  it('the term ends at its instant exactly, even with a fresh lease', () => {
    const p = payload({ expires_at: iso(T0 + 10 * DAY_MS), valid_until: iso(T0 + 20 * DAY_MS) });
    expect(evaluateLicense(input({ payload: p, systemNow: T0 + 10 * DAY_MS - 1 })).status).toBe('active');
    expect(evaluateLicense(input({ payload: p, systemNow: T0 + 10 * DAY_MS }))).toMatchObject({
      status: 'grace',
      reason: 'TERM_ENDED',
      grace_ends_at: T0 + 17 * DAY_MS,
    });
  });

  it('a system clock behind the trusted floor by more than the tolerance is reported, not at the tolerance', () => {
    const at = evaluateLicense(input({ systemNow: T0 + DAY_MS - TOLERANCE, trustedFloor: T0 + DAY_MS }));
    expect(at).toMatchObject({
      status: 'active',
      reason: null,
      message: 'License active',
      now: T0 + DAY_MS,
      clock_behind: false,
      clock_behind_ms: TOLERANCE,
    });
    const past = evaluateLicense(
      input({ systemNow: T0 + DAY_MS - TOLERANCE - 1, trustedFloor: T0 + DAY_MS }),
    );
    expect(past).toMatchObject({
      status: 'active',
      reason: 'CLOCK_BEHIND',
      message: 'License active; the system clock is behind the latest trusted time',
      now: T0 + DAY_MS,
      clock_behind: true,
      clock_behind_ms: TOLERANCE + 1,
    });
  });
});

describe('when a refresh is due', () => {
  it('with lease_days: once a third of lease_days is left (not of what the file happens to cover)', () => {
    // A 30-day lease whose file covers only 14 days: due 10 days before its end.
    const p = payload({ lease_days: 30 });
    expect(evaluateLicense(input({ payload: p, systemNow: LEASE_END - 10 * DAY_MS - 1 })).needs_refresh).toBe(
      false,
    );
    expect(evaluateLicense(input({ payload: p, systemNow: LEASE_END - 10 * DAY_MS })).needs_refresh).toBe(
      true,
    );
  });

  it('without lease_days: once a third of the span from server_time to valid_until is left', () => {
    const p = payload({ lease_days: 0, valid_until: iso(T0 + 9 * DAY_MS) });
    const end = T0 + 9 * DAY_MS;
    expect(evaluateLicense(input({ payload: p, systemNow: end - 3 * DAY_MS - 1 }))).toMatchObject({
      status: 'active',
      needs_refresh: false,
    });
    expect(evaluateLicense(input({ payload: p, systemNow: end - 3 * DAY_MS }))).toMatchObject({
      status: 'active',
      needs_refresh: true,
    });
  });
});

describe('grace and after', () => {
  it('lease ended: the limits stay until the grace ends, then the unlicensed allowance', () => {
    const now = LEASE_END + DAY_MS;
    expect(evaluateLicense(input({ systemNow: now }))).toEqual({
      status: 'grace',
      is_valid: true,
      reason: 'LEASE_ENDED',
      message:
        'The lease ended without a successful portal check; limits still apply until the grace period ends',
      tier: 'pro',
      limits,
      term_ends_at: TERM_END,
      lease_ends_at: LEASE_END,
      grace_ends_at: LEASE_END + 7 * DAY_MS,
      ...onTime(now),
      needs_refresh: true,
    } satisfies LicenseEvaluation);
    const after = LEASE_END + 7 * DAY_MS;
    expect(evaluateLicense(input({ systemNow: after }))).toEqual({
      status: 'invalid',
      is_valid: false,
      reason: 'LEASE_EXPIRED',
      message:
        'The lease and its grace period ended without a portal check; the unlicensed allowance applies',
      tier: 'pro',
      limits: unlicensed,
      term_ends_at: TERM_END,
      lease_ends_at: LEASE_END,
      grace_ends_at: LEASE_END + 7 * DAY_MS,
      ...onTime(after),
      needs_refresh: true,
    } satisfies LicenseEvaluation);
  });

  it('term ended: grace from the term end, then expired', () => {
    const termEnd = T0 + 10 * DAY_MS;
    const p = payload({ expires_at: iso(termEnd), valid_until: iso(T0 + 20 * DAY_MS) });
    expect(evaluateLicense(input({ payload: p, systemNow: termEnd + DAY_MS }))).toEqual({
      status: 'grace',
      is_valid: true,
      reason: 'TERM_ENDED',
      message: 'The license term ended; its limits still apply until the grace period ends',
      tier: 'pro',
      limits,
      term_ends_at: termEnd,
      lease_ends_at: T0 + 20 * DAY_MS,
      grace_ends_at: termEnd + 7 * DAY_MS,
      ...onTime(termEnd + DAY_MS),
      needs_refresh: true,
    } satisfies LicenseEvaluation);
    expect(evaluateLicense(input({ payload: p, systemNow: termEnd + 7 * DAY_MS }))).toEqual({
      status: 'expired',
      is_valid: false,
      reason: 'TERM_EXPIRED',
      message: 'The license term and its grace period ended; the unlicensed allowance applies',
      tier: 'pro',
      limits: unlicensed,
      term_ends_at: termEnd,
      lease_ends_at: T0 + 20 * DAY_MS,
      grace_ends_at: termEnd + 7 * DAY_MS,
      ...onTime(termEnd + 7 * DAY_MS),
      needs_refresh: true,
    } satisfies LicenseEvaluation);
  });

  it('a file the portal marked expired ends the term at once (grace from the earlier of term and lease)', () => {
    const e = evaluateLicense(input({ payload: payload({ status: 'expired' }) }));
    expect(e).toMatchObject({
      status: 'grace',
      reason: 'TERM_ENDED',
      is_valid: true,
      term_ends_at: TERM_END,
      grace_ends_at: LEASE_END + 7 * DAY_MS,
    });
  });
});

describe('suspended and revoked files', () => {
  for (const status of ['suspended', 'revoked'] as const) {
    it(`a ${status} file is invalid at once, keeps its dates and refresh plan`, () => {
      expect(evaluateLicense(input({ payload: payload({ status }) }))).toEqual({
        status: 'invalid',
        is_valid: false,
        reason: status === 'suspended' ? 'LICENSE_SUSPENDED' : 'LICENSE_REVOKED',
        message: `The license was ${status} by the vendor`,
        tier: 'pro',
        limits: unlicensed,
        term_ends_at: TERM_END,
        lease_ends_at: LEASE_END,
        grace_ends_at: null,
        ...onTime(T0 + DAY_MS),
        needs_refresh: false,
      } satisfies LicenseEvaluation);
      expect(
        evaluateLicense(input({ payload: payload({ status }), systemNow: LEASE_END - DAY_MS })).needs_refresh,
      ).toBe(true);
    });
  }
});

describe('signed portal refusals (verdicts)', () => {
  const at = (code: string, ms: number) => ({ verdict: { code, at: iso(ms) } });

  it('REVOKED and SUSPENDED end the license at once; a verdict as old as the file counts, an older one not', () => {
    expect(evaluateLicense(input(at('REVOKED', T0)))).toMatchObject({
      status: 'invalid',
      reason: 'LICENSE_REVOKED',
      message: 'The license was revoked by the vendor',
    });
    expect(evaluateLicense(input(at('SUSPENDED', T0 + 1000)))).toMatchObject({
      status: 'invalid',
      reason: 'LICENSE_SUSPENDED',
      message: 'The license was suspended by the vendor',
    });
    expect(evaluateLicense(input(at('REVOKED', T0 - 1))).status).toBe('active');
    expect(evaluateLicense(input(at('SUSPENDED', T0 - 1))).status).toBe('active');
  });

  it('EXPIRED ends the term: a perpetual license at the verdict, a termed one keeps its term date', () => {
    const perpetual = evaluateLicense(
      input({
        payload: payload({ expires_at: null }),
        systemNow: T0 + 6 * DAY_MS,
        ...at('EXPIRED', T0 + 5 * DAY_MS),
      }),
    );
    expect(perpetual).toMatchObject({
      status: 'grace',
      reason: 'TERM_ENDED',
      term_ends_at: T0 + 5 * DAY_MS,
      grace_ends_at: T0 + 12 * DAY_MS,
    });
    const termed = evaluateLicense(input({ systemNow: T0 + 6 * DAY_MS, ...at('EXPIRED', T0 + 5 * DAY_MS) }));
    expect(termed).toMatchObject({
      status: 'grace',
      reason: 'TERM_ENDED',
      term_ends_at: TERM_END,
      grace_ends_at: LEASE_END + 7 * DAY_MS,
    });
    expect(evaluateLicense(input({ systemNow: T0 + 6 * DAY_MS, ...at('EXPIRED', T0 - 1) })).status).toBe(
      'active',
    );
  });

  it('REVOKED on a perpetual license sets no term date (only EXPIRED ends the term)', () => {
    expect(
      evaluateLicense(input({ payload: payload({ expires_at: null }), ...at('REVOKED', T0) })),
    ).toMatchObject({
      status: 'invalid',
      reason: 'LICENSE_REVOKED',
      term_ends_at: null,
    });
  });

  it("any other code changes nothing, whatever the file's own status", () => {
    for (const status of ['active', 'suspended', 'expired'] as const) {
      const own = { payload: payload({ status, expires_at: null }) };
      for (const code of ['NOT_FOUND', 'HARDWARE_MISMATCH', 'ACTIVATION_LIMIT', 'revoked', '']) {
        expect(evaluateLicense(input({ ...own, ...at(code, T0 + 1000) }))).toEqual(
          evaluateLicense(input(own)),
        );
      }
    }
  });
});
