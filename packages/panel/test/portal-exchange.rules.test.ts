// The portal exchange's edges (src/modules/license/portal-exchange.ts; the main trust rules are in
// license-exchange.test.ts): the request body, the server-time tolerance boundary, what each portal refusal
// code means for the caller, and which signed answers settle a deactivation. Real Ed25519 keys, no network.
import {
  generateSigningKeyPair,
  type LicenseAnswer,
  type LicensePayload,
  loadSigningKey,
  signDocument,
  signLicenseFile,
} from '@wispanel/contract';
import { AppError } from '@wispanel/kit';
import { describe, expect, it } from 'vitest';
import {
  acceptLicenseFile,
  acceptVerdict,
  licenseRequest,
  portalAnswerError,
  settleDeactivation,
  verifySignedAnswer,
} from '../src/modules/license/portal-exchange';
import { trustFromKeySet } from '../src/modules/license/portal-trust';

const HW = 'e'.repeat(64);
const T = Date.parse('2026-07-01T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const TOL = 5 * 60_000;
const pair = generateSigningKeyPair();
const key = loadSigningKey(pair.privateKeyPem);
const entry = (p: typeof pair, status: 'current' | 'retired') => ({
  kid: p.kid,
  alg: 'ed25519' as const,
  public_key: p.publicKeyPem,
  status,
  created_at: '2026-01-01T00:00:00Z',
});
const trust = { answerKeys: trustFromKeySet({ keys: [entry(pair, 'current')] }).answerKeys, hardwareId: HW };

const payload = (over: Partial<LicensePayload> = {}): LicensePayload => ({
  v: 1,
  license_id: 'lic_x',
  key_masked: 'WISP-****SA6T',
  tier: 'pro',
  limits: { max_users: 1, max_domains: 1, max_databases: 1 },
  features: [],
  hardware_id: HW,
  issued_at: iso(T),
  expires_at: null,
  valid_until: iso(T + 86_400_000),
  lease_days: 1,
  grace_days: 0,
  server_time: iso(T),
  nonce: 'n1',
  status: 'active',
  ...over,
});
const answer = (over: Record<string, unknown> = {}) =>
  signDocument(
    'license-answer',
    {
      v: 1,
      action: 'deactivate',
      valid: true,
      code: 'DEACTIVATED',
      license_id: 'lic_x',
      hardware_id: HW,
      nonce: 'n1',
      server_time: iso(T),
      ...over,
    },
    key,
  );

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return `${err.code}: ${err.message}`;
    throw err;
  }
  return 'ACCEPTED';
}

describe('the request body', () => {
  it('carries key, hardware id, nonce, version and hostname, and usage only when given', () => {
    const base = {
      key: 'WISP-AAAA-BBBB-CCCC',
      hardwareId: HW,
      nonce: 'n1',
      panelVersion: '1.4.2',
      hostname: 'h',
    };
    expect(licenseRequest(base)).toEqual({
      key: 'WISP-AAAA-BBBB-CCCC',
      hardware_id: HW,
      nonce: 'n1',
      panel_version: '1.4.2',
      hostname: 'h',
    });
    const usage = { accounts: 3, domains: 2, databases: 1 };
    expect(licenseRequest({ ...base, usage })).toEqual({ ...licenseRequest(base), usage });
  });
});

