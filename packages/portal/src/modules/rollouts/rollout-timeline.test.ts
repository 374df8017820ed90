import { randomBytes } from 'node:crypto';
import { testPostgresUrl } from '@wispanel/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPortal, type TestDialect, type TestPortal } from '../../testing';

const dialects: TestDialect[] = testPostgresUrl ? ['sqlite', 'postgres'] : ['sqlite'];

/**
 * GET /api/v1/admin/versions/{version}/timeline on a real database of each dialect: offers, download tokens
 * and install reports made at known times (the portal's clock) land in their UTC hour or day.
 */
describe.each(dialects)('rollout timeline on %s', (dialect) => {
  let portal: TestPortal;
  let now = Date.parse('2026-03-01T00:10:00Z');
  const servers: Array<{ key: string; hw: string }> = [];

  const admin = (url: string, key = portal.adminKey) =>
    portal.app.inject({ method: 'GET', url, headers: { 'x-admin-key': key } });
  const adminPost = (url: string, body?: unknown) =>
    portal.app.inject({
      method: 'POST',
      url,
      headers: { 'x-admin-key': portal.adminKey },
      ...(body === undefined ? {} : { payload: body as object }),
    });
  const post = (url: string, body: unknown) =>
    portal.app.inject({ method: 'POST', url, payload: body as object });
  const report = (
    s: { key: string; hw: string },
    outcome: string,
    step: string | null,
    code: string | null,
  ) =>
    post('/api/v1/download/report', {
      key: s.key,
      hardware_id: s.hw,
      nonce: 'nonce-0002',
      attempt_id: `job-${randomBytes(4).toString('hex')}`,
      from_version: '1.4.2',
      to_version: '1.5.0',
      outcome,
      step,
      error_code: code,
      duration_ms: 1000,
    });
  const timeline = async (query = '') => {
    const res = await admin(`/api/v1/admin/versions/1.5.0/timeline${query}`);
    expect(res.statusCode, res.body).toBe(200);
    return res.json().timeline;
  };

  beforeAll(async () => {
    portal = await createTestPortal(dialect, { clock: () => new Date(now) });
    for (let i = 0; i < 3; i++) {
      const key = (await adminPost('/api/v1/admin/licenses', { tier: 'pro' })).json().license_key as string;
      const hw = randomBytes(32).toString('hex');
      expect((await post('/api/v1/license/activate', { key, hardware_id: hw })).json().valid).toBe(true);
      servers.push({ key, hw });
    }
    expect((await adminPost('/api/v1/admin/versions', { version: '1.5.0' })).statusCode).toBe(201);
    const up = await portal.app.inject({
      method: 'PUT',
      url: '/api/v1/admin/versions/1.5.0/artifact',
      headers: { 'x-admin-key': portal.adminKey, 'content-type': 'application/octet-stream' },
      payload: randomBytes(2000),
    });
    expect(up.statusCode).toBe(200);
    expect((await adminPost('/api/v1/admin/versions/1.5.0/publish')).statusCode).toBe(200);
    const [a, b, c] = servers as [(typeof servers)[0], (typeof servers)[0], (typeof servers)[0]];

    // 00:10 all three are offered it; 01:20 a downloads and succeeds; 02:05 b fails twice (two attempts) and
    // c starts; 02:40 c rolls back.
    for (const s of servers) {
      const res = await post('/api/v1/download/check-update', {
        key: s.key,
        hardware_id: s.hw,
        current_version: '1.4.2',
        channel: 'stable',
        nonce: 'nonce-0001',
      });
      expect(res.json().latest_version ?? res.json().version ?? res.body).toContain('1.5.0');
    }
    now = Date.parse('2026-03-01T01:20:00Z');
    expect(
      (await post('/api/v1/download/token', { key: a.key, hardware_id: a.hw, version: '1.5.0' })).statusCode,
    ).toBe(200);
    expect((await report(a, 'succeeded', null, null)).statusCode).toBe(200);
    now = Date.parse('2026-03-01T02:05:00Z');
    expect((await report(b, 'failed', 'verifying', 'SIGNATURE_INVALID')).statusCode).toBe(200);
    expect((await report(b, 'failed', 'verifying', 'SIGNATURE_INVALID')).statusCode).toBe(200);
    expect(
      (await post('/api/v1/download/token', { key: c.key, hardware_id: c.hw, version: '1.5.0' })).statusCode,
    ).toBe(200);
    now = Date.parse('2026-03-01T02:40:00Z');
    expect((await report(c, 'rolled_back', 'health_check', 'HEALTH_CHECK_FAILED')).statusCode).toBe(200);
  }, 60_000);
  afterAll(async () => {
    await portal?.close();
  });

  it('buckets offers, starts and reports per hour over the last 24 hours to now, zeros included', async () => {
    const t = await timeline();
    expect(t).toMatchObject({
      version: '1.5.0',
      bucket: 'hour',
      since: '2026-02-28T03:00:00.000Z',
      until: '2026-03-01T03:00:00.000Z',
    });
    expect(t.points).toHaveLength(24);
    expect(t.points.slice(0, 21).every((p: { offered: number }) => p.offered === 0)).toBe(true);
    expect(t.points.slice(21)).toEqual([
      { at: '2026-03-01T00:00:00.000Z', offered: 3, started: 0, succeeded: 0, failed: 0, rolled_back: 0 },
      { at: '2026-03-01T01:00:00.000Z', offered: 0, started: 1, succeeded: 1, failed: 0, rolled_back: 0 },
      // b's two failed attempts count once; b and c both started in this hour (b by its report).
      { at: '2026-03-01T02:00:00.000Z', offered: 0, started: 2, succeeded: 0, failed: 1, rolled_back: 1 },
    ]);
    expect(t.totals).toEqual({ offered: 3, started: 3, succeeded: 1, failed: 1, rolled_back: 1 });

    // An hour later with nothing new: one more empty bucket.
    now = Date.parse('2026-03-01T03:30:00Z');
    const later = await timeline();
    expect(later.since).toBe('2026-02-28T04:00:00.000Z');
    expect(later.points).toHaveLength(24);
    expect(later.points[23]).toEqual({
      at: '2026-03-01T03:00:00.000Z',
      offered: 0,
      started: 0,
      succeeded: 0,
      failed: 0,
      rolled_back: 0,
    });
  });

  it('bucket=day and an explicit window (rounded out to whole buckets)', async () => {
    const day = await timeline('?bucket=day');
    expect(day.points).toHaveLength(24);
    expect(day.since).toBe('2026-02-06T00:00:00.000Z');
    expect(day.points.at(-1)).toEqual({
      at: '2026-03-01T00:00:00.000Z',
      offered: 3,
      started: 3,
      succeeded: 1,
      failed: 1,
      rolled_back: 1,
    });
    const window = await timeline(
      `?since=${encodeURIComponent('2026-03-01T01:30:00Z')}&until=${encodeURIComponent('2026-03-01T02:10:00+00:00')}`,
    );
    expect(window.since).toBe('2026-03-01T01:00:00.000Z');
    expect(window.until).toBe('2026-03-01T03:00:00.000Z');
    expect(window.points.map((p: { at: string }) => p.at)).toEqual([
      '2026-03-01T01:00:00.000Z',
      '2026-03-01T02:00:00.000Z',
    ]);
    // A window before anything happened: zeros.
    const before = await timeline('?since=2026-02-20T00:00:00Z&until=2026-02-20T03:00:00Z');
    expect(before.points).toHaveLength(3);
    expect(before.totals).toEqual({ offered: 0, started: 0, succeeded: 0, failed: 0, rolled_back: 0 });
  });

  it('health names the failures by step and error code', async () => {
    const res = await admin('/api/v1/admin/versions/1.5.0/health');
    expect(res.json().health.failures).toEqual([
      { step: 'health_check', error_code: 'HEALTH_CHECK_FAILED', servers: 1 },
      { step: 'verifying', error_code: 'SIGNATURE_INVALID', servers: 1 },
    ]);
  });

  it('bad parameters get a 422 naming the field; unknown version 404; no key 401', async () => {
    const bad = async (query: string, field: string, message: RegExp) => {
      const res = await admin(`/api/v1/admin/versions/1.5.0/timeline${query}`);
      expect(res.statusCode, `${query}: ${res.body}`).toBe(422);
      expect(res.json().code).toBe('VALIDATION_ERROR');
      expect(res.json().details[field]?.join(' '), `${query}: ${res.body}`).toMatch(message);
    };
    await bad('?bucket=week', 'bucket', /.+/);
    await bad('?since=yesterday', 'since', /valid date/);
    await bad('?until=2026-13-45T00:00:00Z', 'until', /valid date/);
    await bad('?since=2026-03-01T02:00:00Z&until=2026-03-01T01:00:00Z', 'since', /before until/);
    await bad('?since=2026-03-01T02:00:00Z&until=2026-03-01T02:00:00Z', 'since', /before until/);
    await bad('?since=2025-01-01T00:00:00Z&until=2026-03-01T00:00:00Z', 'since', /at most 744 hours/);
    await bad('?since=2020-01-01T00:00:00Z&bucket=day', 'since', /at most 744 days/);
    // A window whose buckets would print outside years 0000-9999 (not an RFC 3339 date-time any more).
    await bad('?until=9999-12-31T23:59:59Z', 'until', /years 0000 to 9999/);
    await bad('?until=9999-12-31T23:59:59Z&bucket=day', 'until', /years 0000 to 9999/);
    await bad('?until=0000-01-01T05:00:00Z', 'until', /years 0000 to 9999/);
    await bad(
      `?since=${encodeURIComponent('0000-01-01T00:30:00+01:00')}&until=0000-01-01T05:00:00Z`,
      'since',
      /years 0000 to 9999/,
    );
    const missing = await admin('/api/v1/admin/versions/9.9.9/timeline');
    expect(missing.statusCode).toBe(404);
    const garbage = await admin('/api/v1/admin/versions/not..a..version/timeline');
    expect(garbage.statusCode).toBe(404);
    expect((await admin('/api/v1/admin/versions/1.5.0/timeline', 'wpa_nope')).statusCode).toBe(401);
    // A long default window reaches back to the first activity, cut to the most recent 744 hours.
    now = Date.parse('2026-03-10T00:00:00Z');
    const days = await timeline();
    expect(days.since).toBe('2026-03-01T00:00:00.000Z');
    expect(days.points).toHaveLength(9 * 24 + 1);
    expect(days.totals).toEqual({ offered: 3, started: 3, succeeded: 1, failed: 1, rolled_back: 1 });
    now = Date.parse('2026-06-01T00:00:00Z');
    const long = await timeline();
    expect(long.points).toHaveLength(744);
    expect(long.until).toBe('2026-06-01T01:00:00.000Z');
  });
});
