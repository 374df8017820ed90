// License files under attack (docs/license-file.md): the armored format, every refusal reason, the payload
// shape and lease checks, and the key/hardware-id patterns that gate what the panel sends to the portal.
import { sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  decodeLicenseFile,
  HARDWARE_ID_PATTERN,
  LICENSE_KEY_ALPHABET,
  LICENSE_KEY_PATTERN,
  LicenseFileError,
  type LicensePayload,
  maskLicenseKey,
  signLicenseFile,
  verifyLicenseFile,
} from './license-file';
import { generateSigningKeyPair, loadSigningKey, parsePublicKeySet, signDocument } from './signing';

const BEGIN = '-----BEGIN WISPANEL LICENSE FILE-----';
const END = '-----END WISPANEL LICENSE FILE-----';
const pair = generateSigningKeyPair();
const key = loadSigningKey(pair.privateKeyPem);
const keys = parsePublicKeySet({
  keys: [{ kid: pair.kid, alg: 'ed25519', public_key: pair.publicKeyPem, status: 'current', created_at: '' }],
});
const hw = 'c'.repeat(64);
const payload: LicensePayload = {
  v: 1,
  license_id: 'lic_tamper',
  key_masked: 'WISP-****SA6T',
  tier: 'pro',
  limits: { max_users: 30, max_domains: 100, max_databases: -1 },
  features: ['backups'],
  hardware_id: hw,
  issued_at: '2026-01-01T00:00:00.000Z',
  expires_at: null,
  valid_until: '2026-12-15T00:00:00.000Z',
  lease_days: 14,
  grace_days: 7,
  server_time: '2026-12-01T00:00:00.000Z',
  nonce: 'n-tamper',
  status: 'active',
  kid: pair.kid,
};
const file = signLicenseFile(payload, key);

function refusal(text: string, now?: Date): { reason: string; message: string; name: string } | 'ACCEPTED' {
  try {
    verifyLicenseFile(text, now ? { keys, hardwareId: hw, now } : { keys, hardwareId: hw });
  } catch (err) {
    if (err instanceof LicenseFileError) return { reason: err.reason, message: err.message, name: err.name };
    throw err;
  }
  return 'ACCEPTED';
}

/** Armors any signed document (or any text) the way signLicenseFile does. */
function armor(body: string): string {
  return `${BEGIN}\n${(body.match(/.{1,64}/g) ?? []).join('\n')}\n${END}\n`;
}
function armorDoc(doc: unknown): string {
  return armor(Buffer.from(JSON.stringify(doc), 'utf8').toString('base64'));
}
function bodyOf(text: string): string {
  return text.trim().split('\n').slice(1, -1).join('');
}

