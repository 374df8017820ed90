import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import {
  LICENSE_KEY_PATTERN,
  type LicenseAnswer,
  type LicensePayload,
  maskLicenseKey,
} from '@wispanel/contract';
import { AppError } from '@wispanel/kit';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { PanelDB } from '../../db/schema';
import type { Actor } from '../auth/actor';
import type { CountedResource, LicenseGate } from '../resources/license-gate';
import type { Provisioner } from '../resources/provisioner';
import {
  type AffectedResource,
  type LicenseRepository,
  type LicenseState,
  REPORT_LIMIT,
  RESOURCE_KINDS,
  type Usage,
} from './license.repository';
import type { LicenseFileStore, StoredLicense } from './license-file-store';
import { type LicensePortal, PortalCallError } from './license-portal';
import { DAY_MS, evaluateLicense, type LicenseEvaluation, type LicenseLimits } from './license-state';
import type { LicenseWebhook } from './license-webhook';
import { acceptSignedTime, observeSystemTime, trustedFloor } from './trusted-clock';

export interface LicenseSettings {
  /** Grace after the lease or term ends; null = the grace the license file carries. */
  graceMs: number | null;
  /** How long usage may stay over a limit before the scheduler enforces. */
  enforceAfterMs: number;
  unlicensed: LicenseLimits;
  clockToleranceMs: number;
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
  checkIntervalMs: DAY_MS,
  retryBaseMs: 60_000,
  retryMaxMs: 6 * 3_600_000,
};

export interface LicenseServiceDeps {
  repo: LicenseRepository;
  store: LicenseFileStore;
  portal: LicensePortal | null;
  hardwareId: string;
  clock: () => Date;
  random: () => number;
  settings: LicenseSettings;
  logger: Logger;
  panelVersion: string;
  /** The portal is the explicit local development portal (npm start). */
  development?: boolean;
  /** Outbound webhook for audit entries (--license-webhook-url); null/absent = none. */
  webhook?: LicenseWebhook | null;
}

