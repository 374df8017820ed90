import type { Database } from '@wispanel/kit';
import type { Generated } from 'kysely';

/**
 * Tables of the licensing side. Dates are ISO 8601 UTC strings (`toISOString()`) in both dialects, so they
 * compare as text. Other modules add their own tables with `db.withTables<TheirTables>()`.
 */
export interface TiersTable {
  name: string;
  max_users: number;
  max_domains: number;
  max_databases: number;
  /** JSON array of feature names. */
  features: string;
  lease_days: number;
  grace_days: number;
  created_at: string;
  updated_at: string;
}

export interface LicensesTable {
  id: string;
  /** HMAC-SHA-256 of the key with the portal's pepper (hex). The key itself is never stored. */
  key_hash: string;
  key_last4: string;
  tier: string;
  status: 'active' | 'suspended' | 'revoked';
  issued_at: string;
  /** End of the term; null = perpetual. */
  expires_at: string | null;
  max_activations: number;
  customer_name: string;
  customer_email: string;
  notes: string;
  created_at: string;
  updated_at: string;
}

export interface ActivationsTable {
  id: string;
  license_id: string;
  hardware_id: string;
  hostname: string;
  panel_version: string;
  activated_at: string;
  last_seen_at: string;
  /** JSON `{ accounts, domains, databases }` last reported, or null. */
  last_usage: string | null;
}

export interface EventsTable {
  id: Generated<number>;
  at: string;
  license_id: string | null;
  action: string;
  /** `admin:<key prefix>`, `cli`, `panel`, `system`. */
  actor: string;
  ip: string | null;
  hardware_id: string | null;
  panel_version: string | null;
  /** JSON of reported usage, or null. */
  usage: string | null;
  result_code: string;
  /** JSON object with anything else worth keeping (never a secret). */
  data: string | null;
}

export interface AdminKeysTable {
  id: string;
  /** SHA-256 of the key (hex); the key is 32 random bytes, shown once. */
  key_hash: string;
  key_prefix: string;
  name: string;
  created_at: string;
  revoked_at: string | null;
}

export interface PortalTables {
  tiers: TiersTable;
  licenses: LicensesTable;
  activations: ActivationsTable;
  events: EventsTable;
  admin_keys: AdminKeysTable;
}

export type PortalDatabase = Database<PortalTables>;
