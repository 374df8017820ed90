import { type Static, Type } from 'typebox';
import { AutoUpdateExplanationSchema, HeldBackSchema } from './update-settings';

/**
 * Wire shapes of the panel's version and self-update routes (`/api/v1/version/*`, role admin, scope
 * `version`). The update policy (`/version/settings`) is in update-settings.ts. Prose: docs/updates.md.
 */

const NullableString = Type.Union([Type.String(), Type.Null()]);

/** `GET /version/info`: the documented shape, exactly. */
export const VersionInfo = Type.Object({
  version: Type.String(),
  channel: Type.String(),
  build_time: Type.String(),
  git_commit: Type.String(),
  info: Type.String(),
});
export type VersionInfo = Static<typeof VersionInfo>;

/** `GET /version/check`: SPEC A2, plus why an update is or is not offered (docs/updates.md "Update policy"). */
export const VersionCheck = Type.Object({
  update_available: Type.Boolean(),
  current_version: Type.String(),
  latest_version: Type.String(),
  changelog: Type.String(),
  held_back: Type.Optional(HeldBackSchema),
  auto_update: Type.Optional(AutoUpdateExplanationSchema),
});
export type VersionCheck = Static<typeof VersionCheck>;

/** `GET /version/changelog`. */
export const VersionChangelog = Type.Object({
  current_version: Type.String(),
  latest_version: Type.String(),
  update_available: Type.Boolean(),
  critical: Type.Boolean(),
  channel: Type.String(),
  changelog: Type.String({
    description: 'Markdown: releases newer than the running one, and the running one',
  }),
  releases: Type.Array(
    Type.Object({
      version: Type.String(),
      channel: Type.String(),
      changelog: Type.String(),
      critical: Type.Boolean(),
      published_at: Type.String(),
    }),
  ),
});
export type VersionChangelog = Static<typeof VersionChangelog>;

/** `GET /version/update/status` (and the answer of `POST /version/update/cancel`). */
export const UpdateStatus = Type.Object({
  job_id: NullableString,
  state: Type.String({
    description:
      'idle|checking|downloading|verifying|installing|restarting|health_check|completed|failed|rolled_back',
  }),
  from_version: NullableString,
  to_version: NullableString,
  progress: Type.Object({
    bytes: Type.Integer(),
    total: Type.Union([Type.Integer(), Type.Null()]),
    percent: Type.Union([Type.Number(), Type.Null()]),
  }),
  started_at: NullableString,
  updated_at: NullableString,
  finished_at: NullableString,
  error: Type.Union([Type.Object({ code: Type.String(), message: Type.String() }), Type.Null()]),
  log: Type.Array(Type.String()),
  supervised: Type.Boolean(),
});
export type UpdateStatus = Static<typeof UpdateStatus>;

/** `GET /version/update/history` query. */
export const UpdateHistoryQuery = Type.Object(
  { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })) },
  { additionalProperties: false },
);
export type UpdateHistoryQuery = Static<typeof UpdateHistoryQuery>;

/** `GET /version/update/history`: finished updates, newest first. */
export const UpdateHistory = Type.Object({
  updates: Type.Array(
    Type.Object({
      job_id: Type.String(),
      state: Type.String({ description: 'completed|failed|rolled_back' }),
      from_version: NullableString,
      to_version: NullableString,
      started_at: NullableString,
      finished_at: NullableString,
      error: Type.Union([
        Type.Object(
          { code: Type.String(), message: Type.String() },
          { description: 'why it failed or was rolled back' },
        ),
        Type.Null(),
      ]),
      source: Type.Union([Type.String({ description: 'api or cli' }), Type.Null()]),
    }),
  ),
});
export type UpdateHistory = Static<typeof UpdateHistory>;

/** `POST /version/update` and `/version/direct-update` answer (202): the started job. */
export const UpdateAccepted = Type.Object({
  success: Type.Boolean(),
  message: Type.String(),
  job_id: Type.String(),
  state: Type.String(),
  from_version: Type.String(),
  to_version: Type.String(),
  status_url: Type.String(),
});
export type UpdateAccepted = Static<typeof UpdateAccepted>;

/** `POST /version/direct-update` body. */
export const DirectUpdateBody = Type.Object(
  {
    version: Type.String({ minLength: 1, maxLength: 64, description: 'x.y.z' }),
    allow_downgrade: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type DirectUpdateBody = Static<typeof DirectUpdateBody>;
