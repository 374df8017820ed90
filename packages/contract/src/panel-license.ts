import { type Static, Type } from 'typebox';
import { DateTime, Nullable, NullableDateTime } from './wire';

/**
 * Wire shapes of the panel's license API (`/api/v1/license/*`, role admin, scope `license`). The panel builds
 * these answers by hand and sends them as they are; these schemas document them (OpenAPI) and type the console.
 */

const Resources = <T extends Parameters<typeof Type.Object>[0][string]>(of: T) =>
  Type.Object({ accounts: of, domains: of, databases: of });

/** The documented `license` object. Limits are the ones in force (-1 = unlimited). */
export const PanelLicenseView = Type.Object({
  key: Nullable(Type.String({ description: 'Masked: WISP-****XXXX', examples: ['WISP-****SA6T'] })),
  tier: Type.String({ examples: ['pro'] }),
  is_valid: Type.Boolean(),
  has_license_file: Type.Boolean(),
  needs_refresh: Type.Boolean(),
  max_users: Type.Integer({ description: '-1 = unlimited' }),
  max_domains: Type.Integer({ description: '-1 = unlimited' }),
  max_databases: Type.Integer({ description: '-1 = unlimited' }),
  expires_at: Nullable(DateTime),
  valid_until: Nullable(DateTime),
  last_checked: Nullable(DateTime),
});
export type PanelLicenseView = Static<typeof PanelLicenseView>;

export const PanelUsage = Type.Object({
  accounts: Type.Integer(),
  databases: Type.Integer(),
  domains: Type.Integer(),
});

/** `GET /license`. */
export const LicenseOverview = Type.Object({ license: PanelLicenseView, usage: PanelUsage });
export type LicenseOverview = Static<typeof LicenseOverview>;

/** `POST /license/activate` body. */
export const LicenseActivateRequest = Type.Object(
  { key: Type.String({ description: 'The license key', examples: ['WISP-7KQ2-M9XA-SA6T'] }) },
  { additionalProperties: false },
);
export type LicenseActivateRequest = Static<typeof LicenseActivateRequest>;

/** `POST /license/activate` answer: the overview, plus what happened to the replaced key's activation. */
export const LicenseActivateAnswer = Type.Object({
  success: Type.Boolean(),
  message: Type.String(),
  license: PanelLicenseView,
  usage: PanelUsage,
  previous_license: Type.Union([
    Type.Object(
      {
        key: Type.String({ description: 'the replaced key, masked (WISP-****XXXX)' }),
        deactivated: Type.Boolean({
          description: "true: this server's activation of it is freed on the portal",
        }),
        pending: Type.Boolean({ description: 'true: not freed yet; the background job retries it' }),
        code: Type.String({
          description: 'DEACTIVATED, LICENSE_NOT_FOUND, or why it failed (PORTAL_UNREACHABLE, …)',
        }),
        reason: Type.String(),
        next_attempt_at: NullableDateTime,
      },
      { description: 'null when no other key was replaced (first activation, or the same key again)' },
    ),
    Type.Null(),
  ]),
});
export type LicenseActivateAnswer = Static<typeof LicenseActivateAnswer>;

const LimitRow = Type.Object({
  limit: Type.Integer({ description: '-1 = unlimited' }),
  usage: Type.Integer(),
  remaining: Type.Integer({ description: '-1 = unlimited' }),
  over_limit: Type.Boolean(),
  at_limit: Type.Boolean(),
  disabled: Type.Integer({ description: 'Disabled by license enforcement' }),
});

/** `GET /license/limits`. */
export const LicenseLimits = Type.Object({
  tier: Type.String(),
  source: Type.Enum(['license', 'unlicensed']),
  limits: Resources(LimitRow),
});
export type LicenseLimits = Static<typeof LicenseLimits>;

const PendingDeactivation = Type.Object({
  key: Type.String({ description: 'Masked' }),
  since: NullableDateTime,
  attempts: Type.Integer(),
  next_attempt_at: NullableDateTime,
  last_error: Nullable(Type.Object({ code: Nullable(Type.String()), message: Nullable(Type.String()) })),
});

/** `GET /license/summary`: the one-glance state (why the license is what it is, and what happens next). */
export const LicenseSummary = Type.Object({
  tier: Type.String(),
  status: Type.String({ description: 'valid, grace, expired, unlicensed…', examples: ['valid'] }),
  is_valid: Type.Boolean(),
  reason: Nullable(Type.String()),
  message: Type.String(),
  key: Nullable(Type.String({ description: 'Masked' })),
  days_left: Nullable(Type.Integer({ description: 'Until the term ends (null: perpetual or none)' })),
  lease_days_left: Nullable(Type.Integer()),
  expires_at: NullableDateTime,
  valid_until: NullableDateTime,
  grace_ends_at: NullableDateTime,
  needs_refresh: Type.Boolean(),
  over_limit: Resources(Type.Boolean()),
  any_over_limit: Type.Boolean(),
  creation_frozen: Resources(Type.Boolean()),
  enforcement: Type.Object({
    over_limit_since: NullableDateTime,
    enforce_after: NullableDateTime,
    disabled: Resources(Type.Integer()),
  }),
  clock: Type.Object({
    behind: Type.Boolean(),
    behind_seconds: Type.Integer(),
    system_time: NullableDateTime,
    trusted_time: NullableDateTime,
  }),
  portal: Type.Object({
    configured: Type.Boolean(),
    development: Type.Boolean(),
    url: Nullable(Type.String()),
    last_checked: NullableDateTime,
    last_error: Nullable(
      Type.Object({ code: Nullable(Type.String()), message: Type.String(), at: NullableDateTime }),
    ),
    consecutive_failures: Type.Integer(),
    next_check_at: NullableDateTime,
  }),
  pending_deactivations: Type.Array(PendingDeactivation),
});
export type LicenseSummary = Static<typeof LicenseSummary>;

