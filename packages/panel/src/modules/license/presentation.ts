import { maskLicenseKey } from '@wispanel/contract';
import type { PendingDeactivations } from './deactivations';
import type { Enforcement } from './enforcement';
import { apiDate, LIMIT_OF, type LicenseLedger, PLURAL, type Snapshot } from './ledger';
import { type AuditFilter, RESOURCE_KINDS, type Usage } from './license.repository';
import { DAY_MS, type LicenseEvaluation } from './license-state';

export const usageView = (u: Usage) => ({ accounts: u.account, databases: u.database, domains: u.domain });

type LimitsTable = Record<
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

/** The read side: the documented shapes of GET /license/, /summary, /limits, /disabled-resources, /audit. */
export class LicensePresenter {
  constructor(
    private readonly ledger: LicenseLedger,
    private readonly enforcement: Enforcement,
    private readonly deactivations: PendingDeactivations,
    private readonly portal: { url: string | null; development: boolean },
  ) {}

  private maskedKey(snap: Snapshot): string | null {
    if (snap.state.license_key) return maskLicenseKey(snap.state.license_key);
    return snap.stored.payload?.key_masked ?? null;
  }

  /** The documented `license` object (SPEC A3). Limits are the ones in force. */
  licenseView(snap: Snapshot = this.ledger.snapshot()) {
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

  /** GET /license/ (SPEC A3, exact shape). */
  async overview() {
    const snap = this.ledger.snapshot();
    const usage = await this.ledger.repo.usage();
    return { license: this.licenseView(snap), usage: usageView(usage) };
  }

  private limitsTable(e: LicenseEvaluation, usage: Usage, disabled: Usage): LimitsTable {
    const out = {} as LimitsTable;
    for (const kind of RESOURCE_KINDS) {
      const limit = e.limits[LIMIT_OF[kind]];
      const used = usage[kind];
      out[PLURAL[kind]] = {
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

  /** GET /license/limits. */
  async limits() {
    const snap = this.ledger.snapshot();
    const [usage, disabled] = await Promise.all([this.ledger.repo.usage(), this.enforcement.disabledUsage()]);
    return {
      tier: snap.evaluation.tier,
      source: snap.evaluation.is_valid ? 'license' : 'unlicensed',
      limits: this.limitsTable(snap.evaluation, usage, disabled),
    };
  }

  /** GET /license/summary: one-glance state. */
  async summary() {
    const snap = this.ledger.snapshot();
    const e = snap.evaluation;
    const [usage, disabled] = await Promise.all([this.ledger.repo.usage(), this.enforcement.disabledUsage()]);
    const table = this.limitsTable(e, usage, disabled);
    const now = e.now;
    const daysUntil = (t: number | null) => (t === null ? null : Math.max(0, Math.floor((t - now) / DAY_MS)));
    const overLimit = {
      accounts: table.accounts.over_limit,
      domains: table.domains.over_limit,
      databases: table.databases.over_limit,
    };
    const s = snap.state;
    const since = s.over_limit_since;
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
        enforce_after: since ? apiDate(Date.parse(since) + this.ledger.settings.enforceAfterMs) : null,
        disabled: { accounts: disabled.account, domains: disabled.domain, databases: disabled.database },
      },
      clock: {
        behind: e.clock_behind,
        behind_seconds: Math.round(e.clock_behind_ms / 1000),
        system_time: apiDate(this.ledger.systemNowMs()),
        trusted_time: apiDate(snap.trustedNow),
      },
      portal: {
        configured: this.portal.url !== null,
        development: this.portal.development,
        url: this.portal.url,
        last_checked: apiDate(s.last_checked),
        last_error: s.last_error
          ? { code: s.last_error_code, message: s.last_error, at: apiDate(s.last_error_at) }
          : null,
        consecutive_failures: s.consecutive_failures,
        next_check_at: apiDate(s.next_refresh_at),
      },
      pending_deactivations: this.deactivations.view(),
    };
  }

  async disabledResources(limit: number, offset: number) {
    const r = await this.ledger.repo.disabled(limit, offset);
    return {
      total: r.total,
      resources: r.resources.map((x) => ({ ...x, disabled_at: apiDate(x.disabled_at) })),
    };
  }

  async auditLog(limit: number, before?: number, filter: AuditFilter = {}) {
    const [entries, total] = await Promise.all([
      this.ledger.repo.auditLog(limit, before, filter),
      this.ledger.repo.auditCount(filter),
    ]);
    return { entries: entries.map((x) => ({ ...x, at: apiDate(x.at) })), total };
  }
}