describe('license file format', () => {
  it('is the armor lines around 64-column base64 of the signed document JSON', () => {
    const lines = file.split('\n');
    expect(lines[0]).toBe(BEGIN);
    expect(lines.at(-2)).toBe(END);
    expect(lines.at(-1)).toBe('');
    const body = lines.slice(1, -2);
    expect(body.length).toBeGreaterThan(2);
    for (const line of body.slice(0, -1)) expect(line).toMatch(/^[A-Za-z0-9+/=]{64}$/);
    expect(body.at(-1)).toMatch(/^[A-Za-z0-9+/=]{1,64}$/);
    const doc = JSON.parse(Buffer.from(body.join(''), 'base64').toString('utf8'));
    expect(doc).toEqual(decodeLicenseFile(file));
    expect(doc).toMatchObject({ type: 'license', alg: 'ed25519', kid: pair.kid });
  });

  it('verifies the same signed bytes re-wrapped, indented or with CRLF line ends', () => {
    const body = bodyOf(file);
    const variants = [
      `\n\n  ${file}  \n`,
      file.replace(/\n/g, '\r\n'),
      `${BEGIN}\n${body}\n${END}`,
      `${BEGIN}\n${(body.match(/.{1,10}/g) ?? []).join('\n  \t')}\n${END}\n`,
    ];
    for (const v of variants) expect(refusal(v)).toBe('ACCEPTED');
  });

  it('refuses text without both armor lines, or with anything outside them', () => {
    const notAFile = {
      reason: 'MALFORMED',
      message: 'not a WisPanel license file',
      name: 'LicenseFileError',
    };
    const body = bodyOf(file);
    const variants = [
      '',
      'hello',
      `${body}\n${END}`,
      `${BEGIN}\n${body}`,
      `${BEGIN}\n${body}\n`,
      `junk\n${file}`,
      `${file}junk\n`,
      file.replace(BEGIN, BEGIN.toLowerCase()),
    ];
    for (const v of variants) expect(refusal(v)).toEqual(notAFile);
  });

  it('refuses a body with characters outside base64 wherever they are', () => {
    const notB64 = {
      reason: 'MALFORMED',
      message: 'license file body is not base64',
      name: 'LicenseFileError',
    };
    const body = bodyOf(file);
    const mid = Math.floor(body.length / 2);
    const variants = [
      `${BEGIN}\n*${body}\n${END}`,
      `${BEGIN}\n${body}*\n${END}`,
      `${BEGIN}\n${body.slice(0, mid)}.${body.slice(mid)}\n${END}`,
      `${BEGIN}\n${body.replace(/\+/g, '-').replace(/\//g, '_')}_-\n${END}`,
      `${BEGIN}\n\n${END}`,
    ];
    for (const v of variants) expect(refusal(v)).toEqual(notB64);
  });

  it('refuses a base64 body that is not JSON, or JSON that is not a signed document', () => {
    expect(refusal(armor(Buffer.from('not json').toString('base64')))).toEqual({
      reason: 'MALFORMED',
      message: 'license file body is not JSON',
      name: 'LicenseFileError',
    });
    expect(refusal(armorDoc({ hello: 'world' }))).toEqual({
      reason: 'MALFORMED',
      message: 'signed document is malformed',
      name: 'LicenseFileError',
    });
  });
});

describe('license file verification', () => {
  it('returns the payload of a genuine file for this server', () => {
    expect(verifyLicenseFile(file, { keys, hardwareId: hw, now: new Date('2026-12-10') })).toEqual(payload);
  });

  it('passes the signature failure through with its reason and message', () => {
    const release = signDocument('release', payload, key);
    expect(refusal(armorDoc(release))).toEqual({
      reason: 'WRONG_TYPE',
      message: 'expected a signed license, got release',
      name: 'LicenseFileError',
    });
  });

  it('does not disguise an error that is not a signature failure', () => {
    const broken = {
      get: () => {
        throw new RangeError('key store unavailable');
      },
    } as unknown as typeof keys;
    expect(() => verifyLicenseFile(file, { keys: broken, hardwareId: hw })).toThrow(RangeError);
  });

  it('refuses a genuinely signed payload of an unknown shape', () => {
    const unknownShape = {
      reason: 'MALFORMED',
      message: 'license payload has an unknown shape',
      name: 'LicenseFileError',
    };
    const { valid_until: _lease, ...noLease } = payload;
    const { hardware_id: _hw, ...noHardware } = payload;
    const shapes = [
      { ...payload, v: 2 },
      { ...payload, v: '1' },
      noLease, // without a lease the file would never expire
      { ...payload, valid_until: Date.parse(payload.valid_until) },
      noHardware,
      { ...payload, hardware_id: null },
    ];
    for (const shape of shapes) {
      const text = signLicenseFile(shape as unknown as LicensePayload, key);
      expect(refusal(text, new Date('2026-12-10'))).toEqual(unknownShape);
    }
  });

  it('refuses a payload naming another signing key than the one that signed it', () => {
    const text = signLicenseFile({ ...payload, kid: '0123456789abcdef' }, key);
    expect(refusal(text)).toEqual({
      reason: 'MALFORMED',
      message: 'license payload names another signing key',
      name: 'LicenseFileError',
    });
    const { kid: _kid, ...withoutKid } = payload;
    expect(refusal(signLicenseFile(withoutKid, key))).toBe('ACCEPTED');
  });

  it('refuses a file issued for another server', () => {
    const other = signLicenseFile({ ...payload, hardware_id: 'd'.repeat(64) }, key);
    expect(refusal(other)).toEqual({
      reason: 'HARDWARE_MISMATCH',
      message: 'license file was issued for another server',
      name: 'LicenseFileError',
    });
  });

  it('ends the lease at valid_until exactly', () => {
    const end = Date.parse(payload.valid_until);
    expect(refusal(file, new Date(end - 1))).toBe('ACCEPTED');
    expect(refusal(file, new Date(end))).toEqual({
      reason: 'LEASE_EXPIRED',
      message: `license lease ended at ${payload.valid_until}`,
      name: 'LicenseFileError',
    });
    expect(refusal(file)).toBe('ACCEPTED'); // no `now`: the caller checks the lease itself
  });

  it('refuses a document whose signature was made with the signing input of another document', () => {
    // The same payload bytes signed as a release, relabelled as a license.
    const release = signDocument('release', payload, key);
    expect(refusal(armorDoc({ ...release, type: 'license' }))).toMatchObject({ reason: 'BAD_SIGNATURE' });
    // And signed over the bare payload without the typed prefix.
    const bare = sign(null, Buffer.from(release.payload), key.privateKey).toString('base64url');
    expect(refusal(armorDoc({ ...release, type: 'license', sig: bare }))).toMatchObject({
      reason: 'BAD_SIGNATURE',
    });
  });
});

