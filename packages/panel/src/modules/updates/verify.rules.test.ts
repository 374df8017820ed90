// The update pipeline's signed-metadata checks (verify.ts) one rule at a time, with real Ed25519 keys:
// each refusal has its own code and text, and each boundary (answer expiry, version order, min_version,
// size, sha256) is pinned.
import { createHash } from 'node:crypto';
import {
  generateSigningKeyPair,
  loadSigningKey,
  parsePublicKeySet,
  type ReleasePayload,
  signDocument,
} from '@wispanel/contract';
import { describe, expect, it } from 'vitest';
import { UpdateError } from './update-error';
import { checkArtifact, checkTargetVersion, verifyRelease, verifyUpdateCheck } from './verify';

const pair = generateSigningKeyPair();
const key = loadSigningKey(pair.privateKeyPem);
const keys = parsePublicKeySet({
  keys: [{ kid: pair.kid, alg: 'ed25519', public_key: pair.publicKeyPem, status: 'current', created_at: '' }],
});
const HW = '1'.repeat(64);
const NOW = new Date('2026-08-01T00:00:00.000Z');
const SHA = createHash('sha256').update('artifact').digest('hex');

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof UpdateError) return `${err.code}: ${err.message}`;
    throw err;
  }
  return 'ACCEPTED';
}

const release = (over: Partial<ReleasePayload> = {}): ReleasePayload => ({
  v: 1,
  version: '2.0.0',
  channel: 'stable',
  filename: 'wispanel-2.0.0.tar.gz',
  size: 1234,
  sha256: SHA,
  critical: false,
  min_version: null,
  created_at: '2026-07-01T00:00:00.000Z',
  ...over,
});
const check = (over: Record<string, unknown> = {}) =>
  signDocument(
    'update-check',
    {
      v: 1,
      nonce: 'n1',
      hardware_id: HW,
      server_time: NOW.toISOString(),
      expires_at: new Date(NOW.getTime() + 60_000).toISOString(),
      current_version: '1.0.0',
      channel: 'stable',
      update_available: false,
      latest_version: '1.0.0',
      release: null,
      changelog: '',
      releases: [],
      critical: false,
      ...over,
    },
    key,
  );
const expectation = { keys, nonce: 'n1', hardwareId: HW, now: NOW };

describe('verifyUpdateCheck', () => {
  it('accepts an answer for this request and server until it expires', () => {
    expect(verifyUpdateCheck(check(), expectation)).toMatchObject({ nonce: 'n1', hardware_id: HW });
    const exp = NOW.getTime() + 1;
    expect(
      refusal(() => verifyUpdateCheck(check({ expires_at: new Date(exp).toISOString() }), expectation)),
    ).toBe('ACCEPTED');
  });

  it('refuses an expired, undated, replayed or foreign answer with its own code', () => {
    expect(refusal(() => verifyUpdateCheck(check({ expires_at: NOW.toISOString() }), expectation))).toBe(
      `UPDATE_STALE_METADATA: check-update answer expired at ${NOW.toISOString()} (now ${NOW.toISOString()})`,
    );
    expect(refusal(() => verifyUpdateCheck(check({ expires_at: 'soon' }), expectation))).toMatch(
      /^UPDATE_STALE_METADATA: check-update answer expired at soon/,
    );
    expect(refusal(() => verifyUpdateCheck(check({ nonce: 'n0' }), expectation))).toBe(
      'UPDATE_REPLAYED_ANSWER: check-update answer does not carry the nonce of this request (replayed or mixed-up answer)',
    );
    expect(refusal(() => verifyUpdateCheck(check({ hardware_id: '2'.repeat(64) }), expectation))).toBe(
      'UPDATE_HARDWARE_MISMATCH: check-update answer was issued for another server',
    );
  });

  it('refuses an unknown key and a bad signature with different codes, and a release passed as an answer', () => {
    const stranger = loadSigningKey(generateSigningKeyPair().privateKeyPem);
    const foreign = signDocument('update-check', { nonce: 'n1' }, stranger);
    expect(refusal(() => verifyUpdateCheck(foreign, expectation))).toBe(
      `UPDATE_UNKNOWN_KEY: update-check metadata: signing key ${stranger.kid} is not trusted`,
    );
    expect(refusal(() => verifyUpdateCheck({ ...check(), sig: 'AAAA' }, expectation))).toBe(
      'UPDATE_BAD_SIGNATURE: update-check metadata: signature does not match',
    );
    expect(refusal(() => verifyUpdateCheck(signDocument('release', release(), key), expectation))).toBe(
      'UPDATE_BAD_SIGNATURE: update-check metadata: expected a signed update-check, got release',
    );
  });

  it('does not disguise an error that is not a signature failure', () => {
    const broken = {
      ...expectation,
      keys: {
        get: () => {
          throw new RangeError('key store broken');
        },
      } as never,
    };
    expect(() => verifyUpdateCheck(check(), broken)).toThrow(RangeError);
  });
});

