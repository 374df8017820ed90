import { ConfigError } from '@wispanel/kit';
import { describe, expect, it } from 'vitest';
import { loadPanelConfig } from '../src/config';

function problems(flags: Record<string, unknown>, env: Record<string, string> = {}): string[] {
  try {
    loadPanelConfig({ dataDir: '/tmp/x', ...flags }, env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

describe('license configuration', () => {
  it('defaults: no portal, unlicensed allowance 10/10/10, grace from the file, enforce after 7 days', () => {
    const c = loadPanelConfig({ dataDir: '/tmp/x' }, {});
    expect(c).toMatchObject({
      portalUrl: undefined,
      portalDev: false,
      licenseGraceDays: undefined,
      licenseEnforceAfterHours: 168,
      licenseTickSeconds: 60,
      unlicensedLimits: { max_users: 10, max_domains: 10, max_databases: 10 },
    });
  });

  it('reads the portal from the environment', () => {
    const c = loadPanelConfig(
      { dataDir: '/tmp/x' },
      {
        WISPANEL_PORTAL_URL: 'https://portal.example.com',
        WISPANEL_PORTAL_KEYS: '/etc/keys.json',
        WISPANEL_LICENSE_GRACE_DAYS: '3',
      },
    );
    expect(c).toMatchObject({
      portalUrl: 'https://portal.example.com',
      portalKeysPath: '/etc/keys.json',
      licenseGraceDays: 3,
    });
  });

  it('refuses unsafe or incomplete portal settings, naming each', () => {
    expect(problems({ portalUrl: 'https://portal.example.com' }).join()).toContain('WISPANEL_PORTAL_KEYS');
    expect(problems({ portalUrl: 'http://portal.example.com', portalKeys: 'k.json' }).join()).toContain(
      'https://',
    );
    expect(problems({ portalUrl: 'https://portal.example.com', portalDev: true }).join()).toContain(
      'loopback',
    );
    expect(problems({ portalUrl: 'not a url', portalKeys: 'k.json' }).join()).toContain('not a URL');
    expect(problems({ unlicensedMaxUsers: 'many' }).join()).toContain('WISPANEL_UNLICENSED_MAX_USERS');
    expect(problems({ portalUrl: 'http://127.0.0.1:3090', portalDev: true })).toEqual([]);
  });
});
