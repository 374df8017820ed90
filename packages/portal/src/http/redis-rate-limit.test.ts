import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { MemoryRateLimiter } from '@wispanel/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPortal } from '../testing';
import { FallbackRateLimiter, RedisRateLimiter } from './redis-rate-limit';

const hasRedis = spawnSync('redis-server', ['--version']).status === 0;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

describe('rate limiting with Redis down', () => {
  it('falls back to per-instance memory counting, warns once, and never fails the request', async () => {
    const port = await freePort(); // nothing listens here
    const warnings: string[] = [];
    const limiter = new FallbackRateLimiter(
      new RedisRateLimiter(`redis://127.0.0.1:${port}`, 2),
      new MemoryRateLimiter(2),
      (m) => warnings.push(m),
    );
    const decisions = [];
    for (let i = 0; i < 3; i++) decisions.push(await limiter.hit('ip:1'));
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, false]);
    expect(warnings).toHaveLength(1);
    limiter.close();
  });

  it('a portal configured with an unreachable Redis still answers license calls', async () => {
    const port = await freePort();
    const t = await createTestPortal('sqlite', { redisUrl: `redis://127.0.0.1:${port}` });
    try {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/license/verify',
        payload: { key: 'WISP-AAAA-BBBB-CCCC', hardware_id: 'a'.repeat(64) },
      });
      expect(res.statusCode).toBe(404);
      expect(res.json().code).toBe('NOT_FOUND');
      expect(res.headers['x-ratelimit-limit']).toBe('100000'); // counted by the in-memory fallback
    } finally {
      await t.close();
    }
  });
});

describe.skipIf(!hasRedis)('rate limiting shared through a real Redis', () => {
  let redis: ChildProcess;
  let url: string;
  beforeAll(async () => {
    const port = await freePort();
    redis = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    url = `redis://127.0.0.1:${port}`;
    for (let i = 0; i < 50; i++) {
      try {
        await new RedisRateLimiter(url, 1).hit('probe');
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  });
  afterAll(() => {
    if (redis?.pid) process.kill(redis.pid, 'SIGTERM');
  });

  it('two instances share one count per IP and window', async () => {
    const a = new RedisRateLimiter(url, 5);
    const b = new RedisRateLimiter(url, 5);
    const now = Date.now();
    const allowed = [];
    for (let i = 0; i < 8; i++) allowed.push((await (i % 2 ? a : b).hit('ip:10.1.1.1', now)).allowed);
    expect(allowed.filter(Boolean)).toHaveLength(5);
    expect((await a.hit('ip:10.1.1.2', now)).remaining).toBe(4);
    const over = await b.hit('ip:10.1.1.1', now);
    expect(over).toMatchObject({ allowed: false, remaining: 0 });
    expect(over.retryAfter).toBeGreaterThan(0);
    expect((await a.hit('ip:10.1.1.1', now + 60_000)).allowed).toBe(true); // next window
    a.close();
    b.close();
  });

  it('two portal apps with the same Redis enforce the limit together', async () => {
    const t1 = await createTestPortal('sqlite', { redisUrl: url, rateLimit: 4 });
    const t2 = await createTestPortal('sqlite', { redisUrl: url, rateLimit: 4 });
    try {
      const statuses = [];
      for (let i = 0; i < 6; i++) {
        const res = await (i % 2 ? t1 : t2).app.inject({
          method: 'POST',
          url: '/api/v1/license/verify',
          remoteAddress: '10.9.9.9',
          payload: { key: 'WISP-AAAA-BBBB-CCCC', hardware_id: 'a'.repeat(64) },
        });
        statuses.push(res.statusCode);
      }
      expect(statuses).toEqual([404, 404, 404, 404, 429, 429]);
    } finally {
      await t1.close();
      await t2.close();
    }
  });
});
