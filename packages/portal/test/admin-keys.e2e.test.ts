import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { PortalAdminClient } from '@wispanel/client';
import { createTestPostgresDatabase, tempDir, testPostgresUrl } from '@wispanel/kit/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { bin, root, startPortal } from './portal-process';

/** `wispanel-portal admin-key list|revoke` as real processes, against a real running portal. */

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the command and returns its exit code and output (a non-zero exit is a result, not a throw). */
function run(args: string[]): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { cwd: root, env: { ...process.env, WISPANEL_PORTAL_LOG_LEVEL: 'warn' } },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

// biome-ignore lint/suspicious/noExplicitAny: JSON printed by the CLI, checked by the assertions
async function cliJson(args: string[]): Promise<Record<string, any>> {
  const r = await run([...args, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

/** The admin API's answer to `key` on an admin route: 200, or the error status. */
async function adminStatus(url: string, key: string): Promise<number> {
  try {
    await new PortalAdminClient({ baseUrl: url, adminKey: key }).listTiers();
    return 200;
  } catch (err) {
    return (err as { status: number }).status;
  }
}

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

const dialects = testPostgresUrl ? ['sqlite', 'postgres'] : ['sqlite'];

describe.each(dialects)('wispanel-portal admin-key on %s', (dialect) => {
  it('list shows keys without secrets; revoke withdraws a key from a running portal within ~6 s; refuses the last active key; unknown prefix fails', {
    timeout: 90_000,
  }, async () => {
    const dir = tempDir('wispanel-portal-admin-keys-');
    cleanups.push(() => dir.remove());
    const common = ['--data-dir', dir.path];
    if (dialect === 'postgres') {
      const pg = await createTestPostgresDatabase();
      cleanups.push(() => pg.drop());
      common.push('--database-url', pg.url);
    }
    const first = (await cliJson(['init', ...common])).admin_key as string;
    const created = await cliJson(['admin-key', 'create', '--name', 'ops', ...common]);
    const second = created.admin_key as string;
    const secrets = [
      first,
      second,
      ...[first, second].map((k) => createHash('sha256').update(k).digest('hex')),
    ];

    // list: every key with its public fields, never a key or a hash (JSON and human output)
    const listed = await cliJson(['admin-key', 'list', ...common]);
    expect(listed.admin_keys).toEqual([
      {
        id: expect.stringMatching(/^[0-9a-f]{16}$/),
        key_prefix: first.slice(0, 12),
        name: 'initial',
        created_at: expect.any(String),
        revoked_at: null,
      },
      {
        id: created.id,
        key_prefix: second.slice(0, 12),
        name: 'ops',
        created_at: created.created_at,
        revoked_at: null,
      },
    ]);
    const human = await run(['admin-key', 'list', ...common]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(first.slice(0, 12));
    for (const s of secrets) {
      expect(JSON.stringify(listed)).not.toContain(s.slice(12));
      expect(human.stdout).not.toContain(s.slice(12));
    }

    const portal = await startPortal(common);
    cleanups.push(() => portal.stop());
    // both keys work, and the running portal has cached them as active
    expect(await adminStatus(portal.url, first)).toBe(200);
    expect(await adminStatus(portal.url, second)).toBe(200);

    // revoke the first by its prefix while the portal runs
    const revoked = await run(['admin-key', 'revoke', first.slice(0, 12), ...common]);
    const revokedAt = Date.now();
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toMatch(/revoked at .*\n.*within 5 seconds/);
    let status = await adminStatus(portal.url, first);
    while (status === 200 && Date.now() - revokedAt < 8000) {
      await new Promise((r) => setTimeout(r, 200));
      status = await adminStatus(portal.url, first);
    }
    expect(status).toBe(401);
    // the portal caches active keys for 5 s; the rest is polling and request time on a busy machine
    expect(Date.now() - revokedAt).toBeLessThan(6500);
    expect(await adminStatus(portal.url, second)).toBe(200);

    // revoking it again changes nothing and succeeds
    const [again, againHuman] = await Promise.all([
      cliJson(['admin-key', 'revoke', listed.admin_keys[0].id, ...common]),
      run(['admin-key', 'revoke', first.slice(0, 12), ...common]),
    ]);
    expect(again).toMatchObject({ key_prefix: first.slice(0, 12), already_revoked: true });
    expect(againHuman).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/already revoked.*nothing changed/),
    });
    const after = await cliJson(['admin-key', 'list', ...common]);
    expect(after.admin_keys[0].revoked_at).toBe(again.revoked_at);
    expect(after.admin_keys[1].revoked_at).toBeNull();

    // the last active key is kept unless --force (with a message saying how to make another first);
    // an unknown prefix is an error naming it. Independent commands, run side by side.
    const [last, lastJson, unknown, unknownJson] = await Promise.all([
      run(['admin-key', 'revoke', second.slice(0, 12), ...common]),
      run(['admin-key', 'revoke', second.slice(0, 12), ...common, '--json']),
      run(['admin-key', 'revoke', 'wpa_ffffffff', ...common]),
      run(['admin-key', 'revoke', 'wpa_ffffffff', ...common, '--json']),
    ]);
    expect(last.code).toBe(1);
    expect(last.stderr).toMatch(/^error: .*last active admin key.*wispanel-portal admin-key create.*--force/);
    expect(lastJson.code).toBe(1);
    expect(JSON.parse(lastJson.stdout)).toMatchObject({ success: false, code: 'CONFLICT' });
    expect(await adminStatus(portal.url, second)).toBe(200);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no admin key with id or prefix "wpa_ffffffff"/);
    expect(unknownJson.code).toBe(1);
    expect(JSON.parse(unknownJson.stdout)).toMatchObject({ success: false, code: 'NOT_FOUND' });

    // one admin_key.revoked event (the repeat and the refusals recorded nothing)
    const events = await new PortalAdminClient({ baseUrl: portal.url, adminKey: second }).events({
      action: 'admin_key.revoked',
    });
    expect(events.events.map((e) => [e.actor, e.data])).toEqual([
      ['cli:operator', { id: listed.admin_keys[0].id, prefix: first.slice(0, 12), name: 'initial' }],
    ]);
  });
});
