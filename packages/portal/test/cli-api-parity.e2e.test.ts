import { execFile } from 'node:child_process';
import { tempDir } from '@wispanel/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, root, type StartedPortal, startPortal } from './portal-process';

/**
 * The CLI refuses exactly what the admin API refuses: both validate through the request schemas of
 * @wispanel/contract. Each case is sent to a real running portal's admin API and given to a real
 * `wispanel-portal` process over the same data dir; both must refuse with the same details, and nothing changes.
 */

// biome-ignore lint/suspicious/noExplicitAny: JSON printed by the CLI and the API, checked by the assertions
type Json = Record<string, any>;

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd: root }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

const dir = tempDir('wispanel-portal-parity-');
let portal: StartedPortal;
let adminKey: string;

async function api(method: string, path: string, body: unknown): Promise<{ status: number; json: Json }> {
  const res = await fetch(`${portal.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', 'x-admin-key': adminKey },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Json };
}

async function cliRefusal(args: string[]): Promise<Json> {
  const r = await run([...args, '--data-dir', dir.path, '--json']);
  expect(r.code, r.stdout + r.stderr).toBe(1);
  return JSON.parse(r.stdout) as Json;
}

beforeAll(async () => {
  const init = await run(['init', '--data-dir', dir.path, '--json']);
  expect(init.code, init.stderr).toBe(0);
  adminKey = (JSON.parse(init.stdout) as Json).admin_key;
  portal = await startPortal(['--data-dir', dir.path]);
}, 90_000);
afterAll(async () => {
  await portal?.stop();
  dir.remove();
});

describe('wispanel-portal refuses what the admin API refuses', () => {
  const cases: Array<{ name: string; method: string; path: string; body: Json; cli: string[] }> = [
    {
      name: 'tiers set: lease days over 365',
      method: 'PATCH',
      path: '/api/v1/admin/tiers/pro',
      body: { lease_days: 5000 },
      cli: ['tiers', 'set', 'pro', '--lease-days', '5000'],
    },
    {
      name: 'tiers set: a feature name with a space and capitals',
      method: 'PATCH',
      path: '/api/v1/admin/tiers/pro',
      body: { features: ['BAD FEATURE'] },
      cli: ['tiers', 'set', 'pro', '--features', 'BAD FEATURE'],
    },
    {
      name: 'tiers set: both at once (every problem named)',
      method: 'PATCH',
      path: '/api/v1/admin/tiers/pro',
      body: { lease_days: 5000, features: ['BAD FEATURE'] },
      cli: ['tiers', 'set', 'pro', '--lease-days', '5000', '--features', 'BAD FEATURE'],
    },
    {
      name: 'tiers set (new tier): limit below -1 and a bad grace',
      method: 'POST',
      path: '/api/v1/admin/tiers',
      body: { name: 'fresh', max_users: -5, max_domains: 1, max_databases: 1, grace_days: 400 },
      cli: [
        'tiers',
        'set',
        'fresh',
        '--max-users',
        '-5',
        '--max-domains',
        '1',
        '--max-databases',
        '1',
        '--grace-days',
        '400',
      ],
    },
    {
      name: 'license issue: bad email and zero term',
      method: 'POST',
      path: '/api/v1/admin/licenses',
      body: { tier: 'pro', customer_email: 'not-an-email', term_days: 0 },
      cli: ['license', 'issue', '--tier', 'pro', '--customer-email', 'not-an-email', '--term-days', '0'],
    },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const before = await api('GET', '/api/v1/admin/tiers', undefined);
      const fromApi = await api(c.method, c.path, c.body);
      expect(fromApi.status).toBe(422);
      expect(fromApi.json.code).toBe('VALIDATION_ERROR');
      const fromCli = await cliRefusal(c.cli);
      expect(fromCli.code).toBe('VALIDATION_ERROR');
      expect(fromCli.details).toEqual(fromApi.json.details);
      // Nothing was written by either.
      expect((await api('GET', '/api/v1/admin/tiers', undefined)).json).toEqual(before.json);
      expect((await api('GET', '/api/v1/admin/licenses', undefined)).json.licenses).toEqual([]);
    }, 60_000);
  }
});
