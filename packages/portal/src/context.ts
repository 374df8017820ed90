import { MemoryRateLimiter, type RateLimiter } from '@wispanel/kit';
import type { FastifyBaseLogger, onRequestHookHandler } from 'fastify';
import type { Kysely } from 'kysely';
import type { PortalConfig } from './config';
import type { PortalDatabase, PortalTables } from './db';
import { adminAuthHook, publicRateLimitHook } from './http/hooks';
import { FallbackRateLimiter, RedisRateLimiter } from './http/redis-rate-limit';
import { AdminKeys } from './modules/admin-keys/admin-keys';
import { AdminSessions } from './modules/admin-sessions/admin-sessions';
import { DownloadsService } from './modules/downloads/downloads.service';
import { EventLog } from './modules/events/event-log';
import { CheckRepository } from './modules/license-api/check.repository';
import { LicenseApiService } from './modules/license-api/license-api.service';
import { LicenseRepository } from './modules/licenses/license.repository';
import { LicenseService } from './modules/licenses/licenses.service';
import { ArtifactStore } from './modules/releases/artifact-store';
import { ReleasesRepository, type ReleaseTables } from './modules/releases/releases.repository';
import { ReleasesService } from './modules/releases/releases.service';
import { RolloutsRepository, type RolloutTables } from './modules/rollouts/rollouts.repository';
import { RolloutsService } from './modules/rollouts/rollouts.service';
import { WebhookOutbox, type WebhookOutboxTables } from './modules/rollouts/webhook-outbox';
import { FileSigningService, LicenseKeyHasher, type SigningService } from './modules/signing/signing-keys';
import { SigningThreads } from './modules/signing/signing-threads';
import { TierService } from './modules/tiers/tiers.service';
import { PORTAL_VERSION } from './version';

export interface PortalDeps {
  config: PortalConfig;
  database: PortalDatabase;
  /** Defaults to the real clock; tests pass a fake one. */
  clock?: () => Date;
  /** Defaults to an in-memory per-IP limiter with `config.publicRateLimit` per minute. */
  rateLimiter?: RateLimiter;
  /** Defaults to the key files in `config.keysDir`. */
  signing?: SigningService;
  /** Where service warnings go (e.g. the shared rate limiter being down). */
  logger?: FastifyBaseLogger;
  /** Test tuning of the webhook sender (poll interval, retry delays). */
  webhookTuning?: { pollMs?: number; retryDelaysMs?: number[]; maxAgeMs?: number; timeoutMs?: number };
}

/**
 * Everything a portal module may use. Modules take what they need from here; nothing else is global.
 * Extension points for other modules (releases, downloads) are documented in docs/portal-api.md.
 */
export interface PortalServices {
  config: PortalConfig;
  database: PortalDatabase;
  db: Kysely<PortalTables>;
  clock: () => Date;
  /** `signing.current()` signs; `signing.publicKeySet()` is what `GET /api/v1/keys` shows. */
  signing: SigningService;
  hasher: LicenseKeyHasher;
  /** Append-only event log: `events.append({ action, actor, resultCode, … })`. */
  events: EventLog;
  adminKeys: AdminKeys;
  /** Web console sign-ins (admin key exchanged for a session cookie). */
  adminSessions: AdminSessions;
  tiers: TierService;
  /** `licenses.findActivated(key, hardwareId)` for the download API. */
  licenses: LicenseService;
  licenseApi: LicenseApiService;
  /** The threads signing license answers (counts for /metrics). */
  signingThreads: SigningThreads;
  /** Admin release management (`/api/v1/admin/versions`, `wispanel-portal release …`). */
  releases: ReleasesService;
  /** Staged rollouts, install reports, the fleet view (admin routes, check-update and reports share it). */
  rollouts: RolloutsService;
  /**
   * The vendor webhook's durable outbox (`release.halted`): rows are queued in the decision's transaction; the
   * server starts the sender (`start()`), the CLI only queues.
   */
  webhooks: WebhookOutbox;
  /** Runs `fn` after every rollout change (metrics refresh). */
  onRolloutChange(fn: () => void): void;
  /** The public download API (`/api/v1/download/*`): check-update, tokens, artifacts. */
  downloads: DownloadsService;
  /** Releases what the services hold open (the Redis connection). The app calls it on close. */
  close(): void;
  hooks: {
    /** `onRequest` for every `/api/v1/admin/*` route (X-Admin-Key). Sets `request.adminActor`. */
    admin: onRequestHookHandler;
    /** `onRequest` for every public route (`/api/v1/license/*`, `/api/v1/download/*`): per-IP limit. */
    publicRateLimit: onRequestHookHandler;
  };
}

