/**
 * The portal exchange (src/modules/license/portal-exchange.ts) as a pure unit: real Ed25519 keys and real
 * signed license files and answers, no network. Each trust rule has a test that fails when the rule is
 * removed (docs/license.md, "How the license works"): nonce binding (a replayed earlier answer, an answer for
 * another nonce), server time not behind the last accepted one, hardware id, key id trusted and current, and
 * the signature itself (a valid signature by a key the panel does not trust).
 */
import {
  generateSigningKeyPair,
  type LicenseAnswer,
  type LicensePayload,
  loadSigningKey,
  type PublicKeySet,
  type SignedDocument,
  signDocument,
  signLicenseFile,
} from '@wispanel/contract';
import { AppError } from '@wispanel/kit';
import { describe, expect, it } from 'vitest';
import {
  acceptLicenseFile,
  acceptVerdict,
  type ExchangeTrust,
  settleDeactivation,
} from '../src/modules/license/portal-exchange';
import { trustFromKeySet } from '../src/modules/license/portal-trust';

const HW = 'a'.repeat(64);
const OTHER_HW = 'b'.repeat(64);
const T = Date.parse('2026-06-01T12:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const TOLERANCE = 5 * 60_000;

const current = generateSigningKeyPair();
const retired = generateSigningKeyPair();
const stranger = generateSigningKeyPair();
const keySet = (entries: Array<[ReturnType<typeof generateSigningKeyPair>, 'current' | 'retired']>) =>
  ({
    keys: entries.map(([k, status]) => ({
      kid: k.kid,
      alg: 'ed25519',
      public_key: k.publicKeyPem,
      status,
      created_at: '2026-01-01T00:00:00Z',
    })),
  }) satisfies PublicKeySet;
const trusted = trustFromKeySet(
  keySet([
    [current, 'current'],
    [retired, 'retired'],
  ]),
);
const trust: ExchangeTrust = { answerKeys: trusted.answerKeys, hardwareId: HW };

function payload(over: Partial<LicensePayload> = {}): LicensePayload {
  return {
    v: 1,
    license_id: 'lic_1',
    key_masked: 'WISP-****SA6T',
    tier: 'pro',
    limits: { max_users: 30, max_domains: 100, max_databases: -1 },
    features: [],
    hardware_id: HW,
    issued_at: iso(T - 30 * 86_400_000),
    expires_at: null,
    valid_until: iso(T + 14 * 86_400_000),
    lease_days: 14,
    grace_days: 7,
    server_time: iso(T),
    nonce: 'nonce-sent-now',
    status: 'active',
    ...over,
  };
}
const file = (p: LicensePayload, pair = current) => signLicenseFile(p, loadSigningKey(pair.privateKeyPem));
const expectation = (over: Partial<{ nonce: string; signedFloor: string | null }> = {}) => ({
  nonce: 'nonce-sent-now',
  signedFloor: iso(T - 86_400_000),
  toleranceMs: TOLERANCE,
  ...over,
});

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return `${err.code}: ${err.message}`;
    throw err;
  }
  return 'ACCEPTED';
}

