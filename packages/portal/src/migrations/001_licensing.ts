import type { Migration } from '@wispanel/kit';

const tables = (serial: string) => [
  `CREATE TABLE tiers (
    name TEXT PRIMARY KEY,
    max_users INTEGER NOT NULL,
    max_domains INTEGER NOT NULL,
    max_databases INTEGER NOT NULL,
    features TEXT NOT NULL,
    lease_days INTEGER NOT NULL,
    grace_days INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  )`,
  `CREATE TABLE licenses (
    id TEXT PRIMARY KEY,
    key_hash TEXT NOT NULL UNIQUE,
    key_last4 TEXT NOT NULL,
    tier TEXT NOT NULL REFERENCES tiers(name),
    status TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    expires_at TEXT,
    max_activations INTEGER NOT NULL,
    customer_name TEXT NOT NULL,
    customer_email TEXT NOT NULL,
    notes TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  )`,
  'CREATE INDEX licenses_tier ON licenses (tier)',
  'CREATE INDEX licenses_status ON licenses (status)',
  'CREATE INDEX licenses_created ON licenses (created_at, id)',
  `CREATE TABLE activations (
    id TEXT PRIMARY KEY,
    license_id TEXT NOT NULL REFERENCES licenses(id),
    hardware_id TEXT NOT NULL,
    hostname TEXT NOT NULL,
    panel_version TEXT NOT NULL,
    activated_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    last_usage TEXT,
    UNIQUE (license_id, hardware_id)
  )`,
  `CREATE TABLE events (
    id ${serial},
    at TEXT NOT NULL,
    license_id TEXT,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    ip TEXT,
    hardware_id TEXT,
    panel_version TEXT,
    usage TEXT,
    result_code TEXT NOT NULL,
    data TEXT
  )`,
  'CREATE INDEX events_license ON events (license_id, id)',
  `CREATE TABLE admin_keys (
    id TEXT PRIMARY KEY,
    key_hash TEXT NOT NULL UNIQUE,
    key_prefix TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
  )`,
];

/** Licensing schema. The event log is append-only: the database itself refuses UPDATE and DELETE on it. */
export const m001Licensing: Migration = {
  id: '001_licensing',
  sqlite: [
    ...tables('INTEGER PRIMARY KEY AUTOINCREMENT'),
    `CREATE TRIGGER events_no_update BEFORE UPDATE ON events
     BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END`,
    `CREATE TRIGGER events_no_delete BEFORE DELETE ON events
     BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END`,
  ],
  postgres: [
    ...tables('BIGSERIAL PRIMARY KEY'),
    `CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN RAISE EXCEPTION 'the event log is append-only'; END $$`,
    `CREATE TRIGGER events_no_change BEFORE UPDATE OR DELETE ON events
     FOR EACH ROW EXECUTE FUNCTION events_append_only()`,
  ],
};
