import type { LicensePayload } from '@wispanel/contract';

/** One-glance license state (SPEC B2 summary). */
export type LicenseStatus = 'active' | 'grace' | 'expired' | 'invalid' | 'unlicensed';

export interface LicenseLimits {
  max_users: number;
  max_domains: number;
  max_databases: number;
}

export const DAY_MS = 86_400_000;

export interface LicenseEvaluationInput {
  /** Payload of the stored file when its signature and hardware id verified; null otherwise. */
  payload: LicensePayload | null;
  /** A license file exists in the data dir (verified or not). */
  hasFile: boolean;
  /** A key was activated (the panel can ask the portal for a new file). */
  hasKey: boolean;
  /** Why the stored file was rejected, when it was. */
  fileError: { reason: string; message: string } | null;
  /** System clock, ms since epoch. */
  systemNow: number;
  /** Latest trusted time seen (signed portal time, own records), ms; null when none yet. */
  trustedFloor: number | null;
  /**
   * The trusted time (TrustedTime.now(): never behind the floor, not following a forward jump of the system
   * clock). When given, every date is compared with it; otherwise with max(system clock, floor).
   */
  trustedNow?: number;
  /** Grace after the lease or term ends; null = the grace the license file carries. */
  graceMs: number | null;
  /** What an unlicensed (or invalid) panel may hold. */
  unlicensed: LicenseLimits;
  /** A system clock more than this behind the trusted floor is reported. */
  clockToleranceMs: number;
  /** A signed refusal from the portal newer than the file (REVOKED | SUSPENDED | EXPIRED), if any. */
  verdict?: { code: string; at: string } | null;
}

export interface LicenseEvaluation {
  status: LicenseStatus;
  /** True while the license's own limits apply (active or grace). */
  is_valid: boolean;
  /** Machine-readable reason when not plainly active (e.g. BAD_SIGNATURE, LEASE_ENDED, TERM_EXPIRED). */
  reason: string | null;
  message: string;
  tier: string;
  /** The limits in force right now: the license's while valid, else the unlicensed allowance. */
  limits: LicenseLimits;
  /** max(system clock, trusted floor): the time every date is compared with. */
  now: number;
  clock_behind: boolean;
  clock_behind_ms: number;
  term_ends_at: number | null;
  lease_ends_at: number | null;
  grace_ends_at: number | null;
  needs_refresh: boolean;
}

/**
 * The license state machine, pure: every decision about validity comes from here, with the clock passed in.
 * The effective time never goes below the trusted floor, so turning the system clock back never extends a
 * lease or a term.
 */
export function evaluateLicense(input: LicenseEvaluationInput): LicenseEvaluation {
  const floor = input.trustedFloor ?? Number.NEGATIVE_INFINITY;
  const now = input.trustedNow ?? Math.max(input.systemNow, floor);
  const behindMs = input.trustedFloor === null ? 0 : Math.max(0, input.trustedFloor - input.systemNow);
  const clock = { now, clock_behind: behindMs > input.clockToleranceMs, clock_behind_ms: behindMs };
  const fallback = {
    is_valid: false,
    tier: 'unlicensed',
    limits: input.unlicensed,
    term_ends_at: null,
    lease_ends_at: null,
    grace_ends_at: null,
    ...clock,
  };

  if (!input.payload) {
    if (input.fileError) {
      return {
        ...fallback,
        status: 'invalid',
        reason: input.fileError.reason,
        message: `The stored license file is not accepted: ${input.fileError.message}`,
        needs_refresh: input.hasKey,
      };
    }
    return {
      ...fallback,
      status: 'unlicensed',
      reason: input.hasKey ? 'NO_LICENSE_FILE' : 'NO_LICENSE',
      message: input.hasKey
        ? 'A license key is stored but no license file: refresh to fetch one'
        : 'No license is activated; the unlicensed allowance applies',
      needs_refresh: input.hasKey,
    };
  }

  let p = input.payload;
  // A signed portal refusal given after this file was issued overrides the file's own status.
  const v = input.verdict;
  if (v && Date.parse(v.at) >= Date.parse(p.server_time)) {
    const status =
      v.code === 'REVOKED'
        ? 'revoked'
        : v.code === 'SUSPENDED'
          ? 'suspended'
          : v.code === 'EXPIRED'
            ? 'expired'
            : null;
    if (status)
      p = { ...p, status, ...(status === 'expired' && p.expires_at === null ? { expires_at: v.at } : {}) };
  }
  const termEnd = p.expires_at === null ? null : Date.parse(p.expires_at);
  const leaseEnd = Date.parse(p.valid_until);
  const leaseLength =
    p.lease_days > 0 ? p.lease_days * DAY_MS : Math.max(0, leaseEnd - Date.parse(p.server_time));
  const needsRefresh = leaseEnd - now <= leaseLength / 3;
  const dates = { term_ends_at: termEnd, lease_ends_at: leaseEnd };

  if (p.status === 'suspended' || p.status === 'revoked') {
    return {
      ...fallback,
      ...dates,
      tier: p.tier,
      status: 'invalid',
      reason: p.status === 'suspended' ? 'LICENSE_SUSPENDED' : 'LICENSE_REVOKED',
      message: `The license was ${p.status} by the vendor`,
      needs_refresh: needsRefresh,
    };
  }

  const grace = input.graceMs ?? Math.max(0, p.grace_days) * DAY_MS;
  const termOver = p.status === 'expired' || (termEnd !== null && now >= termEnd);
  const leaseOver = now >= leaseEnd;
  if (!termOver && !leaseOver) {
    return {
      ...dates,
      ...clock,
      status: 'active',
      is_valid: true,
      reason: clock.clock_behind ? 'CLOCK_BEHIND' : null,
      message: clock.clock_behind
        ? 'License active; the system clock is behind the latest trusted time'
        : 'License active',
      tier: p.tier,
      limits: p.limits,
      grace_ends_at: null,
      needs_refresh: needsRefresh,
    };
  }

  const endedAt = termOver ? Math.min(termEnd ?? Date.parse(p.server_time), leaseEnd) : leaseEnd;
  const graceEnd = endedAt + grace;
  if (now < graceEnd) {
    return {
      ...dates,
      ...clock,
      status: 'grace',
      is_valid: true,
      reason: termOver ? 'TERM_ENDED' : 'LEASE_ENDED',
      message: termOver
        ? 'The license term ended; its limits still apply until the grace period ends'
        : 'The lease ended without a successful portal check; limits still apply until the grace period ends',
      tier: p.tier,
      limits: p.limits,
      grace_ends_at: graceEnd,
      needs_refresh: true,
    };
  }
  return {
    ...fallback,
    ...dates,
    tier: p.tier,
    grace_ends_at: graceEnd,
    status: termOver ? 'expired' : 'invalid',
    reason: termOver ? 'TERM_EXPIRED' : 'LEASE_EXPIRED',
    message: termOver
      ? 'The license term and its grace period ended; the unlicensed allowance applies'
      : 'The lease and its grace period ended without a portal check; the unlicensed allowance applies',
    needs_refresh: true,
  };
}
