/**
 * The license module in-process (inject) over a real SQLite data dir, with a fake clock and a stand-in for the
 * portal that signs real Ed25519 license files (the real portal is exercised in license-e2e.test.ts). Covers
 * what needs time to pass: lease, outage, grace, fallback to the unlicensed allowance, scheduled enforcement
 * after its grace, automatic re-enable after an upgrade, and a clock turned back.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLicenseService } from '../src/modules/license/license.module';
import { PortalTrustSource } from '../src/modules/license/portal-trust';
import { RecordingProvisioner } from '../src/modules/resources/provisioner';
import { DAY, FakePortal, T0 } from './fake-license-portal';
import { createPanelHarness, type PanelHarness } from './harness';

let now = T0;
let h: PanelHarness;
let portal: FakePortal;
const provisioner = new RecordingProvisioner();

beforeAll(async () => {
  portal = new FakePortal(() => now);
  h = await createPanelHarness({
    flags: {
      licenseTick: 0,
      licenseEnforceAfterHours: 24,
      unlicensedMaxUsers: 5,
      unlicensedMaxDomains: 1,
      unlicensedMaxDatabases: 1,
    },
    deps: {
      clock: () => new Date(now),
      licensePortal: portal,
      portalKeys: portal.trusted,
      random: () => 0.5,
      provisioner,
      // The real gate is the license service built inside the app (the harness defaults to allow-all).
      licenseGate: {
        assertCanCreate: (kind, actor, tx) =>
          h.app.panel.ctx.services.license.assertCanCreate(kind, actor, tx),
      },
    },
  });
});
afterAll(async () => {
  await h?.close();
});

const get = async (url: string) => (await h.call('GET', `/api/v1/license${url}`)).json();
const tick = () => h.app.panel.ctx.services.license.tick();

describe('license lifecycle with a fake clock', () => {
  it('activates, then a portal outage within the lease changes nothing', async () => {
    const a = await h.call('POST', '/api/v1/license/activate', { body: { key: 'wisp-abcd-efgh-jkmn' } });
    expect(a.statusCode, a.body).toBe(200);
    for (const d of ['a.example.com', 'b.example.com', 'c.example.com']) {
      expect((await h.call('POST', '/api/v1/domains', { body: { domain: d } })).statusCode).toBe(201);
    }
    const full = await h.call('POST', '/api/v1/domains', { body: { domain: 'd.example.com' } });
    expect([full.statusCode, full.json().code]).toEqual([403, 'LICENSE_LIMIT_REACHED']);

    portal.up = false;
    now = T0 + 2 * DAY;
    const r = await tick();
    expect(r.refreshed).toBe(false);
    expect(portal.calls.at(-1)).toBe('refresh');
    const s = await get('/summary');
    expect(s).toMatchObject({ status: 'active', is_valid: true, needs_refresh: false });
    expect(s.portal.consecutive_failures).toBe(1);
    expect(s.portal.last_error.code).toBe('PORTAL_UNREACHABLE');
    // Backoff: the next try is minutes away, not a day.
    expect(Date.parse(s.portal.next_check_at) - now).toBeLessThan(5 * 60_000);
  });

  it('sets needs_refresh in the last third of the lease and keeps the limits through the grace', async () => {
    now = T0 + 10 * DAY;
    await tick();
    expect((await get('/')).license).toMatchObject({ is_valid: true, needs_refresh: true, max_domains: 3 });
    now = T0 + 15 * DAY;
    await tick();
    const s = await get('/summary');
    expect(s).toMatchObject({ status: 'grace', is_valid: true, reason: 'LEASE_ENDED' });
    expect(s.enforcement.disabled).toEqual({ accounts: 0, domains: 0, databases: 0 });
  });

  it('after the grace falls back to the unlicensed allowance, warns, and enforces only after its own grace', async () => {
    now = T0 + 22 * DAY;
    await tick();
    const s = await get('/summary');
    expect(s).toMatchObject({ status: 'invalid', is_valid: false, reason: 'LEASE_EXPIRED', tier: 'pro' });
    expect((await get('/')).license).toMatchObject({ is_valid: false, max_domains: 1 });
    expect(s.over_limit.domains).toBe(true);
    expect(s.enforcement.over_limit_since).not.toBeNull();
    expect((await get('/disabled-resources')).total).toBe(0);

    now += 23 * 3_600_000;
    expect((await tick()).enforced).toBe(0);
    now += 2 * 3_600_000;
    expect((await tick()).enforced).toBe(2);
    const disabled = await get('/disabled-resources');
    expect(disabled.resources.map((r: { name: string }) => r.name)).toEqual([
      'c.example.com',
      'b.example.com',
    ]);
    // The provisioner takes them offline (nothing is deleted).
    const suspends = provisioner.events.filter((e) => e.action === 'suspend').map((e) => e.name);
    expect(suspends).toEqual(['c.example.com', 'b.example.com']);
    expect(provisioner.events.some((e) => e.action === 'delete')).toBe(false);
  });

  it('a clock turned back is reported and does not bring the license back', async () => {
    const trusted = now;
    now = T0 + DAY;
    const s = await get('/summary');
    expect(s.clock.behind).toBe(true);
    expect(s.clock.behind_seconds).toBeGreaterThan(20 * 86_400);
    expect(s).toMatchObject({ status: 'invalid', reason: 'LEASE_EXPIRED' });
    expect((await get('/')).license.is_valid).toBe(false);
    now = trusted;
  });

  it('when the portal is back with an upgrade the scheduler refreshes and re-enables on its own', async () => {
    portal.up = true;
    portal.tier = 'business';
    portal.limits = { max_users: 50, max_domains: 50, max_databases: 50 };
    now += 6 * 3_600_000;
    const r = await tick();
    expect(r.refreshed).toBe(true);
    expect(r.reenabled).toBe(2);
    expect(provisioner.events.filter((e) => e.action === 'unsuspend').map((e) => e.name)).toEqual([
      'b.example.com',
      'c.example.com',
    ]);
    expect((await get('/disabled-resources')).total).toBe(0);
    const s = await get('/summary');
    expect(s).toMatchObject({ status: 'active', tier: 'business', any_over_limit: false });
    expect(s.clock.behind).toBe(false);
    const audit = (await get('/audit?limit=100')).entries.map(
      (e: { action: string; actor: string }) => `${e.actor}:${e.action}`,
    );
    expect(audit).toEqual(
      expect.arrayContaining([
        'scheduler:over_limit',
        'scheduler:enforce',
        'scheduler:re-enable',
        'scheduler:refresh',
        'scheduler:status',
      ]),
    );
  });

  it('verify re-reads the file from disk and reports a foreign file', async () => {
    const v = await h.call('POST', '/api/v1/license/verify');
    expect(v.statusCode).toBe(200);
    expect(v.json().local).toMatchObject({ signature_valid: true, is_valid: true });
    const file = join(h.config.dataDir, 'license.lic');
    expect(readFileSync(file, 'utf8')).toContain('BEGIN WISPANEL LICENSE FILE');
  });

  it('refuses non-admins and keys without the license scope', async () => {
    const user = await h.account('user');
    expect((await h.call('GET', '/api/v1/license', { key: user.key })).statusCode).toBe(403);
    const k = await h.key('admin', { permissions: ['domains'] });
    const r = await h.call('GET', '/api/v1/license', { key: k.secret });
    expect(r.statusCode).toBe(403);
    const lk = await h.key('admin', { permissions: ['license'] });
    expect((await h.call('POST', '/api/v1/license/enforce', { key: lk.secret })).statusCode).toBe(200);
    expect((await h.call('POST', '/api/v1/license/enforce', { body: { x: 1 } })).statusCode).toBe(400);
  });

  it('odd paging and bodies are a 400 naming the problem, never a 500', async () => {
    const k = (await h.key('admin', { permissions: ['license'] })).secret;
    for (const url of [
      '/disabled-resources?offset=99999999999999999999',
      '/disabled-resources?offset=1.5',
      '/audit?before=99999999999999999999',
      '/audit?limit=1001',
    ]) {
      const r = await h.call('GET', `/api/v1/license${url}`, { key: k });
      expect([url, r.statusCode, r.json().code]).toEqual([url, 400, 'VALIDATION_ERROR']);
    }
    for (const body of ['[]', '[1]', '"x"', '{"a":1}']) {
      const r = await h.call('POST', '/api/v1/license/enforce', { key: k, body });
      expect([body, r.statusCode, r.json().error]).toEqual([body, 400, 'This endpoint takes no body']);
    }
  });

  it('an unsigned refusal changes nothing; a signed suspension takes effect until a new file arrives', async () => {
    portal.refuse = 'SUSPENDED';
    portal.signRefusals = false;
    const unsigned = await h.call('POST', '/api/v1/license/refresh');
    expect([unsigned.statusCode, unsigned.json().code]).toEqual([403, 'LICENSE_SUSPENDED']);
    expect(await get('/summary')).toMatchObject({ status: 'active', is_valid: true });

    portal.signRefusals = true;
    const signed = await h.call('POST', '/api/v1/license/refresh');
    expect([signed.statusCode, signed.json().code]).toEqual([403, 'LICENSE_SUSPENDED']);
    expect(await get('/summary')).toMatchObject({
      status: 'invalid',
      is_valid: false,
      reason: 'LICENSE_SUSPENDED',
    });
    expect((await get('/')).license.max_domains).toBe(1);

    portal.refuse = null;
    now += 60_000;
    expect((await h.call('POST', '/api/v1/license/refresh')).statusCode).toBe(200);
    expect(await get('/summary')).toMatchObject({ status: 'active', is_valid: true, reason: null });
  });

  it('an activation while the portal is unreachable answers 503 and keeps the license in hand', async () => {
    portal.up = false;
    const r = await h.call('POST', '/api/v1/license/activate', { body: { key: 'WISP-ZZZZ-YYYY-XXXX' } });
    expect([r.statusCode, r.json().code]).toEqual([503, 'PORTAL_UNREACHABLE']);
    expect((await get('/')).license).toMatchObject({ key: 'WISP-****JKMN', is_valid: true });
    portal.up = true;
  });
});

describe('activating another key frees the old one on the portal', () => {
  const KEY1 = 'WISP-ABCD-EFGH-JKMN';
  const KEY2 = 'WISP-SWAP-TWQQ-2222';
  const KEY3 = 'WISP-SWAP-THRE-3333';
  const KEY4 = 'WISP-SWAP-FQUR-4444';
  const activate = (key: string) => h.call('POST', '/api/v1/license/activate', { body: { key } });
  const auditText = async () => JSON.stringify(await get('/audit?limit=1000'));

  it('swapping keys deactivates the old key for this server once the new license is stored', async () => {
    expect(portal.bound.has(KEY1)).toBe(true);
    const r = await activate(KEY2.toLowerCase());
    expect(r.statusCode, r.body).toBe(200);
    const j = r.json();
    expect(j.license).toMatchObject({ key: 'WISP-****2222', is_valid: true });
    expect(j.previous_license).toEqual({
      key: 'WISP-****JKMN',
      deactivated: true,
      pending: false,
      code: 'DEACTIVATED',
      reason: 'Activation removed; the slot is free',
      next_attempt_at: null,
    });
    // Activation first, deactivation after: a failed activation could not have freed anything.
    expect(portal.calls.slice(-2)).toEqual(['activate', 'deactivate']);
    expect(portal.deactivated).toEqual([KEY1]);
    expect(portal.bound.has(KEY1)).toBe(false);
    expect((await get('/summary')).pending_deactivations).toEqual([]);
    const audit = (await get('/audit?limit=5')).entries;
    expect(audit[0]).toMatchObject({
      action: 'deactivate',
      outcome: 'success',
      code: 'DEACTIVATED',
      detail: { key: 'WISP-****JKMN' },
    });
    expect(await auditText()).not.toContain(KEY1);
  });

  it('activating the same key again deactivates nothing', async () => {
    const r = await activate(KEY2);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json().previous_license).toBeNull();
    expect(portal.calls.at(-1)).toBe('activate');
    expect(portal.deactivated).toEqual([KEY1]);
    expect(portal.bound.has(KEY2)).toBe(true);
  });

  it('a failed activation of another key leaves the license in hand and its binding alone', async () => {
    portal.unknown.add(KEY3);
    const r = await activate(KEY3);
    expect([r.statusCode, r.json().code]).toEqual([404, 'LICENSE_NOT_FOUND']);
    portal.unknown.delete(KEY3);
    expect((await get('/')).license).toMatchObject({ key: 'WISP-****2222', is_valid: true });
    expect(portal.calls.at(-1)).toBe('activate');
    expect(portal.deactivated).toEqual([KEY1]);
    expect(portal.bound.has(KEY2)).toBe(true);
    expect((await get('/summary')).pending_deactivations).toEqual([]);
  });

  it('portal gone for the deactivation: the new license is active, the old key is pending, kept across a restart and retried until done', async () => {
    portal.deactivateDown = true;
    const r = await activate(KEY3);
    expect(r.statusCode, r.body).toBe(200);
    const j = r.json();
    expect(j.license).toMatchObject({ key: 'WISP-****3333', is_valid: true });
    expect(j.previous_license).toMatchObject({
      key: 'WISP-****2222',
      deactivated: false,
      pending: true,
      code: 'PORTAL_UNREACHABLE',
    });
    expect(Date.parse(j.previous_license.next_attempt_at)).toBeGreaterThan(now);
    expect(j.message).toContain('retried in the background');
    expect(portal.bound.has(KEY2)).toBe(true);
    const pending = (await get('/summary')).pending_deactivations;
    expect(pending).toEqual([
      {
        key: 'WISP-****2222',
        since: expect.any(String),
        attempts: 1,
        next_attempt_at: j.previous_license.next_attempt_at,
        last_error: { code: 'PORTAL_UNREACHABLE', message: expect.any(String) },
      },
    ]);
    const failed = (await get('/audit?limit=1')).entries[0];
    expect(failed).toMatchObject({ action: 'deactivate', outcome: 'failed', code: 'PORTAL_UNREACHABLE' });
    expect(await auditText()).not.toContain(KEY2);

    // Not due yet: the job does not call the portal.
    const calls = portal.calls.length;
    expect((await tick()).deactivated).toBe(0);
    expect(portal.calls.length).toBe(calls);
    // Due: retried, still failing, next attempt further away (backoff).
    now = Date.parse(j.previous_license.next_attempt_at) + 1000;
    expect((await tick()).deactivated).toBe(0);
    expect(portal.calls.at(-1)).toBe('deactivate');
    const second = (await get('/summary')).pending_deactivations[0];
    expect(second.attempts).toBe(2);
    expect(Date.parse(second.next_attempt_at) - now).toBeGreaterThan(100_000);

    // A restart reads the pending key back from the database.
    const restarted = await createLicenseService({
      config: h.config,
      db: h.deps.db,
      logger: h.deps.logger,
      clock: () => new Date(now),
      hardwareId: h.deps.hardwareId,
      portal,
      endpoint: null,
      trust: await PortalTrustSource.resolve(h.config, h.deps.logger, portal.trusted),
      random: () => 0.5,
    });
    expect((await restarted.summary()).pending_deactivations).toEqual([second]);

    portal.deactivateDown = false;
    now = Date.parse(second.next_attempt_at) + 1000;
    expect((await tick()).deactivated).toBe(1);
    expect(portal.deactivated.at(-1)).toBe(KEY2);
    expect(portal.bound.has(KEY2)).toBe(false);
    expect(portal.bound.has(KEY3)).toBe(true);
    expect((await get('/summary')).pending_deactivations).toEqual([]);
    expect((await get('/audit?limit=1')).entries[0]).toMatchObject({
      action: 'deactivate',
      actor: 'scheduler',
      outcome: 'success',
    });
    expect((await get('/')).license).toMatchObject({ key: 'WISP-****3333', is_valid: true });
  });

  it('the key in use is never deactivated: swapping back drops it from the pending list; a refresh retries at once', async () => {
    portal.deactivateDown = true;
    expect((await activate(KEY4)).json().previous_license).toMatchObject({
      key: 'WISP-****3333',
      pending: true,
    });
    expect((await activate(KEY3)).json().previous_license).toMatchObject({
      key: 'WISP-****4444',
      pending: true,
    });
    expect((await get('/summary')).pending_deactivations.map((p: { key: string }) => p.key)).toEqual([
      'WISP-****4444',
    ]);
    portal.deactivateDown = false;
    // Not due yet, but a successful refresh shows the portal is back: the pending key is freed now.
    const refreshed = await h.call('POST', '/api/v1/license/refresh');
    expect(refreshed.statusCode, refreshed.body).toBe(200);
    expect(portal.deactivated.slice(-1)).toEqual([KEY4]);
    expect(portal.deactivated).not.toContain(KEY3);
    expect(portal.bound.has(KEY3)).toBe(true);
    expect(portal.bound.has(KEY4)).toBe(false);
    expect((await get('/summary')).pending_deactivations).toEqual([]);
  });

  it('a deactivation answer without a trusted signature is not taken for done', async () => {
    portal.signDeactivations = false;
    const r = await activate(KEY2);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json().previous_license).toMatchObject({
      key: 'WISP-****3333',
      deactivated: false,
      pending: true,
      code: 'PORTAL_ERROR',
    });
    portal.signDeactivations = true;
    now += 6 * 3_600_000;
    expect((await tick()).deactivated).toBe(1);
    expect((await get('/summary')).pending_deactivations).toEqual([]);
  });
});
