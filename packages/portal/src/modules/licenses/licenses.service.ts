import type {
  PortalActivation,
  PortalLicense,
  PortalLicenseDetail,
  PortalLicenseStatus,
} from '@wispanel/contract';
import { LICENSE_KEY_PATTERN, maskLicenseKey } from '@wispanel/contract';
import { AppError, isUniqueViolation } from '@wispanel/kit';
import type { ActivationsTable, LicensesTable } from '../../db';
import type { Actor, EventLog } from '../events/event-log';
import type { LicenseKeyHasher } from '../signing/signing-keys';
import type { TierService } from '../tiers/tiers.service';
import { effectiveStatus, type LicenseRepository } from './license.repository';
import { generateLicenseKey, newLicenseId } from './license-keys';

export type LicenseStatus = PortalLicenseStatus;

/** A license as the admin API shows it: never the key, only its last four characters. */
export type LicenseView = PortalLicense;

export type ActivationView = PortalActivation;

export type LicenseDetail = PortalLicenseDetail;

export interface IssueInput {
  tier: string;
  /** Term length in days from now; or `expires_at`; neither = perpetual. */
  term_days?: number;
  expires_at?: string;
  max_activations?: number;
  customer_name?: string;
  customer_email?: string;
  notes?: string;
}

export interface ListFilter {
  status?: LicenseStatus;
  tier?: string;
  /** Substring of customer name or email, or the last four characters of the key. */
  q?: string;
  hardware_id?: string;
  page?: number;
  per_page?: number;
}

export interface Pagination {
  page: number;
  per_page: number;
  total: number;
  total_pages: number;
}

/** What C1's download API needs about a license bound to a server. */
export interface ActivatedLicense {
  id: string;
  tier: string;
  status: LicenseStatus;
  issued_at: string;
  expires_at: string | null;
  activation: { hardware_id: string; activated_at: string; last_seen_at: string };
}

const DAY = 86_400_000;
const LAST_DATE = Date.parse('9999-12-31T23:59:59.999Z');

export function activationFromRow(a: ActivationsTable): ActivationView {
  return {
    id: a.id,
    hardware_id: a.hardware_id,
    hostname: a.hostname,
    panel_version: a.panel_version,
    activated_at: a.activated_at,
    last_seen_at: a.last_seen_at,
    last_usage: a.last_usage ? JSON.parse(a.last_usage) : null,
  };
}

export class LicenseService {
  constructor(
    private readonly repo: LicenseRepository,
    private readonly hasher: LicenseKeyHasher,
    private readonly tiers: TierService,
    private readonly events: EventLog,
    private readonly clock: () => Date,
  ) {}

  private view(row: LicensesTable, used: number): LicenseView {
    return {
      id: row.id,
      key_masked: maskLicenseKey(row.key_last4),
      key_last4: row.key_last4,
      tier: row.tier,
      status: effectiveStatus(row, this.clock()),
      issued_at: row.issued_at,
      expires_at: row.expires_at,
      max_activations: row.max_activations,
      activations_used: used,
      customer_name: row.customer_name,
      customer_email: row.customer_email,
      notes: row.notes,
      created_at: row.created_at,
      updated_at: row.updated_at,
    };
  }

  private futureDate(field: string, value: string): string {
    const t = Date.parse(value);
    if (Number.isNaN(t))
      throw new AppError('VALIDATION_ERROR', `${field} is not a date`, {
        details: { [field]: [`The ${field.replace('_', ' ')} field must be a valid date.`] },
      });
    if (t <= this.clock().getTime()) {
      throw new AppError('VALIDATION_ERROR', `${field} must be in the future`, {
        details: { [field]: [`The ${field.replace('_', ' ')} field must be a date after now.`] },
      });
    }
    return new Date(t).toISOString();
  }

  private async requireTier(name: string): Promise<void> {
    try {
      await this.tiers.get(name);
    } catch {
      throw new AppError('VALIDATION_ERROR', `Tier ${name} does not exist`, {
        details: { tier: ['The selected tier is invalid.'] },
      });
    }
  }

