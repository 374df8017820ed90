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
