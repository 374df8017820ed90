import {
  armorLicenseFile,
  LICENSE_ANSWER_STATUS,
  type LicenseAction,
  type LicenseAnswer,
  type LicenseAnswerPayload,
  type LicenseCode,
  type LicenseInfo,
  type LicensePayload,
  type LicenseRequest,
  maskLicenseKey,
  type SignBytes,
  signDocument,
  signDocumentWith,
  signLicenseFile,
} from '@wispanel/contract';
import type { Kysely } from 'kysely';
import type { LicensesTable, PortalTables } from '../../db';
import type { Actor, EventInput, EventLog } from '../events/event-log';
import { effectiveStatus, type LicenseRepository } from '../licenses/license.repository';
import type { LicenseKeyHasher, SigningService } from '../signing/signing-keys';
import type { Tier } from '../tiers/tiers.service';
import type { CheckRepository } from './check.repository';

const DAY = 86_400_000;

const REFUSAL_TEXT: Record<string, string> = {
  NOT_FOUND: 'License key not found',
  SUSPENDED: 'License is suspended',
  REVOKED: 'License has been revoked',
  EXPIRED: 'License term has ended',
  HARDWARE_MISMATCH: 'License is activated on another server',
  ACTIVATION_LIMIT: 'License has no free activation left',
  NOT_ACTIVATED: 'License is not activated on any server',
};

export interface LicenseApiResult {
  status: number;
  answer: LicenseAnswer;
}

/** The public license API: activate, verify, refresh, deactivate. Never sees HTTP; takes the caller's IP. */
export class LicenseApiService {
  constructor(
    private readonly repo: LicenseRepository,
    private readonly hasher: LicenseKeyHasher,
    private readonly signing: SigningService,
    private readonly events: EventLog,
    private readonly clock: () => Date,
    private readonly checks: CheckRepository,
    /** Signs the answers of verify/refresh (the hot path): the signing threads, or here with 0 threads. */
    private readonly signBytes: SignBytes,
  ) {}

  private info(row: LicensesTable, tier: Tier, used: number, now: Date): LicenseInfo {
    return {
      license_id: row.id,
      key_masked: maskLicenseKey(row.key_last4),
      tier: row.tier,
      status: effectiveStatus(row, now),
      limits: { max_users: tier.max_users, max_domains: tier.max_domains, max_databases: tier.max_databases },
      features: tier.features,
      issued_at: row.issued_at,
      expires_at: row.expires_at,
      lease_days: tier.lease_days,
      grace_days: tier.grace_days,
      max_activations: row.max_activations,
      activations_used: used,
    };
  }

  private licenseFile(info: LicenseInfo, req: LicenseRequest, now: Date): string {
    const key = this.signing.current();
    return signLicenseFile(this.licensePayload(info, req, now, key.kid), key);
  }

  private licensePayload(info: LicenseInfo, req: LicenseRequest, now: Date, kid: string): LicensePayload {
    const leaseEnd = now.getTime() + info.lease_days * DAY;
    const termEnd = info.expires_at ? Date.parse(info.expires_at) : Number.POSITIVE_INFINITY;
    const payload: LicensePayload = {
      v: 1,
      license_id: info.license_id,
      key_masked: info.key_masked,
      tier: info.tier,
      limits: info.limits,
      features: info.features,
      hardware_id: req.hardware_id,
      issued_at: info.issued_at,
      expires_at: info.expires_at,
      valid_until: new Date(Math.min(leaseEnd, termEnd)).toISOString(),
      lease_days: info.lease_days,
      grace_days: info.grace_days,
      server_time: now.toISOString(),
      nonce: req.nonce ?? '',
      status: 'active',
      kid,
    };
    return payload;
  }

  private answer(
    action: LicenseAction,
    code: LicenseCode,
    req: LicenseRequest,
    now: Date,
    extra: Partial<LicenseAnswer> & { licenseId?: string | null } = {},
  ): LicenseApiResult {
    const { status, payload, body } = this.answerParts(action, code, req, now, extra);
    body.signed = signDocument('license-answer', payload, this.signing.current());
    return { status, answer: body };
  }

