// Signed documents under attack: every refusal names its reason, and nothing but a well-formed document
// signed by a trusted key over `wispanel/<type>/v1\n<payload>` is accepted (docs/license-file.md).
import { createHash, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { SignedDocument } from './signed-document';
import {
  generateSigningKeyPair,
  keyIdOf,
  loadSigningKey,
  parsePublicKeySet,
  peekDocument,
  SignatureError,
  signDocument,
  verifyDocument,
} from './signing';

const pair = generateSigningKeyPair();
const key = loadSigningKey(pair.privateKeyPem);
const entry = {
  kid: pair.kid,
  alg: 'ed25519',
  public_key: pair.publicKeyPem,
  status: 'current',
  created_at: '',
};
const keys = parsePublicKeySet({ keys: [entry] });
const claim = { v: 1, what: 'release', version: '2.0.0', note: 'ünïcode' };
const doc = signDocument('release', claim, key);

function refusal(fn: () => unknown): { reason: string; message: string; name: string } | 'ACCEPTED' {
  try {
    fn();
  } catch (err) {
    if (err instanceof SignatureError) return { reason: err.reason, message: err.message, name: err.name };
    throw err;
  }
  return 'ACCEPTED';
}

/** Signs exactly these payload bytes (base64url text) the way the portal does. */
function rawSigned(type: string, payloadText: string): SignedDocument {
  const payload = Buffer.from(payloadText, 'utf8').toString('base64url');
  const sig = sign(null, Buffer.from(`wispanel/${type}/v1\n${payload}`), key.privateKey).toString(
    'base64url',
  );
  return { type: type as SignedDocument['type'], alg: 'ed25519', kid: key.kid, payload, sig };
}

describe('signing keys', () => {
  it('names a key by the first 16 hex digits of SHA-256 over its raw 32 bytes', () => {
    const raw = Buffer.from(
      createPublicKey(pair.publicKeyPem).export({ format: 'jwk' }).x as string,
      'base64url',
    );
    expect(raw).toHaveLength(32);
    const expected = createHash('sha256').update(raw).digest('hex').slice(0, 16);
    expect(pair.kid).toBe(expected);
    expect(keyIdOf(createPublicKey(pair.publicKeyPem))).toBe(expected);
    expect(key.kid).toBe(expected);
  });

  it('refuses a signing key that is not Ed25519', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = ec.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    expect(() => loadSigningKey(pem)).toThrow('signing key is not an Ed25519 key');
  });
});

