import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPanelHarness, type PanelHarness } from './harness';

/** GET /metrics on the panel: at the root, admin key with the metrics scope, Prometheus text. */
describe('panel metrics', () => {
  let panel: PanelHarness;
  beforeAll(async () => {
    panel = await createPanelHarness();
  });
  afterAll(async () => {
    await panel.close();
  });

  it('needs an admin key that covers the metrics scope', async () => {
    expect((await panel.call('GET', '/metrics', { key: null })).statusCode).toBe(401);
    const versionOnly = await panel.key('admin', { permissions: ['version'] });
    const refused = await panel.call('GET', '/metrics', { key: versionOnly.secret });
    expect([refused.statusCode, refused.json().message]).toEqual([
      403,
      "API key is not scoped for 'metrics' on this request",
    ]);
    const reseller = await panel.account('reseller');
    expect((await panel.call('GET', '/metrics', { key: reseller.key })).statusCode).toBe(403);
    expect((await panel.call('GET', '/api/v1/metrics')).statusCode).toBe(404);
  });

  it('serves requests by route and status, latency, license state and update metrics', async () => {
    await panel.call('GET', '/api/v1/version/info');
    const scoped = await panel.key('admin', { permissions: ['metrics'] });
    const res = await panel.call('GET', '/metrics', { key: scoped.secret });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.body).toMatch(
      /wispanel_panel_http_requests_total\{method="GET",route="\/api\/v1\/version\/info",status="200"\} 1/,
    );
    expect(res.body).toContain('wispanel_panel_http_request_duration_seconds_bucket{');
    expect(res.body).toContain('wispanel_panel_license_status{status="unlicensed"} 1');
    expect(res.body).toContain('wispanel_panel_license_last_check_age_seconds -1');
    expect(res.body).toContain('wispanel_panel_update_attempts{outcome="failed"} 0');
    expect(res.body).toContain('wispanel_panel_update_state{state="idle"} 1');
    expect(res.body).toContain('wispanel_panel_process_cpu_user_seconds_total');
  });
});
