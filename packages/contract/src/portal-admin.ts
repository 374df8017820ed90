import { type Static, Type } from 'typebox';
import {
  Body,
  DateTime,
  Details,
  HardwareId,
  Limit,
  Nullable,
  NullableDateTime,
  Pagination,
  Success,
} from './wire';

/**
 * Wire shapes of the portal's admin API (`/api/v1/admin/{tiers,licenses,events}`, `X-Admin-Key`): request
 * bodies and queries as the routes validate them, answers as the routes send them. The portal CLI validates
 * its options through the same request schemas. Prose: docs/portal-api.md.
 */

// ---- tiers ----
const TierName = Type.String({
  minLength: 1,
  maxLength: 32,
  pattern: '^[a-z][a-z0-9-]*$',
  'x-format-message': 'must be lowercase letters, digits and dashes.',
});
const Features = Type.Array(
  Type.String({
    minLength: 1,
    maxLength: 64,
    pattern: '^[a-z0-9][a-z0-9._-]*$',
    'x-format-message': 'must be lowercase letters, digits, dots, dashes and underscores.',
  }),
  { maxItems: 100, description: 'Feature names the license grants' },
);
const LeaseDays = Type.Integer({
  minimum: 1,
  maximum: 365,
  description: 'How long a signed license file stays valid without contacting the portal (default 14)',
});
const GraceDays = Type.Integer({
  minimum: 0,
  maximum: 365,
  description: 'Days a panel keeps working after the lease or the term ended (default 7)',
});

export const TierCreateBody = Body({
  name: TierName,
  max_users: Limit,
  max_domains: Limit,
  max_databases: Limit,
  features: Type.Optional(Features),
  lease_days: Type.Optional(LeaseDays),
  grace_days: Type.Optional(GraceDays),
});
export type TierCreateBody = Static<typeof TierCreateBody>;

export const TierUpdateBody = Body(
  {
    max_users: Type.Optional(Limit),
    max_domains: Type.Optional(Limit),
    max_databases: Type.Optional(Limit),
    features: Type.Optional(Features),
    lease_days: Type.Optional(LeaseDays),
    grace_days: Type.Optional(GraceDays),
  },
  { minProperties: 1 },
);
export type TierUpdateBody = Static<typeof TierUpdateBody>;

export const TierNameParam = Type.Object({ name: Type.String({ maxLength: 32 }) });

/** A tier: the limits and features a license grants. -1 = unlimited. */
export const PortalTier = Type.Object({
  name: Type.String(),
  max_users: Limit,
  max_domains: Limit,
  max_databases: Limit,
  features: Type.Array(Type.String()),
  lease_days: Type.Integer(),
  grace_days: Type.Integer(),
  created_at: DateTime,
  updated_at: DateTime,
});
export type PortalTier = Static<typeof PortalTier>;

export const TierAnswer = Success({ tier: PortalTier });
export const TierListAnswer = Success({ tiers: Type.Array(PortalTier) });

// ---- licenses ----
export const PORTAL_LICENSE_STATUSES = ['active', 'suspended', 'revoked', 'expired'] as const;
export const PortalLicenseStatus = Type.Enum([...PORTAL_LICENSE_STATUSES]);
export type PortalLicenseStatus = Static<typeof PortalLicenseStatus>;

const ValidDate = Type.String({
  format: 'date-time',
  'x-format-message': 'must be a valid date (ISO 8601).',
});

export const LicenseIdParam = Type.Object({ id: Type.String({ maxLength: 64 }) });
export const ActivationParam = Type.Object({
  id: Type.String({ maxLength: 64 }),
  activation: Type.String({ maxLength: 64, description: 'Hardware id or activation id' }),
});

export const LicenseIssueBody = Body({
  tier: Type.String({ minLength: 1, maxLength: 32 }),
  term_days: Type.Optional(Type.Integer({ minimum: 1, maximum: 36_500, description: 'Default: perpetual' })),
  expires_at: Type.Optional(ValidDate),
  max_activations: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, description: 'Default 1' })),
  customer_name: Type.Optional(Type.String({ maxLength: 200 })),
  customer_email: Type.Optional(
    Type.String({ maxLength: 254, format: 'email', 'x-format-message': 'must be a valid email address.' }),
  ),
  notes: Type.Optional(Type.String({ maxLength: 2000 })),
});
export type LicenseIssueBody = Static<typeof LicenseIssueBody>;

export const LicenseListQuery = Type.Object(
  {
    status: Type.Optional(PortalLicenseStatus),
    tier: Type.Optional(Type.String({ maxLength: 32 })),
    q: Type.Optional(
      Type.String({ minLength: 1, maxLength: 200, description: 'Customer name/email, key last 4, or id' }),
    ),
    hardware_id: Type.Optional(HardwareId),
    page: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    per_page: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  },
  { additionalProperties: false },
);
export type LicenseListQuery = Static<typeof LicenseListQuery>;

