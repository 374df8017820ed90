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

export interface RolloutView {
  version: string;
  /** False for a release published without a plan: offered to everyone, still watched by the halt policy. */
  planned: boolean;
  stages: RolloutStage[];
  halt_policy: HaltPolicy;
  critical_skips_stages: boolean;
  state: RolloutState;
  stage: number;
  percent: number;
  stage_started_at: string;
  /** When the next stage starts on its own (null: last stage, paused or halted). */
  next_stage_at: string | null;
  reason: string | null;
  halted_at: string | null;
  updated_at: string;
}

export interface ReleaseHealth {
  version: string;
  rollout: RolloutView;
  /** Distinct servers offered the release by check-update. */
  offered: number;
  /** Distinct servers that asked for a download token of it. */
  started: number;
  succeeded: number;
  failed: number;
  rolled_back: number;
  /** Failed and rolled-back servers by the step they stopped at. */
  failed_by_step: Record<string, number>;
  /** Failed and rolled-back servers by step and error code, most servers first. */
  failures: Array<{ step: string; error_code: string | null; servers: number }>;
  median_install_ms: number | null;
  /** The counters the halt policy looks at (current stage only). */
  current_stage: { succeeded: number; failed: number; failure_rate: number | null };
  reports: number;
}

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

export interface FleetView {
  active_days: number;
  servers: number;
  by_version: Array<{ version: string; servers: number }>;
  by_channel: Array<{ channel: string; servers: number }>;
  licenses_by_tier: Array<{ tier: string; licenses: number }>;
  last_seen_at: string | null;
  recent: Array<{
    hardware_id: string;
    license_id: string;
    version: string;
    channel: string | null;
    last_seen_at: string;
  }>;
}

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
        description: 'Step the attempt stopped at (downloading, verifying, installing, health_check…)',
      }),
    ),
    error_code: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])),
    duration_ms: Type.Optional(Type.Integer({ minimum: 0, maximum: 7 * 86_400_000 })),
  },
  { additionalProperties: false },
);
export type InstallReportRequest = Static<typeof InstallReportBodySchema>;

export interface InstallReportResponse {
  accepted: true;
  /** False when this (hardware id, attempt id) was already recorded: nothing changed. */
  recorded: boolean;
  nonce: string;
}
