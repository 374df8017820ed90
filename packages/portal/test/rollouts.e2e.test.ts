import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createTestPostgresDatabase, tempDir, testPostgresUrl } from '@wispanel/kit/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { bin, root, startPortal } from './portal-process';

/**
 * The halt decision with two real portal processes on one database: reports arrive at both at once, the halt is
 * taken exactly when the threshold is reached and exactly once (one state change, one event).
 */
const run = promisify(execFile);
// biome-ignore lint/suspicious/noExplicitAny: JSON printed by the CLI
async function cli(args: string[]): Promise<Record<string, any>> {
  const { stdout } = await run(process.execPath, [bin, ...args, '--json'], { cwd: root });
  return JSON.parse(stdout);
}

const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function scenario(dbArgs: (dir: string) => Promise<string[]>) {
  const dir = tempDir('wispanel-rollouts-e2e-');
  cleanups.push(() => dir.remove());
  const common = ['--data-dir', dir.path, ...(await dbArgs(dir.path))];
  const init = await cli(['init', ...common]);
  const artifact = join(dir.path, 'wispanel-1.5.0.tar.gz');
  writeFileSync(artifact, randomBytes(4096));
  await cli(['release', 'publish', artifact, '--version', '1.5.0', ...common]);
  const [a, b] = await Promise.all([
    startPortal([...common, '--rate-limit', '100000']),
    startPortal([...common, '--rate-limit', '100000']),
  ]);
  cleanups.push(a.stop, b.stop);
  const adminKey = init.admin_key as string;
  const call = async (base: string, method: string, path: string, body?: unknown, admin = false) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(admin ? { 'x-admin-key': adminKey } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    // biome-ignore lint/suspicious/noExplicitAny: JSON checked by the assertions
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  // The plan through the CLI (same database): halt at 10 failing servers, any rate.
  const plan = await cli([
    'release',
    'rollout',
    'set',
    '1.5.0',
    '--stages',
    '100',
    '--min-failures',
    '10',
    '--failure-rate',
    '0.05',
    ...common,
  ]);
  expect(plan.rollout).toMatchObject({ state: 'complete', percent: 100 });

  const servers: Array<{ key: string; hw: string }> = [];
  for (let i = 0; i < 30; i++) {
    const issued = await call(a.url, 'POST', '/api/v1/admin/licenses', { tier: 'pro' }, true);
    const key = issued.body.license_key as string;
    const hw = randomBytes(32).toString('hex');
    expect((await call(b.url, 'POST', '/api/v1/license/activate', { key, hardware_id: hw })).body.valid).toBe(
      true,
    );
    servers.push({ key, hw });
  }
  const report = (s: { key: string; hw: string }, i: number, via = i % 2) =>
    call(via ? a.url : b.url, 'POST', '/api/v1/download/report', {
      key: s.key,
      hardware_id: s.hw,
      nonce: `nonce-${i}-xxxx`,
      attempt_id: `job-${i}`,
      from_version: '1.4.2',
      to_version: '1.5.0',
      outcome: 'failed',
      step: 'health_check',
      error_code: 'HEALTH_CHECK_FAILED',
      duration_ms: 500,
    });
  // 9 failing servers at once, split over both instances: below the threshold.
  const first = await Promise.all(servers.slice(0, 9).map((s, i) => report(s, i)));
  expect(first.map((r) => r.status)).toEqual(Array(9).fill(200));
  expect(
    (await call(a.url, 'GET', '/api/v1/admin/versions/1.5.0/rollout', undefined, true)).body.rollout.state,
  ).toBe('complete');
  // 21 more at once (and each sent twice, to both instances: retries are idempotent).
  const rest = servers.slice(9);
  const second = await Promise.all(rest.flatMap((s, i) => [report(s, i + 9, 0), report(s, i + 9, 1)]));
  expect(second.every((r) => r.status === 200)).toBe(true);
  expect(second.filter((r) => r.body.recorded === true)).toHaveLength(21);
  const health = (await call(b.url, 'GET', '/api/v1/admin/versions/1.5.0/health', undefined, true)).body
    .health;
  expect(health.rollout.state).toBe('halted');
  expect(health.failed).toBe(30);
  const events = (await call(a.url, 'GET', '/api/v1/admin/events?action=release.halted', undefined, true))
    .body.events;
  // Exactly once, decided at exactly the 10th failing server.
  expect(events).toHaveLength(1);
  expect(events[0].data).toMatchObject({ version: '1.5.0', automatic: true, failed: 10, succeeded: 0 });
  const reports = (
    await call(a.url, 'GET', '/api/v1/admin/events?action=download.report&limit=200', undefined, true)
  ).body.events;
  expect(reports).toHaveLength(9 + 21);
  // CLI view of the same state.
  const shown = await cli(['release', 'rollout', 'show', '1.5.0', ...common]);
  expect(shown.health.rollout.state).toBe('halted');
}

describe('rollouts end to end with two portal processes', () => {
  it('SQLite: the halt is taken once, at the threshold, under concurrent reports', {
    timeout: 180_000,
  }, async () => {
    await scenario(async () => []);
  });
  it.skipIf(!testPostgresUrl)(
    'PostgreSQL: the halt is taken once, at the threshold, under concurrent reports',
    { timeout: 180_000 },
    async () => {
      await scenario(async () => {
        const pg = await createTestPostgresDatabase();
        cleanups.push(() => pg.drop());
        return ['--database-url', pg.url];
      });
    },
  );
});
