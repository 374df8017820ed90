import { chmodSync, mkdirSync } from 'node:fs';
import { migrate, openDatabase } from '@wispanel/kit';
import type { PortalConfig } from './config';
import type { PortalDatabase, PortalTables } from './db';
import { portalMigrations } from './migrations/index';
import { EventLog, systemActor } from './modules/events/event-log';
import { TierService } from './modules/tiers/tiers.service';

/** Opens the portal database, applies pending migrations and adds missing default tiers. */
export async function openPortalDatabase(config: PortalConfig): Promise<PortalDatabase> {
  // The data dir (database, keys, artifacts) is private whatever the umask or an older version left.
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  chmodSync(config.dataDir, 0o700);
  const database = openDatabase<PortalTables>(config.databaseUrl);
  try {
    await migrate(database, portalMigrations);
    const clock = () => new Date();
    await new TierService(database.db, new EventLog(database.db, clock), clock).seedDefaults();
    return database;
  } catch (err) {
    await database.close();
    throw err;
  }
}

export { systemActor };
