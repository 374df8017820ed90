import { type Static, Type } from 'typebox';

/**
 * Staged rollouts, install reports and the fleet view: wire shapes shared by the portal (serves them), the
 * panel (sends reports, reads held-back reasons) and the portal console. Prose: docs/releases.md "Rollouts".
 */

export const ROLLOUT_STATES = ['staging', 'paused', 'halted', 'complete'] as const;
export type RolloutState = (typeof ROLLOUT_STATES)[number];

export const INSTALL_OUTCOMES = ['succeeded', 'failed', 'rolled_back'] as const;
export type InstallOutcome = (typeof INSTALL_OUTCOMES)[number];

/** Why check-update does not offer a newer release to this server. */
export const HELD_BACK_REASONS = ['not_in_stage', 'paused', 'halted', 'license_lapsed'] as const;
export type HeldBackReason = (typeof HELD_BACK_REASONS)[number];

export const RolloutStageSchema = Type.Object(
  {
    // Ranges and order are checked by the portal (every bad stage named in one 422), not by the schema.
    percent: Type.Number({
      description:
        'Share of the fleet (0–100, by stable hash of version and hardware id) offered the release',
    }),
    after_hours: Type.Number({
      description: 'Hours after the previous stage started before this one starts on its own (first: 0)',
    }),
  },
  { additionalProperties: false },
);
export type RolloutStage = Static<typeof RolloutStageSchema>;

export const HaltPolicySchema = Type.Object(
  {
    min_failures: Type.Integer({
      minimum: 1,
      maximum: 1_000_000,
      description: 'Servers that failed (or rolled back) in the current stage before a halt (default 3)',
    }),
    failure_rate: Type.Number({
      exclusiveMinimum: 0,
      maximum: 1,
      description: 'Failed / finished servers in the current stage at or above which it halts (default 0.05)',
    }),
  },
  { additionalProperties: false },
);
export type HaltPolicy = Static<typeof HaltPolicySchema>;

/** `PUT /api/v1/admin/versions/{version}/rollout`. */
export const RolloutPlanBodySchema = Type.Object(
  {
    stages: Type.Optional(
      Type.Union([
        Type.Array(RolloutStageSchema, { minItems: 1, maxItems: 20 }),
        Type.Number({ description: 'A plain percent (0–100): one stage' }),
      ]),
    ),
    halt_policy: Type.Optional(HaltPolicySchema),
    critical_skips_stages: Type.Optional(
      Type.Boolean({ description: 'A critical release goes to its last stage at once' }),
    ),
  },
  { additionalProperties: false },
);
export type RolloutPlanBody = Static<typeof RolloutPlanBodySchema>;

export const DEFAULT_ROLLOUT_STAGES: readonly RolloutStage[] = [
  { percent: 1, after_hours: 0 },
  { percent: 10, after_hours: 24 },
  { percent: 50, after_hours: 24 },
  { percent: 100, after_hours: 24 },
];
export const DEFAULT_HALT_POLICY: HaltPolicy = { min_failures: 3, failure_rate: 0.05 };

const Percent = Type.Number({ minimum: 0, maximum: 100 });
const Count = Type.Integer({ minimum: 0 });
const Time = Type.String({ format: 'date-time', description: 'ISO 8601 time, UTC' });
const NullableTime = Type.Union([Time, Type.Null()]);
const NullableString = Type.Union([Type.String(), Type.Null()]);

export const RolloutViewSchema = Type.Object(
  {
    version: Type.String(),
    planned: Type.Boolean({
      description:
        'False for a release published without a plan: offered to everyone, still watched by the halt policy',
    }),
    stages: Type.Array(RolloutStageSchema),
    halt_policy: HaltPolicySchema,
    critical_skips_stages: Type.Boolean(),
    state: Type.Enum([...ROLLOUT_STATES], {
      description: 'staging | paused | halted (not offered to servers that have not started it) | complete',
    }),
    stage: Type.Integer({ minimum: 0, description: 'Index of the current stage' }),
    percent: Percent,
    stage_started_at: Time,
    next_stage_at: Type.Union([Time, Type.Null()], {
      description: 'When the next stage starts on its own (null: last stage, paused or halted)',
    }),
    reason: Type.Union([Type.String(), Type.Null()], {
      description:
        'Why it is halted or paused (the halt policy’s numbers for an automatic halt, the admin’s reason otherwise); null once resumed',
    }),
    halted_at: Type.Union([Time, Type.Null()], { description: 'When it was last halted' }),
    halted_by: Type.Union([Type.String(), Type.Null()], {
      description: 'Who last halted it: `policy` (automatic) or the actor (`admin:wpa_…`, `cli:operator`)',
    }),
    updated_at: Time,
  },
  { description: 'A release’s rollout plan and where it stands' },
);
export type RolloutView = Static<typeof RolloutViewSchema>;

export const WEBHOOK_DELIVERY_STATES = ['pending', 'delivered', 'failed'] as const;

