import { ConfigError } from '@wispanel/kit';
import { describe, expect, it } from 'vitest';
import { loadPanelConfig } from './config';

describe('loadPanelConfig', () => {
  it('has embedded defaults', () => {
    const c = loadPanelConfig({}, {});
    expect(c).toMatchObject({
      host: '0.0.0.0',
      port: 2083,
      rateLimitPerMinute: 60,
      channel: 'stable',
      logLevel: 'info',
      tlsDisabled: false,
    });
    expect(c.dataDir.endsWith('/data')).toBe(true);
    expect(c.databaseUrl).toBe(`${c.dataDir}/panel.db`);
  });

  it('reads WISPANEL_* and lets flags win', () => {
    const c = loadPanelConfig(
      { port: '0' },
      {
        WISPANEL_PORT: '3082',
        WISPANEL_HOST: '127.0.0.1',
        WISPANEL_RATE_LIMIT: '500',
        WISPANEL_DATA_DIR: '/tmp/x',
      },
    );
    expect(c).toMatchObject({
      port: 0,
      host: '127.0.0.1',
      rateLimitPerMinute: 500,
      dataDir: '/tmp/x',
      databaseUrl: '/tmp/x/panel.db',
    });
  });

  it('lists every bad value at once', () => {
    try {
      loadPanelConfig(
        {},
        {
          WISPANEL_PORT: '70000',
          WISPANEL_RATE_LIMIT: 'lots',
          WISPANEL_TLS_CERT: '/c.pem',
          WISPANEL_LOG_LEVEL: 'loud',
        },
      );
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const problems = (err as ConfigError).problems.join('\n');
      expect(problems).toContain('WISPANEL_PORT');
      expect(problems).toContain('WISPANEL_RATE_LIMIT');
      expect(problems).toContain('WISPANEL_TLS_KEY');
      expect(problems).toContain('WISPANEL_LOG_LEVEL');
    }
  });
});
