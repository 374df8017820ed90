import type { TrustedKeys } from '@wispanel/contract';
import type { Dialect, RateLimiter } from '@wispanel/kit';
import type { Database as SqliteHandle } from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { PanelConfig } from './config';
import type { PanelDB } from './db/schema';
import type { IdempotencyStore } from './http/idempotency';
import type { ApiKeyService } from './modules/api-keys/api-keys.service';
import type { AuthService } from './modules/auth/auth.service';
import type { LastUsedTracker } from './modules/auth/last-used';
import type { DatabaseService } from './modules/databases/databases.service';
import type { DomainService } from './modules/domains/domains.service';
import type { LicenseService } from './modules/license/license.service';
import type { LicensePortal } from './modules/license/license-portal';
import type { LicenseWebhookTuning } from './modules/license/license-webhook';
import type { LicenseGate } from './modules/resources/license-gate';
import type { Provisioner } from './modules/resources/provisioner';
import type { PortalDownloads } from './modules/updates/portal-downloads';
import type { UpdatePolicyService, UpdateSchedulingTuning } from './modules/updates/update-policy.service';
import type { UpdatesService } from './modules/updates/updates.service';
import type { UserService } from './modules/users/users.service';

/**
 * What `buildPanelApp` needs from the outside world: the whole list, in one place. Side effects tests control
 * are here (clock, gate, provisioner, portals, schedulers); everything optional has a production default chosen
 * by the composition root (compose.ts). Modules do not add fields here from their own files.
 */
export interface PanelDeps {
  config: PanelConfig;
  db: Kysely<PanelDB>;
  dialect: Dialect;
  /** better-sqlite3 handle when the database is SQLite (prepared statements on the hot path). */
  sqlite?: SqliteHandle;
  logger: Logger;
  clock?: () => Date;
  /** 64 hex, from `<dataDir>/hardware-id`. */
  hardwareId?: string;
  licenseGate?: LicenseGate;
  provisioner?: Provisioner;
  /** Per-token limiter; default MemoryRateLimiter(config.rateLimitPerMinute). */
  rateLimiter?: RateLimiter;

  // ---- license (modules/license) ----
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

  // ---- updates (modules/updates) ----
  /** Portal download API for updates (tests inject one; default: HTTPS to config.portalUrl). */
  updatePortal?: PortalDownloads;
  /** Hands a prepared release to the supervisor (tests inject one; default: IPC / SIGUSR2). */
  requestSwitch?: () => void;
  /** Automatic-update scheduler knobs (tests and the fleet simulation compress time). */
  updateScheduling?: UpdateSchedulingTuning;
}

/** Every service of the panel, built once by the composition root (compose.ts) and handed to the routes. */
export interface PanelServices {
  auth: AuthService;
  lastUsed: LastUsedTracker;
  apiKeys: ApiKeyService;
  users: UserService;
  domains: DomainService;
  databases: DatabaseService;
  idempotency: IdempotencyStore;
  /** The license (also the default LicenseGate). */
  license: LicenseService;
  /** `/version/*`: check, changelog, starting updates, their status. */
  updates: UpdatesService;
  /** Update policy, automatic-update scheduler, install-report queue. */
  updatePolicy: UpdatePolicyService;
  /** Finished update attempts seen by this process, by outcome (filled by the install-report observer). */
  updateAttempts: Map<string, number>;
}

/** Passed to every feature module's plugin as `opts.ctx`. */
export interface PanelContext {
  config: PanelConfig;
  db: Kysely<PanelDB>;
  dialect: Dialect;
  logger: Logger;
  clock: () => Date;
  hardwareId: string | undefined;
  licenseGate: LicenseGate;
  provisioner: Provisioner;
  services: PanelServices;
  deps: PanelDeps;
}
