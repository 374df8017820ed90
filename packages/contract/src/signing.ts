import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import type { PublicKeySet, SignedDocument, SignedDocumentType } from './signed-document';

/**
 * Signed documents: a JSON payload, base64url-encoded, signed with Ed25519 over
 * `wispanel/<type>/v1\n<payload-b64>`. The type prefix is domain separation: a signed release can never be
 * passed off as a license file. The payload is signed as the exact bytes sent, so no canonical JSON is needed.
 */

export type SignatureFailure = 'MALFORMED' | 'WRONG_TYPE' | 'UNKNOWN_KEY' | 'BAD_SIGNATURE';

export class SignatureError extends Error {
  constructor(
    readonly reason: SignatureFailure,
    message: string,
  ) {
    super(message);
    this.name = 'SignatureError';
  }
}

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
}

/** A set of trusted public keys by key id. */
export type TrustedKeys = ReadonlyMap<string, KeyObject>;

function signingInput(type: SignedDocumentType, payload: string): Buffer {
  return Buffer.from(`wispanel/${type}/v1\n${payload}`, 'utf8');
}

/** Key id: first 16 hex characters of SHA-256 over the raw 32-byte public key. */
export function keyIdOf(publicKey: KeyObject): string {
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  return createHash('sha256').update(raw).digest('hex').slice(0, 16);
}

export function generateSigningKeyPair(): { kid: string; privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    kid: keyIdOf(publicKey),
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
}

export function loadSigningKey(privateKeyPem: string): SigningKey {
  const privateKey = createPrivateKey(privateKeyPem);
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error('signing key is not an Ed25519 key');
  return { kid: keyIdOf(createPublicKey(privateKey)), privateKey };
}

export function signDocument(type: SignedDocumentType, payload: unknown, key: SigningKey): SignedDocument {
  const encoded = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
  const sig = sign(null, signingInput(type, encoded), key.privateKey).toString('base64url');
  return { type, alg: 'ed25519', kid: key.kid, payload: encoded, sig };
}

/** Makes the raw Ed25519 signature of `input` with `key` (e.g. on a signing thread): 64 bytes. */
export type SignBytes = (input: Buffer, key: SigningKey) => Promise<Uint8Array>;

/**
 * The document `signDocument` makes, with the signature made by `signBytes` (Ed25519 is deterministic: the same
 * bytes whoever computes it). The signature must be 64 bytes; anything else is an error, never sent.
 */
export async function signDocumentWith(
  type: SignedDocumentType,
  payload: unknown,
  key: SigningKey,
  signBytes: SignBytes,
): Promise<SignedDocument> {
  const encoded = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
  const sig = await signBytes(signingInput(type, encoded), key);
  if (sig.length !== 64) throw new Error(`an Ed25519 signature is 64 bytes, got ${sig.length}`);
  return {
    type,
    alg: 'ed25519',
    kid: key.kid,
    payload: encoded,
    sig: Buffer.from(sig).toString('base64url'),
  };
}

function isSignedDocument(value: unknown): value is SignedDocument {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.type === 'string' &&
    v.alg === 'ed25519' &&
    typeof v.kid === 'string' &&
    typeof v.payload === 'string' &&
    typeof v.sig === 'string'
  );
}

const B64URL = /^[A-Za-z0-9_-]*$/;

/** Verifies signature and type; returns the decoded payload. Throws SignatureError. */
export function verifyDocument<T = unknown>(
  expectedType: SignedDocumentType,
  doc: unknown,
  keys: TrustedKeys,
): T {
  if (!isSignedDocument(doc)) throw new SignatureError('MALFORMED', 'signed document is malformed');
  if (doc.type !== expectedType) {
    throw new SignatureError('WRONG_TYPE', `expected a signed ${expectedType}, got ${doc.type}`);
  }
  const publicKey = keys.get(doc.kid);
  if (!publicKey) throw new SignatureError('UNKNOWN_KEY', `signing key ${doc.kid} is not trusted`);
  if (!B64URL.test(doc.payload) || !B64URL.test(doc.sig)) {
    throw new SignatureError('MALFORMED', 'signed document is not base64url');
  }
  const sig = Buffer.from(doc.sig, 'base64url');
  if (sig.length !== 64 || !verify(null, signingInput(doc.type, doc.payload), publicKey, sig)) {
    throw new SignatureError('BAD_SIGNATURE', 'signature does not match');
  }
  try {
    return JSON.parse(Buffer.from(doc.payload, 'base64url').toString('utf8')) as T;
  } catch {
    throw new SignatureError('MALFORMED', 'signed payload is not JSON');
  }
}

/** Decodes a payload without verifying it: only for showing what a rejected document claimed. */
export function peekDocument<T = unknown>(doc: SignedDocument): T | undefined {
  try {
    return JSON.parse(Buffer.from(doc.payload, 'base64url').toString('utf8')) as T;
  } catch {
    return undefined;
  }
}

/** The JSON that `GET /api/v1/keys` on the portal returns, and that a panel is configured with. */
/** Parses a PublicKeySet (object or JSON text) into trusted keys; checks each kid matches its key. */
export function parsePublicKeySet(input: unknown): Map<string, KeyObject> {
  const set = typeof input === 'string' ? JSON.parse(input) : input;
  if (typeof set !== 'object' || set === null || !Array.isArray((set as PublicKeySet).keys)) {
    throw new Error('public key set must be an object with a "keys" array');
  }
  const out = new Map<string, KeyObject>();
  for (const entry of (set as PublicKeySet).keys) {
    const key = createPublicKey(entry.public_key);
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`key ${entry.kid} is not Ed25519`);
    if (keyIdOf(key) !== entry.kid) throw new Error(`key id ${entry.kid} does not match its public key`);
    out.set(entry.kid, key);
  }
  if (out.size === 0) throw new Error('public key set is empty');
  return out;
}
