import { type Static, Type } from 'typebox';
import { HELD_BACK_REASONS } from './rollouts';
import { SignedDocument } from './signed-document';
import { Body, DateTime, HardwareId, Nonce, NullableDateTime, Success } from './wire';

/**
 * Release and update-check shapes shared by the portal (signs, serves) and the panel (verifies, installs):
 * the portal's admin release API (`/api/v1/admin/versions`), its public download API (`/api/v1/download/*`,
 * the portal ↔ panel update protocol) and the signed documents in them.
 * Channels are cumulative: a panel on `beta` sees stable and beta releases; on `alpha` all three.
 */
export const RELEASE_CHANNELS = ['stable', 'beta', 'alpha'] as const;
export type ReleaseChannel = (typeof RELEASE_CHANNELS)[number];

export function channelIncludes(panelChannel: ReleaseChannel, releaseChannel: ReleaseChannel): boolean {
  return RELEASE_CHANNELS.indexOf(releaseChannel) <= RELEASE_CHANNELS.indexOf(panelChannel);
}

export const RELEASE_STATUSES = ['draft', 'published', 'yanked'] as const;
export type ReleaseStatus = (typeof RELEASE_STATUSES)[number];

/** Longest changelog a release may carry (Markdown characters). */
export const MAX_CHANGELOG_CHARS = 100_000;

/** Strict semver without build metadata (semver.org's regular expression, minus the `+build` part). */
export const SEMVER_PATTERN =
  '^(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)(?:-((?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\\.(?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?$';

export const Semver = (description: string) =>
  Type.String({
    minLength: 1,
    maxLength: 64,
    pattern: SEMVER_PATTERN,
    description,
    'x-format-message': 'must be a semantic version such as 1.4.2 or 1.5.0-beta.1.',
  });

export const Channel = Type.Enum([...RELEASE_CHANNELS], {
  description: 'stable ⊂ beta ⊂ alpha: a panel on beta is offered stable and beta releases',
});
export const ReleaseStatusSchema = Type.Enum([...RELEASE_STATUSES]);

// ---- admin release API ----
const Changelog = Type.String({ maxLength: MAX_CHANGELOG_CHARS, description: 'Markdown' });
const Notes = Type.String({ maxLength: 10_000, description: 'Internal notes (never sent to panels)' });
const MinVersion = Type.Union([Semver('Lowest version this release may be installed over'), Type.Null()]);

export const ReleaseCreateBody = Body({
  version: Semver('Semantic version, unique'),
  channel: Type.Optional(Channel),
  changelog: Type.Optional(Changelog),
  critical: Type.Optional(Type.Boolean()),
  min_version: Type.Optional(MinVersion),
  notes: Type.Optional(Notes),
});
export type ReleaseCreateBody = Static<typeof ReleaseCreateBody>;

export const ReleaseUpdateBody = Body({
  channel: Type.Optional(Channel),
  changelog: Type.Optional(Changelog),
  critical: Type.Optional(Type.Boolean()),
  min_version: Type.Optional(MinVersion),
  notes: Type.Optional(Notes),
});
export type ReleaseUpdateBody = Static<typeof ReleaseUpdateBody>;

export const ReleaseVersionParam = Type.Object({ version: Type.String({ maxLength: 64 }) });
export const ReleaseListQuery = Type.Object(
  { channel: Type.Optional(Channel), status: Type.Optional(ReleaseStatusSchema) },
  { additionalProperties: false },
);
export const ArtifactUploadQuery = Type.Object(
  {
    filename: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
        'x-format-message': 'may hold only letters, digits, dot, dash and underscore.',
      }),
    ),
  },
  { additionalProperties: false },
);
/** `DELETE /admin/versions/{version}` (a draft): what was deleted. */
export const ReleaseDeletedAnswer = Success({ message: Type.String() });
export const ReleaseYankBody = Body({ reason: Type.Optional(Type.String({ maxLength: 500 })) });

/** A release as admins see it. */
export const ReleaseView = Type.Object({
  version: Type.String({ examples: ['1.5.0'] }),
  channel: Channel,
  status: ReleaseStatusSchema,
  changelog: Type.String(),
  notes: Type.String(),
  critical: Type.Boolean(),
  min_version: Type.Union([Type.String(), Type.Null()]),
  artifact: Type.Union([
    Type.Object({
      filename: Type.String(),
      size: Type.Integer(),
      sha256: Type.String(),
      uploaded_at: DateTime,
    }),
    Type.Null(),
  ]),
  signed: Type.Union([SignedDocument, Type.Null()], {
    description: 'The signed `release` document panels verify (present once an artifact is uploaded)',
  }),
  created_at: DateTime,
  updated_at: DateTime,
  published_at: NullableDateTime,
  yanked_at: NullableDateTime,
  yank_reason: Type.Union([Type.String(), Type.Null()]),
});
export type ReleaseView = Static<typeof ReleaseView>;

export const ReleaseAnswer = Success({ release: ReleaseView });
export const ReleaseListAnswer = Success({ releases: Type.Array(ReleaseView) });

