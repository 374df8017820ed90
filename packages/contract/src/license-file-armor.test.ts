import { describe, expect, it } from 'vitest';
import { decodeLicenseFile, type LicensePayload, signLicenseFile, verifyLicenseFile } from './license-file';
import { generateSigningKeyPair, loadSigningKey, parsePublicKeySet } from './signing';

/**
 * What docs/license-file.md says precisely: the signature covers the decoded document, not the armored text.
 * Edits that leave the decoded bytes the same verify; every edit that changes them is rejected.
 */
const pair = generateSigningKeyPair();
const key = loadSigningKey(pair.privateKeyPem);
const keys = parsePublicKeySet({
  keys: [{ kid: pair.kid, alg: 'ed25519', public_key: pair.publicKeyPem, status: 'current', created_at: '' }],
});
const hw = 'b'.repeat(64);
const payload: LicensePayload = {
  v: 1,
  license_id: 'lic_armor',
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
  nonce: 'n-armor',
  status: 'active',
};
const file = signLicenseFile(payload, key);
const verify = (text: string) => verifyLicenseFile(text, { keys, hardwareId: hw });
const lines = file.trim().split('\n');
const body = lines.slice(1, -1).join('');

describe('license file armor', () => {
  it('whitespace and line-break edits keep the same signed bytes, so they verify', () => {
    const rewrapped = [lines[0], ...(body.match(/.{1,20}/g) ?? []), lines.at(-1)].join('\r\n');
    const spaced = file.replace(/\n/g, ' \n\t ');
    const oneLine = `${lines[0]}${body}${lines.at(-1)}`;
    for (const text of [rewrapped, spaced, oneLine, `\n\n${file}  \n`]) {
      expect(decodeLicenseFile(text)).toEqual(decodeLicenseFile(file));
      expect(verify(text).license_id).toBe('lic_armor');
    }
  });

  it('every change of a base64 character that changes the decoded bytes is rejected', () => {
    let rejected = 0;
    let sameBytes = 0;
    for (let i = 0; i < body.length; i++) {
      const c = body[i] as string;
      if (c === '=') continue;
      const swapped = c === 'A' ? 'B' : 'A';
      const edited = `${body.slice(0, i)}${swapped}${body.slice(i + 1)}`;
      const text = [lines[0], edited, lines.at(-1)].join('\n');
      if (Buffer.from(edited, 'base64').equals(Buffer.from(body, 'base64'))) {
        sameBytes += 1; // only the unused low bits of the last character before '=' padding
        expect(i).toBe(body.replace(/=+$/, '').length - 1);
        continue;
      }
      expect(() => verify(text), `character ${i}`).toThrow();
      rejected += 1;
    }
    expect(rejected).toBeGreaterThan(body.length - 4);
    expect(sameBytes).toBeLessThanOrEqual(1);
  });
});
