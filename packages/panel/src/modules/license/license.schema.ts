import type { Generated } from 'kysely';

export interface LicenseStateTable {
  id: number;
  /** The activated key (needed for every portal call); never shown unmasked. */
  license_key: string | null;
  activated_at: string | null;
  last_checked: string | null;
  last_error_code: string | null;
  last_error: string | null;
  last_error_at: string | null;
  consecutive_failures: number;
  next_refresh_at: string | null;
  signed_time: string | null;
  observed_time: string | null;
  /** When usage first went over a limit (enforcement grace starts here); NULL when within limits. */
  over_limit_since: string | null;
  last_status: string | null;
  /** Latest signed refusal from the portal (REVOKED | SUSPENDED | EXPIRED); cleared by a new license file. */
  portal_verdict: string | null;
  portal_verdict_at: string | null;
  /**
   * JSON list of replaced keys whose activation on the portal is not freed yet (`PendingDeactivation[]`),
   * stored like `license_key` (the portal needs the full key); NULL when none. Never shown unmasked.
   */
  pending_deactivations: string | null;
  /**
   * `server_time` of the last license file accepted from the portal: the floor for the stored file (an older
   * file copied back is refused). NULL until the first file is accepted.
   */
  license_file_time: string | null;
  updated_at: string;
}

export interface LicenseAuditTable {
  id: Generated<number>;
  at: string;
  action: string;
  actor: string;
  outcome: string;
  code: string | null;
  message: string;
  /** JSON. */
  detail: string | null;
}

declare module '../../db/schema' {
  interface PanelDB {
    license_state: LicenseStateTable;
    license_audit: LicenseAuditTable;
  }
}
