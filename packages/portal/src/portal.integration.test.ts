import {
  generateSigningKeyPair,
  LICENSE_KEY_ALPHABET,
  LICENSE_KEY_PATTERN,
  type LicenseAnswer,
  type LicenseAnswerPayload,
  LicenseFileError,
  parsePublicKeySet,
  verifyDocument,
  verifyLicenseFile,
} from '@wispanel/contract';
import { testPostgresUrl } from '@wispanel/kit/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rotateSigningKey } from './modules/signing/signing-keys';
import { createTestPortal, type TestDialect, type TestPortal } from './testing';

const hw = (n: number) => n.toString(16).padStart(64, '0');
const dialects: TestDialect[] = testPostgresUrl ? ['sqlite', 'postgres'] : ['sqlite'];

describe.each(dialects)('portal on %s', (dialect) => {
  let t: TestPortal;
  let now = new Date('2026-06-01T00:00:00.000Z');
  const advance = (days: number) => {
    now = new Date(now.getTime() + days * 86_400_000);
  };

  beforeAll(async () => {
    t = await createTestPortal(dialect, { clock: () => now });
  });
  afterAll(() => t?.close());

  const admin = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown) =>
    t.app.inject({
      method,
      url: `/api/v1/admin${url}`,
      headers: { 'x-admin-key': t.adminKey },
      ...(payload !== undefined ? { payload: payload as object } : {}),
    });
  const lic = async (action: string, body: Record<string, unknown>) => {
    const res = await t.app.inject({ method: 'POST', url: `/api/v1/license/${action}`, payload: body });
    return { status: res.statusCode, body: res.json() as LicenseAnswer };
  };
  const issue = async (body: Record<string, unknown>) => {
    const res = await admin('POST', '/licenses', body);
    expect(res.statusCode).toBe(201);
    return res.json() as { license_key: string; license: { id: string; expires_at: string } };
  };
  const trusted = async () =>
    parsePublicKeySet((await t.app.inject({ method: 'GET', url: '/api/v1/keys' })).json());

  describe('tiers', () => {
    it('seeds free, pro and enterprise; free as in the seed example', async () => {
      const res = await admin('GET', '/tiers');
      expect(res.statusCode).toBe(200);
      const tiers = res.json().tiers as Array<{ name: string }>;
      expect(tiers.map((x) => x.name).sort()).toEqual(['enterprise', 'free', 'pro']);
      expect(tiers.find((x) => x.name === 'free')).toMatchObject({
        max_users: 30,
        max_domains: 100,
        max_databases: -1,
      });
    });

    it('creates, refuses a duplicate, updates, and names bad fields', async () => {
      const created = await admin('POST', '/tiers', {
        name: 'tiny',
        max_users: 1,
        max_domains: 2,
        max_databases: 3,
        features: ['ssl'],
        lease_days: 7,
        grace_days: 3,
      });
      expect(created.statusCode).toBe(201);
      expect(created.json().tier).toMatchObject({ name: 'tiny', features: ['ssl'], lease_days: 7 });
      expect(
        (
          await admin('POST', '/tiers', { name: 'tiny', max_users: 1, max_domains: 1, max_databases: 1 })
        ).json(),
      ).toEqual({
        success: false,
        error: 'Tier tiny already exists',
        code: 'CONFLICT',
      });
      const updated = await admin('PATCH', '/tiers/tiny', { max_users: -1 });
      expect(updated.json().tier.max_users).toBe(-1);
      const bad = await admin('POST', '/tiers', { name: 'Bad Name', max_users: -2, max_domains: 'x' });
      expect(bad.statusCode).toBe(422);
      expect(bad.json()).toMatchObject({
        success: false,
        error: 'Validation failed',
        code: 'VALIDATION_ERROR',
      });
      expect(bad.json().details).toMatchObject({
        max_users: ['The max users field must be at least -1.'],
        max_domains: ['The max domains field must be an integer.'],
        max_databases: ['The max databases field is required.'],
      });
      expect((await admin('PATCH', '/tiers/nope', { max_users: 1 })).json()).toEqual({
        success: false,
        error: 'Tier not found',
        code: 'NOT_FOUND',
      });
    });
  });

  describe('license issuance and admin actions', () => {
    it('issues a key from the alphabet and stores only a hash and the last four', async () => {
      const { license_key, license } = await issue({
        tier: 'pro',
        term_days: 365,
        max_activations: 2,
        customer_name: 'Acme',
        customer_email: 'ops@acme.test',
      });
      expect(license_key).toMatch(LICENSE_KEY_PATTERN);
      for (const c of license_key.slice(5).replace(/-/g, '')) expect(LICENSE_KEY_ALPHABET).toContain(c);
      expect(license).toMatchObject({
        key_masked: `WISP-****${license_key.slice(-4)}`,
        tier: 'pro',
        status: 'active',
        max_activations: 2,
      });
      const rows = await sql<
        Record<string, unknown>
      >`SELECT * FROM licenses WHERE id = ${license.id}`.execute(t.services.db);
      const stored = JSON.stringify(rows.rows);
      expect(stored).not.toContain(license_key);
      expect(stored).not.toContain(license_key.slice(5, 14));
      expect(JSON.stringify((await admin('GET', `/licenses/${license.id}`)).json())).not.toContain(
        license_key,
      );
    });

    it('refuses an unknown tier and conflicting term fields with details', async () => {
      const res = await admin('POST', '/licenses', { tier: 'gold' });
      expect(res.statusCode).toBe(422);
      expect(res.json().details).toEqual({ tier: ['The selected tier is invalid.'] });
      const both = await admin('POST', '/licenses', {
        tier: 'pro',
        term_days: 1,
        expires_at: '2030-01-01T00:00:00Z',
      });
      expect(both.statusCode).toBe(422);
      const past = await admin('POST', '/licenses', { tier: 'pro', expires_at: '2001-01-01T00:00:00Z' });
      expect(past.json().details).toEqual({ expires_at: ['The expires at field must be a date after now.'] });
    });

    it('lists with filters and pagination', async () => {
      for (let i = 0; i < 5; i++) await issue({ tier: 'enterprise', customer_name: `Paging ${i}` });
      const page1 = (await admin('GET', '/licenses?tier=enterprise&per_page=2')).json();
      expect(page1.licenses).toHaveLength(2);
      expect(page1.pagination).toEqual({ page: 1, per_page: 2, total: 5, total_pages: 3 });
      const page3 = (await admin('GET', '/licenses?tier=enterprise&per_page=2&page=3')).json();
      expect(page3.licenses).toHaveLength(1);
      const ids = new Set(
        [
          ...page1.licenses,
          ...(await admin('GET', '/licenses?tier=enterprise&per_page=2&page=2')).json().licenses,
          ...page3.licenses,
        ].map((l: { id: string }) => l.id),
      );
      expect(ids.size).toBe(5);
      await issue({ tier: 'enterprise', customer_name: '100% Hosting_Co' });
      const pct = (await admin('GET', `/licenses?q=${encodeURIComponent('0% hosting_')}`)).json();
      expect(pct.licenses.map((l: { customer_name: string }) => l.customer_name)).toEqual([
        '100% Hosting_Co',
      ]);
      expect(
        (await admin('GET', `/licenses?q=${encodeURIComponent('%')}&tier=enterprise`)).json().pagination
          .total,
      ).toBe(1);
      const q = (await admin('GET', '/licenses?q=paging%203')).json();
      expect(q.licenses.map((l: { customer_name: string }) => l.customer_name)).toEqual(['Paging 3']);
      const bad = await admin('GET', '/licenses?per_page=500&status=weird');
      expect(bad.statusCode).toBe(422);
      expect(Object.keys(bad.json().details).sort()).toEqual(['per_page', 'status']);
    });

    it('suspends, reinstates, extends, changes tier, revokes; each lands in the event log', async () => {
      const { license } = await issue({ tier: 'free', term_days: 30 });
      const id = license.id;
      expect(
        (await admin('POST', `/licenses/${id}/suspend`, { reason: 'unpaid' })).json().license.status,
      ).toBe('suspended');
      expect((await admin('POST', `/licenses/${id}/reinstate`)).json().license.status).toBe('active');
      const extended = (await admin('POST', `/licenses/${id}/extend`, { days: 10 })).json().license;
      expect(Date.parse(extended.expires_at) - Date.parse(license.expires_at)).toBe(10 * 86_400_000);
      expect((await admin('PATCH', `/licenses/${id}`, { tier: 'pro' })).json().license.tier).toBe('pro');
      expect((await admin('POST', `/licenses/${id}/revoke`)).json().license.status).toBe('revoked');
      const again = await admin('POST', `/licenses/${id}/reinstate`);
      expect(again.statusCode).toBe(409);
      expect(again.json()).toEqual({
        success: false,
        error: 'License is revoked and cannot change',
        code: 'CONFLICT',
      });
      const events = (await admin('GET', `/events?license_id=${id}`)).json().events as Array<{
        action: string;
        actor: string;
        result_code: string;
      }>;
      expect(events.map((e) => e.action).reverse()).toEqual([
        'license.issued',
        'license.suspended',
        'license.reinstated',
        'license.extended',
        'license.tier_changed',
        'license.revoked',
      ]);
      expect(events.every((e) => e.actor === `admin:${t.adminKey.slice(0, 12)}`)).toBe(true);
      expect((await admin('GET', '/licenses/lic_0000000000000000')).statusCode).toBe(404);
    });
  });

  describe('license API', () => {
    let key: string;
    let id: string;
    beforeAll(async () => {
      ({
        license_key: key,
        license: { id },
      } = await issue({ tier: 'pro', term_days: 100, max_activations: 1 }));
    });

    it('activates with a signed license file bound to the hardware id, nonce and server time', async () => {
      const r = await lic('activate', {
        key,
        hardware_id: hw(1),
        nonce: 'nonce-0001',
        panel_version: '1.4.2',
        hostname: 'a.example',
        usage: { accounts: 3, domains: 4, databases: 5 },
      });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({
        valid: true,
        code: 'VALID',
        nonce: 'nonce-0001',
        license: { tier: 'pro', status: 'active', activations_used: 1 },
      });
      const payload = verifyLicenseFile(r.body.license_file!, {
        keys: await trusted(),
        hardwareId: hw(1),
        now,
      });
      expect(payload).toMatchObject({
        license_id: id,
        key_masked: `WISP-****${key.slice(-4)}`,
        tier: 'pro',
        nonce: 'nonce-0001',
        server_time: now.toISOString(),
        hardware_id: hw(1),
      });
      expect(payload.limits).toEqual({ max_users: 250, max_domains: 1000, max_databases: -1 });
      expect(payload.kid).toBe((await trusted()).keys().next().value);
      expect(Date.parse(payload.valid_until) - now.getTime()).toBe(14 * 86_400_000);
      const signed = verifyDocument<LicenseAnswerPayload>('license-answer', r.body.signed, await trusted());
      expect(signed).toMatchObject({
        action: 'activate',
        valid: true,
        code: 'VALID',
        nonce: 'nonce-0001',
        hardware_id: hw(1),
      });
    });

    it('re-activation on the same hardware id is idempotent; a second server hits ACTIVATION_LIMIT', async () => {
      const again = await lic('activate', { key, hardware_id: hw(1) });
      expect(again.status).toBe(200);
      expect(again.body.license?.activations_used).toBe(1);
      const other = await lic('activate', { key, hardware_id: hw(2) });
      expect(other.status).toBe(409);
      expect(other.body).toMatchObject({
        valid: false,
        code: 'ACTIVATION_LIMIT',
        error: 'License has no free activation left',
      });
      expect(other.body.license_file).toBeUndefined();
    });

    it('verify: VALID on the bound server (no new file), HARDWARE_MISMATCH elsewhere', async () => {
      const ok = await lic('verify', { key, hardware_id: hw(1), nonce: 'verify-0001' });
      expect(ok.status).toBe(200);
      expect(ok.body).toMatchObject({ valid: true, code: 'VALID', nonce: 'verify-0001' });
      expect(ok.body.license_file).toBeUndefined();
      const other = await lic('verify', { key, hardware_id: hw(2) });
      expect(other).toMatchObject({ status: 409, body: { valid: false, code: 'HARDWARE_MISMATCH' } });
    });

    it('refresh gives a new lease, capped at the end of the term', async () => {
      advance(90);
      const r = await lic('refresh', { key, hardware_id: hw(1), nonce: 'refresh-001' });
      expect(r.status).toBe(200);
      const p = verifyLicenseFile(r.body.license_file!, { keys: await trusted(), hardwareId: hw(1), now });
      expect(p.valid_until).toBe(p.expires_at); // 10 days of term left < 14-day lease
      expect(p.server_time).toBe(now.toISOString());
    });

    it('deactivate frees the slot (idempotently); then another server can activate', async () => {
      const d = await lic('deactivate', { key, hardware_id: hw(1) });
      expect(d).toMatchObject({ status: 200, body: { valid: true, code: 'DEACTIVATED' } });
      expect((await lic('deactivate', { key, hardware_id: hw(1) })).status).toBe(200);
      expect((await lic('verify', { key, hardware_id: hw(1) })).body.code).toBe('NOT_ACTIVATED');
      expect((await lic('activate', { key, hardware_id: hw(2) })).body.code).toBe('VALID');
    });

    it('answers EXPIRED after the term, and SUSPENDED / REVOKED / NOT_FOUND with their statuses', async () => {
      advance(11);
      const expired = await lic('verify', { key, hardware_id: hw(2) });
      expect(expired).toMatchObject({
        status: 403,
        body: { valid: false, code: 'EXPIRED', license: { status: 'expired' } },
      });
      expect((await lic('refresh', { key, hardware_id: hw(2) })).body.license_file).toBeUndefined();
      const s = await issue({ tier: 'free' });
      await lic('activate', { key: s.license_key, hardware_id: hw(9) });
      await admin('POST', `/licenses/${s.license.id}/suspend`);
      expect(await lic('verify', { key: s.license_key, hardware_id: hw(9) })).toMatchObject({
        status: 403,
        body: { valid: false, code: 'SUSPENDED' },
      });
      await admin('POST', `/licenses/${s.license.id}/revoke`);
      expect(await lic('refresh', { key: s.license_key, hardware_id: hw(9) })).toMatchObject({
        status: 403,
        body: { valid: false, code: 'REVOKED' },
      });
      const missing = await lic('activate', {
        key: 'WISP-AAAA-BBBB-CCCC',
        hardware_id: hw(9),
        nonce: 'missing-01',
      });
      expect(missing).toMatchObject({
        status: 404,
        body: { valid: false, code: 'NOT_FOUND', error: 'License key not found', nonce: 'missing-01' },
      });
      const signed = verifyDocument<LicenseAnswerPayload>(
        'license-answer',
        missing.body.signed,
        await trusted(),
      );
      expect(signed).toMatchObject({ valid: false, code: 'NOT_FOUND', nonce: 'missing-01' });
    });

    it('an admin reset frees an activation', async () => {
      const x = await issue({ tier: 'free', max_activations: 1 });
      await lic('activate', { key: x.license_key, hardware_id: hw(20) });
      expect((await lic('activate', { key: x.license_key, hardware_id: hw(21) })).body.code).toBe(
        'ACTIVATION_LIMIT',
      );
      const reset = await admin('DELETE', `/licenses/${x.license.id}/activations/${hw(20)}`);
      expect(reset.json().license.activations).toEqual([]);
      expect((await lic('activate', { key: x.license_key, hardware_id: hw(21) })).body.code).toBe('VALID');
      expect((await admin('DELETE', `/licenses/${x.license.id}/activations/${hw(20)}`)).statusCode).toBe(404);
    });

    it('holds the activation limit under concurrent activations on one instance', async () => {
      const c = await issue({ tier: 'free', max_activations: 3 });
      const answers = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          lic('activate', { key: c.license_key, hardware_id: hw(100 + i) }),
        ),
      );
      expect(answers.filter((a) => a.body.code === 'VALID')).toHaveLength(3);
      expect(answers.filter((a) => a.body.code === 'ACTIVATION_LIMIT')).toHaveLength(9);
      expect((await admin('GET', `/licenses/${c.license.id}`)).json().license.activations).toHaveLength(3);
    });

    it('records every panel call in the event log with IP, version, usage and result', async () => {
      const x = await issue({ tier: 'free' });
      await lic('activate', {
        key: x.license_key,
        hardware_id: hw(30),
        panel_version: '1.4.2',
        usage: { accounts: 1, domains: 2, databases: 3 },
      });
      await lic('verify', { key: x.license_key, hardware_id: hw(31) });
      const events = (await admin('GET', `/events?license_id=${x.license.id}&limit=10`)).json().events;
      expect(events[0]).toMatchObject({
        action: 'license.verify',
        result_code: 'HARDWARE_MISMATCH',
        hardware_id: hw(31),
        ip: '127.0.0.1',
      });
      expect(events[1]).toMatchObject({
        action: 'license.activate',
        result_code: 'VALID',
        panel_version: '1.4.2',
        usage: { accounts: 1, domains: 2, databases: 3 },
        actor: `panel:${hw(30).slice(0, 12)}`,
      });
      const detail = (await admin('GET', `/licenses/${x.license.id}`)).json().license;
      expect(detail.activations[0]).toMatchObject({
        hardware_id: hw(30),
        panel_version: '1.4.2',
        last_usage: { accounts: 1, domains: 2, databases: 3 },
      });
      expect(detail.recent_events.length).toBeGreaterThanOrEqual(3);
    });

    it('keeps the event log append-only in the database itself', async () => {
      await expect(sql`UPDATE events SET result_code = 'X'`.execute(t.services.db)).rejects.toThrow(
        /append-only/,
      );
      await expect(sql`DELETE FROM events`.execute(t.services.db)).rejects.toThrow(/append-only/);
    });

    it('findActivated (for downloads) knows a key only on its activated hardware', async () => {
      const x = await issue({ tier: 'pro', term_days: 5 });
      await lic('activate', { key: x.license_key, hardware_id: hw(40) });
      expect(await t.services.licenses.findActivated(x.license_key, hw(40))).toMatchObject({
        id: x.license.id,
        tier: 'pro',
        status: 'active',
        activation: { hardware_id: hw(40) },
      });
      expect(await t.services.licenses.findActivated(x.license_key, hw(41))).toBeNull();
      expect(await t.services.licenses.findActivated('WISP-AAAA-BBBB-CCCC', hw(40))).toBeNull();
      expect(await t.services.licenses.findActivated('garbage', hw(40))).toBeNull();
    });
  });

  describe('signing keys', () => {
    it('rotation adds a current key, keeps the old one listed and its files verifiable', async () => {
      const x = await issue({ tier: 'free' });
      const before = await lic('activate', { key: x.license_key, hardware_id: hw(50) });
      const oldKid = (await trusted()).keys().next().value as string;
      const rotated = rotateSigningKey(t.config.keysDir);
      const set = (await t.app.inject({ method: 'GET', url: '/api/v1/keys' })).json();
      expect(set.keys.map((k: { kid: string; status: string }) => [k.kid, k.status])).toEqual([
        [rotated.kid, 'current'],
        [oldKid, 'retired'],
      ]);
      const keys = parsePublicKeySet(set);
      expect(verifyLicenseFile(before.body.license_file!, { keys, hardwareId: hw(50) }).license_id).toBe(
        x.license.id,
      );
      const after = await lic('refresh', { key: x.license_key, hardware_id: hw(50) });
      expect(after.body.signed?.kid).toBe(rotated.kid);
      expect(verifyLicenseFile(after.body.license_file!, { keys, hardwareId: hw(50) }).license_id).toBe(
        x.license.id,
      );
    });
  });

  describe('tampering', () => {
    it('a license file from the portal fails on any changed byte, a foreign key, another server, an ended lease', async () => {
      const x = await issue({ tier: 'free' });
      const file = (await lic('activate', { key: x.license_key, hardware_id: hw(60) })).body.license_file!;
      const keys = await trusted();
      const why = (text: string, opts: { hardwareId?: string; at?: Date; k?: typeof keys } = {}) => {
        try {
          verifyLicenseFile(text, {
            keys: opts.k ?? keys,
            hardwareId: opts.hardwareId ?? hw(60),
            now: opts.at ?? now,
          });
          return 'ACCEPTED';
        } catch (err) {
          if (err instanceof LicenseFileError) return err.reason;
          throw err;
        }
      };
      expect(why(file)).toBe('ACCEPTED');
      const lines = file.trim().split('\n');
      const body = lines.slice(1, -1).join('');
      let accepted = 0;
      for (let i = 0; i < body.length; i += 1) {
        const c = body[i] === 'A' ? 'B' : 'A';
        if (why(`${lines[0]}\n${body.slice(0, i)}${c}${body.slice(i + 1)}\n${lines.at(-1)}`) === 'ACCEPTED')
          accepted++;
      }
      expect(accepted).toBe(0);
      expect(why(file, { hardwareId: hw(61) })).toBe('HARDWARE_MISMATCH');
      expect(why(file, { at: new Date(now.getTime() + 15 * 86_400_000) })).toBe('LEASE_EXPIRED');
      const other = generateSigningKeyPair();
      const foreign = parsePublicKeySet({
        keys: [
          {
            kid: other.kid,
            alg: 'ed25519',
            public_key: other.publicKeyPem,
            status: 'current',
            created_at: '',
          },
        ],
      });
      expect(why(file, { k: foreign })).toBe('UNKNOWN_KEY');
    });

    it('a signed answer fails when its payload is swapped', async () => {
      const x = await issue({ tier: 'free' });
      const r = await lic('verify', { key: x.license_key, hardware_id: hw(70), nonce: 'tamper-001' });
      const doc = r.body.signed!;
      const keys = await trusted();
      const forged = Buffer.from(
        JSON.stringify({
          ...JSON.parse(Buffer.from(doc.payload, 'base64url').toString()),
          valid: true,
          code: 'VALID',
        }),
      ).toString('base64url');
      expect(() => verifyDocument('license-answer', { ...doc, payload: forged }, keys)).toThrow(/signature/);
    });
  });

  describe.skipIf(dialect !== 'postgres')('two instances sharing PostgreSQL', () => {
    it('hold the activation limit under concurrent activations across both', async () => {
      const second = await t.secondInstance();
      const c = await issue({ tier: 'free', max_activations: 4 });
      const apps = [t.app, second];
      const answers = await Promise.all(
        Array.from({ length: 24 }, (_, i) =>
          apps[i % 2]!.inject({
            method: 'POST',
            url: '/api/v1/license/activate',
            payload: { key: c.license_key, hardware_id: hw(1000 + i) },
          }),
        ),
      );
      const codes = answers.map((a) => a.json().code);
      expect(codes.filter((x) => x === 'VALID')).toHaveLength(4);
      expect(codes.filter((x) => x === 'ACTIVATION_LIMIT')).toHaveLength(20);
      const count = await sql<{
        n: number;
      }>`SELECT COUNT(*) AS n FROM activations WHERE license_id = ${c.license.id}`.execute(t.services.db);
      expect(Number(count.rows[0]!.n)).toBe(4);
    });
  });
});
