import { hostname } from 'node:os';
import type { TrustedKeys } from '@wispanel/contract';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { PanelDB } from '../../db/schema';
import type { Actor } from '../auth/actor';
import type { CountedResource, LicenseGate } from '../resources/license-gate';
import type { Provisioner } from '../resources/provisioner';
import { PendingDeactivations } from './deactivations';
import { Enforcement } from './enforcement';
import { LeaseLifecycle } from './lease';
import { LicenseLedger, type LicenseSettings, type Snapshot } from './ledger';
import type { AuditFilter, LicenseRepository } from './license.repository';
import type { LicenseFileStore } from './license-file-store';
import type { LicensePortal } from './license-portal';
import type { LicenseWebhook } from './license-webhook';
import type { ExchangeTrust } from './portal-exchange';
import { LicensePresenter } from './presentation';
import { LicenseScheduler, type TickResult } from './scheduler';

export type { PreviousLicenseView } from './deactivations';
export { apiDate, DEFAULT_LICENSE_SETTINGS, LIMIT_OF, type LicenseSettings } from './ledger';

export interface LicenseServiceDeps {
  repo: LicenseRepository;
  store: LicenseFileStore;
  portal: LicensePortal | null;
  /** Keys whose signature a new portal answer may carry (the `current` keys; default: every stored-file key). */
  answerKeys?: () => TrustedKeys;
  hardwareId: string;
  clock: () => Date;
  /** Monotonic clock (ms) for the trusted time; default: `clock` (tests moving one fake clock). */
  monotonic?: () => number;
  random: () => number;
  settings: LicenseSettings;
  logger: Logger;
  panelVersion: string;
  /** The portal is the explicit local development portal (npm start). */
  development?: boolean;
  /** Outbound webhook for audit entries (--license-webhook-url); null/absent = none. */
  webhook?: LicenseWebhook | null;
}

/**
 * The panel's license subsystem, composed from its parts (docs/license.md; ARCHITECTURE.md): the ledger
 * (state row, save, audit, serial queue, trusted clock, backoff), the pure portal exchange, the lease
 * lifecycle, pending deactivations, enforcement, presentation and the scheduler step. Routes call this
 * facade only; it owns no logic of its own beyond putting portal-changing operations in the serial queue.
 * State lives in memory (loaded at init, written through), so the creation gate never needs the outer
 * database connection while a creation transaction holds it.
 */
export class LicenseService implements LicenseGate {
  private readonly ledger: LicenseLedger;
  private readonly lease: LeaseLifecycle;
  private readonly deactivations: PendingDeactivations;
  private readonly enforcement: Enforcement;
  private readonly presenter: LicensePresenter;
  private readonly scheduler: LicenseScheduler;
  private refreshing: ReturnType<LeaseLifecycle['refresh']> | null = null;

  constructor(private readonly deps: LicenseServiceDeps) {
    this.ledger = new LicenseLedger(deps);
    const trust = (): ExchangeTrust => ({
      answerKeys: deps.answerKeys ? deps.answerKeys() : deps.store.trustedKeys(),
      hardwareId: deps.hardwareId,
    });
    const panel = { version: deps.panelVersion, hostname: () => hostname() };
    this.deactivations = new PendingDeactivations(this.ledger, deps.portal, trust, panel);
    this.enforcement = new Enforcement(this.ledger);
    this.presenter = new LicensePresenter(this.ledger, this.enforcement, this.deactivations, {
      url: deps.portal?.url ?? null,
      development: deps.development === true,
    });
    this.lease = new LeaseLifecycle(
      this.ledger,
      deps.portal,
      trust,
      this.deactivations,
      panel,
      this.presenter,
    );
    this.scheduler = new LicenseScheduler({
      ledger: this.ledger,
      deactivations: this.deactivations,
      enforcement: this.enforcement,
      portalConfigured: deps.portal !== null,
      refresh: (actor) => this.refresh(actor),
      // The job audits only what changed (a step that disables or re-enables nothing writes no row).
      enforce: (actor) => this.ledger.serial(() => this.enforcement.enforce(actor, false)),
      reenable: (actor) => this.ledger.serial(() => this.enforcement.reenable(actor, false)),
      serial: (fn) => this.ledger.serial(fn),
    });
  }

  async init(): Promise<void> {
    await this.ledger.init();
  }

  /** Enforcement takes disabled domains/databases/accounts offline through the panel's provisioner. */
  attachProvisioner(provisioner: Provisioner): void {
    this.enforcement.attachProvisioner(provisioner);
  }

  /** At shutdown: records the trusted time, stops the outbound webhook (queued deliveries are lost). */
  async stop(): Promise<void> {
    await this.ledger
      .recordTime(true)
      .catch((err) => this.deps.logger.warn({ err }, 'license: recording the trusted time failed'));
    this.deps.webhook?.stop();
  }

  /**
   * An entry from another module in the panel's audit log (and its webhook): the update policy's `notify`
   * (docs/updates.md "Update policy") uses it for `update_available`.
   */
  audit(
    action: string,
    actor: string,
    outcome: string,
    message: string,
    code?: string | null,
    detail?: unknown,
  ) {
    return this.ledger.audit(action, actor, outcome, message, code, detail);
  }

  get portalConfigured(): boolean {
    return this.deps.portal !== null;
  }

  snapshot(): Snapshot {
    return this.ledger.snapshot();
  }

  /** The trusted time is written to the state row (the clock keeper; at most once a minute). */
  recordTime(): Promise<void> {
    return this.ledger.recordTime();
  }

  // ---- read side ----
  licenseView(snap?: Snapshot) {
    return this.presenter.licenseView(snap);
  }
  overview() {
    return this.presenter.overview();
  }
  limits() {
    return this.presenter.limits();
  }
  summary() {
    return this.presenter.summary();
  }
  disabledResources(limit: number, offset: number) {
    return this.presenter.disabledResources(limit, offset);
  }
  auditLog(limit: number, before?: number, filter: AuditFilter = {}) {
    return this.presenter.auditLog(limit, before, filter);
  }

  // ---- the creation gate ----
  assertCanCreate(kind: CountedResource, actor: Actor, tx: Kysely<PanelDB>): Promise<void> {
    return this.enforcement.assertCanCreate(kind, actor, tx);
  }

  // ---- portal-changing operations, one at a time ----
  activate(actor: Actor, rawKey: string) {
    return this.ledger.serial(() => this.lease.activate(actor.username, rawKey));
  }
  /** A refresh asked for while one is in flight joins it (one portal call; the caller waits one deadline). */
  refresh(actor: string) {
    if (this.refreshing) return this.refreshing;
    const run = this.ledger.serial(() => this.lease.refresh(actor));
    this.refreshing = run;
    const done = () => {
      if (this.refreshing === run) this.refreshing = null;
    };
    run.then(done, done);
    return run;
  }
  verify(actor: Actor) {
    return this.ledger.serial(() => this.lease.verify(actor.username));
  }
  enforce(actor: string) {
    return this.ledger.serial(() => this.enforcement.enforce(actor));
  }
  reenable(actor: string) {
    return this.ledger.serial(() => this.enforcement.reenable(actor));
  }

  /** One background step (scheduler.ts). Never throws. */
  tick(): Promise<TickResult> {
    return this.scheduler.tick();
  }
}
