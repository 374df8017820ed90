import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPanelHarness, type PanelHarness } from './harness';

/** GET/PUT /version/settings in-process: defaults, validation (400 naming the bad value), scope, persistence. */
describe('update settings routes', () => {
  let panel: PanelHarness;
  beforeAll(async () => {
    panel = await createPanelHarness();
  });
  afterAll(async () => {
    await panel.close();
  });

  it('defaults: automatic updates off, the configured channel, a nightly window in UTC', async () => {
    const res = await panel.call('GET', '/api/v1/version/settings');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      auto_update: 'off',
      channel: 'stable',
      window: {
        days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'],
        start: '02:00',
        end: '05:00',
        timezone: 'UTC',
      },
    });
  });

  it('PUT changes what it names, keeps the rest; across midnight is allowed; channel follows', async () => {
    const res = await panel.call('PUT', '/api/v1/version/settings', {
      body: {
        auto_update: 'all',
        channel: 'beta',
        window: { days: ['sat', 'sun', 'sat'], start: '23:00', end: '01:30', timezone: 'Europe/Berlin' },
      },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      auto_update: 'all',
      channel: 'beta',
      window: { days: ['sat', 'sun'], start: '23:00', end: '01:30', timezone: 'Europe/Berlin' },
    });
    expect(
      (await panel.call('PUT', '/api/v1/version/settings', { body: { auto_update: 'critical' } })).json(),
    ).toMatchObject({
      auto_update: 'critical',
      channel: 'beta',
      window: { timezone: 'Europe/Berlin' },
    });
    expect((await panel.call('GET', '/api/v1/version/info')).json().channel).toBe('beta');
    expect(
      (await panel.call('PUT', '/api/v1/version/settings', { body: { window: null } })).json().window,
    ).toBeNull();
  });

  it('an unknown time zone is a 400 naming it; every bad field is listed', async () => {
    const res = await panel.call('PUT', '/api/v1/version/settings', {
      body: { window: { days: ['mon'], start: '02:00', end: '03:00', timezone: 'Europe/Atlantis' } },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ success: false, code: 'VALIDATION_ERROR' });
    expect(res.json().message).toContain('Europe/Atlantis');
    const many = await panel.call('PUT', '/api/v1/version/settings', {
      body: { auto_update: 'yes', window: { days: [], start: '25:00', end: '03:00', timezone: 'UTC' } },
    });
    expect(many.statusCode).toBe(400);
    expect(Object.keys(many.json().details ?? many.json().errors ?? {}).sort()).toEqual([
      'auto_update',
      'window.days',
      'window.start',
    ]);
    const unknownField = await panel.call('PUT', '/api/v1/version/settings', { body: { surprise: 1 } });
    expect(unknownField.statusCode).toBe(400);
    // Nothing changed.
    expect((await panel.call('GET', '/api/v1/version/settings')).json().window).toBeNull();
  });

  it('needs an admin with the version scope', async () => {
    const reseller = await panel.account('reseller');
    expect((await panel.call('GET', '/api/v1/version/settings', { key: reseller.key })).statusCode).toBe(403);
    const licenseOnly = await panel.key('admin', { permissions: ['license'] });
    expect(
      (await panel.call('PUT', '/api/v1/version/settings', { key: licenseOnly.secret, body: {} })).statusCode,
    ).toBe(403);
    const readOnly = await panel.key('admin', { permissions: ['read'] });
    expect((await panel.call('GET', '/api/v1/version/settings', { key: readOnly.secret })).statusCode).toBe(
      200,
    );
    expect(
      (await panel.call('PUT', '/api/v1/version/settings', { key: readOnly.secret, body: {} })).statusCode,
    ).toBe(403);
  });
});
