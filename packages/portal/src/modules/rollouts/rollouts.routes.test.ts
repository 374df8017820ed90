import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ReleaseHealthSchema } from '@wispanel/contract';
import { testPostgresUrl } from '@wispanel/kit/testing';
import { Value } from 'typebox/value';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPortal, type TestDialect, type TestPortal } from '../../testing';
import { inRollout } from './rollout-plan';
import { releaseWebhookOf } from './rollouts.routes';

const dialects: TestDialect[] = testPostgresUrl ? ['sqlite', 'postgres'] : ['sqlite'];
const HOUR = 3_600_000;
const SECRET = 'vendor-webhook-secret';

/** A real HTTP receiver for the vendor webhook. */
async function receiver() {
  const got: Array<{ headers: Record<string, string | string[] | undefined>; body: string }> = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    got,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    close: () => server.close(),
  };
}

describe.each(dialects)('staged rollouts, reports and the automatic halt on %s', (dialect) => {
  let portal: TestPortal;
  let hook: Awaited<ReturnType<typeof receiver>>;
  let now = Date.parse('2026-03-01T00:00:00Z');
  const servers: Array<{ key: string; id: string; hw: string }> = [];

  const admin = (method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown) =>
    portal.app.inject({
      method,
      url,
      headers: { 'x-admin-key': portal.adminKey },
      ...(body === undefined ? {} : { payload: body as object }),
    });
  const post = (url: string, body: unknown) =>
    portal.app.inject({ method: 'POST', url, payload: body as object });

  async function release(version: string, fields: Record<string, unknown> = {}) {
    expect((await admin('POST', '/api/v1/admin/versions', { version, ...fields })).statusCode).toBe(201);
    const up = await portal.app.inject({
      method: 'PUT',
      url: `/api/v1/admin/versions/${version}/artifact`,
      headers: { 'x-admin-key': portal.adminKey, 'content-type': 'application/octet-stream' },
      payload: randomBytes(2000),
    });
    expect(up.statusCode).toBe(200);
  }
  const publish = async (version: string) =>
    expect((await admin('POST', `/api/v1/admin/versions/${version}/publish`)).statusCode).toBe(200);
  const check = (s: { key: string; hw: string }, current = '1.4.2') =>
    post('/api/v1/download/check-update', {
      key: s.key,
      hardware_id: s.hw,
      current_version: current,
      channel: 'stable',
      nonce: 'nonce-0001',
    });
  const report = (
    s: { key: string; hw: string },
    to: string,
    outcome: string,
    extra: Record<string, unknown> = {},
  ) =>
    post('/api/v1/download/report', {
      key: s.key,
      hardware_id: s.hw,
      nonce: 'nonce-0002',
      attempt_id: `job-${randomBytes(4).toString('hex')}`,
      from_version: '1.4.2',
      to_version: to,
      outcome,
      step: outcome === 'succeeded' ? null : 'health_check',
      error_code: outcome === 'succeeded' ? null : 'HEALTH_CHECK_FAILED',
      duration_ms: 1000,
      ...extra,
    });

  beforeAll(async () => {
    hook = await receiver();
    portal = await createTestPortal(dialect, {
      clock: () => new Date(now),
      releaseWebhookUrl: hook.url,
      releaseWebhookSecret: SECRET,
    });
    // 60 licensed servers, each its own license (hardware ids are random: the stage split is by hash).
    for (let i = 0; i < 60; i++) {
      const res = await admin('POST', '/api/v1/admin/licenses', { tier: 'pro' });
      const key = res.json().license_key as string;
      const hw = randomBytes(32).toString('hex');
      expect((await post('/api/v1/license/activate', { key, hardware_id: hw })).json().valid).toBe(true);
      servers.push({ key, id: res.json().license.id, hw });
    }
  }, 120_000);
  afterAll(async () => {
    await portal?.close();
    hook?.close();
  });

  it('PUT rollout refuses bad plans with 422 details; admin routes need the key', async () => {
    await release('1.5.0');
    const bad = await admin('PUT', '/api/v1/admin/versions/1.5.0/rollout', {
      stages: [
        { percent: 10, after_hours: 0 },
        { percent: 5, after_hours: 24 },
        { percent: 120, after_hours: 1 },
      ],
    });
    expect(bad.statusCode).toBe(422);
    expect(bad.json().code).toBe('VALIDATION_ERROR');
    expect(Object.keys(bad.json().details)).toEqual(
      expect.arrayContaining(['stages.1.percent', 'stages.2.percent']),
    );
    const rate = await admin('PUT', '/api/v1/admin/versions/1.5.0/rollout', {
      halt_policy: { min_failures: 0, failure_rate: 2 },
    });
    expect(rate.statusCode).toBe(422);
    expect(Object.keys(rate.json().details).sort()).toEqual([
      'halt_policy.failure_rate',
      'halt_policy.min_failures',
    ]);
    expect((await admin('PUT', '/api/v1/admin/versions/9.9.9/rollout', {})).statusCode).toBe(404);
    for (const url of ['/api/v1/admin/fleet', '/api/v1/admin/versions/1.5.0/health']) {
      const res = await portal.app.inject({ method: 'GET', url, headers: { 'x-admin-key': 'nope' } });
      expect(res.statusCode).toBe(401);
    }
  });

  it('stages gate check-update by hash; canaries first; a stage starts after its hours', async () => {
    // Plan set on the draft: its clock starts at publish.
    const put = await admin('PUT', '/api/v1/admin/versions/1.5.0/rollout', {
      stages: [
        { percent: 0, after_hours: 0 },
        { percent: 30, after_hours: 24 },
        { percent: 100, after_hours: 24 },
      ],
    });
    expect(put.statusCode).toBe(200);
    expect(put.json().rollout).toMatchObject({ state: 'staging', stage: 0, percent: 0, planned: true });
    now += 10 * HOUR;
    await publish('1.5.0');
    const publishedAt = now;
    const canary = servers[0]!;
    expect(
      (await admin('PUT', `/api/v1/admin/licenses/${canary.id}/canary`, { canary: true })).statusCode,
    ).toBe(200);
    // Stage 0 (0 %): only the canary is offered.
    for (const s of servers.slice(0, 10)) {
      const body = (await check(s)).json();
      expect(body.update_available).toBe(s === canary);
      if (s !== canary)
        expect(body.held_back).toEqual([
          {
            version: '1.5.0',
            reason: 'not_in_stage',
            percent: 0,
            // When stage 1 starts: 24 h after publish (what the panel's console shows as "when").
            next_stage_at: new Date(publishedAt + 24 * HOUR).toISOString(),
          },
        ]);
    }
    // 24 h after publish (not after the plan was set): stage 1, exactly the servers the hash puts under 30 %.
    now += 23 * HOUR;
    expect((await check(servers[1]!)).json().update_available).toBe(servers[1] === canary);
    now += 1 * HOUR;
    for (const s of servers.slice(1)) {
      expect((await check(s)).json().update_available).toBe(inRollout('1.5.0', s.hw, 30));
    }
    const rollout = (await admin('GET', '/api/v1/admin/versions/1.5.0/rollout')).json().rollout;
    expect(rollout).toMatchObject({ stage: 1, percent: 30, state: 'staging' });
    const events = (await admin('GET', '/api/v1/admin/events?action=release.rollout_advanced')).json().events;
    expect(events).toHaveLength(1);
  });

  it('a paused release is not offered; resume offers it again; promote goes to the next stage', async () => {
    const inStage = servers.slice(1).find((s) => inRollout('1.5.0', s.hw, 30))!;
    expect(
      (await admin('POST', '/api/v1/admin/versions/1.5.0/rollout/pause', { reason: 'look' })).json().rollout
        .state,
    ).toBe('paused');
    const paused = (await check(inStage)).json();
    expect([paused.update_available, paused.held_back]).toEqual([
      false,
      [{ version: '1.5.0', reason: 'paused' }],
    ]);
    // Paused: time does not move the stage.
    now += 48 * HOUR;
    expect((await admin('GET', '/api/v1/admin/versions/1.5.0/rollout')).json().rollout.stage).toBe(1);
    expect((await admin('POST', '/api/v1/admin/versions/1.5.0/rollout/promote')).statusCode).toBe(409);
    expect((await admin('POST', '/api/v1/admin/versions/1.5.0/rollout/resume')).json().rollout.state).toBe(
      'staging',
    );
    expect((await check(inStage)).json().update_available).toBe(true);
    const promoted = await admin('POST', '/api/v1/admin/versions/1.5.0/rollout/promote');
    expect(promoted.json().rollout).toMatchObject({ stage: 2, percent: 100, state: 'complete' });
    const again = await admin('POST', '/api/v1/admin/versions/1.5.0/rollout/promote');
    expect([again.statusCode, again.json().details]).toEqual([
      422,
      { to_stage: ['The rollout is already at its last stage (2).'] },
    ]);
  });

  it('reports: idempotent per attempt, validated, 401 for a stranger; the halt trips exactly at the threshold', async () => {
    await release('1.6.0');
    await admin('PUT', '/api/v1/admin/versions/1.6.0/rollout', {
      stages: 100,
      halt_policy: { min_failures: 3, failure_rate: 0.2 },
    });
    await publish('1.6.0');
    const bad = await post('/api/v1/download/report', {
      key: servers[0]!.key,
      hardware_id: 'X',
      outcome: 'maybe',
    });
    expect(bad.statusCode).toBe(422);
    expect(bad.json()).toMatchObject({ code: 'VALIDATION_ERROR', error: expect.any(String) });
    expect(Object.keys(bad.json().details)).toEqual(
      expect.arrayContaining(['hardware_id', 'outcome', 'nonce', 'attempt_id', 'from_version', 'to_version']),
    );
    const stranger = await report({ key: servers[0]!.key, hw: 'e'.repeat(64) }, '1.6.0', 'failed');
    expect([stranger.statusCode, stranger.json()]).toEqual([401, { error: 'Invalid license' }]);
    expect((await report(servers[0]!, '7.7.7', 'failed')).statusCode).toBe(404);

    // 8 successes, then failures: 2 failed of 10 (20 %) is not enough (2 < 3 failures).
    for (const s of servers.slice(0, 8))
      expect((await report(s, '1.6.0', 'succeeded')).json().recorded).toBe(true);
    const first = await report(servers[8]!, '1.6.0', 'failed', { attempt_id: 'job-fixed-1' });
    expect(first.json()).toEqual({ accepted: true, recorded: true, nonce: 'nonce-0002' });
    // The same attempt again (a retry from the panel's queue) changes nothing; one server failing twice counts once.
    expect(
      (await report(servers[8]!, '1.6.0', 'failed', { attempt_id: 'job-fixed-1' })).json().recorded,
    ).toBe(false);
    expect((await report(servers[8]!, '1.6.0', 'failed')).json().recorded).toBe(true);
    await report(servers[9]!, '1.6.0', 'rolled_back');
    let health = (await admin('GET', '/api/v1/admin/versions/1.6.0/health')).json().health;
    expect(health.rollout.state).toBe('complete');
    expect(health.current_stage).toEqual({ succeeded: 8, failed: 2, failure_rate: 0.2 });
    // Third failing server: 3 of 11 = 27 % ≥ 20 % and 3 ≥ 3 → halted, once.
    await report(servers[10]!, '1.6.0', 'failed', { step: 'downloading', error_code: 'DOWNLOAD_FAILED' });
    health = (await admin('GET', '/api/v1/admin/versions/1.6.0/health')).json().health;
    expect(health.rollout.state).toBe('halted');
    expect(health.rollout.reason).toMatch(/3 of 11 servers failed/);
    expect(health).toMatchObject({
      succeeded: 8,
      failed: 2,
      rolled_back: 1,
      failed_by_step: { health_check: 2, downloading: 1 },
      median_install_ms: 1000,
      reports: 12,
    });
    // Halted: not offered to servers that have not started it.
    const held = (await check(servers[20]!)).json();
    expect(held.latest_version).toBe('1.5.0');
    expect(held.held_back).toEqual([{ version: '1.6.0', reason: 'halted' }]);
    // More failures do not halt again.
    await report(servers[11]!, '1.6.0', 'failed');
    const halts = (await admin('GET', '/api/v1/admin/events?action=release.halted')).json().events;
    expect(halts).toHaveLength(1);
    expect(halts[0].data).toMatchObject({ version: '1.6.0', automatic: true, failed: 3, succeeded: 8 });
    // The signed webhook reached the vendor.
    await releaseWebhookOf(portal.services)?.drain();
    const delivery = hook.got.find((g) => g.headers['x-wispanel-event'] === 'release.halted')!;
    expect(delivery).toBeDefined();
    const expected = `sha256=${createHmac('sha256', SECRET).update(delivery.body).digest('hex')}`;
    expect(delivery.headers['x-wispanel-signature']).toBe(expected);
    expect(JSON.parse(delivery.body)).toMatchObject({
      event: 'release.halted',
      version: '1.6.0',
      trigger: 'automatic',
    });
    // The health answer says why, when and by whom, and that the vendor got the webhook (contract shape).
    health = (await admin('GET', '/api/v1/admin/versions/1.6.0/health')).json().health;
    expect(Value.Errors(ReleaseHealthSchema, health)).toEqual([]);
    expect(health.rollout).toMatchObject({ state: 'halted', halted_by: 'policy' });
    expect(health.halt).toMatchObject({
      active: true,
      at: health.rollout.halted_at,
      by: 'policy',
      trigger: 'automatic',
      reason: health.rollout.reason,
      webhook: {
        delivery: JSON.parse(delivery.body).delivery,
        state: 'delivered',
        attempts: 1,
        last_error: null,
      },
    });
    // Resume needs an admin: then it is offered again and the counters start afresh.
    expect((await admin('POST', '/api/v1/admin/versions/1.6.0/rollout/resume')).json().rollout.state).toBe(
      'complete',
    );
    expect((await check(servers[20]!)).json().latest_version).toBe('1.6.0');
    health = (await admin('GET', '/api/v1/admin/versions/1.6.0/health')).json().health;
    expect(health.current_stage).toEqual({ succeeded: 0, failed: 0, failure_rate: null });
    // The last halt stays visible after the resume (its reason from the queued webhook).
    expect(health.rollout.reason).toBeNull();
    expect(health.halt).toMatchObject({
      active: false,
      by: 'policy',
      reason: expect.stringMatching(/3 of 11/),
    });
  });

  it('an admin halt over the API: same path as the policy (event + queued webhook in one transaction), reason in health', async () => {
    await release('1.7.0');
    const before = hook.got.length;
    const res = await admin('POST', '/api/v1/admin/versions/1.7.0/rollout/halt', {
      reason: 'disk fills on XFS',
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().rollout).toMatchObject({
      state: 'halted',
      reason: 'disk fills on XFS',
      halted_by: expect.stringMatching(/^admin:/),
    });
    await releaseWebhookOf(portal.services).drain();
    const sent = hook.got.slice(before).map((g) => JSON.parse(g.body));
    expect(sent).toEqual([
      expect.objectContaining({
        event: 'release.halted',
        version: '1.7.0',
        trigger: 'manual',
        reason: 'disk fills on XFS',
        halted_by: res.json().rollout.halted_by,
      }),
    ]);
    const health = (await admin('GET', '/api/v1/admin/versions/1.7.0/health')).json().health;
    expect(Value.Errors(ReleaseHealthSchema, health)).toEqual([]);
    expect(health.halt).toMatchObject({
      active: true,
      trigger: 'manual',
      reason: 'disk fills on XFS',
      webhook: { delivery: sent[0].delivery, state: 'delivered' },
    });
    // Halting again changes nothing and queues nothing.
    await admin('POST', '/api/v1/admin/versions/1.7.0/rollout/halt', { reason: 'again' });
    await releaseWebhookOf(portal.services).drain();
    expect(hook.got.length).toBe(before + 1);
  });

  it('GET /metrics: admin key only; requests by route and status, rollout state, reports', async () => {
    expect((await portal.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
    const res = await portal.app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { 'x-admin-key': portal.adminKey },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const text = res.body;
    expect(text).toMatch(
      /wispanel_portal_http_requests_total\{method="POST",route="\/api\/v1\/download\/check-update",status="200"\} \d+/,
    );
    expect(text).toContain('wispanel_portal_http_request_duration_seconds_bucket{');
    expect(text).toContain('wispanel_portal_rollout_state{version="1.6.0",state="complete"} 1');
    expect(text).toContain('wispanel_portal_rollout_percent{version="1.5.0"} 100');
    expect(text).toMatch(/wispanel_portal_install_reports\{outcome="failed"\} [1-9]/);
    expect(text).toMatch(/wispanel_portal_licenses\{status="active"\} 60/);
    expect(text).toMatch(/wispanel_portal_webhook_outbox\{state="delivered"\} [1-9]/);
    expect(text).toContain('wispanel_portal_webhook_outbox{state="pending"} 0');
  });

  it('fleet: active servers by version and channel, licenses by tier', async () => {
    const res = await admin('GET', '/api/v1/admin/fleet');
    expect(res.statusCode).toBe(200);
    const fleet = res.json().fleet;
    expect(fleet.servers).toBe(60);
    expect(fleet.by_version).toEqual([{ version: '1.4.2', servers: 60 }]);
    expect(fleet.by_channel.find((c: { channel: string }) => c.channel === 'stable').servers).toBeGreaterThan(
      10,
    );
    expect(fleet.licenses_by_tier).toEqual([{ tier: 'pro', licenses: 60 }]);
    expect(fleet.last_seen_at).toBe(new Date(now).toISOString());
    expect((await admin('GET', '/api/v1/admin/fleet?active_days=0')).statusCode).toBe(422);
  });
});
