import type { Migration } from '@wispanel/kit';

const rate = { sqlite: 'REAL', postgres: 'DOUBLE PRECISION' } as const;

const statements = (dialect: 'sqlite' | 'postgres') => [
  `CREATE TABLE release_rollouts (
      version TEXT PRIMARY KEY,
      planned INTEGER NOT NULL,
      stages TEXT NOT NULL,
      min_failures INTEGER NOT NULL,
      failure_rate ${rate[dialect]} NOT NULL,
      critical_skips_stages INTEGER NOT NULL,
      state TEXT NOT NULL,
      stage_index INTEGER NOT NULL,
      stage_started_at TEXT NOT NULL,
      epoch INTEGER NOT NULL,
      reason TEXT,
      halted_at TEXT,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL
    )`,
  `CREATE TABLE rollout_servers (
      version TEXT NOT NULL,
      hardware_id TEXT NOT NULL,
      license_id TEXT,
      offered_at TEXT,
      started_at TEXT,
      finished_at TEXT,
      outcome TEXT,
      step TEXT,
      error_code TEXT,
      duration_ms INTEGER,
      epoch INTEGER,
      PRIMARY KEY (version, hardware_id)
    )`,
  'CREATE INDEX rollout_servers_epoch ON rollout_servers (version, epoch, outcome)',
  `CREATE TABLE install_reports (
      hardware_id TEXT NOT NULL,
      attempt_id TEXT NOT NULL,
      license_id TEXT NOT NULL,
      from_version TEXT NOT NULL,
      to_version TEXT NOT NULL,
      outcome TEXT NOT NULL,
      step TEXT,
      error_code TEXT,
      duration_ms INTEGER,
      epoch INTEGER NOT NULL,
      received_at TEXT NOT NULL,
      PRIMARY KEY (hardware_id, attempt_id)
    )`,
  'CREATE INDEX install_reports_version ON install_reports (to_version, outcome)',
  `CREATE TABLE canary_licenses (
      license_id TEXT PRIMARY KEY,
      created_at TEXT NOT NULL
    )`,
  `CREATE TABLE fleet_servers (
      hardware_id TEXT PRIMARY KEY,
      license_id TEXT NOT NULL,
      version TEXT NOT NULL,
      channel TEXT,
      last_seen_at TEXT NOT NULL
    )`,
  'CREATE INDEX fleet_servers_seen ON fleet_servers (last_seen_at)',
];

/** The vendor webhook's durable outbox (webhook-outbox.ts) and who halted a release. */
const outboxStatements = [
  `CREATE TABLE webhook_outbox (
      id TEXT PRIMARY KEY,
      event TEXT NOT NULL,
      subject TEXT NOT NULL,
      payload TEXT NOT NULL,
      state TEXT NOT NULL,
      attempts INTEGER NOT NULL,
      created_at TEXT NOT NULL,
      next_attempt_at TEXT NOT NULL,
      locked_until TEXT,
      delivered_at TEXT,
      last_error TEXT
    )`,
  'CREATE INDEX webhook_outbox_due ON webhook_outbox (state, next_attempt_at)',
  'CREATE INDEX webhook_outbox_subject ON webhook_outbox (event, subject, created_at)',
  'ALTER TABLE release_rollouts ADD COLUMN halted_by TEXT',
];

/** What an admin needs to see of a delivery and to send a given-up one again (list + redeliver). */
const deliveryStatements = [
  'ALTER TABLE webhook_outbox ADD COLUMN last_status INTEGER',
  'ALTER TABLE webhook_outbox ADD COLUMN last_attempt_at TEXT',
  'ALTER TABLE webhook_outbox ADD COLUMN redelivered_at TEXT',
  'ALTER TABLE webhook_outbox ADD COLUMN redeliveries INTEGER NOT NULL DEFAULT 0',
  'CREATE INDEX webhook_outbox_created ON webhook_outbox (created_at, id)',
];

/**
 * Staged rollouts (ids 045–049, in the releases range): one plan row per release, one row per (release, server)
 * with what it was offered and how its attempt ended, the raw reports (idempotent per hardware id + attempt id),
 * canary licenses, and the fleet as check-update sees it.
 */
export const rolloutMigrations: Migration[] = [
  { id: '045_rollouts', sqlite: statements('sqlite'), postgres: statements('postgres') },
  { id: '046_webhook_outbox', sqlite: outboxStatements, postgres: outboxStatements },
  { id: '047_webhook_deliveries', sqlite: deliveryStatements, postgres: deliveryStatements },
];
