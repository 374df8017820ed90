import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  createLogger,
  type Database,
  ensureSelfSignedCertificate,
  migrate,
  openDatabase,
} from '@wispanel/kit';
import type { PanelConfig } from './config';
import type { PanelDB } from './db/schema';
import { ensureHardwareId } from './hardware-id';
import { migrations } from './migrations';
import { ApiKeyService } from './modules/api-keys/api-keys.service';
import type { Actor } from './modules/auth/actor';
import { LastUsedTracker } from './modules/auth/last-used';
import { allowAllLicenseGate } from './modules/resources/license-gate';
import { RecordingProvisioner } from './modules/resources/provisioner';
import { UserService } from './modules/users/users.service';

/** The actor `init` acts as: not an account, admin rights. */
export const SYSTEM_ACTOR: Actor = {
  userId: 0,
  username: 'system',
  email: 'system@localhost',
  role: 'admin',
  creatorId: null,
  via: 'session',
  permissions: ['all'],
};

export interface InitOptions {
  adminUser?: string;
  adminEmail?: string;
  /** Issue another admin API key even when the data dir is already initialised. */
  newAdminKey?: boolean;
}

export interface InitResult {
  data_dir: string;
  /** true when this run created the first admin (a fresh data dir). */
  created: boolean;
  hardware_id: string;
  tls_cert: string | null;
  admin: { username: string; email: string; password?: string } | null;
  /** Printed once: only when the admin was just created or --new-admin-key was given. */
  api_key?: string;
  key_id?: string;
  migrations_applied: string[];
}

/** Opens `<dataDir>/panel.db` (or the configured URL) and applies pending migrations. */
export async function openPanelDatabase(
  config: PanelConfig,
): Promise<{ database: Database<PanelDB>; applied: string[] }> {
  // The data dir is private whatever the umask (and whatever mode an older version left it with).
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  chmodSync(config.dataDir, 0o700);
  const database = openDatabase<PanelDB>(config.databaseUrl);
  try {
    const applied = await migrate(database, migrations);
    return { database, applied };
  } catch (err) {
    await database.close();
    throw err;
  }
}

export async function ensureTls(
  config: PanelConfig,
): Promise<{ key: string; cert: string; certPath: string } | null> {
  if (config.tlsDisabled) return null;
  if (config.tlsCertPath && config.tlsKeyPath) {
    const { readFileSync } = await import('node:fs');
    return {
      key: readFileSync(config.tlsKeyPath, 'utf8'),
      cert: readFileSync(config.tlsCertPath, 'utf8'),
      certPath: config.tlsCertPath,
    };
  }
  const dir = join(config.dataDir, 'tls');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const files = await ensureSelfSignedCertificate(dir);
  return { key: files.key, cert: files.cert, certPath: files.certPath };
}

/**
 * `wispanel init`: data dir, database, TLS pair, hardware id, first admin with an API key. Safe to run again:
 * nothing is overwritten, and no new key is printed unless `newAdminKey` is asked for.
 */
export async function initializeDataDir(
  config: PanelConfig,
  options: InitOptions = {},
  db?: Database<PanelDB>,
): Promise<InitResult> {
  const opened = db ? { database: db, applied: [] as string[] } : await openPanelDatabase(config);
  const database = opened.database;
  try {
    const { hardwareId } = ensureHardwareId(config.dataDir);
    const tls = await ensureTls(config);
    const logger = createLogger({ level: 'silent' });
    const provisioner = new RecordingProvisioner();
    const users = new UserService(
      database.db,
      database.dialect,
      () => new Date(),
      allowAllLicenseGate,
      provisioner,
    );
    const lastUsed = new LastUsedTracker(database.db, logger);
    const keys = new ApiKeyService(database.db, () => new Date(), users, lastUsed);

    const existingAdmin = await database.db
      .selectFrom('users')
      .select(['username', 'email'])
      .where('role', '=', 'admin')
      .orderBy('id')
      .executeTakeFirst();
    const result: InitResult = {
      data_dir: config.dataDir,
      created: false,
      hardware_id: hardwareId,
      tls_cert: tls?.certPath ?? null,
      admin: existingAdmin ?? null,
      migrations_applied: opened.applied,
    };
    let adminName = existingAdmin?.username;
    if (!existingAdmin) {
      const password = randomBytes(12).toString('base64url');
      const admin = await users.create(SYSTEM_ACTOR, {
        username: options.adminUser ?? 'admin',
        email: options.adminEmail ?? 'admin@localhost.localdomain',
        password,
        role: 'admin',
      });
      adminName = admin.username;
      result.created = true;
      result.admin = { username: admin.username, email: admin.email, password };
    }
    if (result.created || options.newAdminKey) {
      const issued = await keys.issue(SYSTEM_ACTOR, adminName as string, {
        name: result.created ? 'initial admin key' : 'admin key (init --new-admin-key)',
        permissions: ['all'],
      });
      result.api_key = issued.secret;
      result.key_id = issued.key.id;
    }
    return result;
  } finally {
    if (!db) await database.close();
  }
}

export function isInitialized(config: PanelConfig): boolean {
  return existsSync(join(config.dataDir, 'hardware-id'));
}