describe('portal exchange: a returned license file', () => {
  it('is accepted when signed by a current trusted key, for this server, this nonce and a newer time', () => {
    const p = acceptLicenseFile(file(payload()), trust, expectation());
    expect(p).toMatchObject({ tier: 'pro', nonce: 'nonce-sent-now', hardware_id: HW });
    // Within the tolerance behind the floor (portal clocks differ slightly) is still accepted.
    expect(
      refusal(() =>
        acceptLicenseFile(file(payload()), trust, expectation({ signedFloor: iso(T + TOLERANCE - 1000) })),
      ),
    ).toBe('ACCEPTED');
  });

  it('a portal replaying an earlier answer is refused (nonce binding)', () => {
    // The earlier answer was genuine and accepted: its time is the floor, so only the nonce gives it away.
    const earlier = file(payload({ nonce: 'nonce-of-yesterday', server_time: iso(T) }));
    const r = refusal(() =>
      acceptLicenseFile(earlier, trust, expectation({ nonce: 'nonce-sent-now', signedFloor: iso(T) })),
    );
    expect(r).toMatch(/^LICENSE_FILE_INVALID: .*nonce/);
  });

  it('an answer carrying another nonce than the one sent is refused', () => {
    const r = refusal(() =>
      acceptLicenseFile(file(payload({ nonce: 'someone-elses' })), trust, expectation()),
    );
    expect(r).toMatch(/^LICENSE_FILE_INVALID: .*nonce/);
  });

  it('an answer with a server time older than the last accepted answer is refused', () => {
    const old = file(payload({ server_time: iso(T - 2 * 86_400_000) }));
    const r = refusal(() => acceptLicenseFile(old, trust, expectation({ signedFloor: iso(T) })));
    expect(r).toMatch(/^LICENSE_FILE_INVALID: .*older than one already accepted/);
    const garbled = file(payload({ server_time: 'not a time' }));
    expect(refusal(() => acceptLicenseFile(garbled, trust, expectation()))).toMatch(/older than one already/);
  });

  it('a file issued for another hardware id is refused', () => {
    const r = refusal(() =>
      acceptLicenseFile(file(payload({ hardware_id: OTHER_HW })), trust, expectation()),
    );
    expect(r).toMatch(/^LICENSE_FILE_INVALID: .*HARDWARE_MISMATCH/);
  });

  it('a file signed with an unknown key id is refused', () => {
    const r = refusal(() => acceptLicenseFile(file(payload(), stranger), trust, expectation()));
    expect(r).toMatch(/^LICENSE_FILE_INVALID: .*UNKNOWN_KEY/);
  });

  it('a new answer signed with a retired key id is refused, while a stored file by it still verifies', () => {
    const byRetired = file(payload(), retired);
    expect(refusal(() => acceptLicenseFile(byRetired, trust, expectation()))).toMatch(
      /^LICENSE_FILE_INVALID: .*UNKNOWN_KEY/,
    );
    // The retired key stays trusted for what it signed before the rotation (the stored file).
    expect(trusted.keys.has(retired.kid)).toBe(true);
    expect(
      refusal(() =>
        acceptLicenseFile(byRetired, { answerKeys: trusted.keys, hardwareId: HW }, expectation()),
      ),
    ).toBe('ACCEPTED');
  });

  it('a valid signature by an untrusted key presented under a trusted key id is refused', () => {
    // The attacker signs correctly with their own key and claims the trusted kid.
    const signed = signDocument('license', payload(), loadSigningKey(stranger.privateKeyPem));
    const forged: SignedDocument = { ...signed, kid: current.kid };
    const armor = file(payload()).trim().split('\n');
    const text = `${armor[0]}\n${Buffer.from(JSON.stringify(forged)).toString('base64')}\n${armor.at(-1)}\n`;
    expect(refusal(() => acceptLicenseFile(text, trust, expectation()))).toMatch(
      /^LICENSE_FILE_INVALID: .*BAD_SIGNATURE/,
    );
  });

  it('an answer without a file is a portal error, not a license', () => {
    expect(refusal(() => acceptLicenseFile(undefined, trust, expectation()))).toMatch(/^PORTAL_ERROR/);
  });
});

const answerDoc = (
  over: Partial<{ action: string; valid: boolean; code: string; nonce: string; hardware_id: string }> = {},
  pair = current,
) =>
  signDocument(
    'license-answer',
    {
      v: 1,
      action: 'refresh',
      valid: false,
      code: 'REVOKED',
      license_id: 'lic_1',
      hardware_id: HW,
      nonce: 'nonce-sent-now',
      server_time: iso(T),
      ...over,
    },
    loadSigningKey(pair.privateKeyPem),
  );

describe('portal exchange: signed refusals and deactivations', () => {
  const revoked = (signed?: SignedDocument): LicenseAnswer => ({
    valid: false,
    code: 'REVOKED',
    error: 'License is revoked',
    ...(signed ? { signed } : {}),
  });

  it('a refusal ends the license only when signed by a current key, for this server and this nonce', () => {
    expect(acceptVerdict(revoked(answerDoc()), trust, { nonce: 'nonce-sent-now' })).toEqual({
      code: 'REVOKED',
      server_time: iso(T),
    });
    expect(acceptVerdict(revoked(), trust, { nonce: 'nonce-sent-now' })).toBeNull();
    expect(
      acceptVerdict(revoked(answerDoc({ nonce: 'old' })), trust, { nonce: 'nonce-sent-now' }),
    ).toBeNull();
    expect(
      acceptVerdict(revoked(answerDoc({ hardware_id: OTHER_HW })), trust, { nonce: 'nonce-sent-now' }),
    ).toBeNull();
    expect(acceptVerdict(revoked(answerDoc({}, stranger)), trust, { nonce: 'nonce-sent-now' })).toBeNull();
    expect(acceptVerdict(revoked(answerDoc({}, retired)), trust, { nonce: 'nonce-sent-now' })).toBeNull();
    expect(
      acceptVerdict(revoked(answerDoc({ code: 'SUSPENDED' })), trust, { nonce: 'nonce-sent-now' }),
    ).toBeNull();
  });

  it('a deactivation counts only when signed for this server, this nonce and the deactivate action', () => {
    const ok = (doc?: SignedDocument): LicenseAnswer => ({
      valid: true,
      code: 'DEACTIVATED',
      detail: 'freed',
      ...(doc ? { signed: doc } : {}),
    });
    const signed = answerDoc({ action: 'deactivate', valid: true, code: 'DEACTIVATED' });
    expect(settleDeactivation(ok(signed), trust, { nonce: 'nonce-sent-now' })).toMatchObject({
      settled: true,
      deactivated: true,
    });
    expect(settleDeactivation(ok(), trust, { nonce: 'nonce-sent-now' }).settled).toBe(false);
    expect(settleDeactivation(ok(signed), trust, { nonce: 'other' }).settled).toBe(false);
    const wrongAction = answerDoc({ action: 'refresh', valid: true, code: 'DEACTIVATED' });
    expect(settleDeactivation(ok(wrongAction), trust, { nonce: 'nonce-sent-now' }).settled).toBe(false);
  });
});