describe('verifyRelease', () => {
  const signed = (over: Partial<ReleasePayload> | Record<string, unknown> = {}) =>
    signDocument('release', { ...release(), ...over }, key);

  it('accepts signed metadata of the version asked for, or of any version when none is named', () => {
    expect(verifyRelease(signed(), keys, '2.0.0')).toEqual(release());
    expect(verifyRelease(signed(), keys)).toEqual(release());
  });

  it('refuses metadata of another version than the one asked for', () => {
    expect(refusal(() => verifyRelease(signed(), keys, '2.0.1'))).toBe(
      'UPDATE_METADATA_MISMATCH: signed release metadata is for 2.0.0, not 2.0.1',
    );
  });

  it('refuses signed metadata without a valid version, size or sha256', () => {
    const noVersion = 'UPDATE_BAD_SIGNATURE: release metadata carries no valid version';
    expect(refusal(() => verifyRelease(signed({ version: 'two' }), keys))).toBe(noVersion);
    expect(refusal(() => verifyRelease(signed({ version: 2 }), keys))).toBe(noVersion);
    const noSize = 'UPDATE_BAD_SIGNATURE: release metadata has no valid size and sha256';
    for (const over of [
      { size: 0 },
      { size: -1 },
      { size: 1.5 },
      { size: '1234' },
      { size: 2 ** 53 },
      { sha256: SHA.toUpperCase() },
      { sha256: `${SHA}0` },
      { sha256: SHA.slice(1) },
      { sha256: `x${SHA.slice(1)}` },
      { sha256: `${SHA.slice(0, -1)}x` },
    ]) {
      expect(
        refusal(() => verifyRelease(signed(over), keys)),
        JSON.stringify(over),
      ).toBe(noSize);
    }
    expect(refusal(() => verifyRelease(signed({ size: 1 }), keys))).toBe('ACCEPTED');
  });

  it('refuses an untrusted key as UPDATE_UNKNOWN_KEY', () => {
    const stranger = loadSigningKey(generateSigningKeyPair().privateKeyPem);
    expect(refusal(() => verifyRelease(signDocument('release', release(), stranger), keys))).toMatch(
      /^UPDATE_UNKNOWN_KEY: release metadata: signing key/,
    );
  });
});

describe('checkTargetVersion', () => {
  it('refuses the running version and older ones unless a downgrade is allowed', () => {
    expect(refusal(() => checkTargetVersion({ version: '1.4.2', min_version: null }, '1.4.2', true))).toBe(
      'UPDATE_DOWNGRADE_REFUSED: version 1.4.2 is already running',
    );
    expect(refusal(() => checkTargetVersion({ version: '1.4.1', min_version: null }, '1.4.2', false))).toBe(
      'UPDATE_DOWNGRADE_REFUSED: refusing to install 1.4.1 over 1.4.2: older versions need allow_downgrade',
    );
    expect(refusal(() => checkTargetVersion({ version: '1.4.1', min_version: '9.0.0' }, '1.4.2', true))).toBe(
      'ACCEPTED',
    );
    expect(refusal(() => checkTargetVersion({ version: '1.4.3', min_version: null }, '1.4.2', false))).toBe(
      'ACCEPTED',
    );
  });

  it('needs the running version at least min_version for an upgrade', () => {
    expect(
      refusal(() => checkTargetVersion({ version: '3.0.0', min_version: '2.0.0' }, '1.9.9', false)),
    ).toBe('UPDATE_MIN_VERSION: 3.0.0 can only be installed over 2.0.0 or newer (running 1.9.9)');
    expect(
      refusal(() => checkTargetVersion({ version: '3.0.0', min_version: '2.0.0' }, '2.0.0', false)),
    ).toBe('ACCEPTED');
    expect(
      refusal(() => checkTargetVersion({ version: '3.0.0', min_version: 'garbage' }, '1.0.0', false)),
    ).toBe('ACCEPTED');
  });
});

describe('checkArtifact', () => {
  it('accepts exactly the signed size and sha256', () => {
    expect(refusal(() => checkArtifact({ size: 1234, sha256: SHA }, release()))).toBe('ACCEPTED');
    expect(refusal(() => checkArtifact({ size: 1233, sha256: SHA }, release()))).toBe(
      'UPDATE_SIZE_MISMATCH: artifact is 1233 bytes, signed metadata says 1234',
    );
    const other = createHash('sha256').update('other').digest('hex');
    expect(refusal(() => checkArtifact({ size: 1234, sha256: other }, release()))).toBe(
      `UPDATE_CHECKSUM_MISMATCH: artifact SHA-256 ${other} does not match the signed ${SHA}`,
    );
  });
});
