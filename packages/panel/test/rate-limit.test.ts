import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPanelHarness, type PanelHarness } from './harness';

let h: PanelHarness;
let base: string;
const agent = new Agent({ connections: 64, pipelining: 1 });
beforeAll(async () => {
  h = await createPanelHarness();
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  const addr = h.app.server.address() as { port: number };
  base = `http://127.0.0.1:${addr.port}`;
});
afterAll(async () => {
  await agent.close();
  await h.close();
});

describe('rate limit over real HTTP', () => {
  it('lets exactly 60 of 200 parallel requests with one key through; the rest get 429 + Retry-After', async () => {
    const k = await h.key('admin', { name: 'burst' });
    // Start well inside a one-minute window so the burst is counted against one window.
    const msLeft = 60_000 - (Date.now() % 60_000);
    if (msLeft < 5_000) await new Promise((r) => setTimeout(r, msLeft + 50));
    const windowStart = Math.floor(Date.now() / 60_000);
    const results = await Promise.all(
      Array.from({ length: 200 }, async () => {
        const res = await request(`${base}/api/v1/auth/me`, {
          dispatcher: agent,
          headers: { authorization: `Bearer ${k.secret}` },
        });
        const body = await res.body.json();
        return { status: res.statusCode, headers: res.headers, body: body as { code?: string } };
      }),
    );
    // A minute boundary during the burst would legitimately open a second window.
    if (Math.floor(Date.now() / 60_000) !== windowStart) return;
    const ok = results.filter((r) => r.status === 200);
    const limited = results.filter((r) => r.status === 429);
    expect(ok).toHaveLength(60);
    expect(limited).toHaveLength(140);
    for (const r of results) {
      expect(r.headers['x-ratelimit-limit']).toBe('60');
      expect(Number(r.headers['x-ratelimit-reset'])).toBeGreaterThan(Date.now() / 1000);
    }
    expect(limited[0]?.body.code).toBe('RATE_LIMITED');
    expect(Number(limited[0]?.headers['retry-after'])).toBeGreaterThan(0);
    const remaining = ok.map((r) => Number(r.headers['x-ratelimit-remaining'])).sort((a, b) => a - b);
    expect(remaining).toEqual(Array.from({ length: 60 }, (_, i) => i));
    // Another key has its own budget.
    const other = await h.key('admin', { name: 'other' });
    const res = await request(`${base}/api/v1/auth/me`, {
      dispatcher: agent,
      headers: { authorization: `Bearer ${other.secret}` },
    });
    await res.body.dump();
    expect(res.statusCode).toBe(200);
  });
});
