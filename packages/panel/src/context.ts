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
import type { LicenseGate } from './modules/resources/license-gate';
import type { Provisioner } from './modules/resources/provisioner';
import type { UserService } from './modules/users/users.service';

/**
 * What `buildPanelApp` needs from the outside world. Side effects tests control are here (clock, gate,
 * provisioner). Modules add their own dependencies as optional fields (additive edits; interface merging
 * from a module file works too: `declare module '../../context' { interface PanelDeps { … } }`).
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
}

/** Services built by the core; modules add theirs here the same way. */
export interface PanelServices {
  auth: AuthService;
  lastUsed: LastUsedTracker;
  apiKeys: ApiKeyService;
  users: UserService;
  domains: DomainService;
  databases: DatabaseService;
  idempotency: IdempotencyStore;
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
