import { randomBytes } from 'node:crypto';
import { LICENSE_KEY_PATTERN, type LicensePayload, maskLicenseKey } from '@wispanel/contract';
import { AppError } from '@wispanel/kit';
import type { PendingDeactivations, PreviousLicenseView } from './deactivations';
import { apiDate, type LicenseLedger } from './ledger';
import type { LicenseState } from './license.repository';
import { callLicensePortal, type LicenseOperation, type LicensePortal } from './license-portal';
import {
  acceptLicenseFile,
  acceptVerdict,
  type ExchangeTrust,
  licenseRequest,
  portalAnswerError,
} from './portal-exchange';
import type { LicensePresenter } from './presentation';

const asAppError = (err: unknown) =>
  err instanceof AppError ? err : new AppError('INTERNAL_ERROR', String(err));

/**
 * The lease lifecycle: activate, refresh and verify against the portal. Every answer goes through the pure
 * exchange (portal-exchange.ts) before anything is stored; state and audit go through the ledger. Callers run
 * these inside the ledger's serial queue.
 */
export class LeaseLifecycle {
  constructor(
    private readonly ledger: LicenseLedger,
    private readonly portal: LicensePortal | null,
    private readonly trust: () => ExchangeTrust,
    private readonly deactivations: PendingDeactivations,
    private readonly panel: { version: string; hostname: () => string },
    /** The `license` + `usage` objects the answers carry. */
    private readonly presenter: Pick<LicensePresenter, 'overview' | 'licenseView'>,
  ) {}

  private requireKey(): string {
    const key = this.ledger.state.license_key;
    if (!key)
      throw new AppError(
        'LICENSE_NOT_ACTIVATED',
        'No license is activated on this panel: POST /api/v1/license/activate first',
      );
    return key;
  }

  private requirePortal(): LicensePortal {
    if (!this.portal) {
      throw new AppError(
        'PORTAL_NOT_CONFIGURED',
        'No license portal is configured: start the panel with --portal-url and --portal-keys',
      );
    }
    return this.portal;
  }

  /** One call to the portal with a fresh nonce; returns the answer and what it must match. */
  private async exchange(op: LicenseOperation, key: string) {
    const portal = this.requirePortal();
    const nonce = randomBytes(16).toString('hex');
    const usage = await this.ledger.repo.usage();
    const answer = await callLicensePortal(
      portal,
      op,
      licenseRequest({
        key,
        hardwareId: this.trust().hardwareId,
        nonce,
        panelVersion: this.panel.version,
        hostname: this.panel.hostname(),
        usage: { accounts: usage.account, domains: usage.domain, databases: usage.database },
      }),
    );
    const expect = {
      nonce,
      signedFloor: this.ledger.state.signed_time,
      toleranceMs: this.ledger.settings.clockToleranceMs,
    };
    return { answer, expect };
  }

  /** Stores an accepted file: the file, its time as the new floors, and the next check from the trusted time. */
  private async storeAccepted(text: string, p: LicensePayload, extra: Partial<LicenseState>): Promise<void> {
    const ledger = this.ledger;
    ledger.store.write(text);
    const clock = ledger.acceptSignedTime(p.server_time);
    const now = ledger.nowMs();
    await ledger.save({
      ...extra,
      ...clock,
      license_file_time: p.server_time,
      last_checked: new Date(now).toISOString(),
      last_error: null,
      last_error_code: null,
      last_error_at: null,
      consecutive_failures: 0,
      next_refresh_at: ledger.nextCheckAfterSuccess(p.valid_until, now),
      portal_verdict: null,
      portal_verdict_at: null,
    });
  }

  private async recordFailure(err: AppError): Promise<void> {
    const ledger = this.ledger;
    const now = ledger.nowMs();
    const failures = ledger.state.consecutive_failures + 1;
    await ledger.save({
      last_error: err.message,
      last_error_code: err.code,
      last_error_at: new Date(now).toISOString(),
      consecutive_failures: failures,
      next_refresh_at: ledger.nextCheckAfterFailure(failures, now),
    });
  }

  /** POST /license/activate. */
  async activate(actorName: string, rawKey: string) {
    const ledger = this.ledger;
    const key = rawKey.trim().toUpperCase();
    if (!LICENSE_KEY_PATTERN.test(key)) {
      await ledger.audit('activate', actorName, 'refused', 'Malformed license key', 'LICENSE_KEY_MALFORMED');
      throw new AppError('LICENSE_KEY_MALFORMED', 'License key must look like WISP-XXXX-XXXX-XXXX');
    }
    const before = ledger.snapshot();
    const previousKey = before.state.license_key;
    const replaced =
      previousKey !== null && previousKey !== key ? this.deactivations.entryFor(previousKey) : null;
    let payload: LicensePayload;
    try {
      const { answer, expect } = await this.exchange('activate', key);
      if (!answer.valid) throw portalAnswerError(answer);
      payload = acceptLicenseFile(answer.license_file, this.trust(), expect);
      // The replaced key is remembered as pending in the same write that stores the new key, so a crash
      // before its deactivation leaves it to the job. A key activated again is no longer pending.
      await this.storeAccepted(answer.license_file as string, payload, {
        license_key: key,
        activated_at: ledger.now().toISOString(),
        pending_deactivations: this.deactivations.listAfterActivation(key, previousKey, replaced),
      });
    } catch (err) {
      const e = err instanceof AppError ? err : new AppError('INTERNAL_ERROR', 'Activation failed');
      await ledger.audit('activate', actorName, 'failed', e.message, e.code, { key: maskLicenseKey(key) });
      throw err;
    }
    await ledger.audit('activate', actorName, 'success', `Activated ${payload.tier} license`, 'VALID', {
      key: maskLicenseKey(key),
      tier: payload.tier,
      limits: payload.limits,
      valid_until: payload.valid_until,
      replaced: before.evaluation.status === 'unlicensed' ? null : before.evaluation.tier,
      replaced_key: replaced ? maskLicenseKey(replaced.key) : null,
    });
    // Best effort, after the new license is stored: free the replaced key's slot on the portal.
    const previous: PreviousLicenseView | null = replaced
      ? await this.deactivations.attempt(replaced.key, actorName)
      : null;
    const o = await this.presenter.overview();
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
  }

