import { type Static, Type } from 'typebox';
import { SignedDocument } from './signed-document';
import { DateTime, Details, HardwareId, LicenseKey, Nonce, NullableDateTime } from './wire';

/**
 * Wire shapes of the portal's public license API (`/api/v1/license/{activate,verify,refresh,deactivate}`): the
 * portal ↔ panel license protocol. The portal validates and documents with these schemas; the panel consumes
 * them through @wispanel/client. Prose: docs/portal-api.md.
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

export const LICENSE_ACTIONS = ['activate', 'verify', 'refresh', 'deactivate'] as const;
export type LicenseAction = (typeof LICENSE_ACTIONS)[number];

const Count = Type.Integer({ minimum: 0, maximum: 1_000_000_000 });
export const LicenseUsage = Type.Object(
  { accounts: Count, domains: Count, databases: Count },
  { additionalProperties: false, description: 'Resources the panel holds (shown to the vendor)' },
);
export type LicenseUsage = Static<typeof LicenseUsage>;

/** The request body of every license action. */
export const LicenseRequest = Type.Object(
  {
    key: LicenseKey,
    hardware_id: HardwareId,
    nonce: Type.Optional(Nonce),
    panel_version: Type.Optional(Type.String({ maxLength: 64 })),
    hostname: Type.Optional(Type.String({ maxLength: 255 })),
    usage: Type.Optional(LicenseUsage),
  },
  { additionalProperties: false },
);
export type LicenseRequest = Static<typeof LicenseRequest>;

/** Summary of a license as the portal sees it (never the full key). */
export const LicenseInfo = Type.Object({
  license_id: Type.String(),
  key_masked: Type.String({ examples: ['WISP-****-****-SA6T'] }),
  tier: Type.String(),
  status: Type.Enum(['active', 'suspended', 'revoked', 'expired']),
  limits: Type.Object({
    max_users: Type.Integer({ description: '-1 = unlimited' }),
    max_domains: Type.Integer({ description: '-1 = unlimited' }),
    max_databases: Type.Integer({ description: '-1 = unlimited' }),
  }),
  features: Type.Array(Type.String()),
  issued_at: DateTime,
  expires_at: NullableDateTime,
  lease_days: Type.Integer(),
  grace_days: Type.Integer(),
  max_activations: Type.Integer(),
  activations_used: Type.Integer(),
});
export type LicenseInfo = Static<typeof LicenseInfo>;

/**
 * Signed as type `license-answer` on every decided answer (not on validation or rate-limit errors), so a panel
 * can trust a refusal (REVOKED…) as much as a license file, and detect a replay by nonce and server time.
 */
export const LicenseAnswerPayload = Type.Object({
  v: Type.Literal(1),
  action: Type.Enum([...LICENSE_ACTIONS]),
  valid: Type.Boolean(),
  code: Type.Enum([...LICENSE_CODES]),
  license_id: Type.Union([Type.String(), Type.Null()]),
  hardware_id: Type.String(),
  nonce: Type.String(),
  server_time: Type.String(),
});
export type LicenseAnswerPayload = Static<typeof LicenseAnswerPayload>;

/**
 * Every license API answer, success or refusal. `valid` and `code` are separate: a panel can warn on
 * valid + code, stop on !valid. Refusals and errors carry `error` (and `details` for VALIDATION_ERROR).
 */
export const LicenseAnswer = Type.Object({
  valid: Type.Boolean(),
  code: Type.Enum([...LICENSE_CODES], { description: 'VALID and DEACTIVATED come with valid:true' }),
  detail: Type.Optional(Type.String({ description: 'Human-readable explanation on success answers' })),
  error: Type.Optional(Type.String({ description: 'Present on refusals and errors' })),
  details: Type.Optional(Details),
  license: Type.Optional(LicenseInfo),
  license_file: Type.Optional(
    Type.String({
      description:
        'Armored signed license file: activate and refresh, when valid (verify does not extend the lease)',
    }),
  ),
  server_time: Type.Optional(DateTime),
  nonce: Type.Optional(Type.String()),
  signed: Type.Optional(SignedDocument),
});
export type LicenseAnswer = Static<typeof LicenseAnswer>;