export function createPortalServices(deps: PortalDeps): PortalServices {
  const { config, database } = deps;
  const clock = deps.clock ?? (() => new Date());
  const db = database.db;
  const signing = deps.signing ?? new FileSigningService(config.keysDir);
  const hasher = new LicenseKeyHasher(config.keysDir);
  const events = new EventLog(db, clock);
  const adminKeys = new AdminKeys(db, database.dialect, clock, events);
  const adminSessions = new AdminSessions(db, adminKeys, clock, {
    idleMinutes: config.sessionIdleMinutes,
    lifetimeHours: 12,
  });
  const tiers = new TierService(db, events, clock);
  // One data layer for the licenses and activations tables, shared by the admin API and the license API.
  const licenseRows = new LicenseRepository(db, database.dialect);
  const licenses = new LicenseService(licenseRows, hasher, tiers, events, clock);
  const signingThreads = new SigningThreads(config.signingThreads, {
    onThreadError: (err) =>
      deps.logger?.warn({ err }, 'signing thread failed; signing on the event loop until it is replaced'),
  });
  const licenseApi = new LicenseApiService(
    licenseRows,
    hasher,
    signing,
    events,
    clock,
    new CheckRepository(db, database),
    signingThreads.sign,
  );
  const releaseRows = new ReleasesRepository(db as unknown as Kysely<ReleaseTables>);
  const artifacts = new ArtifactStore(config.artifactDir, config.maxArtifactBytes);
  const releases = new ReleasesService({
    repository: releaseRows,
    store: artifacts,
    signingKey: () => signing.current(),
    now: clock,
    recordEvent: (action, actor, data) => events.append({ action, actor, resultCode: 'OK', data }),
  });
  const rolloutListeners: Array<() => void> = [];
  const webhooks = new WebhookOutbox({
    db: db as unknown as Kysely<WebhookOutboxTables>,
    dialect: database.dialect,
    now: clock,
    target:
      config.releaseWebhookUrl && config.releaseWebhookSecret
        ? { url: config.releaseWebhookUrl, secret: config.releaseWebhookSecret }
        : null,
    version: PORTAL_VERSION,
    ...(deps.webhookTuning ?? {}),
    recordEvent: (e, trx) => events.append(e, trx as unknown as Kysely<PortalTables> | undefined),
    warn: (message, fields) => deps.logger?.warn(fields, message),
  });
  const rollouts = new RolloutsService({
    repository: new RolloutsRepository(db as unknown as Kysely<RolloutTables>, database.dialect),
    releases: releaseRows,
    recordEvent: (e, trx) => events.append(e, trx as unknown as Kysely<PortalTables> | undefined),
    now: clock,
    outbox: webhooks,
    authorize: async (key, hardwareId) => {
      const license = await licenses.findActivated(key, hardwareId);
      if (!license || (license.status !== 'active' && license.status !== 'expired')) return null;
      return { licenseId: license.id };
    },
    onChange: () => {
      for (const fn of rolloutListeners) fn();
    },
  });
  const downloads = new DownloadsService({
    releases: releaseRows,
    store: artifacts,
    signingKey: () => signing.current(),
    now: clock,
    rollouts,
    authorize: async (key, hardwareId) => {
      const license = await licenses.findActivated(key, hardwareId);
      // Suspended and revoked licenses get nothing; an expired (lapsed) one keeps what was published in its term.
      if (!license || (license.status !== 'active' && license.status !== 'expired')) return null;
      return { licenseId: license.id, expiresAt: license.expires_at };
    },
    stillAuthorized: async (licenseId, hardwareId) => {
      const status = await licenses.statusForActivation(licenseId, hardwareId);
      return status === 'active' || status === 'expired';
    },
    recordEvent: (e, ip) =>
      events.append({
        action: e.action,
        licenseId: e.licenseId,
        actor: { kind: 'panel', id: e.hardwareId ? e.hardwareId.slice(0, 12) : 'unknown', ip },
        hardwareId: e.hardwareId,
        panelVersion: e.panelVersion ?? null,
        resultCode: e.resultCode,
        data: e.data ?? null,
      }),
  });
  const memory = new MemoryRateLimiter(config.publicRateLimit, 60_000);
  const limiter =
    deps.rateLimiter ??
    (config.redisUrl
      ? new FallbackRateLimiter(
          new RedisRateLimiter(config.redisUrl, config.publicRateLimit),
          memory,
          (message, err) => deps.logger?.warn({ err }, message),
        )
      : memory);
  return {
    config,
    database,
    db,
    clock,
    signing,
    hasher,
    events,
    adminKeys,
    adminSessions,
    tiers,
    licenses,
    licenseApi,
    signingThreads,
    releases,
    rollouts,
    webhooks,
    onRolloutChange: (fn) => {
      rolloutListeners.push(fn);
    },
    downloads,
    close: () => {
      void signingThreads.close();
      (limiter as { close?: () => void }).close?.();
    },
    hooks: { admin: adminAuthHook(adminKeys, adminSessions), publicRateLimit: publicRateLimitHook(limiter) },
  };
}
