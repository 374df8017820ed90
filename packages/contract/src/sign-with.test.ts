// Signing through another signer (the portal's signing threads): the document must be byte for byte the one
// signDocument makes, and nothing but a 64-byte signature may end up in it.
import { sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  armorLicenseFile,
  decodeLicenseFile,
  type LicensePayload,
  signLicenseFile,
  verifyLicenseFile,
} from './license-file';
import {
  generateSigningKeyPair,
  loadSigningKey,
  parsePublicKeySet,
  type SignBytes,
  signDocument,
  signDocumentWith,
  verifyDocument,
} from './signing';

const pair = generateSigningKeyPair();
const key = loadSigningKey(pair.privateKeyPem);
const keys = parsePublicKeySet({
  keys: [{ kid: pair.kid, alg: 'ed25519', public_key: pair.publicKeyPem, status: 'current', created_at: '' }],
});
const claim = {
  v: 1,
  action: 'verify',
  nonce: 'n-ünïcode-0123456789',
  server_time: '2026-11-30T12:00:00.000Z',
};
const seen: Buffer[] = [];
const here: SignBytes = async (input, k) => {
  seen.push(input);
  return sign(null, input, k.privateKey);
};

describe('signDocumentWith', () => {
  it('makes the document signDocument makes, asking the signer for exactly the signing input', async () => {
    seen.length = 0;
    const doc = await signDocumentWith('license-answer', claim, key, here);
    expect(doc).toEqual(signDocument('license-answer', claim, key));
    expect(seen).toHaveLength(1);
    expect(seen[0]!.toString('utf8')).toBe(`wispanel/license-answer/v1\n${doc.payload}`);
    expect(verifyDocument('license-answer', doc, keys)).toEqual(claim);
  });

  it.each([0, 32, 63, 65, 128])('refuses a signer answer of %i bytes instead of sending it', async (n) => {
    await expect(
      signDocumentWith('license-answer', claim, key, async () => new Uint8Array(n)),
    ).rejects.toThrow(`an Ed25519 signature is 64 bytes, got ${n}`);
  });

  it('a 64-byte answer that is not the signature is sent as is and then refused by every verifier', async () => {
    const doc = await signDocumentWith('license-answer', claim, key, async () => new Uint8Array(64).fill(7));
    expect(doc.sig).toBe(Buffer.alloc(64, 7).toString('base64url'));
    expect(() => verifyDocument('license-answer', doc, keys)).toThrow(/signature does not match/);
  });
});

describe('armorLicenseFile', () => {
  const payload = {
    v: 1,
    license_id: 'lic_1',
    key_masked: 'WISP-****-****-ABCD',
    tier: 'pro',
    limits: { max_users: 1, max_domains: 1, max_databases: 1 },
    features: [],
    hardware_id: 'a'.repeat(64),
    issued_at: '2026-01-01T00:00:00.000Z',
    expires_at: null,
    valid_until: '2099-01-01T00:00:00.000Z',
    lease_days: 30,
    grace_days: 7,
    server_time: '2026-11-30T12:00:00.000Z',
    nonce: 'n',
    status: 'active',
    kid: pair.kid,
  } as LicensePayload;

  it('armors a signed license exactly as signLicenseFile does', async () => {
    const text = armorLicenseFile(await signDocumentWith('license', payload, key, here));
    expect(text).toBe(signLicenseFile(payload, key));
    expect(decodeLicenseFile(text).type).toBe('license');
    expect(verifyLicenseFile(text, { keys, hardwareId: 'a'.repeat(64) })).toEqual(payload);
  });

  it('refuses to armor any other signed document as a license file', () => {
    const answer = signDocument('license-answer', claim, key);
    expect(() => armorLicenseFile(answer)).toThrow(
      'a license file holds a signed license, not a license-answer',
    );
  });
});