export const WebhookDeliverySchema = Type.Object(
  {
    delivery: Type.String({ description: 'The X-WisPanel-Delivery id (the same on every attempt)' }),
    state: Type.Enum([...WEBHOOK_DELIVERY_STATES], {
      description: 'pending (queued or being retried) | delivered (2xx) | failed (given up)',
    }),
    attempts: Count,
    created_at: Time,
    next_attempt_at: NullableTime,
    delivered_at: NullableTime,
    last_error: NullableString,
  },
  { description: 'The vendor webhook of an event, from the durable outbox' },
);
export type WebhookDelivery = Static<typeof WebhookDeliverySchema>;

export const ReleaseHaltSchema = Type.Object(
  {
    active: Type.Boolean({ description: 'The rollout is halted now (false: resumed since)' }),
    at: Time,
    by: NullableString,
    trigger: Type.Union([Type.Enum(['automatic', 'manual']), Type.Null()]),
    reason: NullableString,
    webhook: Type.Union([WebhookDeliverySchema, Type.Null()], {
      description: '`release.halted` to the vendor (null: halted before the outbox existed)',
    }),
  },
  { description: 'The last halt of the release: when, by whom, why, and whether the vendor webhook got it' },
);
export type ReleaseHalt = Static<typeof ReleaseHaltSchema>;

export const ReleaseHealthSchema = Type.Object({
  version: Type.String(),
  rollout: RolloutViewSchema,
  halt: Type.Union([ReleaseHaltSchema, Type.Null()], { description: 'null: never halted' }),
  offered: Type.Integer({ minimum: 0, description: 'Distinct servers offered the release by check-update' }),
  started: Type.Integer({
    minimum: 0,
    description: 'Distinct servers that asked for a download token of it',
  }),
  succeeded: Count,
  failed: Count,
  rolled_back: Count,
  failed_by_step: Type.Record(Type.String(), Count, {
    description: 'Failed and rolled-back servers by the step they stopped at',
  }),
  failures: Type.Array(Type.Object({ step: Type.String(), error_code: NullableString, servers: Count }), {
    description: 'Failed and rolled-back servers by step and error code, most servers first',
  }),
  median_install_ms: Type.Union([Count, Type.Null()]),
  current_stage: Type.Object(
    {
      succeeded: Count,
      failed: Count,
      failure_rate: Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()]),
    },
    { description: 'The counters the halt policy looks at (current stage only)' },
  ),
  reports: Count,
});
export type ReleaseHealth = Static<typeof ReleaseHealthSchema>;

export const FleetViewSchema = Type.Object({
  active_days: Type.Integer({ minimum: 1 }),
  servers: Count,
  by_version: Type.Array(Type.Object({ version: Type.String(), servers: Count })),
  by_channel: Type.Array(Type.Object({ channel: Type.String(), servers: Count })),
  licenses_by_tier: Type.Array(Type.Object({ tier: Type.String(), licenses: Count })),
  last_seen_at: NullableTime,
  recent: Type.Array(
    Type.Object({
      hardware_id: Type.String(),
      license_id: Type.String(),
      version: Type.String(),
      channel: NullableString,
      last_seen_at: Time,
    }),
  ),
});
export type FleetView = Static<typeof FleetViewSchema>;

export const RolloutAnswer = Type.Object({ success: Type.Literal(true), rollout: RolloutViewSchema });
export const RolloutListAnswer = Type.Object({
  success: Type.Literal(true),
  rollouts: Type.Array(RolloutViewSchema),
});
export const ReleaseHealthAnswer = Type.Object({ success: Type.Literal(true), health: ReleaseHealthSchema });
export const FleetAnswer = Type.Object({ success: Type.Literal(true), fleet: FleetViewSchema });
export const CanaryListAnswer = Type.Object({
  success: Type.Literal(true),
  license_ids: Type.Array(Type.String()),
});
export const CanaryAnswer = Type.Object({
  success: Type.Literal(true),
  license_id: Type.String(),
  canary: Type.Boolean(),
});
export const TIMELINE_BUCKETS = ['hour', 'day'] as const;
export type TimelineBucket = (typeof TIMELINE_BUCKETS)[number];
/** At most this many buckets in one timeline answer (31 days of hours). */
export const TIMELINE_MAX_POINTS = 744;

/** `GET /api/v1/admin/versions/{version}/timeline` query. */
export const RolloutTimelineQuerySchema = Type.Object(
  {
    bucket: Type.Optional(
      Type.Enum([...TIMELINE_BUCKETS], { description: 'Bucket size (default hour), buckets in UTC' }),
    ),
    since: Type.Optional(
      Type.String({
        format: 'date-time',
        'x-format-message': 'must be a valid date (ISO 8601).',
        description:
          "From this time (default: the release's first activity or its publication, at least 24 and at most 744 buckets back)",
      }),
    ),
    until: Type.Optional(
      Type.String({
        format: 'date-time',
        'x-format-message': 'must be a valid date (ISO 8601).',
        description: 'Up to this time (default now)',
      }),
    ),
  },
  { additionalProperties: false },
);
export type RolloutTimelineQuery = Static<typeof RolloutTimelineQuerySchema>;