// ---- signed documents ----
/** Signed as type `release` once, when the artifact is uploaded; stable for the life of the release. */
export const ReleasePayload = Type.Object({
  v: Type.Literal(1),
  version: Type.String(),
  channel: Channel,
  filename: Type.String(),
  size: Type.Integer(),
  sha256: Type.String(),
  critical: Type.Boolean(),
  min_version: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String(),
});
export type ReleasePayload = Static<typeof ReleasePayload>;

export const ReleaseSummary = Type.Object({
  version: Type.String(),
  channel: Channel,
  changelog: Type.String(),
  critical: Type.Boolean(),
  published_at: Type.String(),
});
export type ReleaseSummary = Static<typeof ReleaseSummary>;

/** One release newer than the running one that check-update did not offer, and why. */
export const HeldBackReleaseSchema = Type.Object({
  version: Type.String(),
  reason: Type.Enum([...HELD_BACK_REASONS]),
  percent: Type.Optional(Type.Number({ description: 'Current rollout percent (for `not_in_stage`)' })),
  next_stage_at: Type.Optional(
    Type.String({
      description: 'When the next rollout stage starts (for `not_in_stage`; absent at the last stage)',
    }),
  ),
});

/**
 * Newer releases this server is not offered yet, and why (rollout stage not reached, paused, halted, license
 * lapsed). Absent from portals without rollouts.
 */
export type HeldBackRelease = Static<typeof HeldBackReleaseSchema>;
const HeldBack = Type.Optional(Type.Array(HeldBackReleaseSchema));

/** Signed as type `update-check` for each answer: bound to the request nonce, short-lived. */
export const UpdateCheckPayload = Type.Object({
  v: Type.Literal(1),
  nonce: Type.String(),
  hardware_id: Type.String(),
  server_time: Type.String(),
  /** The panel must not act on this answer after this time (freeze protection). */
  expires_at: Type.String(),
  current_version: Type.String(),
  channel: Channel,
  update_available: Type.Boolean(),
  latest_version: Type.String(),
  /** The newest eligible release's signed metadata (null when none is newer). */
  release: Type.Union([SignedDocument, Type.Null()]),
  /** Markdown of the eligible releases newer than current, and the current one, newest first. */
  changelog: Type.String(),
  releases: Type.Array(ReleaseSummary),
  critical: Type.Boolean(),
  held_back: HeldBack,
});
export type UpdateCheckPayload = Static<typeof UpdateCheckPayload>;

// ---- public download API (portal ↔ panel) ----
/** Any string: a key of the wrong shape is an invalid license (401), not a validation error. */
const DownloadKey = Type.String({
  minLength: 1,
  maxLength: 64,
  description: 'License key WISP-XXXX-XXXX-XXXX',
});

/** `POST /api/v1/download/check-update` request. */
export const CheckUpdateRequest = Body({
  key: DownloadKey,
  hardware_id: HardwareId,
  current_version: Semver('The version the panel runs'),
  channel: Channel,
  nonce: Nonce,
});
export type CheckUpdateRequest = Static<typeof CheckUpdateRequest>;

/** `POST /api/v1/download/check-update` response: readable fields plus the signed answer they came from. */
export const CheckUpdateResponse = Type.Object({
  update_available: Type.Boolean(),
  current_version: Type.String(),
  latest_version: Type.String(),
  changelog: Type.String({ description: 'Markdown' }),
  critical: Type.Boolean(),
  /** Copied from the signed payload (see `UpdateCheckPayload.held_back`). */
  held_back: HeldBack,
  signed: SignedDocument,
});
export type CheckUpdateResponse = Static<typeof CheckUpdateResponse>;

/** `POST /api/v1/download/token` request. */
export const DownloadTokenRequest = Body({
  key: DownloadKey,
  hardware_id: HardwareId,
  version: Semver('The release to download'),
});
export type DownloadTokenRequest = Static<typeof DownloadTokenRequest>;

/** `POST /api/v1/download/token` response. */
export const DownloadTokenResponse = Type.Object({
  token: Type.String(),
  url: Type.String({
    description: 'Path on the portal: `GET /api/v1/download/artifact/{version}?token=…` (supports Range)',
  }),
  expires_at: DateTime,
  size: Type.Integer(),
  sha256: Type.String(),
  /** The signed `release` document of this version: the panel never installs an artifact without it. */
  release: Type.Optional(SignedDocument),
});
export type DownloadTokenResponse = Static<typeof DownloadTokenResponse>;

export const ArtifactParams = Type.Object({ version: Type.String({ maxLength: 64 }) });
export const ArtifactQuery = Type.Object(
  { token: Type.String({ minLength: 1, maxLength: 1024, description: 'From POST /api/v1/download/token' }) },
  { additionalProperties: false },
);

/** Error answers of the download API: `{ error, code, details? }`; exactly `{ error: "Invalid license" }` on 401. */
export const DownloadError = Type.Object({
  error: Type.String(),
  code: Type.Optional(Type.String()),
  details: Type.Optional(Type.Record(Type.String(), Type.Array(Type.String()))),
});
