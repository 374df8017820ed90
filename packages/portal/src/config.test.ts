import { availableParallelism } from 'node:os';
import { ConfigError } from '@wispanel/kit';
import { describe, expect, it } from 'vitest';
import { loadPortalConfig } from './config';

describe('portal configuration', () => {
  it('defaults: SQLite in the data dir, HTTP, 120/min, artifacts in the data dir', () => {
    const c = loadPortalConfig({ dataDir: '/srv/portal' }, {});
    expect(c).toMatchObject({
      dataDir: '/srv/portal',
      databaseUrl: '/srv/portal/portal.db',
      host: '127.0.0.1',
      port: 3090,
      tls: null,
      publicRateLimit: 120,
      redisUrl: null,
      artifactDir: '/srv/portal/artifacts',
      keysDir: '/srv/portal/keys',
      trustProxy: false,
    });
  });

  it('reads WISPANEL_PORTAL_* and lets flags win', () => {
    const c = loadPortalConfig(
      { port: '0' },
      {
        WISPANEL_PORTAL_DATA_DIR: '/d',
        WISPANEL_PORTAL_DATABASE_URL: 'postgres://u@db:5432/portal',
        WISPANEL_PORTAL_PORT: '8080',
        WISPANEL_PORTAL_RATE_LIMIT: '30',
        WISPANEL_PORTAL_TLS_CERT: '/c.pem',
        WISPANEL_PORTAL_TLS_KEY: '/k.pem',
        WISPANEL_PORTAL_TRUST_PROXY: 'true',
      },
    );
    expect(c).toMatchObject({
      databaseUrl: 'postgres://u@db:5432/portal',
      port: 0,
      publicRateLimit: 30,
      tls: { certPath: '/c.pem', keyPath: '/k.pem' },
      // "true" never means every hop: a proxy on this machine
      trustProxy: ['loopback'],
    });
  });

  it('signing threads: 1 with 2+ cores (else 0), from WISPANEL_PORTAL_SIGNING_THREADS or the flag, 0–16', () => {
    expect(loadPortalConfig({ dataDir: '/d' }, {}).signingThreads).toBe(availableParallelism() > 1 ? 1 : 0);
    expect(loadPortalConfig({ dataDir: '/d' }, { WISPANEL_PORTAL_SIGNING_THREADS: '0' }).signingThreads).toBe(
      0,
    );
    expect(
      loadPortalConfig({ dataDir: '/d', signingThreads: '3' }, { WISPANEL_PORTAL_SIGNING_THREADS: '0' })
        .signingThreads,
    ).toBe(3);
    for (const bad of ['17', '-1', 'two'])
      expect(() => loadPortalConfig({ dataDir: '/d', signingThreads: bad }, {})).toThrow(/SIGNING_THREADS/);
  });

  it('names every bad value at once', () => {
    try {
      loadPortalConfig(
        {
          port: '70000',
          rateLimit: 'lots',
          tlsCert: '/c.pem',
          redisUrl: 'http://x',
          databaseUrl: 'mysql://x',
        },
        {},
      );
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const problems = (err as ConfigError).problems.join('\n');
      for (const word of ['PORT', 'RATE_LIMIT', 'TLS_KEY', 'REDIS_URL', 'DATABASE_URL'])
        expect(problems).toContain(word);
    }
  });

  it('never echoes a password from a refused URL', () => {
    try {
      loadPortalConfig(
        { redisUrl: 'rediss://:hunter2@cache:6380', databaseUrl: 'mysql://app:s3cret@db/portal' },
        {},
      );
      expect.unreachable();
    } catch (err) {
      const problems = (err as ConfigError).problems.join('\n');
      expect(problems).toContain('rediss://cache:6380');
      expect(problems).toContain('mysql://db/portal');
      expect(problems).not.toMatch(/hunter2|s3cret|app:/);
    }
  });
});
