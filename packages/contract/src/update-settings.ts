import { type Static, Type } from 'typebox';
import { HELD_BACK_REASONS } from './rollouts';

/**
 * The panel's update policy (`GET/PUT /api/v1/version/settings`) and the explanation `/version/check` adds.
 * Field-level rules (known days, HH:MM, a real IANA time zone) are checked by the panel so every 400 names the
 * bad value; the schema fixes the shape. Prose: docs/updates.md "Update policy".
 */
export const AUTO_UPDATE_MODES = ['off', 'notify', 'critical', 'all'] as const;
export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

export const MaintenanceWindowSchema = Type.Object(
  {
    days: Type.Array(Type.String({ maxLength: 16 }), {
      maxItems: 7,
      description: 'Days the window starts on: mon tue wed thu fri sat sun',
    }),
    start: Type.String({ maxLength: 16, description: 'Local time HH:MM' }),
    end: Type.String({
      maxLength: 16,
      description: 'Local time HH:MM; before start = across midnight; equal to start = the whole day',
    }),
    timezone: Type.String({ maxLength: 64, description: 'IANA time zone, e.g. Europe/Berlin' }),
  },
  { additionalProperties: false },
);

export const UpdateSettingsSchema = Type.Object({
  auto_update: Type.String({ description: 'off | notify | critical | all' }),
  channel: Type.String({ description: 'stable | beta | alpha' }),
  window: Type.Union([MaintenanceWindowSchema, Type.Null()], {
    description: 'When an automatic update may start; null = any time',
  }),
});
export type UpdateSettings = Static<typeof UpdateSettingsSchema>;

export const UpdateSettingsBodySchema = Type.Object(
  {
    auto_update: Type.Optional(Type.String({ maxLength: 16 })),
    channel: Type.Optional(Type.String({ maxLength: 16 })),
    window: Type.Optional(Type.Union([MaintenanceWindowSchema, Type.Null()])),
  },
  { additionalProperties: false },
);
export type UpdateSettingsBody = Static<typeof UpdateSettingsBodySchema>;

export const HeldBackSchema = Type.Array(
  Type.Object({
    version: Type.String(),
    reason: Type.Enum([...HELD_BACK_REASONS]),
    percent: Type.Optional(Type.Number()),
    next_stage_at: Type.Optional(Type.String()),
  }),
  { description: 'Newer releases the portal does not offer this server yet, and why' },
);

export const AutoUpdateExplanationSchema = Type.Object({
  mode: Type.String({ description: 'off | notify | critical | all' }),
  action: Type.String({
    description: 'none | notify | install: what the scheduler does with this answer now',
  }),
  reason: Type.String({
    description: 'no_update | policy_off | notify_only | not_critical | outside_window | will_install',
  }),
  in_window: Type.Boolean(),
  next_window_at: Type.Union([Type.String(), Type.Null()]),
});
