import { randomBytes } from 'node:crypto';
import { maskLicenseKey } from '@wispanel/contract';
import { AppError } from '@wispanel/kit';
import { apiDate, type LicenseLedger } from './ledger';
import { callLicensePortal, type LicensePortal } from './license-portal';
import {
  type DeactivationOutcome,
  type ExchangeTrust,
  licenseRequest,
  settleDeactivation,
} from './portal-exchange';

/**
 * A replaced key whose activation on the portal (this hardware id's slot) is not freed yet. Kept in
 * `license_state.pending_deactivations` the way `license_key` is kept (the portal needs the full key); only
 * ever shown or logged masked.
 */
export interface PendingDeactivation {
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

export function parsePending(text: string | null): PendingDeactivation[] {
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

export const serializePending = (list: PendingDeactivation[]) => (list.length ? JSON.stringify(list) : null);

/** Pending deactivations of replaced keys (docs/license.md, "Changing the key"). */
export class PendingDeactivations {
  constructor(
    private readonly ledger: LicenseLedger,
    private readonly portal: LicensePortal | null,
    private readonly trust: () => ExchangeTrust,
    private readonly panel: { version: string; hostname: () => string },
  ) {}

  count(): number {
    return parsePending(this.ledger.state.pending_deactivations).length;
  }

  /** A freshly replaced key, due at once. */
  entryFor(key: string): PendingDeactivation {
    const now = this.ledger.now().toISOString();
    return { key, since: now, attempts: 0, next_attempt_at: now, last_error_code: null, last_error: null };
  }

  /** The list after `key` is activated in place of `previousKey` (the value to store with the new key). */
  listAfterActivation(key: string, previousKey: string | null, replaced: PendingDeactivation | null) {
    const pending = parsePending(this.ledger.state.pending_deactivations).filter(
      (p) => p.key !== key && p.key !== previousKey,
    );
    if (replaced) pending.push(replaced);
    return serializePending(pending);
  }

  /** Asks the portal to free this hardware id's activation of `key` (settled only by a signed answer). */
  private async deactivateOnPortal(key: string): Promise<DeactivationOutcome> {
    if (!this.portal) return { settled: false, code: 'PORTAL_NOT_CONFIGURED', reason: 'no portal' };
    const nonce = randomBytes(16).toString('hex');
    try {
      const answer = await callLicensePortal(
        this.portal,
        'deactivate',
        licenseRequest({
          key,
          hardwareId: this.trust().hardwareId,
          nonce,
          panelVersion: this.panel.version,
          hostname: this.panel.hostname(),
        }),
      );
      return settleDeactivation(answer, this.trust(), { nonce });
    } catch (err) {
      const e = err instanceof AppError ? err : new AppError('INTERNAL_ERROR', String(err));
      return { settled: false, code: e.code, reason: e.message };
    }
  }

  /**
   * One attempt for one pending key: settled → dropped from the pending list; otherwise its next attempt is
   * scheduled with the same backoff as failed checks. Audited either way. Never throws.
   */
  async attempt(key: string, actor: string): Promise<PreviousLicenseView> {
    const ledger = this.ledger;
    const masked = maskLicenseKey(key);
    let outcome: DeactivationOutcome;
    try {
      outcome = await this.deactivateOnPortal(key);
    } catch (err) {
      outcome = { settled: false, code: 'INTERNAL_ERROR', reason: String(err) };
    }
    const nowMs = ledger.nowMs();
    const list = parsePending(ledger.state.pending_deactivations);
    const entry = list.find((p) => p.key === key);
    let nextAttempt: string | null = null;
    try {
      if (outcome.settled) {
        await ledger.save({ pending_deactivations: serializePending(list.filter((p) => p.key !== key)) });
        await ledger.audit(
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
        nextAttempt = ledger.nextCheckAfterFailure(attempts, nowMs);
        if (entry) {
          Object.assign(entry, {
            attempts,
            next_attempt_at: nextAttempt,
            last_error_code: outcome.code,
            last_error: outcome.reason,
          });
          await ledger.save({ pending_deactivations: serializePending(list) });
        }
        await ledger.audit(
          'deactivate',
          actor,
          'failed',
          `Previous license ${masked} could not be deactivated on the portal: ${outcome.reason}`,
          outcome.code,
          { key: masked, attempts, pending: entry !== undefined, next_attempt_at: nextAttempt },
        );
      }
    } catch (err) {
      ledger.logger.error({ err, key: masked }, 'license: recording a deactivation failed');
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
  async retry(actor: string, all: boolean): Promise<number> {
    if (!this.portal) return 0;
    const ledger = this.ledger;
    const current = ledger.state.license_key;
    const list = parsePending(ledger.state.pending_deactivations);
    if (list.some((p) => p.key === current)) {
      // Defensive: the key in use is never deactivated.
      await ledger.save({ pending_deactivations: serializePending(list.filter((p) => p.key !== current)) });
    }
    const nowMs = ledger.nowMs();
    // A next attempt further away than any backoff was computed with a clock that ran ahead: due now.
    const horizon = nowMs + ledger.longestCheckDelayMs;
    let done = 0;
    for (const p of list) {
      if (p.key === current) continue;
      const at = Date.parse(p.next_attempt_at);
      if (!all && at > nowMs && at <= horizon) continue;
      if ((await this.attempt(p.key, actor)).pending === false) done += 1;
    }
    return done;
  }

  /** The summary's `pending_deactivations` (keys masked). */
  view() {
    return parsePending(this.ledger.state.pending_deactivations).map((p) => ({
      key: maskLicenseKey(p.key),
      since: apiDate(p.since),
      attempts: p.attempts,
      next_attempt_at: apiDate(p.next_attempt_at),
      last_error: p.last_error_code ? { code: p.last_error_code, message: p.last_error } : null,
    }));
  }
}
