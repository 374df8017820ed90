import { join } from 'node:path';
import { tempDir } from '@wispanel/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildInfo } from '../src/version';
import { createPanelHarness, type PanelHarness } from './harness';

/** The version routes in-process: documented shapes, role/scope, validation, and the unsupervised answer. */
describe('version routes', () => {
  let plain: PanelHarness;
  let supervised: PanelHarness;
  const install = tempDir('wispanel-update-routes-');
  beforeAll(async () => {
    plain = await createPanelHarness();
    supervised = await createPanelHarness({
      flags: { installDir: join(install.path, 'install'), supervised: true },
      deps: { requestSwitch: () => {} },
    });
  });
  afterAll(async () => {
    await plain.close();
    await supervised.close();
    install.remove();
  });

  it('GET /version/info answers exactly the documented shape', async () => {
    const res = await plain.call('GET', '/api/v1/version/info');
    expect(res.statusCode).toBe(200);
    const b = buildInfo();
    expect(res.json()).toEqual({
      version: b.version,
      channel: 'stable',
      build_time: b.build_time,
      git_commit: b.git_commit,
      info: `WisPanel v${b.version}`,
    });
  });

  it('is for admins with the version scope only', async () => {
    const reseller = await plain.account('reseller');
    expect((await plain.call('GET', '/api/v1/version/info', { key: reseller.key })).statusCode).toBe(403);
    const licenseOnly = await plain.key('admin', { permissions: ['license'] });
    const res = await plain.call('GET', '/api/v1/version/info', { key: licenseOnly.secret });
    expect(res.statusCode).toBe(403);
    expect(res.json().message).toBe("API key is not scoped for 'version' on this request");
    expect((await plain.call('GET', '/api/v1/version/info', { key: null })).statusCode).toBe(401);
  });

  it('refuses to update when not run by the supervisor, and says why; status stays idle', async () => {
    for (const [url, body] of [
      ['/api/v1/version/update', undefined],
      ['/api/v1/version/direct-update', { version: '9.9.9' }],
    ] as const) {
      const res = await plain.call('POST', url, { body });
      expect(res.statusCode).toBe(409);
      expect(res.json()).toMatchObject({ success: false, code: 'UPDATE_NOT_SUPPORTED', status: 409 });
      expect(res.json().message).toMatch(/supervisor/);
    }
    const status = await plain.call('GET', '/api/v1/version/update/status');
    expect(status.statusCode).toBe(200);
    expect(status.json()).toMatchObject({
      state: 'idle',
      job_id: null,
      supervised: false,
      error: null,
      log: [],
    });
  });

  it('validates the direct-update body', async () => {
    const missing = await supervised.call('POST', '/api/v1/version/direct-update', { body: {} });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().code).toBe('VALIDATION_ERROR');
    const extra = await supervised.call('POST', '/api/v1/version/direct-update', {
      body: { version: '1.2.3', force: true },
    });
    expect(extra.statusCode).toBe(400);
    const bad = await supervised.call('POST', '/api/v1/version/direct-update', {
      body: { version: 'latest' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/semantic version/);
  });

  it('a development portal whose keys cannot be fetched is a 503 naming it, not a 500', async () => {
    const dev = await createPanelHarness({
      flags: { portalUrl: 'http://127.0.0.1:9', portalDev: true },
    });
    try {
      const res = await dev.call('GET', '/api/v1/version/check');
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ code: 'PORTAL_UNREACHABLE', status: 503 });
      expect(res.json().message).toContain('http://127.0.0.1:9/api/v1/keys');
    } finally {
      await dev.close();
    }
  });

  it('without a portal, check and update say so (503), and the status records why the job failed', async () => {
    const check = await supervised.call('GET', '/api/v1/version/check');
    expect(check.statusCode).toBe(503);
    expect(check.json().code).toBe('PORTAL_NOT_CONFIGURED');
    const res = await supervised.call('POST', '/api/v1/version/update');
    expect(res.statusCode).toBe(503);
    const status = (await supervised.call('GET', '/api/v1/version/update/status')).json();
    expect(status).toMatchObject({
      state: 'failed',
      supervised: true,
      error: { code: 'PORTAL_NOT_CONFIGURED' },
    });
  });
});
