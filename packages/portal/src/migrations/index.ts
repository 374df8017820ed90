import type { Migration } from '@wispanel/kit';
import { adminSessionMigrations } from '../modules/admin-sessions/admin-sessions.migrations';
import { releaseMigrations } from '../modules/releases/releases.migrations';
import { rolloutMigrations } from '../modules/rollouts/rollouts.migrations';
import { m001Licensing } from './001_licensing';

/**
 * Every portal migration, applied in id order at start. Id ranges: 001–019 licensing (tiers, licenses,
 * activations, events, admin keys); 040–059 releases and downloads; 060–069 web console sessions. Add one line per migration.
 */
export const portalMigrations: Migration[] = [
  m001Licensing,
  ...releaseMigrations,
  ...rolloutMigrations,
  ...adminSessionMigrations,
];
