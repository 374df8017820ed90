import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

export const API_KEY_PATTERN = /^wsp_[0-9a-f]{48}$/;
export const SESSION_TOKEN_PATTERN = /^wss_[0-9a-f]{64}$/;

/** One-shot crypto.hash (Node ≥ 20.12): a Hash object per request cost ~1.5 µs on the auth path. */
export function sha256Hex(value: string): string {
  return hash('sha256', value, 'hex');
}

/** Constant-time equality of two hex digests. */
export function digestsEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A new API key: 192 random bits. Stored only as SHA-256 (ample for a secret of this entropy). */
export function newApiKeySecret(): { secret: string; hash: string; prefix: string; id: string } {
  const hex = randomBytes(24).toString('hex');
  const secret = `wsp_${hex}`;
  return {
    secret,
    hash: sha256Hex(secret),
    prefix: `wsp_${hex.slice(0, 8)}`,
    id: randomBytes(8).toString('hex'),
  };
}

export function newSessionToken(): { token: string; hash: string; id: string } {
  const token = `wss_${randomBytes(32).toString('hex')}`;
  return { token, hash: sha256Hex(token), id: randomBytes(8).toString('hex') };
}
