import { describe, expect, it } from 'vitest';
import { ConfigError, ConfigReader } from './config';

describe('ConfigReader', () => {
  it('prefers flags over environment and falls back to defaults', () => {
    const r = new ConfigReader({ port: '8080' }, { APP_PORT: '9090', APP_HOST: 'h' });
    expect(r.int('port', 'APP_PORT', 1, 0, 65535)).toBe(8080);
    expect(r.string('host', 'APP_HOST', 'x')).toBe('h');
    expect(r.string('missing', 'APP_MISSING', 'dflt')).toBe('dflt');
    expect(() => r.done()).not.toThrow();
  });

  it('lists every bad value at once, naming flags as people type them', () => {
    const r = new ConfigReader({ maxArtifactBytes: 'lots' }, { APP_TLS: 'maybe', APP_MODE: 'loud' });
    r.int('maxArtifactBytes', 'APP_MAX', 1, 1, 10);
    r.bool('tls', 'APP_TLS', false);
    r.oneOf('mode', 'APP_MODE', 'quiet', ['quiet', 'normal'] as const);
    let err: unknown;
    try {
      r.done();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems;
    expect(problems).toHaveLength(3);
    expect(problems[0]).toContain('--max-artifact-bytes');
    expect(problems[1]).toContain('APP_TLS');
    expect(problems[2]).toContain('quiet, normal');
  });
});

describe('assertPortFree', () => {
  it('fails at once on a busy port; with waitMs it waits for a predecessor that is still stopping', async () => {
    const { createServer } = await import('node:net');
    const { assertPortFree } = await import('./config');
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', () => r()));
    const port = (holder.address() as { port: number }).port;
    const busy = await assertPortFree('127.0.0.1', port).catch((e) => e);
    expect(busy).toBeInstanceOf(ConfigError);
    expect(busy.problems[0]).toMatch(new RegExp(`port ${port} on 127.0.0.1 is in use`));
    // A supervised panel started while the previous one (of a killed supervisor) still shuts down: freed in 0.4 s.
    setTimeout(() => holder.close(), 400);
    const started = Date.now();
    await assertPortFree('127.0.0.1', port, { waitMs: 10_000 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    // Still busy when the wait is over: the same refusal, after the wait.
    const again = createServer();
    await new Promise<void>((r) => again.listen(port, '127.0.0.1', () => r()));
    try {
      const t0 = Date.now();
      const late = await assertPortFree('127.0.0.1', port, { waitMs: 600 }).catch((e) => e);
      expect(late).toBeInstanceOf(ConfigError);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(500);
    } finally {
      again.close();
    }
  });
});
