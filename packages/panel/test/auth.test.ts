import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPanelHarness, type PanelHarness } from './harness';

let h: PanelHarness;
beforeAll(async () => {
  h = await createPanelHarness({ flags: { rateLimit: 100_000, loginRateLimit: 5 } });
  const res = await h.call('POST', '/api/v1/users', {
    body: { username: 'dana', email: 'dana@example.com', password: 'dana password 1' },
  });
  expect(res.statusCode).toBe(201);
});
afterAll(() => h.close());

const login = (body: unknown, ip = '198.51.100.1') =>
  h.call('POST', '/api/v1/auth/login', { key: null, body, ip });

describe('UI login', () => {
  it('logs in by username or email, serves /auth/me with the session, logs out', async () => {
    const byName = await login({ username: 'dana', password: 'dana password 1' });
    expect(byName.statusCode).toBe(200);
    expect(byName.json().token).toMatch(/^wss_[0-9a-f]{64}$/);
    const byEmail = await login({ email: 'DANA@example.com', password: 'dana password 1' }, '198.51.100.2');
    expect(byEmail.statusCode).toBe(200);
    const token = byName.json().token;
    const me = await h.call('GET', '/api/v1/auth/me', { key: token });
    expect(me.json()).toMatchObject({
      username: 'dana',
      email: 'dana@example.com',
      role: 'user',
      status: 'active',
      package: 'default',
      auth: { method: 'session' },
    });
    expect(me.headers['x-ratelimit-limit']).toBe(String(h.config.rateLimitPerMinute));
    expect((await h.call('POST', '/api/v1/auth/logout', { key: token })).statusCode).toBe(200);
    expect((await h.call('GET', '/api/v1/auth/me', { key: token })).statusCode).toBe(401);
    const session = await h.deps.db.selectFrom('sessions').selectAll().execute();
    expect(JSON.stringify(session)).not.toContain(byEmail.json().token.slice(4));
  });

  it('answers 401 Invalid credentials for a wrong password or unknown user', async () => {
    const wrong = await login({ username: 'dana', password: 'nope' }, '198.51.100.3');
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json()).toMatchObject({ code: 'UNAUTHORIZED', error: 'Invalid credentials' });
    expect((await login({ username: 'ghost', password: 'nope' }, '198.51.100.3')).json().error).toBe(
      'Invalid credentials',
    );
    expect((await login({ password: 'x' }, '198.51.100.3')).statusCode).toBe(400);
  });

  it('rate-limits login attempts per IP', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++)
      statuses.push((await login({ username: 'dana', password: 'bad' }, '198.51.100.9')).statusCode);
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.slice(5)).toEqual([429, 429]);
    expect((await login({ username: 'dana', password: 'dana password 1' }, '198.51.100.10')).statusCode).toBe(
      200,
    );
  });

  it('refuses logout with an API key (revoke it instead)', async () => {
    const res = await h.call('POST', '/api/v1/auth/logout');
    expect(res.statusCode).toBe(400);
  });

  it('/auth/me with an API key names the key', async () => {
    const me = await h.call('GET', '/api/v1/auth/me');
    expect(me.json()).toMatchObject({
      username: 'admin',
      role: 'admin',
      auth: { method: 'api_key', permissions: ['all'] },
    });
    expect(me.json().auth.key_id).toMatch(/^[0-9a-f]{16}$/);
  });
});
