import {
  type ReleasePayload,
  SignatureError,
  type SignedDocument,
  type TrustedKeys,
  type UpdateCheckPayload,
  verifyDocument,
} from '@wispanel/contract';
import semver from 'semver';
import { UpdateError } from './update-error';

/**
 * The pure checks of the update pipeline. Each failure has its own code so an operator (and a test) can tell
 * a tampered artifact from a forged signature, a replayed answer or a rollback attempt.
 */

function verifySigned<T>(type: 'release' | 'update-check', doc: unknown, keys: TrustedKeys): T {
  try {
    return verifyDocument<T>(type, doc, keys);
  } catch (err) {
    if (err instanceof SignatureError && err.reason === 'UNKNOWN_KEY') {
      throw new UpdateError('UPDATE_UNKNOWN_KEY', `${type} metadata: ${err.message}`);
    }
    if (err instanceof SignatureError) {
      throw new UpdateError('UPDATE_BAD_SIGNATURE', `${type} metadata: ${err.message}`);
    }
    throw err;
  }
}

export interface CheckAnswerExpectations {
  keys: TrustedKeys;
  nonce: string;
  hardwareId: string;
  now: Date;
}

/** The signed check-update answer: signature, bound to our nonce and hardware id, not expired. */
export function verifyUpdateCheck(doc: unknown, expect: CheckAnswerExpectations): UpdateCheckPayload {
  const payload = verifySigned<UpdateCheckPayload>('update-check', doc, expect.keys);
  if (payload.nonce !== expect.nonce) {
    throw new UpdateError(
      'UPDATE_REPLAYED_ANSWER',
      'check-update answer does not carry the nonce of this request (replayed or mixed-up answer)',
    );
  }
  if (payload.hardware_id !== expect.hardwareId) {
    throw new UpdateError('UPDATE_HARDWARE_MISMATCH', 'check-update answer was issued for another server');
  }
  const expires = Date.parse(payload.expires_at);
  if (!Number.isFinite(expires) || expires <= expect.now.getTime()) {
    throw new UpdateError(
      'UPDATE_STALE_METADATA',
      `check-update answer expired at ${payload.expires_at} (now ${expect.now.toISOString()})`,
    );
  }
  return payload;
}

/** The signed release metadata, and that it is the version we asked for. */
export function verifyRelease(doc: unknown, keys: TrustedKeys, version?: string): ReleasePayload {
  const release = verifySigned<ReleasePayload>('release', doc, keys);
  if (typeof release.version !== 'string' || !semver.valid(release.version)) {
    throw new UpdateError('UPDATE_BAD_SIGNATURE', 'release metadata carries no valid version');
  }
  if (version !== undefined && release.version !== version) {
    throw new UpdateError(
      'UPDATE_METADATA_MISMATCH',
      `signed release metadata is for ${release.version}, not ${version}`,
    );
  }
  if (!Number.isSafeInteger(release.size) || release.size <= 0 || !/^[0-9a-f]{64}$/.test(release.sha256)) {
    throw new UpdateError('UPDATE_BAD_SIGNATURE', 'release metadata has no valid size and sha256');
  }
  return release;
}

/** Refuses older and equal versions (rollback attack) unless a downgrade is explicitly allowed. */
export function checkTargetVersion(
  release: Pick<ReleasePayload, 'version' | 'min_version'>,
  currentVersion: string,
  allowDowngrade: boolean,
): void {
  const cmp = semver.compare(release.version, currentVersion);
  if (cmp === 0) {
    throw new UpdateError('UPDATE_DOWNGRADE_REFUSED', `version ${release.version} is already running`);
  }
  if (cmp < 0 && !allowDowngrade) {
    throw new UpdateError(
      'UPDATE_DOWNGRADE_REFUSED',
      `refusing to install ${release.version} over ${currentVersion}: older versions need allow_downgrade`,
    );
  }
  if (cmp > 0 && release.min_version && semver.valid(release.min_version)) {
    if (semver.lt(currentVersion, release.min_version)) {
      throw new UpdateError(
        'UPDATE_MIN_VERSION',
        `${release.version} can only be installed over ${release.min_version} or newer (running ${currentVersion})`,
      );
    }
  }
}

/** The downloaded artifact is exactly the signed one. */
export function checkArtifact(actual: { size: number; sha256: string }, release: ReleasePayload): void {
  if (actual.size !== release.size) {
    throw new UpdateError(
      'UPDATE_SIZE_MISMATCH',
      `artifact is ${actual.size} bytes, signed metadata says ${release.size}`,
    );
  }
  if (actual.sha256 !== release.sha256) {
    throw new UpdateError(
      'UPDATE_CHECKSUM_MISMATCH',
      `artifact SHA-256 ${actual.sha256} does not match the signed ${release.sha256}`,
    );
  }
}

/** Re-exported for callers that only need to recognise a signed document. */
export type { SignedDocument };
