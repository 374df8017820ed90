import { describe, expect, it } from 'vitest';
import {
  LicenseFileError,
  type LicensePayload,
  maskLicenseKey,
  signLicenseFile,
  verifyLicenseFile,
} from './license-file';
import {
  generateSigningKeyPair,
  loadSigningKey,
  parsePublicKeySet,
  signDocument,
  verifyDocument,
} from './signing';

const pair = generateSigningKeyPair();
const key = loadSigningKey(pair.privateKeyPem);
const keys = parsePublicKeySet({
  keys: [{ kid: pair.kid, alg: 'ed25519', public_key: pair.publicKeyPem, status: 'current', created_at: '' }],
});
const hw = 'a'.repeat(64);
const payload: LicensePayload = {
  v: 1,
  license_id: 'lic_1',
  key_masked: 'WISP-****SA6T',
  tier: 'pro',
  limits: { max_users: 30, max_domains: 100, max_databases: -1 },
  features: [],
  hardware_id: hw,
  issued_at: '2026-01-01T00:00:00.000Z',
  expires_at: '2027-01-01T00:00:00.000Z',
  valid_until: '2026-12-15T00:00:00.000Z',
  lease_days: 14,
  grace_days: 7,
  server_time: '2026-12-01T00:00:00.000Z',
  nonce: 'n1',
  status: 'active',
};

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof LicenseFileError) return err.reason;
    throw err;
  }
  return 'ACCEPTED';
}

describe('license file', () => {
  const file = signLicenseFile(payload, key);

  it('round-trips through sign and verify', () => {
    expect(verifyLicenseFile(file, { keys, hardwareId: hw, now: new Date('2026-12-02') })).toEqual(payload);
  });

  it('rejects every single changed character of the body', () => {
    const lines = file.trim().split('\n');
    const body = lines.slice(1, -1).join('');
    let accepted = 0;
    for (let i = 0; i < body.length; i += 3) {
      const c = body[i] === 'A' ? 'B' : 'A';
      const changed = body.slice(0, i) + c + body.slice(i + 1);
      const text = `${lines[0]}\n${changed}\n${lines.at(-1)}`;
      if (reason(() => verifyLicenseFile(text, { keys, hardwareId: hw })) === 'ACCEPTED') accepted++;
    }
    expect(accepted).toBe(0);
  });

  it('names why a file is refused', () => {
    const other = generateSigningKeyPair();
    const foreign = signLicenseFile(payload, loadSigningKey(other.privateKeyPem));
    expect(reason(() => verifyLicenseFile(foreign, { keys, hardwareId: hw }))).toBe('UNKNOWN_KEY');
    expect(reason(() => verifyLicenseFile(file, { keys, hardwareId: 'b'.repeat(64) }))).toBe(
      'HARDWARE_MISMATCH',
    );
    expect(reason(() => verifyLicenseFile(file, { keys, hardwareId: hw, now: new Date('2026-12-16') }))).toBe(
      'LEASE_EXPIRED',
    );
    expect(reason(() => verifyLicenseFile('hello', { keys, hardwareId: hw }))).toBe('MALFORMED');
  });

  it('keeps document types apart (domain separation)', () => {
    const release = signDocument('release', payload, key);
    expect(() => verifyDocument('license', { ...release, type: 'license' }, keys)).toThrow(/signature/);
  });

  it('masks keys', () => {
    expect(maskLicenseKey('WISP-ABCD-EFGH-SA6T')).toBe('WISP-****SA6T');
  });

  it('refuses a key set whose kid does not match the key', () => {
    expect(() =>
      parsePublicKeySet({
        keys: [{ kid: '0000000000000000', alg: 'ed25519', public_key: pair.publicKeyPem }],
      }),
    ).toThrow(/does not match/);
  });
});
