import type { SignedDocument } from './signing';

/**
 * Wire shapes of the portal's public license API (`/api/v1/license/{activate,verify,refresh,deactivate}`).
 * Owned by the portal; the panel consumes them through @wispanel/client. Documented in docs/portal-api.md.
 */
export const LICENSE_CODES = [
  'VALID',
  'DEACTIVATED',
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

/**
 * HTTP status of each license answer. `valid:true` answers are 200; a refusal has a 4xx status AND a body
 * with `valid:false` and the code, so a panel can tell "warn" (valid, code ≠ VALID) from "stop" (!valid).
 */
export const LICENSE_ANSWER_STATUS: Record<LicenseCode, number> = {
  VALID: 200,
  DEACTIVATED: 200,
  NOT_FOUND: 404,
  SUSPENDED: 403,
  REVOKED: 403,
  EXPIRED: 403,
  HARDWARE_MISMATCH: 409,
  ACTIVATION_LIMIT: 409,
  NOT_ACTIVATED: 409,
  VALIDATION_ERROR: 422,
  RATE_LIMITED: 429,
};

export type LicenseAction = 'activate' | 'verify' | 'refresh' | 'deactivate';

export interface LicenseUsage {
  accounts: number;
  domains: number;
  databases: number;
}

export interface LicenseRequest {
  /** `WISP-XXXX-XXXX-XXXX` (upper case, alphabet LICENSE_KEY_ALPHABET). */
  key: string;
  /** 64 lowercase hex characters (SHA-256 of a stable machine identity). */
  hardware_id: string;
  /** Client nonce (8–128 of `A-Za-z0-9._~+/=-`) echoed, signed, in the answer (replay detection). */
  nonce?: string;
  panel_version?: string;
  hostname?: string;
  usage?: LicenseUsage;
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
  max_activations: number;
  activations_used: number;
}

/**
 * Signed as type `license-answer` on every decided answer (not on validation or rate-limit errors), so a panel
 * can trust a refusal (REVOKED…) as much as a license file, and detect a replay by nonce and server time.
 */
export interface LicenseAnswerPayload {
  v: 1;
  action: LicenseAction;
  valid: boolean;
  code: LicenseCode;
  license_id: string | null;
  hardware_id: string;
  nonce: string;
  server_time: string;
}

/** Every license API answer. `valid` and `code` are separate: a panel can warn on valid+code, stop on !valid. */
export interface LicenseAnswer {
  valid: boolean;
  code: LicenseCode;
  /** Human-readable explanation on success answers. */
  detail?: string;
  /** Present on refusals and errors (SPEC A4 shape): `{ valid:false, error, code, details? }`. */
  error?: string;
  details?: Record<string, string[]>;
  license?: LicenseInfo;
  /** Signed license file: activate and refresh, when valid. verify does not extend the lease. */
  license_file?: string;
  server_time?: string;
  nonce?: string;
  /** The signed `license-answer` document (see LicenseAnswerPayload). */
  signed?: SignedDocument;
}