  /**
   * The answer of verify/refresh, signed through `signBytes` (a signing thread) — with a new license file for a
   * VALID refresh, both signatures asked for at once.
   */
  private async signedAnswer(
    action: 'verify' | 'refresh',
    code: LicenseCode,
    req: LicenseRequest,
    now: Date,
    extra: Partial<LicenseAnswer> & { licenseId?: string | null; license: LicenseInfo },
  ): Promise<LicenseApiResult> {
    const key = this.signing.current();
    const file =
      action === 'refresh' && code === 'VALID'
        ? signDocumentWith(
            'license',
            this.licensePayload(extra.license, req, now, key.kid),
            key,
            this.signBytes,
          )
        : undefined;
    const { status, payload, body } = this.answerParts(action, code, req, now, {
      ...extra,
      ...(file ? { license_file: '' } : {}),
    });
    const [signed, doc] = await Promise.all([
      signDocumentWith('license-answer', payload, key, this.signBytes),
      file,
    ]);
    if (doc) body.license_file = armorLicenseFile(doc);
    body.signed = signed;
    return { status, answer: body };
  }

  /** An answer without its signature yet: the status, the payload to sign and the body (key order as sent). */
  private answerParts(
    action: LicenseAction,
    code: LicenseCode,
    req: LicenseRequest,
    now: Date,
    extra: Partial<LicenseAnswer> & { licenseId?: string | null },
  ): { status: number; payload: LicenseAnswerPayload; body: LicenseAnswer } {
    const valid = code === 'VALID' || code === 'DEACTIVATED';
    const { licenseId, ...rest } = extra;
    const payload: LicenseAnswerPayload = {
      v: 1,
      action,
      valid,
      code,
      license_id: licenseId ?? null,
      hardware_id: req.hardware_id,
      nonce: req.nonce ?? '',
      server_time: now.toISOString(),
    };
    const body: LicenseAnswer = {
      valid,
      code,
      ...(valid ? {} : { error: REFUSAL_TEXT[code] ?? code }),
      ...rest,
      server_time: payload.server_time,
      nonce: payload.nonce,
      signed: undefined as unknown as LicenseAnswer['signed'],
    };
    return { status: LICENSE_ANSWER_STATUS[code], payload, body };
  }

  private refusalFor(row: LicensesTable, now: Date): LicenseCode | null {
    const status = effectiveStatus(row, now);
    if (status === 'revoked') return 'REVOKED';
    if (status === 'suspended') return 'SUSPENDED';
    if (status === 'expired') return 'EXPIRED';
    return null;
  }

  private log(
    trx: Kysely<PortalTables>,
    action: LicenseAction,
    actor: Actor,
    req: LicenseRequest,
    licenseId: string | null,
    code: LicenseCode,
  ): Promise<void> {
    return this.events.append(this.event(action, actor, req, licenseId, code), trx);
  }

  private event(
    action: LicenseAction,
    actor: Actor,
    req: LicenseRequest,
    licenseId: string | null,
    code: LicenseCode,
  ): EventInput {
    return {
      licenseId,
      action: `license.${action}`,
      actor,
      hardwareId: req.hardware_id,
      panelVersion: req.panel_version ?? null,
      usage: req.usage ?? null,
      resultCode: code,
      data: req.hostname ? { hostname: req.hostname } : null,
    };
  }

  async handle(action: LicenseAction, req: LicenseRequest, ip: string | null): Promise<LicenseApiResult> {
    const actor: Actor = { kind: 'panel', id: req.hardware_id.slice(0, 12), ip };
    const keyHash = this.hasher.hash(req.key);
    if (action === 'activate' || action === 'deactivate') {
      return this.repo.withLock({ keyHash }, (trx, row) =>
        action === 'activate' ? this.activate(trx, actor, req, row) : this.deactivate(trx, actor, req, row),
      );
    }
    // verify and refresh, the hot path: one read (license, tier, activations), a group-committed write.
    const joined = await this.checks.license(keyHash, req.hardware_id);
    if (!joined) return this.check(action, actor, req, undefined);
    return this.check(action, actor, req, this.repo.fromCheckRow(joined));
  }

