/** Every error code the services answer with, and the HTTP status it maps to. One place, both services. */
export const ERROR_STATUS = {
  VALIDATION_ERROR: 400,
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  IDEMPOTENCY_KEY_REUSED: 422,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  INTERNAL_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
  // License (panel side)
  LICENSE_LIMIT_REACHED: 403,
  LICENSE_REQUIRED: 403,
  LICENSE_INVALID: 422,
  LICENSE_NOT_FOUND: 404,
  LICENSE_SUSPENDED: 403,
  LICENSE_REVOKED: 403,
  LICENSE_EXPIRED: 403,
  LICENSE_HARDWARE_MISMATCH: 409,
  LICENSE_ACTIVATION_LIMIT: 409,
  LICENSE_FILE_INVALID: 502,
  PORTAL_UNREACHABLE: 503,
  PORTAL_ERROR: 502,
  // Updates (panel side)
  UPDATE_IN_PROGRESS: 409,
  UPDATE_NOT_AVAILABLE: 404,
  UPDATE_DOWNGRADE_REFUSED: 409,
  UPDATE_VERIFICATION_FAILED: 502,
  UPDATE_NOT_SUPPORTED: 409,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export function statusForCode(code: string): number {
  return (ERROR_STATUS as Record<string, number>)[code] ?? 500;
}

/** Panel error envelope (SPEC A1): error and message carry the same text. */
export interface PanelErrorBody {
  success: false;
  code: string;
  error: string;
  message: string;
  status: number;
  details?: Record<string, string[]>;
}
