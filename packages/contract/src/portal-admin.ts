/** Records the portal's admin API answers with (`/api/v1/admin/{tiers,licenses,events}`). */

/** A tier: the limits and features a license grants. -1 = unlimited. */
export interface PortalTier {
  name: string;
  max_users: number;
  max_domains: number;
  max_databases: number;
  features: string[];
  /** How long a signed license file stays valid without contacting the portal. */
  lease_days: number;
  /** Days a panel keeps working after the lease or the term ended, before it counts as unlicensed. */
  grace_days: number;
  created_at: string;
  updated_at: string;
}

export type PortalLicenseStatus = 'active' | 'suspended' | 'revoked' | 'expired';

/** A license as admins see it: never the key itself, only its mask and last 4 characters. */
export interface PortalLicense {
  id: string;
  key_masked: string;
  key_last4: string;
  tier: string;
  status: PortalLicenseStatus;
  issued_at: string;
  expires_at: string | null;
  max_activations: number;
  activations_used: number;
  customer_name: string;
  customer_email: string;
  notes: string;
  created_at: string;
  updated_at: string;
}

export interface PortalActivation {
  id: string;
  hardware_id: string;
  hostname: string;
  panel_version: string;
  activated_at: string;
  last_seen_at: string;
  last_usage: { accounts: number; domains: number; databases: number } | null;
}

/** One entry of the append-only event log. */
export interface PortalEventRecord {
  id: number;
  at: string;
  license_id: string | null;
  action: string;
  actor: string;
  ip: string | null;
  hardware_id: string | null;
  panel_version: string | null;
  usage: unknown;
  result_code: string;
  data: Record<string, unknown> | null;
}

export interface PortalLicenseDetail extends PortalLicense {
  activations: PortalActivation[];
  recent_events: PortalEventRecord[];
}
