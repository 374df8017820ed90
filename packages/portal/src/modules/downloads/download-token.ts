import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { SigningKey } from '@wispanel/contract';

/**
 * Download tokens are stateless: `wdt1.<payload b64url>.<HMAC-SHA256 b64url>`, nothing stored, nothing
 * written per download. The HMAC key is derived (HKDF, own info string) from the portal's current signing
 * key, so every instance sharing the key accepts the tokens of the others; rotating the signing key
 * invalidates outstanding tokens (the panel simply asks for a new one).
 */
export interface DownloadTokenClaims {
  /** Release version the token opens, and nothing else. */
  version: string;
  license_id: string;
  hardware_id: string;
  /** Unix seconds. */
  exp: number;
}

const PREFIX = 'wdt1';
const INFO = 'wispanel/download-token/v1';

export function downloadTokenSecret(key: SigningKey): Buffer {
  const ikm = key.privateKey.export({ format: 'der', type: 'pkcs8' });
  return Buffer.from(hkdfSync('sha256', ikm, Buffer.from(key.kid, 'utf8'), INFO, 32));
}

function mac(secret: Buffer, payload: string): Buffer {
  return createHmac('sha256', secret).update(`${PREFIX}.${payload}`).digest();
}

export function createDownloadToken(secret: Buffer, claims: DownloadTokenClaims): string {
  const payload = Buffer.from(
    JSON.stringify({ v: claims.version, l: claims.license_id, h: claims.hardware_id, e: claims.exp }),
    'utf8',
  ).toString('base64url');
  return `${PREFIX}.${payload}.${mac(secret, payload).toString('base64url')}`;
}

export type TokenCheck =
  | { ok: true; claims: DownloadTokenClaims }
  | { ok: false; reason: 'MALFORMED' | 'BAD_SIGNATURE' | 'EXPIRED' | 'WRONG_VERSION' };

const TOKEN = /^wdt1\.([A-Za-z0-9_-]{1,600})\.([A-Za-z0-9_-]{43})$/;

/** Checks the MAC (constant time), the expiry and that the token was issued for `version`. */
export function checkDownloadToken(
  secret: Buffer,
  token: string,
  version: string,
  nowMs: number,
): TokenCheck {
  const m = TOKEN.exec(token);
  if (!m) return { ok: false, reason: 'MALFORMED' };
  const [, payload, sig] = m as unknown as [string, string, string];
  const given = Buffer.from(sig, 'base64url');
  const expected = mac(secret, payload);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'BAD_SIGNATURE' };
  }
  let raw: { v?: unknown; l?: unknown; h?: unknown; e?: unknown };
  try {
    raw = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'MALFORMED' };
  }
  if (
    typeof raw.v !== 'string' ||
    typeof raw.l !== 'string' ||
    typeof raw.h !== 'string' ||
    typeof raw.e !== 'number'
  ) {
    return { ok: false, reason: 'MALFORMED' };
  }
  if (raw.e * 1000 <= nowMs) return { ok: false, reason: 'EXPIRED' };
  if (raw.v !== version) return { ok: false, reason: 'WRONG_VERSION' };
  return { ok: true, claims: { version: raw.v, license_id: raw.l, hardware_id: raw.h, exp: raw.e } };
}
