import type { HeldBackRelease } from './rollouts';
import type { SignedDocument } from './signing';

/**
 * Release and update-check documents shared by the portal (signs) and the panel (verifies).
 * Channels are cumulative: a panel on `beta` sees stable and beta releases; on `alpha` all three.
 */
export const RELEASE_CHANNELS = ['stable', 'beta', 'alpha'] as const;
export type ReleaseChannel = (typeof RELEASE_CHANNELS)[number];

export function channelIncludes(panelChannel: ReleaseChannel, releaseChannel: ReleaseChannel): boolean {
  return RELEASE_CHANNELS.indexOf(releaseChannel) <= RELEASE_CHANNELS.indexOf(panelChannel);
}

/** Signed as type `release` once, when the artifact is uploaded; stable for the life of the release. */
export interface ReleasePayload {
  v: 1;
  version: string;
  channel: ReleaseChannel;
  filename: string;
  size: number;
  sha256: string;
  critical: boolean;
  min_version: string | null;
  created_at: string;
}

export interface ReleaseSummary {
  version: string;
  channel: ReleaseChannel;
  changelog: string;
  critical: boolean;
  published_at: string;
}

/** `POST /api/v1/download/check-update` request. */
export interface CheckUpdateRequest {
  key: string;
  hardware_id: string;
  current_version: string;
  channel: ReleaseChannel;
  nonce: string;
}

/** Signed as type `update-check` for each answer: bound to the request nonce, short-lived. */
export interface UpdateCheckPayload {
  v: 1;
  nonce: string;
  hardware_id: string;
  server_time: string;
  /** The panel must not act on this answer after this time (freeze protection). */
  expires_at: string;
  current_version: string;
  channel: ReleaseChannel;
  update_available: boolean;
  latest_version: string;
  /** The newest eligible release's signed metadata (null when none is newer). */
  release: SignedDocument | null;
  /** Markdown of the eligible releases newer than current, and the current one, newest first. */
  changelog: string;
  releases: ReleaseSummary[];
  critical: boolean;
  /**
   * Newer releases this server is not offered yet, and why (rollout stage not reached, paused, halted, license
   * lapsed). Absent from portals without rollouts.
   */
  held_back?: HeldBackRelease[];
}

/** `POST /api/v1/download/check-update` response: readable fields plus the signed answer they came from. */
export interface CheckUpdateResponse {
  update_available: boolean;
  current_version: string;
  latest_version: string;
  changelog: string;
  critical: boolean;
  /** Copied from the signed payload (see `UpdateCheckPayload.held_back`). */
  held_back?: HeldBackRelease[];
  signed: SignedDocument;
}

/** `POST /api/v1/download/token` `{ key, hardware_id, version }` response. */
export interface DownloadTokenResponse {
  token: string;
  /** Path on the portal: `GET /api/v1/download/artifact/{version}?token=…` (supports Range). */
  url: string;
  expires_at: string;
  size: number;
  sha256: string;
  /**
   * The signed `release` document of this version (portal: include it). The panel needs it for a direct
   * update to a version other than check-update's latest: it never installs an artifact without signed metadata.
   */
  release?: SignedDocument;
}
