/**
 * Wire shapes of the portal's public license API (`/api/v1/license/{activate,verify,refresh,deactivate}`).
 * Owned by the portal; the panel consumes them through @wispanel/client.
 */
export const LICENSE_CODES = [
  'VALID',
  'NOT_FOUND',
  'SUSPENDED',
  'REVOKED',
  'EXPIRED',
  'HARDWARE_MISMATCH',
  'ACTIVATION_LIMIT',
  'NOT_ACTIVATED',
  'VALIDATION_ERROR',
  'RATE_LIMITED',
] as const;
export type LicenseCode = (typeof LICENSE_CODES)[number];

export interface LicenseRequest {
  key: string;
  /** 64 lowercase hex characters (SHA-256 of a stable machine identity). */
  hardware_id: string;
  /** Client nonce echoed, signed, in the answer (replay detection). */
  nonce?: string;
  panel_version?: string;
  hostname?: string;
  usage?: { accounts: number; domains: number; databases: number };
}

/** Summary of a license as the portal sees it (never the full key). */
export interface LicenseInfo {
  license_id: string;
  key_masked: string;
  tier: string;
  status: 'active' | 'suspended' | 'revoked' | 'expired';
  limits: { max_users: number; max_domains: number; max_databases: number };
  features: string[];
  issued_at: string;
  expires_at: string | null;
  lease_days: number;
  grace_days: number;
}

/** Every license API answer. `valid` and `code` are separate: a panel can warn on valid+code, stop on !valid. */
export interface LicenseAnswer {
  valid: boolean;
  code: LicenseCode;
  /** Human-readable explanation. */
  detail?: string;
  /** Present on errors (SPEC A4 shape): `{ valid:false, error, code, details }`. */
  error?: string;
  details?: Record<string, string[]>;
  license?: LicenseInfo;
  /** Signed license file (activate and refresh; verify when the binding is valid). */
  license_file?: string;
  server_time?: string;
  nonce?: string;
}