export const LIMIT_OF: Record<CountedResource, keyof LicenseLimits> = {
  account: 'max_users',
  domain: 'max_domains',
  database: 'max_databases',
};
const PLURAL: Record<CountedResource, string> = {
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

interface Snapshot {
  state: LicenseState;
  stored: StoredLicense;
  evaluation: LicenseEvaluation;
}

/**
 * A replaced key whose activation on the portal (this hardware id's slot) is not freed yet. Kept in
 * `license_state.pending_deactivations` the way `license_key` is kept (the portal needs the full key); only
 * ever shown or logged masked.
 */
interface PendingDeactivation {
  key: string;
  /** When the key was replaced. */
  since: string;
  attempts: number;
  next_attempt_at: string;
  last_error_code: string | null;
  last_error: string | null;
}

/** `previous_license` in the activation answer: what happened to the replaced key's portal activation. */
export interface PreviousLicenseView {
  key: string;
  deactivated: boolean;
  pending: boolean;
  code: string;
  reason: string;
  next_attempt_at: string | null;
}

function parsePending(text: string | null): PendingDeactivation[] {
  if (!text) return [];
  try {
    const list = JSON.parse(text);
    return Array.isArray(list)
      ? list.filter((p): p is PendingDeactivation => typeof p?.key === 'string' && p.key.length > 0)
      : [];
  } catch {
    return [];
  }
}

const serializePending = (list: PendingDeactivation[]) => (list.length ? JSON.stringify(list) : null);

type DeactivationOutcome =
  | { settled: true; deactivated: boolean; code: string; reason: string }
  | { settled: false; code: string; reason: string };

const WARN_OUTCOMES = new Set(['failed', 'refused', 'disabled', 'warned', 'invalid', 'expired', 'grace']);

/** The first REPORT_LIMIT changed resources by id and name (answers and audit entries stay small). */
const listed = (rows: AffectedResource[]) =>
  rows.slice(0, REPORT_LIMIT).map((r) => ({ id: r.id, name: r.name }));

/** What a portal code means for the panel's caller. */
function portalAnswerError(answer: LicenseAnswer): AppError {
  const detail = answer.detail ?? answer.error ?? answer.code;
  switch (answer.code) {
    case 'NOT_FOUND':
      return new AppError('LICENSE_NOT_FOUND', 'License key not found');
    case 'SUSPENDED':
      return new AppError('LICENSE_SUSPENDED', 'License is suspended');
    case 'REVOKED':
      return new AppError('LICENSE_REVOKED', 'License has been revoked');
    case 'EXPIRED':
      return new AppError('LICENSE_EXPIRED', 'License has expired');
    case 'HARDWARE_MISMATCH':
      return new AppError(
        'LICENSE_HARDWARE_MISMATCH',
        `License is already bound to another server (${detail})`,
      );
    case 'ACTIVATION_LIMIT':
      return new AppError('LICENSE_ACTIVATION_LIMIT', `License has no free activation left (${detail})`);
    case 'NOT_ACTIVATED':
      return new AppError(
        'LICENSE_NOT_ACTIVATED',
        'License is not activated on this server: activate it again',
      );
    case 'RATE_LIMITED':
      return new AppError(
        'PORTAL_RATE_LIMITED',
        'The license portal is rate limiting this server; try later',
      );
    default:
      return new AppError('PORTAL_ERROR', `The license portal refused the request: ${answer.code} ${detail}`);
  }
}

/**
 * The panel's license subsystem. Services never see HTTP; the clock, randomness and the portal are passed in.
 * State lives in memory (loaded at init, written through), so the creation gate never needs the outer
 * database connection while a creation transaction holds it.
 */
export class LicenseService implements LicenseGate {
  private state!: LicenseState;
  private readonly repo: LicenseRepository;
  private busy: Promise<unknown> = Promise.resolve();
  private provisioner: Provisioner | null = null;

  constructor(private readonly deps: LicenseServiceDeps) {
    this.repo = deps.repo;
  }

  async init(): Promise<void> {
    this.state = await this.repo.state();
  }

  /** Enforcement takes disabled domains/databases/accounts offline through the panel's provisioner. */
  attachProvisioner(provisioner: Provisioner): void {
    this.provisioner = provisioner;
  }

  /** At shutdown: stops the outbound webhook (deliveries still queued are lost; docs/license.md). */
  stopWebhook(): void {
    this.deps.webhook?.stop();
  }

  private async provision(kind: CountedResource, action: 'suspend' | 'unsuspend', rows: AffectedResource[]) {
    if (!this.provisioner) return;
    for (const r of rows) {
      // Re-enabling never brings back what an admin suspended.
      if (action === 'unsuspend' && r.status === 'suspended') continue;
      const event =
        kind === 'account'
          ? { action, kind, name: r.name }
          : { action, kind, name: r.name, owner: r.owner ?? '' };
      await this.provisioner.apply(event).catch((err) => {
        this.deps.logger.error({ err, kind, name: r.name }, `provisioner ${action} failed`);
      });
    }
  }

  get portalConfigured(): boolean {
    return this.deps.portal !== null;
  }

  private now(): Date {
    return this.deps.clock();
  }

  /** Runs portal-changing operations one at a time (a manual refresh and the scheduler never overlap). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.busy.then(fn, fn);
    this.busy = run.catch(() => undefined);
    return run;
  }

  private async save(patch: Partial<Omit<LicenseState, 'id'>>): Promise<void> {
    const now = this.now();
    await this.repo.saveState(patch, now);
    this.state = { ...this.state, ...patch, updated_at: now.toISOString() };
  }

  private audit(
    action: string,
    actor: string,
    outcome: string,
    message: string,
    code?: string | null,
    detail?: unknown,
  ) {
    // Every decision is also one log line (the event operators alert on); warnings for what hurts.
    const level = WARN_OUTCOMES.has(outcome) ? 'warn' : 'info';
    this.deps.logger[level](
      { license: { action, actor, outcome, code: code ?? null } },
      `license: ${message}`,
    );
    return this.repo
      .audit({ action, actor, outcome, message, code: code ?? null, detail }, this.now())
      .then((entry) => {
        // The outbound webhook (docs/license.md, "Webhook"): queued, sent in the background, never awaited.
        this.deps.webhook?.enqueue(entry, apiDate(entry.at));
      });
  }

  snapshot(): Snapshot {
    const stored = this.deps.store.read();
    const state = this.state;
    const evaluation = evaluateLicense({
      payload: stored.payload,
      hasFile: stored.hasFile,
      hasKey: state.license_key !== null,
      fileError: stored.error,
      systemNow: this.now().getTime(),
      trustedFloor: trustedFloor(state, [stored.payload?.server_time]),
      graceMs: this.deps.settings.graceMs,
      unlicensed: this.deps.settings.unlicensed,
      clockToleranceMs: this.deps.settings.clockToleranceMs,
      verdict:
        state.portal_verdict && state.portal_verdict_at
          ? { code: state.portal_verdict, at: state.portal_verdict_at }
          : null,
    });
    return { state, stored, evaluation };
  }

  private maskedKey(snap: Snapshot): string | null {
    if (snap.state.license_key) return maskLicenseKey(snap.state.license_key);
    return snap.stored.payload?.key_masked ?? null;
  }

  /** The documented `license` object (SPEC A3). Limits are the ones in force. */
  licenseView(snap: Snapshot = this.snapshot()) {
    const e = snap.evaluation;
    return {
      key: this.maskedKey(snap),
      tier: e.tier,
      is_valid: e.is_valid,
      has_license_file: snap.stored.hasFile,
      needs_refresh: e.needs_refresh,
      max_users: e.limits.max_users,
      max_domains: e.limits.max_domains,
      max_databases: e.limits.max_databases,
      expires_at: apiDate(e.term_ends_at),
      valid_until: apiDate(e.lease_ends_at),
      last_checked: apiDate(snap.state.last_checked),
    };
  }

  static usageView(u: Usage) {
    return { accounts: u.account, databases: u.database, domains: u.domain };
  }

  /** GET /license/ (SPEC A3, exact shape). */
  async overview() {
    const snap = this.snapshot();
    const usage = await this.repo.usage();
    return { license: this.licenseView(snap), usage: LicenseService.usageView(usage) };
  }

  private limitsTable(e: LicenseEvaluation, usage: Usage, disabled: Usage) {
    const out = {} as Record<
      'accounts' | 'domains' | 'databases',
      {
        limit: number;
        usage: number;
        remaining: number;
        over_limit: boolean;
        at_limit: boolean;
        disabled: number;
      }
    >;
    for (const kind of RESOURCE_KINDS) {
      const limit = e.limits[LIMIT_OF[kind]];
      const used = usage[kind];
      out[PLURAL[kind] as 'accounts'] = {
        limit,
        usage: used,
        remaining: limit < 0 ? -1 : Math.max(0, limit - used),
        over_limit: limit >= 0 && used > limit,
        at_limit: limit >= 0 && used >= limit,
        disabled: disabled[kind],
      };
    }
    return out;
  }

  private async disabledUsage(): Promise<Usage> {
    const [account, domain, database] = await Promise.all(
      RESOURCE_KINDS.map((k) => this.repo.disabledCount(k)),
    );
    return { account: account ?? 0, domain: domain ?? 0, database: database ?? 0 };
  }

  /** GET /license/limits. */
  async limits() {
    const snap = this.snapshot();
    const [usage, disabled] = await Promise.all([this.repo.usage(), this.disabledUsage()]);
    return {
      tier: snap.evaluation.tier,
      source: snap.evaluation.is_valid ? 'license' : 'unlicensed',
      limits: this.limitsTable(snap.evaluation, usage, disabled),
    };
  }

  /** GET /license/summary: one-glance state. */
  async summary() {
    const snap = this.snapshot();
    const e = snap.evaluation;
    const [usage, disabled] = await Promise.all([this.repo.usage(), this.disabledUsage()]);
    const table = this.limitsTable(e, usage, disabled);
    const now = e.now;
    const daysUntil = (t: number | null) => (t === null ? null : Math.max(0, Math.floor((t - now) / DAY_MS)));
    const overLimit = {
      accounts: table.accounts.over_limit,
      domains: table.domains.over_limit,
      databases: table.databases.over_limit,
    };
    const since = snap.state.over_limit_since;
    const s = snap.state;
    return {
      tier: e.tier,
      status: e.status,
      is_valid: e.is_valid,
      reason: e.reason,
      message: e.message,
      key: this.maskedKey(snap),
      days_left: daysUntil(e.term_ends_at),
      lease_days_left: daysUntil(e.lease_ends_at),
      expires_at: apiDate(e.term_ends_at),
      valid_until: apiDate(e.lease_ends_at),
      grace_ends_at: apiDate(e.grace_ends_at),
      needs_refresh: e.needs_refresh,
      over_limit: overLimit,
      any_over_limit: overLimit.accounts || overLimit.domains || overLimit.databases,
      creation_frozen: {
        accounts: table.accounts.at_limit,
        domains: table.domains.at_limit,
        databases: table.databases.at_limit,
      },
      enforcement: {
        over_limit_since: apiDate(since),
        enforce_after: since ? apiDate(Date.parse(since) + this.deps.settings.enforceAfterMs) : null,
        disabled: { accounts: disabled.account, domains: disabled.domain, databases: disabled.database },
      },
      clock: {
        behind: e.clock_behind,
        behind_seconds: Math.round(e.clock_behind_ms / 1000),
        system_time: apiDate(this.now().getTime()),
        trusted_time: apiDate(trustedFloor(s, [snap.stored.payload?.server_time])),
      },
      portal: {
        configured: this.portalConfigured,
        development: this.deps.development === true,
        url: this.deps.portal?.url ?? null,
        last_checked: apiDate(s.last_checked),
        last_error: s.last_error
          ? { code: s.last_error_code, message: s.last_error, at: apiDate(s.last_error_at) }
          : null,
        consecutive_failures: s.consecutive_failures,
        next_check_at: apiDate(s.next_refresh_at),
      },
      pending_deactivations: parsePending(s.pending_deactivations).map((p) => ({
        key: maskLicenseKey(p.key),
        since: apiDate(p.since),
        attempts: p.attempts,
        next_attempt_at: apiDate(p.next_attempt_at),
        last_error: p.last_error_code ? { code: p.last_error_code, message: p.last_error } : null,
      })),
    };
  }

  // ---- the creation gate (freeze growth) ----

  async assertCanCreate(kind: CountedResource, actor: Actor, tx: Kysely<PanelDB>): Promise<void> {
    const { evaluation: e } = this.snapshot();
    const limit = e.limits[LIMIT_OF[kind]];
    if (limit < 0) return;
    const count = await this.repo.count(kind, tx);
    if (count < limit) return;
    const message = `License limit reached: the ${e.is_valid ? `${e.tier} license` : 'unlicensed allowance'} allows ${limit} ${PLURAL[kind]} and ${count} exist; delete some or upgrade the license`;
    // Audited after the creation transaction has rolled back (it holds the only SQLite connection).
    setImmediate(() => {
      this.audit('create_refused', actor.username, 'refused', message, 'LICENSE_LIMIT_REACHED', {
        kind,
        limit,
        count,
      }).catch((err) => this.deps.logger.warn({ err }, 'license audit write failed'));
    });
    throw new AppError('LICENSE_LIMIT_REACHED', message);
  }

  // ---- portal calls ----

  private requireKey(): string {
    const key = this.state.license_key;
    if (!key)
      throw new AppError(
        'LICENSE_NOT_ACTIVATED',
        'No license is activated on this panel: POST /api/v1/license/activate first',
      );
    return key;
  }

  private requirePortal(): LicensePortal {
    if (!this.deps.portal) {
      throw new AppError(
        'PORTAL_NOT_CONFIGURED',
        'No license portal is configured: start the panel with --portal-url and --portal-keys',
      );
    }
    return this.deps.portal;
  }

  private async request(key: string) {
    const nonce = randomBytes(16).toString('hex');
    const usage = await this.repo.usage();
    return {
      nonce,
      body: {
        key,
        hardware_id: this.deps.hardwareId,
        nonce,
        panel_version: this.deps.panelVersion,
        hostname: hostname(),
        usage: { accounts: usage.account, domains: usage.domain, databases: usage.database },
      },
    };
  }

  private async call(
    op: 'activate' | 'verify' | 'refresh' | 'deactivate',
    body: Parameters<LicensePortal['activate']>[0],
  ): Promise<LicenseAnswer> {
    const portal = this.requirePortal();
    try {
      return await portal[op](body);
    } catch (err) {
      if (err instanceof PortalCallError && err.kind === 'bad_answer') {
        throw new AppError('PORTAL_ERROR', `The license portal gave an unusable answer: ${err.message}`);
      }
      throw new AppError(
        'PORTAL_UNREACHABLE',
        `The license portal at ${portal.url} is unreachable: ${(err as Error).message}`,
      );
    }
  }

  /**
   * Checks a returned license file before it replaces the stored one: signature by a trusted key id, our
   * hardware id, our nonce (a replayed answer fails), and a server time not behind what we already trust.
   */
  private acceptFile(text: string | undefined, nonce: string): LicensePayload {
    if (!text) throw new AppError('PORTAL_ERROR', 'The license portal answered without a license file');
    const checked = this.deps.store.verify(text);
    if (!checked.payload) {
      throw new AppError(
        'LICENSE_FILE_INVALID',
        `The license file from the portal is not accepted (${checked.error?.reason}): ${checked.error?.message}`,
      );
    }
    const p = checked.payload;
    if (p.nonce !== nonce) {
      throw new AppError(
        'LICENSE_FILE_INVALID',
        "The license file from the portal does not carry this request's nonce (replayed answer?)",
      );
    }
    const serverTime = Date.parse(p.server_time);
    const floor = trustedFloor({ signed_time: this.state.signed_time, observed_time: null });
    if (
      !Number.isFinite(serverTime) ||
      (floor !== null && serverTime < floor - this.deps.settings.clockToleranceMs)
    ) {
      throw new AppError(
        'LICENSE_FILE_INVALID',
        'The license file from the portal is older than one already accepted (replayed answer?)',
      );
    }
    return p;
  }

  /**
   * A refusal signed by a trusted portal key, for this server and this request's nonce, of a kind that ends
   * the license (REVOKED, SUSPENDED, EXPIRED), takes effect at once; an unsigned refusal changes nothing.
   */
  private async acceptVerdict(answer: LicenseAnswer, nonce: string): Promise<boolean> {
    if (!answer.signed || !['REVOKED', 'SUSPENDED', 'EXPIRED'].includes(answer.code)) return false;
    const v = this.deps.store.verifyAnswer(answer.signed);
    if (!v || v.nonce !== nonce || v.valid || v.code !== answer.code) return false;
    await this.save({
      portal_verdict: v.code,
      portal_verdict_at: v.server_time,
      ...acceptSignedTime(this.state, v.server_time),
    });
    return true;
  }

  private nextCheckAfterSuccess(p: LicensePayload, now: number): string {
    const lease = Math.max(60_000, Date.parse(p.valid_until) - now);
    const base = Math.min(this.deps.settings.checkIntervalMs, lease / 2);
    return new Date(now + base * (0.8 + 0.4 * this.deps.random())).toISOString();
  }

  private nextCheckAfterFailure(failures: number, now: number): string {
    const s = this.deps.settings;
    const base = Math.min(s.retryMaxMs, s.retryBaseMs * 2 ** Math.min(30, failures - 1));
    return new Date(now + base * (0.8 + 0.4 * this.deps.random())).toISOString();
  }

  private async storeAccepted(text: string, p: LicensePayload, extra: Partial<LicenseState>): Promise<void> {
    this.deps.store.write(text);
    const now = this.now().getTime();
    const clock = acceptSignedTime(this.state, p.server_time);
    await this.save({
      ...extra,
      ...clock,
      last_checked: new Date(now).toISOString(),
      last_error: null,
      last_error_code: null,
      last_error_at: null,
      consecutive_failures: 0,
      next_refresh_at: this.nextCheckAfterSuccess(p, now),
      portal_verdict: null,
      portal_verdict_at: null,
    });
  }

  private async recordFailure(err: AppError): Promise<void> {
    const now = this.now().getTime();
    const failures = this.state.consecutive_failures + 1;
    await this.save({
      last_error: err.message,
      last_error_code: err.code,
      last_error_at: new Date(now).toISOString(),
      consecutive_failures: failures,
      next_refresh_at: this.nextCheckAfterFailure(failures, now),
    });
  }

  /** POST /license/activate. */
  activate(actor: Actor, rawKey: string) {
    return this.serial(async () => {
      const key = rawKey.trim().toUpperCase();
      if (!LICENSE_KEY_PATTERN.test(key)) {
        await this.audit(
          'activate',
          actor.username,
          'refused',
          'Malformed license key',
          'LICENSE_KEY_MALFORMED',
        );
        throw new AppError('LICENSE_KEY_MALFORMED', 'License key must look like WISP-XXXX-XXXX-XXXX');
      }
      const before = this.snapshot();
      const previousKey = before.state.license_key;
      const replaced: PendingDeactivation | null =
        previousKey !== null && previousKey !== key
          ? {
              key: previousKey,
              since: this.now().toISOString(),
              attempts: 0,
              next_attempt_at: this.now().toISOString(),
              last_error_code: null,
              last_error: null,
            }
          : null;
      const { nonce, body } = await this.request(key);
      let payload: LicensePayload;
      try {
        const answer = await this.call('activate', body);
        if (!answer.valid) throw portalAnswerError(answer);
        payload = this.acceptFile(answer.license_file, nonce);
        // The replaced key is remembered as pending in the same write that stores the new key, so a crash
        // before its deactivation leaves it to the job. A key activated again is no longer pending.
        const pending = parsePending(this.state.pending_deactivations).filter(
          (p) => p.key !== key && p.key !== previousKey,
        );
        if (replaced) pending.push(replaced);
        await this.storeAccepted(answer.license_file as string, payload, {
          license_key: key,
          activated_at: this.now().toISOString(),
          pending_deactivations: serializePending(pending),
        });
      } catch (err) {
        const e = err instanceof AppError ? err : new AppError('INTERNAL_ERROR', 'Activation failed');
        await this.audit('activate', actor.username, 'failed', e.message, e.code, {
          key: maskLicenseKey(key),
        });
        throw err;
      }
      await this.audit('activate', actor.username, 'success', `Activated ${payload.tier} license`, 'VALID', {
        key: maskLicenseKey(key),
        tier: payload.tier,
        limits: payload.limits,
        valid_until: payload.valid_until,
        replaced: before.evaluation.status === 'unlicensed' ? null : before.evaluation.tier,
        replaced_key: replaced ? maskLicenseKey(replaced.key) : null,
      });
      // Best effort, after the new license is stored: free the replaced key's slot on the portal.
      const previous = replaced ? await this.deactivatePending(replaced.key, actor.username) : null;
      const o = await this.overview();
      return {
        success: true,
        message:
          `License activated: ${payload.tier}` +
          (previous?.pending
            ? `; the previous license ${previous.key} is still bound to this server on the portal (${previous.code}): its deactivation is retried in the background`
            : ''),
        ...o,
        previous_license: previous,
      };
    });
  }

  // ---- freeing a replaced key's activation on the portal ----

  /**
   * Asks the portal to free this hardware id's activation of `key`. Settled only by an answer signed by a
   * trusted key for this server and this request's nonce: DEACTIVATED (freed, or was not bound) or
   * NOT_FOUND (the portal does not know the key: nothing to free). Anything else is retried later.
   */
  private async deactivateOnPortal(key: string): Promise<DeactivationOutcome> {
    const nonce = randomBytes(16).toString('hex');
    let answer: LicenseAnswer;
    try {
      answer = await this.call('deactivate', {
        key,
        hardware_id: this.deps.hardwareId,
        nonce,
        panel_version: this.deps.panelVersion,
        hostname: hostname(),
      });
    } catch (err) {
      const e = err instanceof AppError ? err : new AppError('INTERNAL_ERROR', String(err));
      return { settled: false, code: e.code, reason: e.message };
    }
    if (answer.code !== 'DEACTIVATED' && answer.code !== 'NOT_FOUND') {
      const e = portalAnswerError(answer);
      return { settled: false, code: e.code, reason: e.message };
    }
    const v = answer.signed ? this.deps.store.verifyAnswer(answer.signed) : null;
    if (v?.action !== 'deactivate' || v.nonce !== nonce || v.code !== answer.code) {
      return {
        settled: false,
        code: 'PORTAL_ERROR',
        reason: `The license portal answered ${answer.code} without a signature by a trusted key for this server and request`,
      };
    }
    if (v.code === 'NOT_FOUND') {
      return {
        settled: true,
        deactivated: false,
        code: 'LICENSE_NOT_FOUND',
        reason: 'The license portal does not know this key: there is no activation to free',
      };
    }
    return {
      settled: true,
      deactivated: true,
      code: 'DEACTIVATED',
      reason: answer.detail ?? 'Activation on this server freed on the portal',
    };
  }

  /**
   * One attempt for one pending key: settled → dropped from the pending list; otherwise its next attempt is
   * scheduled with the same backoff as failed checks. Audited either way. Never throws.
   */
  private async deactivatePending(key: string, actor: string): Promise<PreviousLicenseView> {
    const masked = maskLicenseKey(key);
    let outcome: DeactivationOutcome;
    try {
      outcome = await this.deactivateOnPortal(key);
    } catch (err) {
      outcome = { settled: false, code: 'INTERNAL_ERROR', reason: String(err) };
    }
    const nowMs = this.now().getTime();
    const list = parsePending(this.state.pending_deactivations);
    const entry = list.find((p) => p.key === key);
    let nextAttempt: string | null = null;
    try {
      if (outcome.settled) {
        await this.save({ pending_deactivations: serializePending(list.filter((p) => p.key !== key)) });
        await this.audit(
          'deactivate',
          actor,
          outcome.deactivated ? 'success' : 'not_found',
          outcome.deactivated
            ? `Previous license ${masked} deactivated on the portal`
            : `Previous license ${masked} is unknown to the portal: nothing to deactivate`,
          outcome.code,
          { key: masked, attempts: (entry?.attempts ?? 0) + 1 },
        );
      } else {
        const attempts = (entry?.attempts ?? 0) + 1;
        nextAttempt = this.nextCheckAfterFailure(attempts, nowMs);
        if (entry) {
          Object.assign(entry, {
            attempts,
            next_attempt_at: nextAttempt,
            last_error_code: outcome.code,
            last_error: outcome.reason,
          });
          await this.save({ pending_deactivations: serializePending(list) });
        }
        await this.audit(
          'deactivate',
          actor,
          'failed',
          `Previous license ${masked} could not be deactivated on the portal: ${outcome.reason}`,
          outcome.code,
          { key: masked, attempts, pending: entry !== undefined, next_attempt_at: nextAttempt },
        );
      }
    } catch (err) {
      this.deps.logger.error({ err, key: masked }, 'license: recording a deactivation failed');
    }
    return {
      key: masked,
      deactivated: outcome.settled && outcome.deactivated,
      pending: !outcome.settled,
      code: outcome.code,
      reason: outcome.reason,
      next_attempt_at: apiDate(nextAttempt),
    };
  }

  /** Retries the pending deactivations that are due (all of them with `all`, e.g. right after a refresh). */
  private async retryPendingDeactivations(actor: string, all: boolean): Promise<number> {
    if (!this.deps.portal) return 0;
    const current = this.state.license_key;
    const list = parsePending(this.state.pending_deactivations);
    if (list.some((p) => p.key === current)) {
      // Defensive: the key in use is never deactivated.
      await this.save({ pending_deactivations: serializePending(list.filter((p) => p.key !== current)) });
    }
    const nowMs = this.now().getTime();
    let done = 0;
    for (const p of list) {
      if (p.key === current) continue;
      if (!all && Date.parse(p.next_attempt_at) > nowMs) continue;
      if ((await this.deactivatePending(p.key, actor)).pending === false) done += 1;
    }
    return done;
  }

  /** POST /license/refresh (and the scheduler): a new lease file from the portal. */
  refresh(actor: string) {
    return this.serial(() => this.refreshNow(actor));
  }

  private async refreshNow(actor: string) {
    const key = this.requireKey();
    const before = this.snapshot();
    const { nonce, body } = await this.request(key);
    let payload: LicensePayload;
    try {
      const answer = await this.call('refresh', body);
      if (!answer.valid) {
        // A signed file (e.g. a suspension) is stored; a bare refusal is recorded and changes nothing:
        // the lease in hand runs its course.
        if (answer.license_file) {
          const p = this.acceptFile(answer.license_file, nonce);
          await this.storeAccepted(answer.license_file, p, {});
        } else {
          await this.acceptVerdict(answer, nonce);
        }
        throw portalAnswerError(answer);
      }
      payload = this.acceptFile(answer.license_file, nonce);
      await this.storeAccepted(answer.license_file as string, payload, {});
    } catch (err) {
      const e = err instanceof AppError ? err : new AppError('INTERNAL_ERROR', String(err));
      await this.recordFailure(e);
      await this.audit('refresh', actor, 'failed', e.message, e.code, {
        status: before.evaluation.status,
        next_check_at: this.state.next_refresh_at,
      });
      throw e;
    }
    const prev = before.stored.payload;
    const changes: Record<string, [unknown, unknown]> = {};
    if (prev?.tier !== payload.tier) changes.tier = [prev?.tier ?? null, payload.tier];
    if (JSON.stringify(prev?.limits) !== JSON.stringify(payload.limits))
      changes.limits = [prev?.limits ?? null, payload.limits];
    if (prev?.expires_at !== payload.expires_at)
      changes.expires_at = [prev?.expires_at ?? null, payload.expires_at];
    if (prev?.status !== payload.status) changes.status = [prev?.status ?? null, payload.status];
    await this.audit('refresh', actor, 'success', `Lease renewed until ${payload.valid_until}`, 'VALID', {
      previous_valid_until: prev?.valid_until ?? null,
      valid_until: payload.valid_until,
      changes,
    });
    // The portal answers again: replaced keys still bound to this server are freed now.
    await this.retryPendingDeactivations(actor, true).catch((err) =>
      this.deps.logger.error({ err }, 'license: retrying pending deactivations failed'),
    );
    const after = this.snapshot();
    return {
      success: true,
      message: Object.keys(changes).length ? 'Lease renewed; the license changed' : 'Lease renewed',
      refreshed: true,
      previous_valid_until: apiDate(prev?.valid_until),
      valid_until: apiDate(payload.valid_until),
      changes,
      next_check_at: apiDate(this.state.next_refresh_at),
      license: this.licenseView(after),
    };
  }

  /** POST /license/verify: re-check the stored file from disk, then ask the portal (when configured). */
  verify(actor: Actor) {
    return this.serial(async () => {
      this.deps.store.invalidate();
      const snap = this.snapshot();
      const local = {
        has_license_file: snap.stored.hasFile,
        signature_valid: snap.stored.payload !== null,
        status: snap.evaluation.status,
        is_valid: snap.evaluation.is_valid,
        reason: snap.evaluation.reason,
        message: snap.evaluation.message,
      };
      let portal: Record<string, unknown> = { checked: false, reason: 'not configured' };
      if (this.deps.portal && snap.state.license_key) {
        const { nonce, body } = await this.request(snap.state.license_key);
        try {
          const answer = await this.call('verify', body);
          portal = {
            checked: true,
            reachable: true,
            valid: answer.valid,
            code: answer.code,
            detail: answer.detail ?? null,
          };
          if (answer.license_file) {
            const p = this.acceptFile(answer.license_file, nonce);
            await this.storeAccepted(answer.license_file, p, {});
            portal.stored_new_file = true;
          } else if (answer.valid) {
            await this.save({
              last_checked: this.now().toISOString(),
              consecutive_failures: 0,
              last_error: null,
              last_error_code: null,
              last_error_at: null,
            });
          }
        } catch (err) {
          const e = err instanceof AppError ? err : new AppError('INTERNAL_ERROR', String(err));
          await this.recordFailure(e);
          portal = {
            checked: true,
            reachable: e.code !== 'PORTAL_UNREACHABLE',
            valid: null,
            code: e.code,
            detail: e.message,
          };
        }
      } else if (this.deps.portal) {
        portal = { checked: false, reason: 'no license key activated' };
      }
      await this.audit(
        'verify',
        actor.username,
        local.is_valid ? 'valid' : 'invalid',
        local.message,
        local.reason,
        { local, portal },
      );
      return { success: true, message: local.message, local, portal, license: this.licenseView() };
    });
  }

  // ---- enforcement ----

  /** POST /license/enforce (and the scheduler): disable exactly the excess, newest first. */
  enforce(actor: string) {
    return this.serial(async () => {
      const { evaluation: e } = this.snapshot();
      const now = this.now();
      const disabled: Record<
        string,
        { limit: number; disabled: number; resources: Array<{ id: number; name: string }> }
      > = {};
      let total = 0;
      for (const kind of RESOURCE_KINDS) {
        const limit = e.limits[LIMIT_OF[kind]];
        const reason = `license: over the ${e.is_valid ? `${e.tier} license` : 'unlicensed allowance'} limit of ${limit} ${PLURAL[kind]}`;
        const r = await this.repo.disableExcess(kind, limit, reason, now);
        disabled[PLURAL[kind] as string] = { limit, disabled: r.count, resources: listed(r.resources) };
        total += r.count;
        await this.provision(kind, 'suspend', r.resources);
      }
      await this.audit(
        'enforce',
        actor,
        total ? 'disabled' : 'nothing_to_do',
        `Enforcement disabled ${total} resources`,
        null,
        {
          tier: e.tier,
          counts: Object.fromEntries(Object.entries(disabled).map(([k, v]) => [k, v.disabled])),
          ids: Object.fromEntries(
            Object.entries(disabled).map(([k, v]) => [k, v.resources.map((r) => r.id)]),
          ),
        },
      );
      return {
        success: true,
        message: total
          ? `Disabled ${total} resources over the license limits`
          : 'Nothing over the limits: nothing disabled',
        disabled_total: total,
        disabled,
      };
    });
  }

  /** POST /license/re-enable (and the scheduler): restore what enforcement disabled, as far as limits allow. */
  reenable(actor: string) {
    return this.serial(async () => {
      const { evaluation: e } = this.snapshot();
      const out: Record<
        string,
        {
          limit: number;
          reenabled: number;
          still_disabled: number;
          resources: Array<{ id: number; name: string }>;
        }
      > = {};
      let total = 0;
      for (const kind of RESOURCE_KINDS) {
        const limit = e.limits[LIMIT_OF[kind]];
        const r = await this.repo.reenableWithin(kind, limit);
        out[PLURAL[kind] as string] = {
          limit,
          reenabled: r.count,
          still_disabled: await this.repo.disabledCount(kind),
          resources: listed(r.resources),
        };
        total += r.count;
        await this.provision(kind, 'unsuspend', r.resources);
      }
      await this.audit(
        're-enable',
        actor,
        total ? 'reenabled' : 'nothing_to_do',
        `Re-enabled ${total} resources`,
        null,
        {
          tier: e.tier,
          counts: Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.reenabled])),
          ids: Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.resources.map((r) => r.id)])),
        },
      );
      return {
        success: true,
        message: total ? `Re-enabled ${total} resources` : 'Nothing to re-enable within the limits',
        reenabled_total: total,
        reenabled: out,
      };
    });
  }

  async disabledResources(limit: number, offset: number) {
    const r = await this.repo.disabled(limit, offset);
    return {
      total: r.total,
      resources: r.resources.map((x) => ({ ...x, disabled_at: apiDate(x.disabled_at) })),
    };
  }

  async auditLog(limit: number, before?: number) {
    const entries = await this.repo.auditLog(limit, before);
    return { entries: entries.map((x) => ({ ...x, at: apiDate(x.at) })) };
  }

  // ---- scheduler step ----

  /**
   * One background step: record the system time (trusted floor), refresh the lease when due, retry the due
   * deactivations of replaced keys, audit status changes, warn when over a limit, enforce once the
   * enforcement grace has passed, and re-enable what a new license allows. Never throws.
   */
  async tick(): Promise<{ refreshed: boolean; deactivated: number; enforced: number; reenabled: number }> {
    const result = { refreshed: false, deactivated: 0, enforced: 0, reenabled: 0 };
    const pendingBefore = parsePending(this.state.pending_deactivations).length;
    try {
      const nowMs = this.now().getTime();
      const observed = observeSystemTime(this.state, nowMs, 60_000);
      if (observed) await this.save({ observed_time: observed.observed_time });

      const due = this.state.next_refresh_at === null || Date.parse(this.state.next_refresh_at) <= nowMs;
      if (this.deps.portal && this.state.license_key && due) {
        try {
          await this.refresh('scheduler');
          result.refreshed = true;
        } catch {
          /* recorded and audited by refresh; the lease in hand still counts */
        }
      }
      if (this.state.pending_deactivations) {
        await this.serial(() => this.retryPendingDeactivations('scheduler', false));
      }
      result.deactivated = Math.max(0, pendingBefore - parsePending(this.state.pending_deactivations).length);

      const snap = this.snapshot();
      const e = snap.evaluation;
      const statusKey = `${e.status}:${e.reason ?? ''}`;
      if (snap.state.last_status !== statusKey) {
        await this.audit('status', 'scheduler', e.status, e.message, e.reason, {
          previous: snap.state.last_status,
          tier: e.tier,
        });
        await this.save({ last_status: statusKey });
      }

      const usage = await this.repo.usage();
      const over = RESOURCE_KINDS.filter((k) => {
        const limit = e.limits[LIMIT_OF[k]];
        return limit >= 0 && usage[k] > limit;
      });
      if (over.length > 0) {
        if (!this.state.over_limit_since) {
          await this.save({ over_limit_since: new Date(nowMs).toISOString() });
          await this.audit(
            'over_limit',
            'scheduler',
            'warned',
            `Usage is over the license limits for ${over.map((k) => PLURAL[k]).join(', ')}; creation is refused and enforcement follows after the grace`,
            'LICENSE_LIMIT_REACHED',
            {
              usage: LicenseService.usageView(usage),
              limits: e.limits,
              enforce_after: new Date(nowMs + this.deps.settings.enforceAfterMs).toISOString(),
            },
          );
        } else if (nowMs - Date.parse(this.state.over_limit_since) >= this.deps.settings.enforceAfterMs) {
          const r = await this.enforce('scheduler');
          result.enforced = r.disabled_total;
        }
      } else if (this.state.over_limit_since) {
        await this.save({ over_limit_since: null });
        await this.audit('within_limits', 'scheduler', 'ok', 'Usage is back within the license limits', null);
      }

      const anyDisabled = await this.disabledUsage();
      if (anyDisabled.account + anyDisabled.domain + anyDisabled.database > 0) {
        const r = await this.reenable('scheduler');
        result.reenabled = r.reenabled_total;
      }
    } catch (err) {
      this.deps.logger.error({ err }, 'license scheduler step failed');
    }
    return result;
  }
}
