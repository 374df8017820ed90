import { LICENSE_CODES } from '@wispanel/contract';
import { type TSchema, Type } from 'typebox';

/**
 * Response shapes for the OpenAPI document only (routes do not serialise through them, so an answer is never
 * silently trimmed). Keyed by `METHOD url`. Prose: docs/portal-api.md.
 */
const Details = Type.Record(Type.String(), Type.Array(Type.String()), {
  description: 'Field → messages, e.g. { "hardware_id": ["The hardware id field must be 64 characters."] }',
});
const AdminError = (description: string) =>
  Type.Object(
    {
      success: Type.Literal(false),
      error: Type.String(),
      code: Type.String(),
      details: Type.Optional(Details),
    },
    { description },
  );
const SignedDocument = Type.Object({
  type: Type.String(),
  alg: Type.Literal('ed25519'),
  kid: Type.String(),
  payload: Type.String({ description: 'base64url JSON' }),
  sig: Type.String({ description: 'base64url Ed25519 signature over "wispanel/<type>/v1\\n" + payload' }),
});
const LicenseInfo = Type.Object({
  license_id: Type.String(),
  key_masked: Type.String({ examples: ['WISP-****SA6T'] }),
  tier: Type.String(),
  status: Type.Union([
    Type.Literal('active'),
    Type.Literal('suspended'),
    Type.Literal('revoked'),
    Type.Literal('expired'),
  ]),
  limits: Type.Object({
    max_users: Type.Integer(),
    max_domains: Type.Integer(),
    max_databases: Type.Integer(),
  }),
  features: Type.Array(Type.String()),
  issued_at: Type.String({ format: 'date-time' }),
  expires_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  lease_days: Type.Integer(),
  grace_days: Type.Integer(),
  max_activations: Type.Integer(),
  activations_used: Type.Integer(),
});
const Code = Type.Union(
  LICENSE_CODES.map((c) => Type.Literal(c)),
  { description: 'VALID and DEACTIVATED come with valid:true' },
);
const LicenseAnswer = (description: string) =>
  Type.Object(
    {
      valid: Type.Boolean(),
      code: Code,
      detail: Type.Optional(Type.String()),
      error: Type.Optional(Type.String()),
      details: Type.Optional(Details),
      license: Type.Optional(LicenseInfo),
      license_file: Type.Optional(
        Type.String({ description: 'Armored signed license file (docs/license-file.md)' }),
      ),
      server_time: Type.Optional(Type.String({ format: 'date-time' })),
      nonce: Type.Optional(Type.String()),
      signed: Type.Optional(SignedDocument),
    },
    { description },
  );
const Tier = Type.Object({
  name: Type.String(),
  max_users: Type.Integer({ description: '-1 = unlimited' }),
  max_domains: Type.Integer(),
  max_databases: Type.Integer(),
  features: Type.Array(Type.String()),
  lease_days: Type.Integer(),
  grace_days: Type.Integer(),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
});
const License = Type.Object({
  id: Type.String(),
  key_masked: Type.String(),
  key_last4: Type.String(),
  tier: Type.String(),
  status: Type.Union([
    Type.Literal('active'),
    Type.Literal('suspended'),
    Type.Literal('revoked'),
    Type.Literal('expired'),
  ]),
  issued_at: Type.String({ format: 'date-time' }),
  expires_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  max_activations: Type.Integer(),
  activations_used: Type.Integer(),
  customer_name: Type.String(),
  customer_email: Type.String(),
  notes: Type.String(),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
});
const Event = Type.Object({
  id: Type.Integer(),
  at: Type.String({ format: 'date-time' }),
  license_id: Type.Union([Type.String(), Type.Null()]),
  action: Type.String(),
  actor: Type.String(),
  ip: Type.Union([Type.String(), Type.Null()]),
  hardware_id: Type.Union([Type.String(), Type.Null()]),
  panel_version: Type.Union([Type.String(), Type.Null()]),
  usage: Type.Unknown(),
  result_code: Type.String(),
  data: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]),
});
const LicenseDetail = Type.Intersect([
  License,
  Type.Object({
    activations: Type.Array(
      Type.Object({
        id: Type.String(),
        hardware_id: Type.String(),
        hostname: Type.String(),
        panel_version: Type.String(),
        activated_at: Type.String({ format: 'date-time' }),
        last_seen_at: Type.String({ format: 'date-time' }),
        last_usage: Type.Unknown(),
      }),
    ),
    recent_events: Type.Array(Event),
  }),
]);
const ok = (fields: Record<string, TSchema>, description = 'OK') =>
  Type.Object({ success: Type.Literal(true), ...fields }, { description });

