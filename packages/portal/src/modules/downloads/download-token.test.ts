import { generateSigningKeyPair, loadSigningKey } from '@wispanel/contract';
import { describe, expect, it } from 'vitest';
import { checkDownloadToken, createDownloadToken, downloadTokenSecret } from './download-token';

describe('download tokens', () => {
  const key = loadSigningKey(generateSigningKeyPair().privateKeyPem);
  const other = loadSigningKey(generateSigningKeyPair().privateKeyPem);
  const secret = downloadTokenSecret(key);
  const now = Date.parse('2026-01-01T00:00:00Z');
  const claims = { version: '1.5.0', license_id: 'lic1', hardware_id: 'a'.repeat(64), exp: now / 1000 + 900 };

  it('round-trips and is deterministic per key', () => {
    const t = createDownloadToken(secret, claims);
    expect(t).toMatch(/^wdt1\./);
    expect(downloadTokenSecret(key).equals(secret)).toBe(true);
    expect(checkDownloadToken(secret, t, '1.5.0', now)).toEqual({ ok: true, claims });
  });

  it('refuses expiry, another version, another key, tampering and garbage', () => {
    const t = createDownloadToken(secret, claims);
    expect(checkDownloadToken(secret, t, '1.5.0', now + 900_000)).toEqual({ ok: false, reason: 'EXPIRED' });
    expect(checkDownloadToken(secret, t, '1.5.1', now)).toEqual({ ok: false, reason: 'WRONG_VERSION' });
    expect(checkDownloadToken(downloadTokenSecret(other), t, '1.5.0', now)).toEqual({
      ok: false,
      reason: 'BAD_SIGNATURE',
    });
    const [p, payload, mac] = t.split('.') as [string, string, string];
    const forged = Buffer.from(JSON.stringify({ v: '1.5.0', l: 'lic1', h: 'a'.repeat(64), e: 9e9 })).toString(
      'base64url',
    );
    expect(checkDownloadToken(secret, `${p}.${forged}.${mac}`, '1.5.0', now).ok).toBe(false);
    expect(checkDownloadToken(secret, `${p}.${payload}.${mac.slice(0, -2)}AA`, '1.5.0', now).ok).toBe(false);
    expect(checkDownloadToken(secret, 'nonsense', '1.5.0', now)).toEqual({ ok: false, reason: 'MALFORMED' });
  });
});
