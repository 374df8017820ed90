import type { PendingDeactivations } from './deactivations';
import type { Enforcement } from './enforcement';
import { LIMIT_OF, type LicenseLedger, OLDER_FILE_REASON, PLURAL } from './ledger';
import { RESOURCE_KINDS } from './license.repository';
import { usageView } from './presentation';

export interface TickResult {
  refreshed: boolean;
  deactivated: number;
  enforced: number;
  reenabled: number;
}

/** What the scheduler step drives; every portal-changing call goes through the serial queue. */
export interface SchedulerParts {
  ledger: LicenseLedger;
  deactivations: PendingDeactivations;
  enforcement: Enforcement;
  portalConfigured: boolean;
  refresh: (actor: string) => Promise<unknown>;
  enforce: (actor: string) => Promise<{ disabled_total: number }>;
  reenable: (actor: string) => Promise<{ reenabled_total: number }>;
  serial: <T>(fn: () => Promise<T>) => Promise<T>;
}

/**
 * One background step (docs/license.md, "Background job"): record the trusted time, refresh the lease when
 * due, retry the due deactivations of replaced keys, audit status changes, warn when over a limit, enforce
 * once the enforcement grace has passed, and re-enable what a new license allows. Never throws.
 */
export class LicenseScheduler {
  /** The clock was seen behind the trusted time and a portal check was asked for (once per episode). */
  private behindChecked = false;

  constructor(private readonly p: SchedulerParts) {}

  /**
   * A refresh is due when its time (trusted clock) has come; when the scheduled time is further away than any
   * schedule allows (computed while the clock ran ahead); once when the system clock is seen behind the
   * trusted time (the portal's signed time settles it); and when the stored file is refused while no failure
   * is being backed off from (e.g. an older file copied back).
   */
  private refreshDue(nowMs: number): boolean {
    const { ledger } = this.p;
    const s = ledger.state;
    if (s.next_refresh_at === null) return true;
    const at = Date.parse(s.next_refresh_at);
    if (!(at > nowMs) || at > nowMs + ledger.longestCheckDelayMs) return true;
    const snap = ledger.snapshot();
    if (snap.evaluation.clock_behind) {
      if (!this.behindChecked) {
        this.behindChecked = true;
        return true;
      }
    } else {
      this.behindChecked = false;
    }
    return snap.stored.error?.reason === OLDER_FILE_REASON && s.consecutive_failures === 0;
  }

  async tick(): Promise<TickResult> {
    const { ledger, deactivations, enforcement } = this.p;
    const result = { refreshed: false, deactivated: 0, enforced: 0, reenabled: 0 };
    const pendingBefore = deactivations.count();
    try {
      await ledger.recordTime();
      const nowMs = ledger.nowMs();

      if (this.p.portalConfigured && ledger.state.license_key && this.refreshDue(nowMs)) {
        try {
          await this.p.refresh('scheduler');
          result.refreshed = true;
        } catch {
          /* recorded and audited by refresh; the lease in hand still counts */
        }
      }
      if (ledger.state.pending_deactivations) {
        await this.p.serial(() => deactivations.retry('scheduler', false));
      }
      result.deactivated = Math.max(0, pendingBefore - deactivations.count());

      const snap = ledger.snapshot();
      const e = snap.evaluation;
      const statusKey = `${e.status}:${e.reason ?? ''}`;
      if (snap.state.last_status !== statusKey) {
        await ledger.audit('status', 'scheduler', e.status, e.message, e.reason, {
          previous: snap.state.last_status,
          tier: e.tier,
        });
        await ledger.save({ last_status: statusKey });
      }

      const usage = await ledger.repo.usage();
      const over = RESOURCE_KINDS.filter((k) => {
        const limit = e.limits[LIMIT_OF[k]];
        return limit >= 0 && usage[k] > limit;
      });
      const now = ledger.nowMs();
      if (over.length > 0) {
        const since = ledger.state.over_limit_since;
        // A start time in the future was recorded while the clock ran ahead: it starts again now.
        if (!since || Date.parse(since) > now + ledger.settings.clockToleranceMs) {
          await ledger.save({ over_limit_since: new Date(now).toISOString() });
          await ledger.audit(
            'over_limit',
            'scheduler',
            'warned',
            `Usage is over the license limits for ${over.map((k) => PLURAL[k]).join(', ')}; creation is refused and enforcement follows after the grace`,
            'LICENSE_LIMIT_REACHED',
            {
              usage: usageView(usage),
              limits: e.limits,
              enforce_after: new Date(now + ledger.settings.enforceAfterMs).toISOString(),
            },
          );
        } else if (now - Date.parse(since) >= ledger.settings.enforceAfterMs) {
          const r = await this.p.enforce('scheduler');
          result.enforced = r.disabled_total;
        }
      } else if (ledger.state.over_limit_since) {
        await ledger.save({ over_limit_since: null });
        await ledger.audit(
          'within_limits',
          'scheduler',
          'ok',
          'Usage is back within the license limits',
          null,
        );
      }

      const anyDisabled = await enforcement.disabledUsage();
      if (anyDisabled.account + anyDisabled.domain + anyDisabled.database > 0) {
        const r = await this.p.reenable('scheduler');
        result.reenabled = r.reenabled_total;
      }
    } catch (err) {
      ledger.logger.error({ err }, 'license scheduler step failed');
    }
    return result;
  }
}
