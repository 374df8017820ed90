import type { Migration } from '@wispanel/kit';

const statements = [
  `CREATE TABLE admin_sessions (
      token_hash TEXT PRIMARY KEY,
      key_prefix TEXT NOT NULL,
      ip TEXT,
      created_at TEXT NOT NULL,
      last_seen_at TEXT NOT NULL,
      expires_at TEXT NOT NULL
    )`,
  'CREATE INDEX admin_sessions_key ON admin_sessions (key_prefix)',
];

/** Web console sessions of the portal (ids 060–069): one row per signed-in browser, the token only hashed. */
export const adminSessionMigrations: Migration[] = [
  { id: '060_admin_sessions', sqlite: statements, postgres: statements },
];
