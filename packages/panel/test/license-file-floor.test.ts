/**
 * An older, genuinely signed license file copied back (issue 9 item 7): the panel keeps the server time of
 * the last file it accepted in its database (outside the file) and refuses a stored file older than that,
 * also after a restart. In-process over a real SQLite data dir and a real license file; the stand-in portal
 * signs real Ed25519 files.
 */
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLicenseService } from '../src/modules/license/license.module';
import { PortalTrustSource } from '../src/modules/license/portal-trust';
import { DAY, FakePortal, T0 } from './fake-license-portal';
import { createPanelHarness, type PanelHarness } from './harness';

let now = T0;
let h: PanelHarness;
let portal: FakePortal;

beforeAll(async () => {
  portal = new FakePortal(() => now);
  h = await createPanelHarness({
    flags: { licenseTick: 0, unlicensedMaxDomains: 1 },
    deps: {
      clock: () => new Date(now),
      licensePortal: portal,
      portalKeys: portal.trusted,
      random: () => 0.5,
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

const summary = async () => (await h.call('GET', '/api/v1/license/summary')).json();

describe('an older license file copied back', () => {
  it('is refused (pro limits do not come back after a downgrade to mini), also after a restart', async () => {
    const dataDir = h.app.panel.ctx.config.dataDir;
    const file = join(dataDir, 'license.lic');
    const saved = join(dataDir, 'license.lic.pro-copy');
    const a = await h.call('POST', '/api/v1/license/activate', { body: { key: 'WISP-ABCD-EFGH-JKMN' } });
    expect(a.statusCode, a.body).toBe(200);
    expect((await summary()).tier).toBe('pro');
    copyFileSync(file, saved);

    // The vendor downgrades the license to mini; the next refresh stores the mini file.
    now += DAY;
    portal.tier = 'mini';
    portal.limits = { max_users: 2, max_domains: 1, max_databases: 1 };
    expect((await h.call('POST', '/api/v1/license/refresh')).statusCode).toBe(200);
    expect(await summary()).toMatchObject({ tier: 'mini', status: 'active' });
    expect(
      (await h.call('POST', '/api/v1/domains', { body: { domain: 'one.example.com' } })).statusCode,
    ).toBe(201);

    // The old pro file (genuinely signed, same hardware id, lease still running) is copied back.
    copyFileSync(saved, file);
    const s = await summary();
    expect(s).toMatchObject({ status: 'invalid', is_valid: false, reason: 'OLDER_THAN_ACCEPTED' });
    expect(s.message).toMatch(/before the license file this panel last accepted/);
    const limits = (await h.call('GET', '/api/v1/license/limits')).json();
    expect(limits.source).toBe('unlicensed');
    const refused = await h.call('POST', '/api/v1/domains', { body: { domain: 'two.example.com' } });
    expect([refused.statusCode, refused.json().code]).toEqual([403, 'LICENSE_LIMIT_REACHED']);
    const verify = (await h.call('POST', '/api/v1/license/verify')).json();
    expect(verify.local).toMatchObject({ is_valid: false, reason: 'OLDER_THAN_ACCEPTED' });

    // A restart does not forget the floor (it lives in the database, not in the file).
    copyFileSync(saved, file);
    const restarted = await createLicenseService({
      config: h.app.panel.ctx.config,
      db: h.app.panel.ctx.db,
      logger: h.app.panel.ctx.logger,
      clock: () => new Date(now),
      portal,
      endpoint: null,
      trust: await PortalTrustSource.resolve(h.app.panel.ctx.config, h.app.panel.ctx.logger, portal.trusted),
      random: () => 0.5,
    });
    expect((await restarted.summary()).reason).toBe('OLDER_THAN_ACCEPTED');

    // The job fetches a current file at once (no failure to back off from), and that one counts.
    const r = await restarted.tick();
    expect(r.refreshed).toBe(true);
    expect(await restarted.summary()).toMatchObject({ tier: 'mini', status: 'active', is_valid: true });
    expect(readFileSync(file, 'utf8')).not.toBe(readFileSync(saved, 'utf8'));
  });
});