  /** POST /license/refresh (and the scheduler): a new lease file from the portal. */
  async refresh(actor: string) {
    const ledger = this.ledger;
    const key = this.requireKey();
    const before = ledger.snapshot();
    let payload: LicensePayload;
    try {
      const { answer, expect } = await this.exchange('refresh', key);
      if (!answer.valid) {
        // A signed file (e.g. a suspension) is stored; a bare refusal is recorded and changes nothing:
        // the lease in hand runs its course.
        if (answer.license_file) {
          const p = acceptLicenseFile(answer.license_file, this.trust(), expect);
          await this.storeAccepted(answer.license_file, p, {});
        } else {
          const verdict = acceptVerdict(answer, this.trust(), expect);
          if (verdict) {
            await ledger.save({
              portal_verdict: verdict.code,
              portal_verdict_at: verdict.server_time,
              ...ledger.acceptSignedTime(verdict.server_time),
            });
          }
        }
        throw portalAnswerError(answer);
      }
      payload = acceptLicenseFile(answer.license_file, this.trust(), expect);
      await this.storeAccepted(answer.license_file as string, payload, {});
    } catch (err) {
      const e = asAppError(err);
      await this.recordFailure(e);
      await ledger.audit('refresh', actor, 'failed', e.message, e.code, {
        status: before.evaluation.status,
        next_check_at: ledger.state.next_refresh_at,
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
    await ledger.audit('refresh', actor, 'success', `Lease renewed until ${payload.valid_until}`, 'VALID', {
      previous_valid_until: prev?.valid_until ?? null,
      valid_until: payload.valid_until,
      changes,
    });
    // The portal answers again: replaced keys still bound to this server are freed now.
    await this.deactivations
      .retry(actor, true)
      .catch((err) => ledger.logger.error({ err }, 'license: retrying pending deactivations failed'));
    return {
      success: true,
      message: Object.keys(changes).length ? 'Lease renewed; the license changed' : 'Lease renewed',
      refreshed: true,
      previous_valid_until: apiDate(prev?.valid_until),
      valid_until: apiDate(payload.valid_until),
      changes,
      next_check_at: apiDate(ledger.state.next_refresh_at),
      license: this.presenter.licenseView(),
    };
  }

  /** POST /license/verify: re-check the stored file from disk, then ask the portal (when configured). */
  async verify(actorName: string) {
    const ledger = this.ledger;
    ledger.store.invalidate();
    const snap = ledger.snapshot();
    const local = {
      has_license_file: snap.stored.hasFile,
      signature_valid: snap.stored.payload !== null,
      status: snap.evaluation.status,
      is_valid: snap.evaluation.is_valid,
      reason: snap.evaluation.reason,
      message: snap.evaluation.message,
    };
    let portal: Record<string, unknown> = { checked: false, reason: 'not configured' };
    if (this.portal && snap.state.license_key) {
      try {
        const { answer, expect } = await this.exchange('verify', snap.state.license_key);
        portal = {
          checked: true,
          reachable: true,
          valid: answer.valid,
          code: answer.code,
          detail: answer.detail ?? null,
        };
        if (answer.license_file) {
          const p = acceptLicenseFile(answer.license_file, this.trust(), expect);
          await this.storeAccepted(answer.license_file, p, {});
          portal.stored_new_file = true;
        } else if (answer.valid) {
          await ledger.save({
            last_checked: ledger.now().toISOString(),
            consecutive_failures: 0,
            last_error: null,
            last_error_code: null,
            last_error_at: null,
          });
        }
      } catch (err) {
        const e = asAppError(err);
        await this.recordFailure(e);
        portal = {
          checked: true,
          reachable: e.code !== 'PORTAL_UNREACHABLE',
          valid: null,
          code: e.code,
          detail: e.message,
        };
      }
    } else if (this.portal) {
      portal = { checked: false, reason: 'no license key activated' };
    }
    await ledger.audit(
      'verify',
      actorName,
      local.is_valid ? 'valid' : 'invalid',
      local.message,
      local.reason,
      {
        local,
        portal,
      },
    );
    return { success: true, message: local.message, local, portal, license: this.presenter.licenseView() };
  }
}
