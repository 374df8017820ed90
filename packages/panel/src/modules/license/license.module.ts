import type { TrustedKeys } from '@wispanel/contract';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { PanelConfig } from '../../config';
import type { PanelDB } from '../../db/schema';
import { ensureHardwareId } from '../../hardware-id';
import { buildInfo } from '../../version';
import { LicenseRepository } from './license.repository';
import { DEFAULT_LICENSE_SETTINGS, LicenseService, type LicenseSettings } from './license.service';
import { LicenseFileStore } from './license-file-store';
import { HttpLicensePortal, type LicensePortal } from './license-portal';
import { DAY_MS } from './license-state';
import { LicenseWebhook, type LicenseWebhookTuning } from './license-webhook';
import { portalEndpointFrom, resolvePortalTrust } from './portal-trust';

declare module '../../context' {
  interface PanelDeps {
    /** The portal's license API (default: HTTPS to config.portalUrl). */
    licensePortal?: LicensePortal | null;
    /** Trusted portal keys (default: config.portalKeysPath, or the dev portal's served keys). */
    portalKeys?: TrustedKeys;
    /** Randomness for refresh jitter (tests). */
    random?: () => number;
    /**
     * Monotonic clock (ms) the license's trusted time advances with. Default: `performance.now()`; with an
     * injected `clock` and no monotonic clock, the injected clock (it is then the only time source).
     */
    monotonic?: () => number;
    /** Test-only: shorter webhook retry delays / timeout / queue bound (docs/license.md, "Webhook"). */
    licenseWebhookTuning?: Partial<LicenseWebhookTuning>;
  }
  interface PanelServices {
    license: LicenseService;
  }
}

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
  portal?: LicensePortal | null;
  portalKeys?: TrustedKeys;
  random?: () => number;
  /** Monotonic clock (ms) of the trusted time; default `performance.now()`, or `clock` when a clock is injected. */
  monotonic?: () => number;
  webhookTuning?: Partial<LicenseWebhookTuning>;
}

/** Builds the license service (which is also the panel's LicenseGate). */
export async function createLicenseService(deps: LicenseModuleDeps): Promise<LicenseService> {
  const { config } = deps;
  const hardwareId = deps.hardwareId ?? ensureHardwareId(config.dataDir).hardwareId;
  const trust = await resolvePortalTrust(config, deps.logger, deps.portalKeys);
  let portal: LicensePortal | null = deps.portal === undefined ? null : deps.portal;
  const endpoint = portalEndpointFrom(config);
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
/** The background job: one scheduler step every `licenseTickSeconds` (first one shortly after start). */
export function startLicenseScheduler(service: LicenseService, tickSeconds: number): () => Promise<void> {
  if (tickSeconds <= 0) return async () => {};
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const schedule = (ms: number) => {
    timer = setTimeout(() => {
      running = service.tick().finally(() => {
        if (!stopped) schedule(tickSeconds * 1000);
      });
    }, ms);
    timer.unref();
  };
  schedule(1000 + Math.floor(Math.random() * 2000));
  return async () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    await running.catch(() => undefined);
  };
}
