import { DownloadError, LicenseAnswer, PortalAdminError } from '@wispanel/contract';
import type { TSchema } from 'typebox';

/**
 * `schema.response` maps for the portal's route families: the success shapes from @wispanel/contract plus the
 * family's error envelope for every error status the route can answer. They document the API (OpenAPI); the
 * portal serialises answers with plain JSON.stringify (app.ts), so an answer is never trimmed by a schema.
 */
type Responses = Record<number, TSchema>;

const described = (schema: TSchema, description: string): TSchema => ({ ...schema, description }) as TSchema;

function withErrors(base: TSchema, ok: Responses, errors: Record<number, string>): Responses {
  const out: Responses = { ...ok };
  for (const [status, description] of Object.entries(errors))
    out[Number(status)] = described(base, description);
  return out;
}

/** Admin routes (`X-Admin-Key`): 401 and 422 always, plus the route's own (404, 409…). */
export function adminResponses(ok: Responses, errors: Record<number, string> = {}): Responses {
  return withErrors(PortalAdminError, ok, {
    401: 'Missing or wrong X-Admin-Key (UNAUTHORIZED)',
    422: 'Validation failed (VALIDATION_ERROR), every problem per field in details',
    ...errors,
  });
}

/** License routes: every answer is a LicenseAnswer; refusals are signed and carry valid:false. */
export function licenseResponses(description: string): Responses {
  return withErrors(
    LicenseAnswer,
    { 200: described(LicenseAnswer, description) },
    {
      403: 'SUSPENDED, REVOKED or EXPIRED (valid:false, signed)',
      404: 'NOT_FOUND: no such license key (valid:false, signed)',
      409: 'HARDWARE_MISMATCH, NOT_ACTIVATED or ACTIVATION_LIMIT (valid:false, signed)',
      422: 'VALIDATION_ERROR: { valid:false, error:"Invalid request data", code, details }',
      429: 'RATE_LIMITED: too many requests from this IP (Retry-After header)',
    },
  );
}

/** Download routes: 401 is exactly `{ "error": "Invalid license" }`. */
export function downloadResponses(ok: Responses, errors: Record<number, string> = {}): Responses {
  return withErrors(DownloadError, ok, {
    401: 'Invalid license: unknown key, not activated on this hardware id, suspended or revoked',
    422: 'VALIDATION_ERROR with details per field',
    429: 'RATE_LIMITED: too many requests from this IP (Retry-After header)',
    ...errors,
  });
}

/**
 * Documents a request body the route reads itself (OpenAPI only; fastify does not validate it): the streamed
 * artifact (`application/octet-stream`), or an action that takes no fields (`optional`: an empty body or `{}`).
 */
export const DOCUMENTED_BODY = 'x-documented-body';
export function documentedBody(
  schema: Record<string, unknown>,
  options: { contentType?: string; optional?: boolean } = {},
): Record<string, unknown> {
  const documented = options.optional ? { ...schema, 'x-optional': true } : schema;
  return {
    [DOCUMENTED_BODY]: options.contentType
      ? { content: { [options.contentType]: { schema: documented } } }
      : documented,
  };
}
