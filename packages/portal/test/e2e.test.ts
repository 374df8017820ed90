import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { PortalAdminClient, PortalLicenseClient } from '@wispanel/client';
import { parsePublicKeySet, verifyLicenseFile } from '@wispanel/contract';
import { createTestPostgresDatabase, tempDir, testPostgresUrl } from '@wispanel/kit/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { bin, root, startPortal } from './portal-process';

/** End to end with real processes: the `wispanel-portal` command as an operator runs it. */
const run = promisify(execFile);
const hw = (n: number) => n.toString(16).padStart(64, 'e');

// biome-ignore lint/suspicious/noExplicitAny: JSON printed by the CLI, checked by the assertions
async function cli(args: string[]): Promise<Record<string, any>> {
  const { stdout } = await run(process.execPath, [bin, ...args, '--json'], {
    cwd: root,
    env: { ...process.env, WISPANEL_PORTAL_LOG_LEVEL: 'warn' },
  });
  return JSON.parse(stdout);
}

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe('wispanel-portal end to end', () => {
  it('init and issue with the CLI, start with npx, activate/verify/deactivate/suspend over HTTP, stop', {
    timeout: 90_000,
  }, async () => {
    const dir = tempDir('wispanel-portal-e2e-');
    cleanups.push(() => dir.remove());
    const init = await cli(['init', '--data-dir', dir.path]);
    expect(init).toMatchObject({
      created: true,
      kid: expect.stringMatching(/^[0-9a-f]{16}$/),
      admin_key: expect.stringMatching(/^wpa_/),
    });
    const issued = await cli([
      'license',
      'issue',
      '--data-dir',
      dir.path,
      '--tier',
      'pro',
      '--term-days',
      '30',
      '--customer-name',
      'E2E',
    ]);
    const key = issued.license_key as string;

    const portal = await startPortal(['--data-dir', dir.path], { viaNpx: true });
    cleanups.push(() => portal.stop());
    expect(portal.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const client = new PortalLicenseClient({ baseUrl: portal.url });
    const served = await client.publicKeys();
    expect(served).toEqual(JSON.parse(readFileSync(init.public_keys_file, 'utf8')));
    const keys = parsePublicKeySet(served);

    const activated = await client.activate({
      key,
      hardware_id: hw(1),
      nonce: 'e2e-nonce-1',
      panel_version: '1.4.2',
      hostname: 'e2e.example',
    });
    expect(activated).toMatchObject({ status: 200, answer: { valid: true, code: 'VALID' } });
    const payload = verifyLicenseFile(activated.answer.license_file!, {
      keys,
      hardwareId: hw(1),
      now: new Date(),
    });
    expect(payload).toMatchObject({ tier: 'pro', nonce: 'e2e-nonce-1', license_id: issued.license.id });
    expect((await client.verify({ key, hardware_id: hw(2) })).answer.code).toBe('HARDWARE_MISMATCH');
    expect((await client.deactivate({ key, hardware_id: hw(1) })).answer.code).toBe('DEACTIVATED');

    const admin = new PortalAdminClient({ baseUrl: portal.url, adminKey: init.admin_key });
    const detail = await admin.getLicense(issued.license.id);
    expect(detail.activations).toEqual([]);
    expect(detail.recent_events.map((e) => e.action)).toEqual(
      expect.arrayContaining(['license.issued', 'license.activate', 'license.verify', 'license.deactivate']),
    );
    await expect(
      new PortalAdminClient({ baseUrl: portal.url, adminKey: 'wrong' }).listTiers(),
    ).rejects.toMatchObject({ status: 401, code: 'UNAUTHORIZED' });

    // an operator command against the same data while it runs
    const suspended = await cli([
      'license',
      'suspend',
      issued.license.id,
      '--data-dir',
      dir.path,
      '--reason',
      'e2e',
    ]);
    expect(suspended.license.status).toBe('suspended');
    expect((await client.activate({ key, hardware_id: hw(1) })).answer).toMatchObject({
      valid: false,
      code: 'SUSPENDED',
    });

    await portal.stop();
    await expect(client.publicKeys()).rejects.toMatchObject({ status: 0, code: 'PORTAL_UNREACHABLE' });
  });

  it('two portal processes sharing one SQLite file hold the activation limit', {
    timeout: 60_000,
  }, async () => {
    const dir = tempDir('wispanel-portal-e2e-sqlite-');
    cleanups.push(() => dir.remove());
    const common = ['--data-dir', dir.path];
    const init = await cli(['init', ...common]);
    const issued = await cli(['license', 'issue', ...common, '--tier', 'free', '--max-activations', '5']);
    const key = issued.license_key as string;
    // both processes open the same <dataDir>/portal.db; the per-IP limit (120/min) is raised so that it
    // cannot be what answers
    const args = [...common, '--rate-limit', '100000'];
    const [a, b] = await Promise.all([startPortal(args), startPortal(args)]);
    cleanups.push(
      () => a.stop(),
      () => b.stop(),
    );
    const urls = [a.url, b.url];
    // One process runs its transactions one at a time on its one SQLite connection, so the race is between the
    // two processes: BEGIN IMMEDIATE must wait (kit's busy_timeout) for the other's write lock, neither fail
    // with SQLITE_BUSY (a 500) nor let both read the same count. Raw HTTP, so a 500 or a timeout shows as such.
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        try {
          const res = await fetch(`${urls[i % 2]}/api/v1/license/activate`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ key, hardware_id: hw(200 + i) }),
            signal: AbortSignal.timeout(15_000),
          });
          return { i, status: res.status, body: (await res.json()) as { valid?: boolean; code?: string } };
        } catch (err) {
          return { i, status: 0, body: { code: `FETCH ${(err as Error).name}: ${(err as Error).message}` } };
        }
      }),
    );
    const elapsed = Date.now() - started;
    const outcomes = answers.map((x) => `${x.status} ${x.body.code}`);
    const tally = (o: string) => outcomes.filter((x) => x === o).length;
    expect({
      valid: tally('200 VALID'),
      limit: tally('409 ACTIVATION_LIMIT'),
      other: outcomes.filter((o) => !/^(200 VALID|409 ACTIVATION_LIMIT)$/.test(o)),
    }).toEqual({ valid: 5, limit: 35, other: [] });
    expect(answers.filter((x) => x.body.code === 'VALID').every((x) => x.body.valid === true)).toBe(true);
    expect(elapsed).toBeLessThan(15_000);

    // the portal's view: exactly the five winners are bound, and each attempt left one event
    const winners = answers.filter((x) => x.body.code === 'VALID').map((x) => hw(200 + x.i));
    const { license: shown } = await cli(['license', 'show', issued.license.id, ...common]);
    expect(shown.activations.map((x: { hardware_id: string }) => x.hardware_id).sort()).toEqual(
      winners.sort(),
    );
    expect(shown.activations_used).toBe(5);
    const { events } = await new PortalAdminClient({ baseUrl: b.url, adminKey: init.admin_key }).events({
      license_id: issued.license.id,
      action: 'license.activate',
      limit: 100,
    });
    expect(events.map((e) => e.result_code).sort()).toEqual([
      ...Array<string>(35).fill('ACTIVATION_LIMIT'),
      ...Array<string>(5).fill('VALID'),
    ]);
  });

  it.skipIf(!testPostgresUrl)(
    'two portal processes sharing one PostgreSQL hold the activation limit',
    { timeout: 90_000 },
    async () => {
      const pg = await createTestPostgresDatabase();
      cleanups.push(() => pg.drop());
      const dir = tempDir('wispanel-portal-e2e-pg-');
      cleanups.push(() => dir.remove());
      const common = ['--data-dir', dir.path, '--database-url', pg.url];
      const init = await cli(['init', ...common]);
      const [a, b] = await Promise.all([startPortal(common), startPortal(common)]);
      cleanups.push(
        () => a.stop(),
        () => b.stop(),
      );
      const admin = new PortalAdminClient({ baseUrl: a.url, adminKey: init.admin_key });
      const { license_key: key, license } = await admin.issueLicense({ tier: 'free', max_activations: 5 });
      const clients = [
        new PortalLicenseClient({ baseUrl: a.url }),
        new PortalLicenseClient({ baseUrl: b.url }),
      ];
      const answers = await Promise.all(
        Array.from({ length: 40 }, (_, i) => clients[i % 2]!.activate({ key, hardware_id: hw(100 + i) })),
      );
      const codes = answers.map((x) => x.answer.code);
      expect(codes.filter((c) => c === 'VALID')).toHaveLength(5);
      expect(codes.filter((c) => c === 'ACTIVATION_LIMIT')).toHaveLength(35);
      const winners = answers.map((x, i) => (x.answer.code === 'VALID' ? i : -1)).filter((i) => i >= 0);
      // a binding made through one process is known to the other
      const i = winners[0]!;
      expect((await clients[(i + 1) % 2]!.refresh({ key, hardware_id: hw(100 + i) })).answer.code).toBe(
        'VALID',
      );
      expect(
        (await new PortalAdminClient({ baseUrl: b.url, adminKey: init.admin_key }).getLicense(license.id))
          .activations,
      ).toHaveLength(5);
    },
  );
});