  /** Issues a license; the key is returned once and stored only as an HMAC and its last four characters. */
  async issue(actor: Actor, input: IssueInput): Promise<{ key: string; license: LicenseView }> {
    await this.requireTier(input.tier);
    if (input.term_days !== undefined && input.expires_at !== undefined) {
      throw new AppError('VALIDATION_ERROR', 'Give term_days or expires_at, not both', {
        details: { term_days: ['The term days field prohibits expires at from being present.'] },
      });
    }
    const now = this.clock();
    const expires =
      input.expires_at !== undefined
        ? this.futureDate('expires_at', input.expires_at)
        : input.term_days !== undefined
          ? new Date(now.getTime() + input.term_days * DAY).toISOString()
          : null;
    for (let attempt = 0; ; attempt++) {
      const key = generateLicenseKey();
      const row: LicensesTable = {
        id: newLicenseId(),
        key_hash: this.hasher.hash(key),
        key_last4: key.slice(-4),
        tier: input.tier,
        status: 'active',
        issued_at: now.toISOString(),
        expires_at: expires,
        max_activations: input.max_activations ?? 1,
        customer_name: input.customer_name ?? '',
        customer_email: input.customer_email ?? '',
        notes: input.notes ?? '',
        created_at: now.toISOString(),
        updated_at: now.toISOString(),
      };
      try {
        await this.repo.transaction(async (trx) => {
          await this.repo.insert(trx, row);
          await this.events.append(
            {
              licenseId: row.id,
              action: 'license.issued',
              actor,
              resultCode: 'OK',
              data: { tier: row.tier, expires_at: row.expires_at, max_activations: row.max_activations },
            },
            trx,
          );
        });
        return { key, license: this.view(row, 0) };
      } catch (err) {
        if (isUniqueViolation(err) && attempt < 3) continue; // a key collision: draw again
        throw err;
      }
    }
  }

  /** Finds a license by id (`lic_…`) or by its full key. */
  private async findRow(idOrKey: string): Promise<LicensesTable> {
    const row = LICENSE_KEY_PATTERN.test(idOrKey.toUpperCase())
      ? await this.repo.byKeyHash(this.hasher.hash(idOrKey))
      : await this.repo.byId(idOrKey);
    if (!row) throw new AppError('NOT_FOUND', 'License not found');
    return row;
  }

  async get(idOrKey: string): Promise<LicenseDetail> {
    const row = await this.findRow(idOrKey);
    const activations = await this.repo.activations(row.id);
    const recent = await this.events.list({ licenseId: row.id, limit: 20 });
    return {
      ...this.view(row, activations.length),
      activations: activations.map(activationFromRow),
      recent_events: recent,
    };
  }

  async list(filter: ListFilter): Promise<{ licenses: LicenseView[]; pagination: Pagination }> {
    const page = filter.page ?? 1;
    const perPage = filter.per_page ?? 25;
    const { rows, total } = await this.repo.list(
      { ...filter, page, per_page: perPage },
      this.clock().toISOString(),
    );
    const counts = await this.repo.activationCounts(rows.map((r) => r.id));
    return {
      licenses: rows.map((r) => this.view(r, counts.get(r.id) ?? 0)),
      pagination: { page, per_page: perPage, total, total_pages: Math.max(1, Math.ceil(total / perPage)) },
    };
  }

  /** Runs a change on a locked license row and records it in the event log in the same transaction. */
  private async change(
    actor: Actor,
    idOrKey: string,
    action: string,
    apply: (row: LicensesTable) => Partial<LicensesTable> | null,
    data: (row: LicensesTable) => Record<string, unknown> = () => ({}),
  ): Promise<LicenseDetail> {
    const found = await this.findRow(idOrKey);
    await this.repo.withLock({ id: found.id }, async (trx, row) => {
      if (!row) throw new AppError('NOT_FOUND', 'License not found');
      const set = apply(row);
      if (set) await this.repo.update(trx, row.id, { ...set, updated_at: this.clock().toISOString() });
      await this.events.append(
        { licenseId: row.id, action, actor, resultCode: set ? 'OK' : 'UNCHANGED', data: data(row) },
        trx,
      );
    });
    return this.get(found.id);
  }

  suspend(actor: Actor, idOrKey: string, reason?: string): Promise<LicenseDetail> {
    return this.change(
      actor,
      idOrKey,
      'license.suspended',
      (row) => {
        if (row.status === 'revoked') throw new AppError('CONFLICT', 'License is revoked and cannot change');
        return row.status === 'suspended' ? null : { status: 'suspended' };
      },
      () => (reason ? { reason } : {}),
    );
  }

  reinstate(actor: Actor, idOrKey: string): Promise<LicenseDetail> {
    return this.change(actor, idOrKey, 'license.reinstated', (row) => {
      if (row.status === 'revoked') throw new AppError('CONFLICT', 'License is revoked and cannot change');
      return row.status === 'active' ? null : { status: 'active' };
    });
  }

