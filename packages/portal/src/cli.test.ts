import { statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { tempDir } from '@wispanel/kit/testing';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildPortalCli } from './cli';
import { withServices } from './cli-kit';
import { WebhookOutbox, type WebhookOutboxTables } from './modules/rollouts/webhook-outbox';

/** The operator commands, run in-process against a real SQLite data dir (the e2e test runs real processes). */
const dir = tempDir('wispanel-portal-cli-');
afterAll(() => dir.remove());

// biome-ignore lint/suspicious/noExplicitAny: JSON printed by the CLI, checked by the assertions
type Json = Record<string, any>;

async function cli(...args: string[]): Promise<Json> {
  return JSON.parse(await printed(...args, '--json'));
}

/** What a command prints (human text unless `--json` is among `args`). */
async function printed(...args: string[]): Promise<string> {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  try {
    const program = (await buildPortalCli(args)).exitOverride();
    await program.parseAsync(['node', 'wispanel-portal', ...args, '--data-dir', dir.path]);
  } finally {
    spy.mockRestore();
  }
  return out;
}

describe('wispanel-portal operator commands', () => {
  let init: Json;
  beforeAll(async () => {
    init = await cli('init');
  });

  it('init keeps the private key to its owner and prints what a script needs', () => {
    expect(init).toMatchObject({
      created: true,
      admin_key: expect.stringMatching(/^wpa_[0-9a-f]{64}$/),
      kid: expect.any(String),
    });
    expect(init.public_key).toContain('BEGIN PUBLIC KEY');
    expect(statSync(join(dir.path, 'keys', `signing-${init.kid}.pem`)).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir.path, 'keys', 'license-key-pepper')).mode & 0o777).toBe(0o600);
  });

  it('tiers set creates and changes a tier; tiers list shows it', async () => {
    expect(
      (
        await cli(
          'tiers',
          'set',
          'agency',
          '--max-users',
          '50',
          '--max-domains',
          '500',
          '--max-databases',
          '-1',
          '--features',
          'ssl,backups',
        )
      ).tier,
    ).toMatchObject({
      name: 'agency',
      max_users: 50,
      features: ['ssl', 'backups'],
    });
    expect((await cli('tiers', 'set', 'agency', '--grace-days', '3')).tier.grace_days).toBe(3);
    expect((await cli('tiers', 'list')).tiers.map((t: { name: string }) => t.name)).toEqual([
      'agency',
      'enterprise',
      'free',
      'pro',
    ]);
    await expect(cli('tiers', 'set', 'half')).rejects.toThrow(/needs --max-users/);
  });

  it('issues, lists, shows, extends, changes tier, suspends, reinstates, revokes', async () => {
    const issued = await cli(
      'license',
      'issue',
      '--tier',
      'agency',
      '--term-days',
      '10',
      '--max-activations',
      '2',
      '--customer-email',
      'a@b.test',
    );
    const id = issued.license.id as string;
    expect(issued.license_key).toMatch(/^WISP-/);
    expect((await cli('license', 'show', issued.license_key)).license.id).toBe(id);
    expect((await cli('license', 'list', '--tier', 'agency')).licenses).toHaveLength(1);
    const extended = await cli('license', 'extend', id, '--days', '5');
    expect(Date.parse(extended.license.expires_at) - Date.parse(issued.license.expires_at)).toBe(
      5 * 86_400_000,
    );
    expect((await cli('license', 'tier', id, 'pro')).license.tier).toBe('pro');
    expect((await cli('license', 'suspend', id, '--reason', 'test')).license.status).toBe('suspended');
    expect((await cli('license', 'reinstate', id)).license.status).toBe('active');
    expect((await cli('license', 'revoke', id)).license.status).toBe('revoked');
    const events = (await cli('license', 'show', id)).license.recent_events.map(
      (e: { action: string; actor: string }) => `${e.action} ${e.actor}`,
    );
    expect(events).toContain('license.revoked cli:operator');
    await expect(cli('activation', 'reset', id, 'f'.repeat(64))).rejects.toThrow(/Activation not found/);
    await expect(cli('license', 'show', 'lic_nope')).rejects.toThrow(/License not found/);
  });

  it('webhooks list shows a given-up delivery and why; redeliver queues it again with the same id, once', async () => {
    // A receiver that refuses the webhook (410): the real sender gives the delivery up.
    const refusing = createServer((_req, res) => res.writeHead(410).end());
    await new Promise<void>((r) => refusing.listen(0, '127.0.0.1', r));
    const id = await withServices({ dataDir: dir.path }, async (s) => {
      const queued = await s.webhooks.enqueue('release.halted', '9.9.9', { version: '9.9.9' });
      await new WebhookOutbox({
        db: s.db as unknown as Kysely<WebhookOutboxTables>,
        dialect: s.database.dialect,
        now: () => new Date(),
        target: {
          url: `http://127.0.0.1:${(refusing.address() as AddressInfo).port}/hook`,
          secret: 's3cret',
        },
        version: 'test',
      }).pass();
      return queued;
    });
    refusing.close();
    const failed = await cli('webhooks', 'list', '--state', 'failed');
    expect(failed.deliveries).toEqual([
      expect.objectContaining({
        id,
        state: 'failed',
        subject: '9.9.9',
        last_status: 410,
        last_error: 'HTTP 410',
      }),
    ]);
    expect(failed.pagination).toEqual({ page: 1, per_page: 25, total: 1, total_pages: 1 });
    expect(JSON.stringify(failed)).not.toContain('s3cret');
    const text = await printed('webhooks', 'list', '--state', 'failed');
    expect(text).toMatch(/^DELIVERY +STATE +EVENT +SUBJECT +ATTEMPTS +LAST ATTEMPT +STATUS +ERROR\n/);
    expect(text).toMatch(new RegExp(`${id} +failed +release\\.halted +9\\.9\\.9 +1 +\\S+ +410 +HTTP 410\\n`));
    expect(text).toContain('page 1/1, 1 total');

    const again = await cli('webhooks', 'redeliver', id);
    expect(again.delivery).toMatchObject({
      id,
      state: 'pending',
      attempts: 0,
      redeliveries: 1,
      last_error: null,
    });
    expect(again.message).toMatch(/running portal .* sends it/);
    expect((await cli('webhooks', 'show', id)).delivery).toEqual(again.delivery);
    expect((await cli('webhooks', 'list', '--state', 'failed')).deliveries).toEqual([]);
    await expect(cli('webhooks', 'redeliver', id)).rejects.toThrow(/is pending, not failed/);
    await expect(cli('webhooks', 'redeliver', '../etc/passwd')).rejects.toThrow(/delivery id/);
    await expect(cli('webhooks', 'redeliver', '00000000-0000-4000-8000-000000000000')).rejects.toThrow(
      /not found/,
    );
    await expect(cli('webhooks', 'list', '--state', 'lost')).rejects.toThrow(/state/);
    await expect(cli('webhooks', 'list', '--per-page', '500')).rejects.toThrow(/per page/);
    const events = await withServices({ dataDir: dir.path }, (s) =>
      s.events.list({ action: 'webhook.redelivered' }),
    );
    expect(events.map((e) => `${e.actor} ${e.data?.delivery}`)).toEqual([`cli:operator ${id}`]);
  });

  it('rotates the signing key, keeping the old one listed; admin-key create prints a new key', async () => {
    const rotated = await cli('keys', 'rotate');
    expect(rotated.retired).toBe(init.kid);
    const listed = await cli('keys', 'list');
    expect(listed.keys.map((k: { kid: string; status: string }) => `${k.kid}:${k.status}`)).toEqual([
      `${rotated.kid}:current`,
      `${init.kid}:retired`,
    ]);
    const again = await cli('init');
    expect(again).toMatchObject({ created: false, kid: rotated.kid, admin_key: null });
    const created = await cli('admin-key', 'create', '--name', 'ci');
    expect(created.admin_key).toMatch(/^wpa_/);
    expect(created.admin_key).not.toBe(init.admin_key);
  });
});
