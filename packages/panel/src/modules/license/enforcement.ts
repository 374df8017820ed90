import { AppError } from '@wispanel/kit';
import type { Kysely } from 'kysely';
import type { PanelDB } from '../../db/schema';
import type { Actor } from '../auth/actor';
import type { CountedResource } from '../resources/license-gate';
import type { Provisioner } from '../resources/provisioner';
import { LIMIT_OF, type LicenseLedger, PLURAL } from './ledger';
import { type AffectedResource, REPORT_LIMIT, RESOURCE_KINDS, type Usage } from './license.repository';

/** The first REPORT_LIMIT changed resources by id and name (answers and audit entries stay small). */
const listed = (rows: AffectedResource[]) =>
  rows.slice(0, REPORT_LIMIT).map((r) => ({ id: r.id, name: r.name }));

/**
 * Graduated enforcement (docs/license.md): the creation gate (freeze growth), disabling exactly the excess,
 * and re-enabling what the limits allow again, with the provisioner taking resources offline and back.
 */
export class Enforcement {
  private provisioner: Provisioner | null = null;

  constructor(private readonly ledger: LicenseLedger) {}

  attachProvisioner(provisioner: Provisioner): void {
    this.provisioner = provisioner;
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
        this.ledger.logger.error({ err, kind, name: r.name }, `provisioner ${action} failed`);
      });
    }
  }

  async disabledUsage(): Promise<Usage> {
    const [account, domain, database] = await Promise.all(
      RESOURCE_KINDS.map((k) => this.ledger.repo.disabledCount(k)),
    );
    return { account: account ?? 0, domain: domain ?? 0, database: database ?? 0 };
  }

  /** The creation gate: refuses a creation at or over the limit in force (inside the creation transaction). */
  async assertCanCreate(kind: CountedResource, actor: Actor, tx: Kysely<PanelDB>): Promise<void> {
    const ledger = this.ledger;
    const { evaluation: e } = ledger.snapshot();
    const limit = e.limits[LIMIT_OF[kind]];
    if (limit < 0) return;
    const count = await ledger.repo.count(kind, tx);
    if (count < limit) return;
    const message = `License limit reached: the ${e.is_valid ? `${e.tier} license` : 'unlicensed allowance'} allows ${limit} ${PLURAL[kind]} and ${count} exist; delete some or upgrade the license`;
    // Audited after the creation transaction has rolled back (it holds the only SQLite connection).
    setImmediate(() => {
      ledger
        .audit('create_refused', actor.username, 'refused', message, 'LICENSE_LIMIT_REACHED', {
          kind,
          limit,
          count,
        })
        .catch((err) => ledger.logger.warn({ err }, 'license audit write failed'));
    });
    throw new AppError('LICENSE_LIMIT_REACHED', message);
  }

  /**
   * POST /license/enforce (and the scheduler): disable exactly the excess, newest first. Audited when it
   * disabled something, or when asked by someone (`auditNothing`); the job's steps that change nothing are not.
   */
  async enforce(actor: string, auditNothing = true) {
    const ledger = this.ledger;
    const { evaluation: e } = ledger.snapshot();
    const now = ledger.now();
    const disabled: Record<
      string,
      { limit: number; disabled: number; resources: Array<{ id: number; name: string }> }
    > = {};
    let total = 0;
    for (const kind of RESOURCE_KINDS) {
      const limit = e.limits[LIMIT_OF[kind]];
      const reason = `license: over the ${e.is_valid ? `${e.tier} license` : 'unlicensed allowance'} limit of ${limit} ${PLURAL[kind]}`;
      const r = await ledger.repo.disableExcess(kind, limit, reason, now);
      disabled[PLURAL[kind]] = { limit, disabled: r.count, resources: listed(r.resources) };
      total += r.count;
      await this.provision(kind, 'suspend', r.resources);
    }
    if (total || auditNothing)
      await ledger.audit(
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
  }

  /** POST /license/re-enable (and the scheduler): restore what enforcement disabled, as far as limits allow. */
  async reenable(actor: string, auditNothing = true) {
    const ledger = this.ledger;
    const { evaluation: e } = ledger.snapshot();
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
      const r = await ledger.repo.reenableWithin(kind, limit);
      out[PLURAL[kind]] = {
        limit,
        reenabled: r.count,
        still_disabled: await ledger.repo.disabledCount(kind),
        resources: listed(r.resources),
      };
      total += r.count;
      await this.provision(kind, 'unsuspend', r.resources);
    }
    if (total || auditNothing)
      await ledger.audit(
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
  }
}