const adminErrors = {
  401: AdminError('Invalid or missing API key (UNAUTHORIZED)'),
  422: AdminError('Validation failed (VALIDATION_ERROR), details per field'),
};
const withNotFound = { ...adminErrors, 404: AdminError('NOT_FOUND') };
const licenseErrors = {
  403: LicenseAnswer('SUSPENDED, REVOKED or EXPIRED (valid:false, signed)'),
  404: LicenseAnswer('NOT_FOUND (valid:false, signed)'),
  409: LicenseAnswer('HARDWARE_MISMATCH, NOT_ACTIVATED or ACTIVATION_LIMIT (valid:false, signed)'),
  422: LicenseAnswer('VALIDATION_ERROR: { valid:false, error:"Invalid request data", code, details }'),
  429: LicenseAnswer('RATE_LIMITED (Retry-After header)'),
};
const licenseAction = (description: string) => ({ 200: LicenseAnswer(description), ...licenseErrors });
const one = (key: string, schema: TSchema) => ({ 200: ok({ [key]: schema }), ...withNotFound });

export const OPENAPI_RESPONSES: Record<string, Record<number, TSchema>> = {
  'GET /api/v1/keys': {
    200: Type.Object({
      keys: Type.Array(
        Type.Object({
          kid: Type.String(),
          alg: Type.Literal('ed25519'),
          public_key: Type.String({ description: 'SPKI PEM' }),
          status: Type.Union([Type.Literal('current'), Type.Literal('retired')]),
          created_at: Type.String({ format: 'date-time' }),
        }),
      ),
    }),
  },
  'GET /api/v1/health': {
    200: Type.Object({ status: Type.Literal('ok'), database: Type.String(), time: Type.String() }),
  },
  'POST /api/v1/license/activate': licenseAction(
    'VALID with license_file (idempotent on the same hardware id)',
  ),
  'POST /api/v1/license/verify': licenseAction('VALID (signed answer, no license_file)'),
  'POST /api/v1/license/refresh': licenseAction('VALID with a new license_file'),
  'POST /api/v1/license/deactivate': licenseAction('DEACTIVATED (valid:true)'),
  'GET /api/v1/admin/tiers': { 200: ok({ tiers: Type.Array(Tier) }), ...adminErrors },
  'GET /api/v1/admin/tiers/:name': one('tier', Tier),
  'POST /api/v1/admin/tiers': {
    201: ok({ tier: Tier }, 'Created'),
    ...adminErrors,
    409: AdminError('CONFLICT: exists'),
  },
  'PATCH /api/v1/admin/tiers/:name': one('tier', Tier),
  'GET /api/v1/admin/licenses': {
    200: ok({
      licenses: Type.Array(License),
      pagination: Type.Object({
        page: Type.Integer(),
        per_page: Type.Integer(),
        total: Type.Integer(),
        total_pages: Type.Integer(),
      }),
    }),
    ...adminErrors,
  },
  'POST /api/v1/admin/licenses': {
    201: ok(
      { message: Type.String(), license_key: Type.String({ description: 'Shown once' }), license: License },
      'Issued',
    ),
    ...adminErrors,
  },
  'GET /api/v1/admin/licenses/:id': one('license', LicenseDetail),
  'PATCH /api/v1/admin/licenses/:id': one('license', LicenseDetail),
  'POST /api/v1/admin/licenses/:id/suspend': {
    ...one('license', LicenseDetail),
    409: AdminError('CONFLICT: revoked'),
  },
  'POST /api/v1/admin/licenses/:id/reinstate': {
    ...one('license', LicenseDetail),
    409: AdminError('CONFLICT: revoked'),
  },
  'POST /api/v1/admin/licenses/:id/revoke': one('license', LicenseDetail),
  'POST /api/v1/admin/licenses/:id/extend': {
    ...one('license', LicenseDetail),
    409: AdminError('CONFLICT: revoked or perpetual'),
  },
  'DELETE /api/v1/admin/licenses/:id/activations/:activation': one('license', LicenseDetail),
  'GET /api/v1/admin/events': {
    200: ok({ events: Type.Array(Event), next_before: Type.Union([Type.Integer(), Type.Null()]) }),
    ...adminErrors,
  },
};