describe('signed documents', () => {
  it('carries the payload as base64url JSON signed over the typed signing input', () => {
    expect(doc).toEqual({
      type: 'release',
      alg: 'ed25519',
      kid: pair.kid,
      payload: doc.payload,
      sig: doc.sig,
    });
    expect(doc.payload).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(Buffer.from(doc.payload, 'base64url').toString('utf8')).toBe(JSON.stringify(claim));
    expect(verifyDocument('release', doc, keys)).toEqual(claim);
    // An independent check of the documented signing input.
    const again = rawSigned('release', JSON.stringify(claim));
    expect(again.payload).toBe(doc.payload);
    expect(again.sig).toBe(doc.sig); // Ed25519 is deterministic: same input, same signature
  });

  it('refuses anything that is not a complete signed document as MALFORMED', () => {
    const malformed = {
      reason: 'MALFORMED',
      message: 'signed document is malformed',
      name: 'SignatureError',
    };
    const fakes: unknown[] = [
      null,
      undefined,
      'text',
      42,
      Object.assign(() => undefined, doc), // a function carrying every field is still not a document
      { ...doc, type: 7 },
      { ...doc, alg: 'rsa' },
      { ...doc, kid: 7 },
      { ...doc, payload: 7 },
      { ...doc, sig: 7 },
      { type: doc.type, alg: doc.alg, kid: doc.kid, payload: doc.payload },
    ];
    for (const fake of fakes) expect(refusal(() => verifyDocument('release', fake, keys))).toEqual(malformed);
  });

  it('refuses another document type, naming both (domain separation)', () => {
    expect(refusal(() => verifyDocument('license', doc, keys))).toEqual({
      reason: 'WRONG_TYPE',
      message: 'expected a signed license, got release',
      name: 'SignatureError',
    });
    // Relabelled: the signature was made over the release prefix, so it no longer matches.
    expect(refusal(() => verifyDocument('license', { ...doc, type: 'license' }, keys))).toMatchObject({
      reason: 'BAD_SIGNATURE',
      message: 'signature does not match',
    });
  });

  it('refuses a key id it does not trust, naming it', () => {
    const other = loadSigningKey(generateSigningKeyPair().privateKeyPem);
    expect(refusal(() => verifyDocument('release', signDocument('release', claim, other), keys))).toEqual({
      reason: 'UNKNOWN_KEY',
      message: `signing key ${other.kid} is not trusted`,
      name: 'SignatureError',
    });
  });

  it('refuses characters outside base64url even where a lenient decoder would skip them', () => {
    const notB64 = {
      reason: 'MALFORMED',
      message: 'signed document is not base64url',
      name: 'SignatureError',
    };
    const mid = Math.floor(doc.sig.length / 2);
    const variants: SignedDocument[] = [
      { ...doc, sig: `${doc.sig}==` },
      { ...doc, sig: `.${doc.sig}` },
      { ...doc, sig: `${doc.sig.slice(0, mid)}!${doc.sig.slice(mid)}` },
      { ...doc, sig: `${doc.sig}\n` },
      { ...doc, payload: `${doc.payload}=` },
      { ...doc, payload: `+${doc.payload}` },
      { ...doc, payload: `${doc.payload.slice(0, 10)} ${doc.payload.slice(10)}` },
    ];
    for (const v of variants) expect(refusal(() => verifyDocument('release', v, keys))).toEqual(notB64);
  });

  it('refuses a changed, truncated, lengthened or empty signature and a changed payload', () => {
    const bad = { reason: 'BAD_SIGNATURE', message: 'signature does not match', name: 'SignatureError' };
    const sigBytes = Buffer.from(doc.sig, 'base64url');
    const flipped = Buffer.from(sigBytes);
    flipped[10] = (flipped[10] ?? 0) ^ 1;
    const variants: SignedDocument[] = [
      { ...doc, sig: flipped.toString('base64url') },
      { ...doc, sig: sigBytes.subarray(0, 63).toString('base64url') },
      { ...doc, sig: Buffer.concat([sigBytes, Buffer.from([0])]).toString('base64url') },
      { ...doc, sig: '' },
      { ...doc, payload: Buffer.from(JSON.stringify({ ...claim, version: '9.9.9' })).toString('base64url') },
      { ...doc, payload: '' },
    ];
    for (const v of variants) expect(refusal(() => verifyDocument('release', v, keys))).toEqual(bad);
  });

  it('refuses a genuinely signed payload that is not JSON', () => {
    const signed = rawSigned('release', 'not json {');
    expect(refusal(() => verifyDocument('release', signed, keys))).toEqual({
      reason: 'MALFORMED',
      message: 'signed payload is not JSON',
      name: 'SignatureError',
    });
  });

  it('peeks at what a rejected document claimed, and at nothing when it is not JSON', () => {
    const forged = { ...doc, sig: 'AAAA' };
    expect(peekDocument(forged)).toEqual(claim);
    expect(peekDocument(rawSigned('release', '{oops'))).toBeUndefined();
  });
});

describe('public key sets', () => {
  it('accepts the portal JSON as text or object and trusts every listed key', () => {
    const second = generateSigningKeyPair();
    const set = {
      keys: [entry, { ...entry, kid: second.kid, public_key: second.publicKeyPem, status: 'retired' }],
    };
    for (const input of [set, JSON.stringify(set)]) {
      const parsed = parsePublicKeySet(input);
      expect([...parsed.keys()]).toEqual([pair.kid, second.kid]);
      expect(keyIdOf(parsed.get(second.kid) as never)).toBe(second.kid);
    }
  });

  it('refuses anything but an object with a keys array', () => {
    const inputs: unknown[] = [
      null,
      'null',
      42,
      '"keys"',
      {},
      { keys: 'all' },
      Object.assign(() => undefined, { keys: [entry] }),
    ];
    for (const input of inputs) {
      expect(() => parsePublicKeySet(input)).toThrow('public key set must be an object with a "keys" array');
    }
  });

  it('refuses an empty set, a foreign key type and a kid that does not match its key', () => {
    expect(() => parsePublicKeySet({ keys: [] })).toThrow('public key set is empty');
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const ecPem = ec.publicKey.export({ format: 'pem', type: 'spki' }).toString();
    expect(() => parsePublicKeySet({ keys: [{ ...entry, kid: 'k-ec', public_key: ecPem }] })).toThrow(
      'key k-ec is not Ed25519',
    );
    expect(() => parsePublicKeySet({ keys: [entry, { ...entry, kid: '0000000000000000' }] })).toThrow(
      'key id 0000000000000000 does not match its public key',
    );
  });
});