/** Database integers: a larger offset or id is a 400, not an overflow in SQLite/PostgreSQL (a 500). */
const MAX_INT = 2_147_483_647;
export const DisabledResourcesQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'Default 100' })),
    offset: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_INT })),
  },
  { additionalProperties: false },
);
const AuditWord = (what: string) =>
  Type.Optional(
    Type.String({
      maxLength: 40,
      pattern: '^[a-z][a-z0-9_-]*$',
      description: `Exact ${what} (lowercase letters, digits, _ and -)`,
    }),
  );
const AuditInstant = (what: string) =>
  Type.Optional(
    Type.String({
      format: 'date-time',
      maxLength: 40,
      // A time zone is required: a bare local time would be read in the server's zone.
      pattern: '(?:[Zz]|[+-]\\d{2}:?\\d{2})$',
      description: `${what} (inclusive), ISO 8601 with a time zone, e.g. 2026-05-01T00:00:00Z`,
    }),
  );

/** `GET /license/audit` query: a page by `before`, and optional filters combined with AND. */
export const LicenseAuditQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'Default 100' })),
    before: Type.Optional(
      Type.Integer({ minimum: 1, maximum: MAX_INT, description: 'Entries older than id' }),
    ),
    action: AuditWord('action, e.g. activate, refresh, enforce'),
    outcome: AuditWord('outcome, e.g. success, failed, refused'),
    actor: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description: 'Exact actor: a username, system or scheduler',
      }),
    ),
    since: AuditInstant('Entries at or after this instant'),
    until: AuditInstant('Entries at or before this instant'),
  },
  { additionalProperties: false },
);
export type LicenseAuditQuery = Static<typeof LicenseAuditQuery>;

/** `GET /license/disabled-resources`. */
export const DisabledResourcesAnswer = Type.Object({
  total: Type.Integer(),
  limit: Type.Integer(),
  offset: Type.Integer(),
  resources: Type.Array(
    Type.Object({
      type: Type.Enum(['account', 'domain', 'database']),
      id: Type.Integer(),
      name: Type.String(),
      owner: Nullable(Type.String()),
      disabled_at: NullableDateTime,
      reason: Type.String(),
    }),
  ),
});
export type DisabledResourcesAnswer = Static<typeof DisabledResourcesAnswer>;

/** `GET /license/audit`: license decisions, newest first. */
export const LicenseAuditAnswer = Type.Object({
  total: Type.Integer({
    description: 'Entries matching the filters, across pages (`before` not counted in)',
  }),
  entries: Type.Array(
    Type.Object({
      id: Type.Integer(),
      at: NullableDateTime,
      action: Type.String({ examples: ['activate'] }),
      actor: Type.String(),
      outcome: Type.String({ examples: ['activated'] }),
      code: Nullable(Type.String()),
      message: Type.String(),
      detail: Type.Unknown({ description: 'Action-specific JSON' }),
    }),
  ),
});
export type LicenseAuditAnswer = Static<typeof LicenseAuditAnswer>;

/** `POST /license/verify`. */
export const LicenseVerifyAnswer = Type.Object({
  success: Type.Literal(true),
  message: Type.String(),
  local: Type.Unknown({ description: 'What the stored license file says (signature, lease, term)' }),
  portal: Type.Unknown({ description: "The portal's answer, or why it was not asked" }),
  license: PanelLicenseView,
});

/** `POST /license/refresh`. */
export const LicenseRefreshAnswer = Type.Object({
  success: Type.Literal(true),
  message: Type.String(),
  refreshed: Type.Boolean(),
  previous_valid_until: NullableDateTime,
  valid_until: NullableDateTime,
  changes: Type.Record(Type.String(), Type.Unknown(), { description: 'Fields of the license that changed' }),
  next_check_at: NullableDateTime,
  license: PanelLicenseView,
});

const Affected = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  status: Type.String(),
  owner: Nullable(Type.String()),
});

/** `POST /license/enforce`. */
export const LicenseEnforceAnswer = Type.Object({
  success: Type.Literal(true),
  message: Type.String(),
  disabled_total: Type.Integer(),
  disabled: Type.Record(Type.String(), Type.Unknown(), {
    description: 'Per resource kind: how many were disabled and which (newest first)',
  }),
});

/** `POST /license/re-enable`. */
export const LicenseReenableAnswer = Type.Object({
  success: Type.Literal(true),
  message: Type.String(),
  reenabled_total: Type.Integer(),
  reenabled: Type.Record(Type.String(), Type.Unknown(), {
    description: 'Per resource kind: how many were re-enabled and which',
  }),
});
export { Affected as LicenseAffectedResource };

/** The body of the license actions that take none (refresh, verify, …). */
export const LicenseNoBody = Type.Object(
  {},
  { additionalProperties: false, description: 'No body (or an empty JSON object)' },
);
