import type { Logger } from 'pino';
import type { CountedResource } from '../resources/license-gate';
import type { LicenseRepository, LicenseState } from './license.repository';
import type { LicenseFileStore, StoredLicense } from './license-file-store';
import { DAY_MS, evaluateLicense, type LicenseEvaluation, type LicenseLimits } from './license-state';
import type { LicenseWebhook } from './license-webhook';
import { acceptSignedTime, TrustedTime, trustedFloor } from './trusted-clock';

/**
 * The license module's shared ledger: the one state row (in memory, written through), saving it, the audit
 * log, the serial queue of portal-changing operations, the trusted clock, backoff and date formatting. Every
 * part (lease, deactivations, enforcement, presentation, scheduler) works through it; it imports none of them.
 */

export interface LicenseSettings {
  /** Grace after the lease or term ends; null = the grace the license file carries. */
  graceMs: number | null;
  /** How long usage may stay over a limit before the scheduler enforces. */
  enforceAfterMs: number;
  unlicensed: LicenseLimits;
  clockToleranceMs: number;
  /** A system clock further ahead than the tolerance is followed only after staying ahead this long. */
  clockSettleMs: number;
  /** Longest time between two portal checks while all is well (jittered ±20%). */
  checkIntervalMs: number;
  /** First retry after a failed check; doubles per failure up to retryMaxMs (jittered). */
  retryBaseMs: number;
  retryMaxMs: number;
}

export const DEFAULT_LICENSE_SETTINGS: LicenseSettings = {
  graceMs: null,
  enforceAfterMs: 7 * DAY_MS,
  unlicensed: { max_users: 10, max_domains: 10, max_databases: 10 },
  clockToleranceMs: 5 * 60_000,
  clockSettleMs: 10 * 60_000,
  checkIntervalMs: DAY_MS,
  retryBaseMs: 60_000,
  retryMaxMs: 6 * 3_600_000,
};

/** Longest an operation waits for the one before it in the serial queue (docs/license.md). */
export const QUEUE_WAIT_MS = 60_000;

/** The trusted time is written to the state row at most this often (and at start and stop). */
export const CLOCK_RECORD_STEP_MS = 60_000;

export const LIMIT_OF: Record<CountedResource, keyof LicenseLimits> = {
  account: 'max_users',
  domain: 'max_domains',
  database: 'max_databases',
};
export const PLURAL: Record<CountedResource, 'accounts' | 'domains' | 'databases'> = {
  account: 'accounts',
  domain: 'domains',
  database: 'databases',
};

