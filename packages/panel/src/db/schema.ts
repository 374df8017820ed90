import type { Generated } from 'kysely';

/**
 * Table types of the panel database. Modules that add tables extend this interface from their own file with
 * declaration merging, e.g. in `modules/license/license.schema.ts`:
 *   declare module '../../db/schema' { interface PanelDB { licenses: LicenseTable } }
 */
export interface PanelDB {
  users: UserTable;
  domains: DomainTable;
  databases: DatabaseTable;
  api_keys: ApiKeyTable;
  sessions: SessionTable;
  idempotency_keys: IdempotencyTable;
}

/** Columns shared by every resource the license counts (accounts, domains, databases). */
export interface ResourceColumns {
  /** Monotonically increasing (never reused), so "newest first" is well defined. */
  id: Generated<number>;
  /** Admin state: 'active' | 'suspended'. Never touched by license enforcement. */
  status: string;
  /** Set only by license enforcement (ISO time); NULL = not disabled by the license. */
  license_disabled_at: string | null;
  license_disabled_reason: string | null;
  created_at: string;
  updated_at: string;
}

export interface UserTable extends ResourceColumns {
  username: string;
  email: string;
  password_hash: string;
  role: string;
  package: string;
  /** users.id of the creator (reseller or admin); NULL for the first admin. */
  creator_id: number | null;
}

export interface DomainTable extends ResourceColumns {
  domain: string;
  owner_id: number;
}

export interface DatabaseTable extends ResourceColumns {
  name: string;
  owner_id: number;
  db_user: string;
  domain_id: number | null;
}

export interface ApiKeyTable {
  /** 16 hex. */
  id: string;
  user_id: number;
  name: string;
  key_prefix: string;
  /** SHA-256 (hex) of the whole secret. */
  secret_hash: string;
  /** JSON array of scopes. */
  permissions: string;
  /** JSON array of IPs / CIDRs. */
  ip_whitelist: string;
  last_used: string | null;
  created_at: string;
  expires_at: string | null;
  enabled: number;
}

export interface SessionTable {
  id: string;
  token_hash: string;
  user_id: number;
  ip: string;
  created_at: string;
  expires_at: string;
}

export interface IdempotencyTable {
  principal: string;
  idem_key: string;
  method: string;
  path: string;
  body_hash: string;
  /** 0 while the first request is still running. */
  status_code: number;
  response_body: string | null;
  created_at: string;
}
