import { join } from 'node:path';
import { MemoryRateLimiter, type RateLimiter } from '@wispanel/kit';
import type { PanelContext, PanelDeps } from './context';
import { IdempotencyStore, loadIdempotencyKey } from './http/idempotency';
import { ApiKeyService } from './modules/api-keys/api-keys.service';
import { AuthService } from './modules/auth/auth.service';
import { LastUsedTracker } from './modules/auth/last-used';
import { DatabaseService } from './modules/databases/databases.service';
import { DomainService } from './modules/domains/domains.service';
import { createLicenseService, startLicenseScheduler } from './modules/license/license.module';
import { PortalTrustSource, portalEndpointFrom } from './modules/license/portal-trust';
import { RecordingProvisioner } from './modules/resources/provisioner';
import { ClientPortalDownloads } from './modules/updates/portal-downloads';
import { createUpdatePolicyService, type UpdatePolicyService } from './modules/updates/update-policy.service';
import { followSupervisor, UpdatesService } from './modules/updates/updates.service';
import { UserService } from './modules/users/users.service';
import { buildInfo } from './version';

/** The panel's services, and the background jobs they run (started once the routes are registered). */
export interface ComposedPanel {
  ctx: PanelContext;
  limiter: RateLimiter;
  /** Starts the background jobs: license scheduler, API-key last-used writer, update scheduler and reports. */
  start(): void;
  /** Stops them and flushes what they hold (app close). */
  stop(): Promise<void>;
}

/**
 * The panel's composition root: every service and client is built here, once, from `PanelDeps` (the whole
 * dependency list is in context.ts), and handed down in `PanelContext`. Route plugins and CLI commands only
 * receive services; they construct none.
 */
export async function composePanel(deps: PanelDeps): Promise<ComposedPanel> {
  const { config, db, dialect, logger } = deps;
  const clock = deps.clock ?? (() => new Date());

  // The portal, and which of its keys to trust: resolved once here, shared by the license and the updates.
  const endpoint = portalEndpointFrom(config);
  const trust = await PortalTrustSource.resolve(config, logger, deps.portalKeys);
  const license = await createLicenseService({
    config,
    db,
    logger,
    clock,
    hardwareId: deps.hardwareId,
    endpoint,
    trust,
    portal: deps.licensePortal,
    random: deps.random,
    // The trusted time advances with the monotonic clock; an injected clock is the only time source.
    monotonic: deps.monotonic ?? (deps.clock ? undefined : () => performance.now()),
    webhookTuning: deps.licenseWebhookTuning,
  });
  const licenseGate = deps.licenseGate ?? license;
  const provisioner = deps.provisioner ?? new RecordingProvisioner(logger);
  license.attachProvisioner(provisioner);
  const limiter = deps.rateLimiter ?? new MemoryRateLimiter(config.rateLimitPerMinute);

  const lastUsed = new LastUsedTracker(db, logger);
  const auth = new AuthService(
    db,
    clock,
    lastUsed,
    config.sessionTtlHours,
    deps.sqlite,
    config.sessionIdleMinutes,
  );
  const users = new UserService(db, dialect, clock, licenseGate, provisioner, deps.sqlite);
  const licenseKey = () => license.snapshot().state.license_key ?? null;

  // The updates service follows the policy's channel; the policy reads the updates service (late-bound).
  let updatePolicy: UpdatePolicyService | undefined;
  const updates = new UpdatesService({
    config,
    build: buildInfo(),
    clock,
    licenseKey,
    hardwareId: deps.hardwareId,
    portal:
      deps.updatePortal ??
      (endpoint ? ClientPortalDownloads.create({ baseUrl: endpoint.url, ca: endpoint.ca }) : null),
    trust,
    requestSwitch: deps.requestSwitch,
    channel: () => updatePolicy?.channel() ?? (config.channel as never),
  });
  if (updates.supervised && !deps.requestSwitch) followSupervisor();
  const updateAttempts = new Map<string, number>();
  updatePolicy = createUpdatePolicyService({
    config,
    clock,
    logger,
    updates,
    hardwareId: deps.hardwareId,
    endpoint,
    licenseKey,
    audit: (message, detail) => license.audit('update_available', 'system', 'info', message, null, detail),
    updateAttempts,
    tuning: deps.updateScheduling,
  });

  const ctx: PanelContext = {
    config,
    db,
    dialect,
    logger,
    clock,
    hardwareId: deps.hardwareId,
    licenseGate,
    provisioner,
    deps,
    services: {
      auth,
      lastUsed,
      users,
      apiKeys: new ApiKeyService(db, clock, users, lastUsed),
      domains: new DomainService(db, dialect, clock, licenseGate, provisioner),
      databases: new DatabaseService(db, dialect, clock, licenseGate, provisioner),
      idempotency: new IdempotencyStore(
        db,
        clock,
        loadIdempotencyKey(join(config.dataDir, 'idempotency.key')),
      ),
      license,
      updates,
      updatePolicy,
      updateAttempts,
    },
  };

  let stopLicenseScheduler: (() => Promise<void>) | undefined;
  const policy = updatePolicy;
  return {
    ctx,
    limiter,
    start() {
      stopLicenseScheduler = startLicenseScheduler(license, config.licenseTickSeconds);
      policy.start();
      lastUsed.start();
    },
    async stop() {
      policy.stop();
      await stopLicenseScheduler?.();
      await license.stop();
      await lastUsed.stop();
    },
  };
}