  private async activate(
    trx: Kysely<PortalTables>,
    actor: Actor,
    req: LicenseRequest,
    row: LicensesTable | undefined,
  ): Promise<LicenseApiResult> {
    const now = this.clock();
    if (!row) {
      await this.log(trx, 'activate', actor, req, null, 'NOT_FOUND');
      return this.answer('activate', 'NOT_FOUND', req, now);
    }
    const tier = await this.repo.tier(trx, row.tier);
    const bindings = await this.repo.activations(row.id, trx);
    const refusal = this.refusalFor(row, now);
    if (refusal) {
      await this.log(trx, 'activate', actor, req, row.id, refusal);
      return this.answer('activate', refusal, req, now, {
        licenseId: row.id,
        license: this.info(row, tier, bindings.length, now),
      });
    }
    const mine = bindings.find((b) => b.hardware_id === req.hardware_id);
    const seen = {
      hostname: req.hostname ?? mine?.hostname ?? '',
      panel_version: req.panel_version ?? mine?.panel_version ?? '',
      last_seen_at: now.toISOString(),
      last_usage: req.usage ? JSON.stringify(req.usage) : (mine?.last_usage ?? null),
    };
    let used = bindings.length;
    if (mine) {
      await this.repo.touch(trx, mine.id, seen);
    } else if (bindings.length >= row.max_activations) {
      await this.log(trx, 'activate', actor, req, row.id, 'ACTIVATION_LIMIT');
      return this.answer('activate', 'ACTIVATION_LIMIT', req, now, {
        licenseId: row.id,
        license: this.info(row, tier, used, now),
      });
    } else {
      await this.repo.bind(trx, row.id, req.hardware_id, now.toISOString(), seen);
      used += 1;
    }
    await this.log(trx, 'activate', actor, req, row.id, 'VALID');
    const info = this.info(row, tier, used, now);
    return this.answer('activate', 'VALID', req, now, {
      licenseId: row.id,
      detail: mine ? 'Already activated on this server' : 'Activated',
      license: info,
      license_file: this.licenseFile(info, req, now),
    });
  }

  private async deactivate(
    trx: Kysely<PortalTables>,
    actor: Actor,
    req: LicenseRequest,
    row: LicensesTable | undefined,
  ): Promise<LicenseApiResult> {
    const now = this.clock();
    if (!row) {
      await this.log(trx, 'deactivate', actor, req, null, 'NOT_FOUND');
      return this.answer('deactivate', 'NOT_FOUND', req, now);
    }
    const removed = await this.repo.unbind(trx, row.id, { hardwareId: req.hardware_id });
    await this.log(trx, 'deactivate', actor, req, row.id, 'DEACTIVATED');
    return this.answer('deactivate', 'DEACTIVATED', req, now, {
      licenseId: row.id,
      detail: removed ? 'Activation removed; the slot is free' : 'This server was not activated',
    });
  }

  /**
   * verify and refresh: no lock; they read, note that the server was seen, log the call, and answer once that is
   * committed (CheckRepository group-commits the writes of concurrent checks).
   */
  private async check(
    action: 'verify' | 'refresh',
    actor: Actor,
    req: LicenseRequest,
    found: { row: LicensesTable; tier: Tier; used: number; mine: string | null } | undefined,
  ): Promise<LicenseApiResult> {
    const now = this.clock();
    if (!found) {
      await this.checks.record({ event: this.events.row(this.event(action, actor, req, null, 'NOT_FOUND')) });
      return this.answer(action, 'NOT_FOUND', req, now);
    }
    const { row, tier, used, mine } = found;
    const info = this.info(row, tier, used, now);
    const code: LicenseCode =
      this.refusalFor(row, now) ?? (mine ? 'VALID' : used > 0 ? 'HARDWARE_MISMATCH' : 'NOT_ACTIVATED');
    const event = this.events.row(this.event(action, actor, req, row.id, code));
    // Signing (on a thread) and the group-committed write run side by side; the answer goes out after both.
    const [result] = await Promise.all([
      this.signedAnswer(action, code, req, now, { licenseId: row.id, license: info }),
      this.checks.record(
        mine
          ? {
              event,
              seen: {
                id: mine,
                last_seen_at: now.toISOString(),
                ...(req.usage ? { last_usage: JSON.stringify(req.usage) } : {}),
                ...(req.panel_version ? { panel_version: req.panel_version } : {}),
                ...(req.hostname ? { hostname: req.hostname } : {}),
              },
            }
          : { event },
      ),
    ]);
    return result;
  }
}
