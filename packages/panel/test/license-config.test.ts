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

  it('reads the license webhook (flags or environment); the secret is required with the URL', () => {
    const secret = 'webhook-secret-0123456789';
    expect(loadPanelConfig({ dataDir: '/tmp/x' }, {})).toMatchObject({
      licenseWebhookUrl: undefined,
      licenseWebhookSecret: undefined,
    });
    expect(
      loadPanelConfig(
        { dataDir: '/tmp/x' },
        {
          WISPANEL_LICENSE_WEBHOOK_URL: 'https://hooks.example.com/license',
          WISPANEL_LICENSE_WEBHOOK_SECRET: secret,
        },
      ),
    ).toMatchObject({ licenseWebhookUrl: 'https://hooks.example.com/license', licenseWebhookSecret: secret });
    expect(
      problems({ licenseWebhookUrl: 'http://10.0.0.5:8080/hook', licenseWebhookSecret: secret }),
    ).toEqual([]);
    expect(problems({ licenseWebhookUrl: 'https://hooks.example.com' }).join()).toContain(
      'WISPANEL_LICENSE_WEBHOOK_SECRET (--license-webhook-secret) is required',
    );
    expect(problems({ licenseWebhookSecret: secret }).join()).toContain('WISPANEL_LICENSE_WEBHOOK_URL');
  });

  it('refuses a bad webhook URL or short secret without echoing the secret or URL credentials', () => {
    const secret = 'do-not-echo-this-secret-42';
    const bad = [
      problems({ licenseWebhookUrl: 'not a url', licenseWebhookSecret: secret }),
      problems({ licenseWebhookUrl: 'ftp://bob:hunter2@hooks.example.com/x', licenseWebhookSecret: secret }),
      problems(
        {},
        { WISPANEL_LICENSE_WEBHOOK_URL: 'file:///etc/passwd', WISPANEL_LICENSE_WEBHOOK_SECRET: secret },
      ),
      problems({ licenseWebhookUrl: 'https://hooks.example.com', licenseWebhookSecret: 'short-s3cret' }),
      problems({
        licenseWebhookUrl: 'https://bob:hunter2@hooks.example.com/x',
        licenseWebhookSecret: secret,
      }),
    ];
    expect(bad[0]?.join()).toContain('WISPANEL_LICENSE_WEBHOOK_URL (--license-webhook-url) is not a URL');
    expect(bad[1]?.join()).toContain('must be http:// or https://, got "ftp://hooks.example.com/x"');
    expect(bad[2]?.join()).toContain('must be http:// or https://');
    expect(bad[3]?.join()).toContain('at least 16 characters (value not shown), got 12');
    expect(bad[4]?.join()).toContain(
      'must not contain a user name or password (deliveries are signed with the secret instead), got "https://hooks.example.com/x"',
    );
    for (const p of bad) {
      expect(p).toHaveLength(1);
      expect(p.join()).not.toContain(secret);
      expect(p.join()).not.toContain('short-s3cret');
      expect(p.join()).not.toContain('hunter2');
    }
  });
});
