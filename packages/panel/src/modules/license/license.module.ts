import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { PanelConfig } from '../../config';
import type { PanelDB } from '../../db/schema';
import { ensureHardwareId } from '../../hardware-id';
import { buildInfo } from '../../version';
import { CLOCK_RECORD_STEP_MS } from './ledger';
import { LicenseRepository } from './license.repository';
import { DEFAULT_LICENSE_SETTINGS, LicenseService, type LicenseSettings } from './license.service';
import { LicenseFileStore } from './license-file-store';
import { HttpLicensePortal, type LicensePortal } from './license-portal';
import { DAY_MS } from './license-state';
import { LicenseWebhook, type LicenseWebhookTuning } from './license-webhook';
import type { PortalEndpoint, PortalTrustSource } from './portal-trust';

export function licenseSettingsFrom(config: PanelConfig): LicenseSettings {
  return {
    ...DEFAULT_LICENSE_SETTINGS,
    graceMs: config.licenseGraceDays === undefined ? null : config.licenseGraceDays * DAY_MS,
    enforceAfterMs: config.licenseEnforceAfterHours * 3_600_000,
    checkIntervalMs: config.licenseCheckIntervalSeconds * 1000,
    unlicensed: config.unlicensedLimits,
  };
}

export interface LicenseModuleDeps {
  config: PanelConfig;
  db: Kysely<PanelDB>;
  logger: Logger;
  clock: () => Date;
  hardwareId?: string;
  /** The configured portal (null: none); the license client is built for it unless `portal` is given. */
  endpoint: PortalEndpoint | null;
  /** The portal's keys, shared with the update service (portal-trust.ts). */
  trust: PortalTrustSource;
  portal?: LicensePortal | null;
  random?: () => number;
  /** Monotonic clock (ms) of the trusted time; default `performance.now()`, or `clock` when a clock is injected. */
  monotonic?: () => number;
  webhookTuning?: Partial<LicenseWebhookTuning>;
}

/** Builds the license service (which is also the panel's LicenseGate). */
export async function createLicenseService(deps: LicenseModuleDeps): Promise<LicenseService> {
  const { config } = deps;
  const hardwareId = deps.hardwareId ?? ensureHardwareId(config.dataDir).hardwareId;
  let portal: LicensePortal | null = deps.portal === undefined ? null : deps.portal;
  const { endpoint, trust } = deps;
  if (deps.portal === undefined && endpoint)
    portal = new HttpLicensePortal(endpoint.url, { ca: endpoint.ca });
  const webhook = config.licenseWebhookUrl
    ? new LicenseWebhook({
        url: config.licenseWebhookUrl,
        secret: config.licenseWebhookSecret ?? '',
        hardwareId,
        version: buildInfo().version,
        logger: deps.logger,
        clock: deps.clock,
        tuning: deps.webhookTuning,
      })
    : null;
  const service = new LicenseService({
    webhook,
    repo: new LicenseRepository(deps.db),
    store: new LicenseFileStore(config.dataDir, () => trust.keys, hardwareId),
    answerKeys: () => trust.answerKeys,
    portal,
    hardwareId,
    clock: deps.clock,
    monotonic: deps.monotonic,
    random: deps.random ?? Math.random,
    settings: licenseSettingsFrom(config),
    logger: deps.logger,
    panelVersion: buildInfo().version,
    development: config.portalDev,
  });
  await service.init();
  return service;
}
/**
 * The background job (docs/license.md, "Background job"): a timer fires every `licenseTickSeconds` (first
 * shortly after start) whatever the previous step is doing. Each firing records the trusted time; a new
 * scheduler step starts only when the previous one has ended (steps never overlap, and one slow step never
 * stops the timer: every portal call inside it ends within its deadline). With the tick off the trusted time
 * is still recorded once a minute, so the floor survives restarts.
 */
export function startLicenseScheduler(service: LicenseService, tickSeconds: number): () => Promise<void> {
  let running: Promise<unknown> | null = null;
  let stopped = false;
  const record = () => {
    service.recordTime().catch(() => undefined);
  };
  const keeper = setInterval(record, CLOCK_RECORD_STEP_MS);
  keeper.unref();
  let first: NodeJS.Timeout | undefined;
  let every: NodeJS.Timeout | undefined;
  if (tickSeconds > 0) {
    const fire = () => {
      if (stopped) return;
      record();
      if (running) return;
      running = service.tick().finally(() => {
        running = null;
      });
    };
    first = setTimeout(
      () => {
        fire();
        every = setInterval(fire, tickSeconds * 1000);
        every.unref();
      },
      1000 + Math.floor(Math.random() * 2000),
    );
    first.unref();
  }
  return async () => {
    stopped = true;
    clearInterval(keeper);
    if (first) clearTimeout(first);
    if (every) clearInterval(every);
    await running?.catch(() => undefined);
  };
}