export const LicenseUpdateBody = Body(
  {
    tier: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
    max_activations: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
  },
  { minProperties: 1 },
);
export const LicenseReasonBody = Body({
  reason: Type.Optional(Type.String({ maxLength: 500, description: 'Kept in the event log' })),
});
export const LicenseExtendBody = Body({
  days: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 36_500, description: 'From the end of the term, or from now' }),
  ),
  expires_at: Type.Optional(ValidDate),
});
export type LicenseExtendBody = Static<typeof LicenseExtendBody>;

/** A license as admins see it: never the key itself, only its mask and last 4 characters. */
export const PortalLicense = Type.Object({
  id: Type.String(),
  key_masked: Type.String({ examples: ['WISP-****-****-SA6T'] }),
  key_last4: Type.String(),
  tier: Type.String(),
  status: PortalLicenseStatus,
  issued_at: DateTime,
  expires_at: NullableDateTime,
  max_activations: Type.Integer(),
  activations_used: Type.Integer(),
  customer_name: Type.String(),
  customer_email: Type.String(),
  notes: Type.String(),
  created_at: DateTime,
  updated_at: DateTime,
});
export type PortalLicense = Static<typeof PortalLicense>;

export const ResourceUsage = Type.Object({
  accounts: Type.Integer({ minimum: 0 }),
  domains: Type.Integer({ minimum: 0 }),
  databases: Type.Integer({ minimum: 0 }),
});

export const PortalActivation = Type.Object({
  id: Type.String(),
  hardware_id: Type.String(),
  hostname: Type.String(),
  panel_version: Type.String(),
  activated_at: DateTime,
  last_seen_at: DateTime,
  last_usage: Nullable(ResourceUsage),
});
export type PortalActivation = Static<typeof PortalActivation>;

/** One entry of the append-only event log. */
export const PortalEventRecord = Type.Object({
  id: Type.Integer(),
  at: DateTime,
  license_id: Nullable(Type.String()),
  action: Type.String({ examples: ['license.activate'] }),
  actor: Type.String({ examples: ['admin:ak_1a2b3c'] }),
  ip: Nullable(Type.String()),
  hardware_id: Nullable(Type.String()),
  panel_version: Nullable(Type.String()),
  usage: Type.Unknown({ description: 'Resource usage the panel reported, when it did' }),
  result_code: Type.String(),
  data: Nullable(Type.Record(Type.String(), Type.Unknown())),
});
export type PortalEventRecord = Static<typeof PortalEventRecord>;

export const PortalLicenseDetail = Type.Object({
  ...PortalLicense.properties,
  activations: Type.Array(PortalActivation),
  recent_events: Type.Array(PortalEventRecord),
});
export type PortalLicenseDetail = Static<typeof PortalLicenseDetail>;

export const LicenseListAnswer = Success({ licenses: Type.Array(PortalLicense), pagination: Pagination });
export const LicenseIssuedAnswer = Success({
  message: Type.String(),
  license_key: Type.String({ description: 'The key, shown once (only its hash is stored)' }),
  license: PortalLicense,
});
export const LicenseDetailAnswer = Success({ license: PortalLicenseDetail });

// ---- events ----
export const EventsQuery = Type.Object(
  {
    license_id: Type.Optional(Type.String({ maxLength: 64 })),
    action: Type.Optional(Type.String({ maxLength: 64 })),
    actor: Type.Optional(
      Type.String({ maxLength: 128, description: 'Exact actor, e.g. admin:wpa_1a2b3c4d or cli:operator' }),
    ),
    result_code: Type.Optional(Type.String({ maxLength: 64, description: 'e.g. OK, VALID, SUSPENDED' })),
    since: Type.Optional(
      Type.String({
        format: 'date-time',
        'x-format-message': 'must be a valid date (ISO 8601).',
        description: 'Events at or after this time',
      }),
    ),
    until: Type.Optional(
      Type.String({
        format: 'date-time',
        'x-format-message': 'must be a valid date (ISO 8601).',
        description: 'Events before this time',
      }),
    ),
    before: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: Number.MAX_SAFE_INTEGER,
        description: 'Page: events older than id',
      }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, description: 'Default 50' })),
  },
  { additionalProperties: false },
);
export const EventsAnswer = Success({
  events: Type.Array(PortalEventRecord),
  next_before: Type.Union([Type.Integer(), Type.Null()], {
    description: 'Pass as `before` for the next page',
  }),
});

/** Every admin API error: `{ success:false, error, code, details? }` (validation: 422 "Validation failed"). */
export const PortalAdminError = Type.Object({
  success: Type.Literal(false),
  error: Type.String({ examples: ['Validation failed'] }),
  code: Type.String({ examples: ['VALIDATION_ERROR'] }),
  details: Type.Optional(Details),
});

/** Liveness answer of `GET /api/v1/health`. */
export const PortalHealthSchema = Type.Object({
  status: Type.Literal('ok'),
  database: Type.Enum(['sqlite', 'postgres'], { description: 'The database dialect in use' }),
  time: Type.String({ format: 'date-time' }),
});