describe('a returned license file', () => {
  const accept = (p: LicensePayload, signedFloor: string | null) =>
    refusal(() =>
      acceptLicenseFile(signLicenseFile(p, key), trust, { nonce: 'n1', signedFloor, toleranceMs: TOL }),
    );

  it('may be behind the last accepted time by the tolerance, not one millisecond more', () => {
    expect(accept(payload({ server_time: iso(T - TOL) }), iso(T))).toBe('ACCEPTED');
    expect(accept(payload({ server_time: iso(T - TOL - 1) }), iso(T))).toBe(
      'LICENSE_FILE_INVALID: The license file from the portal is older than one already accepted (replayed answer?)',
    );
    expect(accept(payload({ server_time: iso(T - 365 * 86_400_000) }), null)).toBe('ACCEPTED');
    expect(accept(payload({ server_time: iso(T - 365 * 86_400_000) }), 'not a time')).toBe('ACCEPTED');
  });

  it('needs a server time that is a time', () => {
    expect(accept(payload({ server_time: 'yesterday' }), null)).toMatch(/older than one already accepted/);
  });

  it('names why a file is not accepted, and that there was none', () => {
    expect(accept(payload({ hardware_id: 'f'.repeat(64) }), null)).toBe(
      'LICENSE_FILE_INVALID: The license file from the portal is not accepted (HARDWARE_MISMATCH): license file was issued for another server',
    );
    expect(accept(payload({ nonce: 'n0' }), null)).toBe(
      "LICENSE_FILE_INVALID: The license file from the portal does not carry this request's nonce (replayed answer?)",
    );
    for (const text of [undefined, '']) {
      expect(
        refusal(() => acceptLicenseFile(text, trust, { nonce: 'n1', signedFloor: null, toleranceMs: TOL })),
      ).toBe('PORTAL_ERROR: The license portal answered without a license file');
    }
  });

  it('reports an unexpected failure of verification as MALFORMED, not as a crash', () => {
    const broken = {
      answerKeys: {
        get: () => {
          throw new TypeError('key store broken');
        },
      } as never,
      hardwareId: HW,
    };
    expect(
      refusal(() =>
        acceptLicenseFile(signLicenseFile(payload(), key), broken, {
          nonce: 'n1',
          signedFloor: null,
          toleranceMs: TOL,
        }),
      ),
    ).toBe(
      'LICENSE_FILE_INVALID: The license file from the portal is not accepted (MALFORMED): key store broken',
    );
  });
});

describe('signed answers', () => {
  it('verify only for this server and a trusted key; other errors are not swallowed', () => {
    expect(verifySignedAnswer(answer(), trust)).toMatchObject({ code: 'DEACTIVATED', nonce: 'n1' });
    expect(verifySignedAnswer(answer({ hardware_id: 'f'.repeat(64) }), trust)).toBeNull();
    expect(verifySignedAnswer({ ...answer(), sig: 'AAAA' }, trust)).toBeNull();
    expect(verifySignedAnswer(null, trust)).toBeNull();
    const broken = {
      answerKeys: {
        get: () => {
          throw new TypeError('key store broken');
        },
      } as never,
      hardwareId: HW,
    };
    expect(() => verifySignedAnswer(answer(), broken)).toThrow(TypeError);
  });

  it('end the license only for REVOKED, SUSPENDED or EXPIRED refusals, signed as refusals with the same code', () => {
    for (const code of ['REVOKED', 'SUSPENDED', 'EXPIRED']) {
      const signed = answer({ action: 'refresh', valid: false, code });
      expect(acceptVerdict({ valid: false, code, signed } as LicenseAnswer, trust, { nonce: 'n1' })).toEqual({
        code,
        server_time: iso(T),
      });
    }
    const notEnding = answer({ action: 'refresh', valid: false, code: 'NOT_FOUND' });
    expect(
      acceptVerdict({ valid: false, code: 'NOT_FOUND', signed: notEnding } as LicenseAnswer, trust, {
        nonce: 'n1',
      }),
    ).toBeNull();
    const saysValid = answer({ action: 'refresh', valid: true, code: 'REVOKED' });
    expect(
      acceptVerdict({ valid: false, code: 'REVOKED', signed: saysValid } as LicenseAnswer, trust, {
        nonce: 'n1',
      }),
    ).toBeNull();
  });
});