export const RolloutTimelinePointSchema = Type.Object({
  at: Type.String({ format: 'date-time', description: 'Start of the bucket (UTC)' }),
  offered: Type.Integer({ description: 'Servers check-update first offered the release to in this bucket' }),
  started: Type.Integer({ description: 'Servers that first asked for a download token (or reported)' }),
  succeeded: Type.Integer({ description: 'Servers whose report in this bucket says succeeded' }),
  failed: Type.Integer({ description: 'Servers whose report in this bucket says failed' }),
  rolled_back: Type.Integer({ description: 'Servers whose report in this bucket says rolled_back' }),
});
export type RolloutTimelinePoint = Static<typeof RolloutTimelinePointSchema>;

export const RolloutTimelineSchema = Type.Object({
  version: Type.String(),
  bucket: Type.Enum([...TIMELINE_BUCKETS]),
  since: Type.String({ format: 'date-time', description: 'Start of the first bucket' }),
  until: Type.String({ format: 'date-time', description: 'End of the last bucket (exclusive)' }),
  points: Type.Array(RolloutTimelinePointSchema, {
    description: 'Every bucket from since to until, oldest first, zeros included',
  }),
  totals: Type.Object(
    {
      offered: Type.Integer(),
      started: Type.Integer(),
      succeeded: Type.Integer(),
      failed: Type.Integer(),
      rolled_back: Type.Integer(),
    },
    { description: 'Sums over the points' },
  ),
});
export type RolloutTimeline = Static<typeof RolloutTimelineSchema>;

export const RolloutTimelineAnswer = Type.Object({
  success: Type.Literal(true),
  timeline: RolloutTimelineSchema,
});

export const InstallReportBodySchema = Type.Object(
  {
    key: Type.String({ minLength: 1, maxLength: 64, description: 'License key WISP-XXXX-XXXX-XXXX' }),
    hardware_id: Type.String({
      minLength: 64,
      maxLength: 64,
      pattern: '^[0-9a-f]{64}$',
      'x-format-message': 'must contain only lowercase hexadecimal characters (0-9, a-f).',
    }),
    nonce: Type.String({
      minLength: 8,
      maxLength: 128,
      pattern: '^[A-Za-z0-9._~+/=-]+$',
      'x-format-message': 'may only contain letters, digits and . _ ~ + / = -',
    }),
    attempt_id: Type.String({
      minLength: 1,
      maxLength: 64,
      pattern: '^[A-Za-z0-9._:-]+$',
      description: 'The panel update job id; a report is idempotent per (hardware id, attempt id)',
      'x-format-message': 'may only contain letters, digits and . _ : -',
    }),
    from_version: Type.String({ minLength: 1, maxLength: 64 }),
    to_version: Type.String({ minLength: 1, maxLength: 64 }),
    outcome: Type.Enum([...INSTALL_OUTCOMES]),
    step: Type.Optional(
      Type.Union([Type.String({ maxLength: 40, pattern: '^[a-z_]+$' }), Type.Null()], {
        description:
          'Step the attempt stopped at (downloading, verifying, installing, starting, health_check…): starting = the new release exited before it was healthy (UPDATE_START_FAILED) or its supervisor never came up (UPDATE_SUPERVISOR_FAILED)',
      }),
    ),
    error_code: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])),
    duration_ms: Type.Optional(Type.Integer({ minimum: 0, maximum: 7 * 86_400_000 })),
  },
  { additionalProperties: false },
);
export type InstallReportRequest = Static<typeof InstallReportBodySchema>;

export const InstallReportAnswer = Type.Object({
  accepted: Type.Literal(true),
  recorded: Type.Boolean({
    description: 'False when this (hardware id, attempt id) was already recorded: nothing changed',
  }),
  nonce: Type.String({ description: 'The nonce of the request, echoed' }),
});
export type InstallReportResponse = Static<typeof InstallReportAnswer>;

// Request parts of the rollout admin routes (path parameters, small bodies, the fleet query).
export const RolloutVersionParam = Type.Object({ version: Type.String({ maxLength: 64 }) });
export const RolloutReasonBody = Type.Object(
  { reason: Type.Optional(Type.String({ maxLength: 500 })) },
  { additionalProperties: false },
);
export const RolloutPromoteBody = Type.Object(
  {
    to_stage: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 19,
        description: 'Stage index to jump to (default: the next one)',
      }),
    ),
  },
  { additionalProperties: false },
);
export const FleetQuerySchema = Type.Object(
  {
    active_days: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 365, description: 'Seen within this many days (default 7)' }),
    ),
  },
  { additionalProperties: false },
);
export const RolloutEmptyBody = Type.Object(
  {},
  { additionalProperties: false, description: 'No fields (may be omitted)' },
);
export const CanaryLicenseParam = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
export const CanaryBodySchema = Type.Object({ canary: Type.Boolean() }, { additionalProperties: false });