  revoke(actor: Actor, idOrKey: string, reason?: string): Promise<LicenseDetail> {
    return this.change(
      actor,
      idOrKey,
      'license.revoked',
      (row) => (row.status === 'revoked' ? null : { status: 'revoked' }),
      () => (reason ? { reason } : {}),
    );
  }

  /** Adds days to the term (from its end, or from now when it already ended), or sets a new end. */
  extend(
    actor: Actor,
    idOrKey: string,
    input: { days?: number; expires_at?: string },
  ): Promise<LicenseDetail> {
    if ((input.days === undefined) === (input.expires_at === undefined)) {
      throw new AppError('VALIDATION_ERROR', 'Give days or expires_at', {
        details: { days: ['The days field is required when expires at is not present.'] },
      });
    }
    const target = input.expires_at !== undefined ? this.futureDate('expires_at', input.expires_at) : null;
    return this.change(
      actor,
      idOrKey,
      'license.extended',
      (row) => {
        if (row.status === 'revoked') throw new AppError('CONFLICT', 'License is revoked and cannot change');
        if (target) return { expires_at: target };
        if (row.expires_at === null)
          throw new AppError('CONFLICT', 'License is perpetual; set expires_at instead');
        const base = Math.max(Date.parse(row.expires_at), this.clock().getTime());
        const end = base + (input.days ?? 0) * DAY;
        // Dates are stored and compared as ISO text, which holds only up to the year 9999.
        if (end > LAST_DATE) {
          throw new AppError('VALIDATION_ERROR', 'The term cannot end after the year 9999', {
            details: { days: ['The days field would move the term past 9999-12-31.'] },
          });
        }
        return { expires_at: new Date(end).toISOString() };
      },
      (row) => ({ from: row.expires_at, ...input }),
    );
  }

  async changeTier(actor: Actor, idOrKey: string, tier: string): Promise<LicenseDetail> {
    await this.requireTier(tier);
    return this.change(
      actor,
      idOrKey,
      'license.tier_changed',
      (row) => (row.tier === tier ? null : { tier }),
      (row) => ({ from: row.tier, to: tier }),
    );
  }

  async setMaxActivations(actor: Actor, idOrKey: string, max: number): Promise<LicenseDetail> {
    return this.change(
      actor,
      idOrKey,
      'license.max_activations_changed',
      (row) => (row.max_activations === max ? null : { max_activations: max }),
      (row) => ({ from: row.max_activations, to: max }),
    );
  }

  /** Removes a binding (by hardware id or activation id) so the slot is free again. */
  async resetActivation(actor: Actor, idOrKey: string, activation: string): Promise<LicenseDetail> {
    const found = await this.findRow(idOrKey);
    await this.repo.withLock({ id: found.id }, async (trx) => {
      const removed = await this.repo.unbind(trx, found.id, { hardwareIdOrId: activation });
      if (!removed) throw new AppError('NOT_FOUND', 'Activation not found');
      await this.events.append(
        {
          licenseId: found.id,
          action: 'license.activation_reset',
          actor,
          hardwareId: /^[0-9a-f]{64}$/.test(activation) ? activation : null,
          resultCode: 'OK',
          data: { activation },
        },
        trx,
      );
    });
    return this.get(found.id);
  }

  /**
   * For the download API: the license with this key if it is activated on this hardware id, else null.
   * Status is the effective one (`expired` after the term); the caller decides what each status may do.
   */
  /**
   * The status of a license (by id) for a hardware id still activated on it, null when it is not (anymore):
   * what a download token is re-checked against when its artifact is fetched.
   */
  /** Licenses by stored status (metrics). */
  countByStatus(): Promise<Map<string, number>> {
    return this.repo.countByStatus();
  }

  async statusForActivation(licenseId: string, hardwareId: string): Promise<string | null> {
    const row = await this.repo.activeFor(licenseId, hardwareId);
    return row ? effectiveStatus(row, this.clock()) : null;
  }

  async findActivated(key: string, hardwareId: string): Promise<ActivatedLicense | null> {
    if (typeof key !== 'string' || !LICENSE_KEY_PATTERN.test(key) || !/^[0-9a-f]{64}$/.test(hardwareId))
      return null;
    const row = await this.repo.activatedByKeyHash(this.hasher.hash(key), hardwareId);
    if (!row) return null;
    return {
      id: row.id,
      tier: row.tier,
      status: effectiveStatus(row, this.clock()),
      issued_at: row.issued_at,
      expires_at: row.expires_at,
      activation: {
        hardware_id: row.hardware_id,
        activated_at: row.activated_at,
        last_seen_at: row.last_seen_at,
      },
    };
  }
}