describe('deactivation answers', () => {
  const settle = (a: Partial<LicenseAnswer>, nonce = 'n1') =>
    settleDeactivation({ valid: true, code: 'DEACTIVATED', ...a } as LicenseAnswer, trust, { nonce });

  it('settle a signed DEACTIVATED with its detail or a default reason', () => {
    expect(settle({ signed: answer(), detail: 'freed one' })).toEqual({
      settled: true,
      deactivated: true,
      code: 'DEACTIVATED',
      reason: 'freed one',
    });
    expect(settle({ signed: answer() })).toEqual({
      settled: true,
      deactivated: true,
      code: 'DEACTIVATED',
      reason: 'Activation on this server freed on the portal',
    });
  });

  it('settle a signed NOT_FOUND as nothing to free', () => {
    expect(
      settle({ code: 'NOT_FOUND', valid: false, signed: answer({ code: 'NOT_FOUND', valid: false }) }),
    ).toEqual({
      settled: true,
      deactivated: false,
      code: 'LICENSE_NOT_FOUND',
      reason: 'The license portal does not know this key: there is no activation to free',
    });
  });

  it('leave unsigned, mismatched or other answers pending with the reason', () => {
    const unsigned = {
      settled: false,
      code: 'PORTAL_ERROR',
      reason:
        'The license portal answered DEACTIVATED without a signature by a trusted key for this server and request',
    };
    expect(settle({})).toEqual(unsigned);
    expect(settle({ signed: answer({ code: 'NOT_FOUND' }) })).toEqual(unsigned);
    expect(settle({ signed: answer({ nonce: 'n0' }) })).toEqual(unsigned);
    expect(settle({ signed: answer({ action: 'refresh' }) })).toEqual(unsigned);
    expect(settle({ code: 'RATE_LIMITED', valid: false, signed: answer() })).toEqual({
      settled: false,
      code: 'PORTAL_RATE_LIMITED',
      reason: 'The license portal is rate limiting this server; try later',
    });
  });
});

describe('portal refusal codes', () => {
  it('map to the documented panel error codes and texts', () => {
    const err = (code: string, more: Partial<LicenseAnswer> = {}) => {
      const e = portalAnswerError({ valid: false, code, ...more } as LicenseAnswer);
      return `${e.code}: ${e.message}`;
    };
    expect(err('NOT_FOUND')).toBe('LICENSE_NOT_FOUND: License key not found');
    expect(err('SUSPENDED')).toBe('LICENSE_SUSPENDED: License is suspended');
    expect(err('REVOKED')).toBe('LICENSE_REVOKED: License has been revoked');
    expect(err('EXPIRED')).toBe('LICENSE_EXPIRED: License has expired');
    expect(err('HARDWARE_MISMATCH', { detail: 'bound elsewhere', error: 'e' })).toBe(
      'LICENSE_HARDWARE_MISMATCH: License is already bound to another server (bound elsewhere)',
    );
    expect(err('ACTIVATION_LIMIT', { error: '5 of 5 used' })).toBe(
      'LICENSE_ACTIVATION_LIMIT: License has no free activation left (5 of 5 used)',
    );
    expect(err('NOT_ACTIVATED')).toBe(
      'LICENSE_NOT_ACTIVATED: License is not activated on this server: activate it again',
    );
    expect(err('RATE_LIMITED')).toBe(
      'PORTAL_RATE_LIMITED: The license portal is rate limiting this server; try later',
    );
    expect(err('TEAPOT')).toBe('PORTAL_ERROR: The license portal refused the request: TEAPOT TEAPOT');
  });
});

describe('portal key trust', () => {
  it('lets every listed key verify stored files, and only current ones sign new answers', () => {
    const old = generateSigningKeyPair();
    const set = { keys: [entry(pair, 'current'), entry(old, 'retired')] };
    for (const input of [set, JSON.stringify(set)]) {
      const t = trustFromKeySet(input);
      expect([...t.keys.keys()].sort()).toEqual([pair.kid, old.kid].sort());
      expect([...t.answerKeys.keys()]).toEqual([pair.kid]);
    }
  });
});
