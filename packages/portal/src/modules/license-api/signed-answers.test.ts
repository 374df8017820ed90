import {
  LICENSE_ANSWER_STATUS,
  type LicenseAnswer,
  type LicenseAnswerPayload,
  parsePublicKeySet,
  verifyDocument,
  verifyLicenseFile,
} from '@wispanel/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPortal, type TestPortal } from '../../testing';

/**
 * verify/refresh answers are signed on signing threads (WISPANEL_PORTAL_SIGNING_THREADS, default 1 with 2+
 * cores) or on the event loop (0). Either way a panel must get the same thing: an answer whose `license-answer`
 * signature verifies against the keys the portal publishes and carries this request's nonce and hardware id,
 * and for a VALID refresh a license file that verifies too. Real portal, real keys, the public keys read from
 * `GET /api/v1/keys` like a panel does.
 */
const hw = (n: number) => n.toString(16).padStart(64, 'd');

describe.each([0, 2])('license answers with %i signing threads', (threads) => {
  let t: TestPortal;
  let key: string;
  let keys: ReturnType<typeof parsePublicKeySet>;
  beforeAll(async () => {
    t = await createTestPortal('sqlite', { flags: { signingThreads: threads } });
    expect(t.services.config.signingThreads).toBe(threads);
    keys = parsePublicKeySet((await t.app.inject({ method: 'GET', url: '/api/v1/keys' })).json());
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/licenses',
      headers: { 'x-admin-key': t.adminKey },
      payload: { tier: 'pro', term_days: 30 },
    });
    key = res.json().license_key;
    const activated = await t.app.inject({
      method: 'POST',
      url: '/api/v1/license/activate',
      payload: { key, hardware_id: hw(1) },
    });
    expect(activated.json().code).toBe('VALID');
  });
  afterAll(() => t?.close());

  const ask = async (action: string, hardwareId: string, nonce: string) => {
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/v1/license/${action}`,
      payload: { key, hardware_id: hardwareId, nonce },
    });
    return { status: res.statusCode, body: res.json() as LicenseAnswer };
  };

  it('60 concurrent verifies and refreshes: each signed answer verifies and is about its own request', async () => {
    const asks = Array.from({ length: 60 }, (_, i) => ({
      action: i % 2 ? 'refresh' : 'verify',
      hardwareId: i % 5 === 4 ? hw(2) : hw(1), // some from a server the license is not bound to
      nonce: `nonce-${threads}-${i}-${'x'.repeat(i)}`,
    }));
    const answers = await Promise.all(asks.map((a) => ask(a.action, a.hardwareId, a.nonce)));
    answers.forEach(({ status, body }, i) => {
      const a = asks[i]!;
      const payload = verifyDocument<LicenseAnswerPayload>('license-answer', body.signed, keys);
      const expected = a.hardwareId === hw(1) ? 'VALID' : 'HARDWARE_MISMATCH';
      expect(payload).toMatchObject({
        action: a.action,
        code: expected,
        nonce: a.nonce,
        hardware_id: a.hardwareId,
      });
      expect(body).toMatchObject({ code: expected, nonce: a.nonce, server_time: payload.server_time });
      expect(status).toBe(LICENSE_ANSWER_STATUS[expected]);
      if (a.action === 'refresh' && expected === 'VALID') {
        const file = verifyLicenseFile(body.license_file!, { keys, hardwareId: hw(1), now: new Date() });
        expect(file).toMatchObject({ nonce: a.nonce, hardware_id: hw(1), status: 'active' });
      } else expect(body.license_file).toBeUndefined();
    });
  });

  it('an answer signed for one request does not verify as another’s (the signature covers the nonce)', async () => {
    const [one, two] = await Promise.all([
      ask('verify', hw(1), 'first-nonce-0123456789'),
      ask('verify', hw(1), 'second-nonce-0123456789'),
    ]);
    const swapped = { ...one.body.signed!, payload: two.body.signed!.payload };
    expect(() => verifyDocument('license-answer', swapped, keys)).toThrow(/signature/);
  });

  it('/metrics tells where the answers were signed', async () => {
    const text = (
      await t.app.inject({ method: 'GET', url: '/metrics', headers: { 'x-admin-key': t.adminKey } })
    ).body;
    const metric = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    // 60 answers + 24 license files (the VALID refreshes) + 2 answers above; activation signs on its own.
    expect(metric('wispanel_portal_signatures_on_event_loop_total')).toBe(threads === 0 ? 86 : 0);
    expect(metric('wispanel_portal_signing_thread_failures_total')).toBe(0);
    if (threads === 0) expect(metric('wispanel_portal_signing_threads')).toBe(0);
    else expect(metric('wispanel_portal_signing_threads')).toBeGreaterThanOrEqual(1);
  });
});