/** `2036-05-11T06:10:02+00:00`: the documented date shape (seconds, explicit offset). */
export function apiDate(ms: number | string | null | undefined): string | null {
  if (ms === null || ms === undefined) return null;
  const t = typeof ms === 'string' ? Date.parse(ms) : ms;
  if (!Number.isFinite(t)) return null;
  return new Date(t).toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

export interface Snapshot {
  state: LicenseState;
  stored: StoredLicense;
  evaluation: LicenseEvaluation;
  /** The trusted time the evaluation used (ms). */
  trustedNow: number;
}

export interface LedgerDeps {
  repo: LicenseRepository;
  store: LicenseFileStore;
  /** System clock. */
  clock: () => Date;
  /** Monotonic clock in ms (default: the system clock, for tests that move one fake clock). */
  monotonic?: () => number;
  random: () => number;
  settings: LicenseSettings;
  logger: Logger;
  webhook?: LicenseWebhook | null;
}

const WARN_OUTCOMES = new Set(['failed', 'refused', 'disabled', 'warned', 'invalid', 'expired', 'grace']);

/** Why a stored file older than the last accepted one is refused (docs/license.md, "Older license files"). */
export const OLDER_FILE_REASON = 'OLDER_THAN_ACCEPTED';

export class LicenseLedger {
  private current!: LicenseState;
  private busy: Promise<unknown> = Promise.resolve();
  private time!: TrustedTime;
  private recordedAt = Number.NEGATIVE_INFINITY;

  constructor(readonly deps: LedgerDeps) {}

  get repo(): LicenseRepository {
    return this.deps.repo;
  }
  get store(): LicenseFileStore {
    return this.deps.store;
  }
  get settings(): LicenseSettings {
    return this.deps.settings;
  }
  get logger(): Logger {
    return this.deps.logger;
  }
  get state(): LicenseState {
    return this.current;
  }

  /**
   * Loads the state row, starts the trusted clock at max(system clock, persisted floor) and records it, and
   * sets the stored-file floor when an older panel left none (the file in place is the one it accepted).
   */
  async init(): Promise<void> {
    this.current = await this.repo.state();
    const stored = this.store.read();
    const floor = trustedFloor(this.current, [stored.payload?.server_time]);
    const system = this.deps.clock;
    this.time = new TrustedTime(
      {
        system: () => system().getTime(),
        monotonic: this.deps.monotonic ?? (() => system().getTime()),
        toleranceMs: this.settings.clockToleranceMs,
        settleMs: this.settings.clockSettleMs,
      },
      floor,
    );
    if (this.current.license_file_time === null && stored.payload) {
      await this.save({ license_file_time: stored.payload.server_time });
    }
    await this.recordTime(true);
  }

  /** The trusted time (never behind the floor; see TrustedTime). */
  nowMs(): number {
    return this.time.now();
  }
  now(): Date {
    return new Date(this.nowMs());
  }
  /** The system clock as it is (shown in the summary next to the trusted time). */
  systemNowMs(): number {
    return this.deps.clock().getTime();
  }

  /**
   * Writes the trusted time to the state row (at most once per CLOCK_RECORD_STEP_MS unless forced), so the
   * floor survives restarts; a system clock behind it or briefly jumped ahead is never what is written.
   */
  async recordTime(force = false): Promise<void> {
    const now = this.nowMs();
    if (!force && now < this.recordedAt + CLOCK_RECORD_STEP_MS) return;
    const floor = trustedFloor(this.current);
    if (floor !== null && now <= floor) return;
    this.recordedAt = now;
    await this.save({ observed_time: new Date(now).toISOString() });
  }

  /** A signed portal time was accepted: the patch that stores it, and the trusted clock follows it. */
  acceptSignedTime(serverTime: string): Pick<LicenseState, 'signed_time' | 'observed_time'> {
    const patch = acceptSignedTime(this.current, serverTime);
    this.time.acceptSigned(Date.parse(serverTime));
    this.recordedAt = this.nowMs();
    return patch;
  }

  /**
   * Runs portal-changing operations one at a time (a manual refresh and the scheduler never overlap). Every
   * portal call ends within its deadline, so an operation ends too; should one still run longer than
   * QUEUE_WAIT_MS, the next one stops waiting for it (logged): the queue never stays blocked by one call.
   */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    const before = this.busy;
    const waited = new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.logger.warn(
          { waited_ms: QUEUE_WAIT_MS },
          'license: an operation is still running; the next one no longer waits for it',
        );
        resolve();
      }, QUEUE_WAIT_MS);
      timer.unref();
      before.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    const run = waited.then(fn);
    this.busy = run.catch(() => undefined);
    return run;
  }

  async save(patch: Partial<Omit<LicenseState, 'id'>>): Promise<void> {
    const now = this.now();
    await this.repo.saveState(patch, now);
    this.current = { ...this.current, ...patch, updated_at: now.toISOString() };
  }

  /** One audit entry: a row, a log line (warn for what hurts) and a webhook delivery (queued, not awaited). */
  async audit(
    action: string,
    actor: string,
    outcome: string,
    message: string,
    code?: string | null,
    detail?: unknown,
  ): Promise<void> {
    const level = WARN_OUTCOMES.has(outcome) ? 'warn' : 'info';
    this.logger[level]({ license: { action, actor, outcome, code: code ?? null } }, `license: ${message}`);
    const entry = await this.repo.audit(
      { action, actor, outcome, message, code: code ?? null, detail },
      this.now(),
    );
    this.deps.webhook?.enqueue(entry, apiDate(entry.at));
  }

  /**
   * The stored file as it counts now: verified (signature, key id, hardware id) and not older than the last
   * file this panel accepted (the floor kept in the state row, outside the file: a restored older file is
   * refused), evaluated at the trusted time.
   */
  snapshot(): Snapshot {
    const state = this.current;
    let stored = this.store.read();
    const fileFloor = state.license_file_time ? Date.parse(state.license_file_time) : Number.NaN;
    if (stored.payload && Date.parse(stored.payload.server_time) < fileFloor) {
      stored = {
        hasFile: true,
        payload: null,
        error: {
          reason: OLDER_FILE_REASON,
          message: `it was issued at ${stored.payload.server_time}, before the license file this panel last accepted (${state.license_file_time}): an older file restored from a copy is not used; refresh to fetch a current one`,
        },
      };
    }
    const trustedNow = this.nowMs();
    const evaluation = evaluateLicense({
      payload: stored.payload,
      hasFile: stored.hasFile,
      hasKey: state.license_key !== null,
      fileError: stored.error,
      systemNow: this.systemNowMs(),
      trustedFloor: trustedNow,
      trustedNow,
      graceMs: this.settings.graceMs,
      unlicensed: this.settings.unlicensed,
      clockToleranceMs: this.settings.clockToleranceMs,
      verdict:
        state.portal_verdict && state.portal_verdict_at
          ? { code: state.portal_verdict, at: state.portal_verdict_at }
          : null,
    });
    return { state, stored, evaluation, trustedNow };
  }

  /** Next portal check after a success: the check interval, at most half the remaining lease, ±20 %. */
  nextCheckAfterSuccess(validUntil: string, now: number): string {
    const lease = Math.max(60_000, Date.parse(validUntil) - now);
    const base = Math.min(this.settings.checkIntervalMs, lease / 2);
    return new Date(now + base * (0.8 + 0.4 * this.deps.random())).toISOString();
  }

  /** Next attempt after `failures` failures in a row: retryBase doubling up to retryMax, ±20 %. */
  nextCheckAfterFailure(failures: number, now: number): string {
    const s = this.settings;
    const base = Math.min(s.retryMaxMs, s.retryBaseMs * 2 ** Math.min(30, failures - 1));
    return new Date(now + base * (0.8 + 0.4 * this.deps.random())).toISOString();
  }

  /** The longest a scheduled check may legitimately be away (a later one was computed with a wrong clock). */
  get longestCheckDelayMs(): number {
    const s = this.settings;
    return Math.max(s.checkIntervalMs, s.retryMaxMs) * 1.2 + 60_000;
  }
}