describe('license keys and hardware ids', () => {
  it('masks a key or its last four characters', () => {
    expect(maskLicenseKey('WISP-ABCD-EFGH-SA6T')).toBe('WISP-****SA6T');
    expect(maskLicenseKey('SA6T')).toBe('WISP-****SA6T');
  });

  it('uses an alphabet without look-alike characters', () => {
    expect(LICENSE_KEY_ALPHABET).toHaveLength(31);
    for (const c of '01ILO') expect(LICENSE_KEY_ALPHABET).not.toContain(c);
    for (const c of LICENSE_KEY_ALPHABET)
      expect(LICENSE_KEY_PATTERN.test(`WISP-${c}AAA-BBBB-CCCC`)).toBe(true);
  });

  it('accepts only WISP-XXXX-XXXX-XXXX keys in that alphabet', () => {
    expect(LICENSE_KEY_PATTERN.test('WISP-ABCD-EFGH-SA6T')).toBe(true);
    for (const bad of [
      'WISP-ABCD-EFGH-SA6',
      'WISP-ABC-EFGH-SA6T',
      'WISP-ABCD-EFG-SA6T',
      'WISP-ABCD-EFGH-SA6TX',
      'XWISP-ABCD-EFGH-SA6T',
      'WISP-ABCD-EFGH-SA6T\n',
      'wisp-abcd-efgh-sa6t',
      'WISP-0BCD-EFGH-SA6T',
      'WISP-ABCD-EFIH-SA6T',
      'WISP-ABCD-EFGH-SA6L',
      'WISP-ABCDEFGH-SA6T',
    ]) {
      expect(LICENSE_KEY_PATTERN.test(bad), bad).toBe(false);
    }
  });

  it('accepts only 64 lowercase hex digits as a hardware id', () => {
    expect(HARDWARE_ID_PATTERN.test('0123456789abcdef'.repeat(4))).toBe(true);
    for (const bad of [
      'a'.repeat(63),
      'a'.repeat(65),
      'A'.repeat(64),
      `x${'a'.repeat(64)}`,
      `${'a'.repeat(64)}x`,
      `${'a'.repeat(63)}g`,
    ]) {
      expect(HARDWARE_ID_PATTERN.test(bad), bad).toBe(false);
    }
  });
});
