import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from '@wispanel/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  httpReportSender,
  reportOf,
  UpdateReporter,
  UpdateReportQueue,
} from '../src/modules/updates/update-report';
import { idleStatus, type UpdateStatus } from '../src/modules/updates/update-state';

/** A port nothing listens on (the portal is "down"). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const failed: UpdateStatus = {
  ...idleStatus(),
  job_id: 'upd_20260301_abc',
  state: 'failed',
  from_version: '1.4.2',
  to_version: '1.5.0',
  started_at: '2026-03-01T00:00:00.000Z',
  finished_at: '2026-03-01T00:00:42.000Z',
  error: { code: 'DOWNLOAD_FAILED', message: 'portal went away' },
  log: ['2026-03-01T00:00:01.000Z downloading 1.5.0'],
};

const root = new URL('../../..', import.meta.url).pathname;
const portalBin = join(root, 'packages/portal/bin/wispanel-portal.mjs');

/** The real portal as a process (panel and portal never import each other). */
async function startPortal(dataDir: string): Promise<{ url: string; adminKey: string; child: ChildProcess }> {
  const { stdout } = await promisify(execFile)(process.execPath, [
    portalBin,
    'init',
    '--data-dir',
    dataDir,
    '--json',
  ]);
  const adminKey = JSON.parse(stdout).admin_key as string;
  const child = spawn(
    process.execPath,
    [portalBin, 'start', '--data-dir', dataDir, '--port', '0', '--json'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /"url":\s*"([^"]+)"/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`portal exited ${code}`)));
  });
  return { url, adminKey, child };
}

describe('install reports (real portal process over HTTP)', () => {
  let portal: { url: string; adminKey: string; child: ChildProcess };
  let url = '';
  let key = '';
  const hw = randomBytes(32).toString('hex');
  const dir = tempDir('wispanel-update-report-');
  let now = Date.parse('2026-03-01T00:01:00Z');

  const health = async () => {
    const res = await fetch(`${url}/api/v1/admin/versions/1.5.0/health`, {
      headers: { 'x-admin-key': portal.adminKey },
    });
    return ((await res.json()) as { health: Record<string, unknown> }).health;
  };

  beforeAll(async () => {
    portal = await startPortal(join(dir.path, 'portal'));
    url = portal.url;
    const call = async (method: string, path: string, body?: unknown, type = 'application/json') => {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { 'x-admin-key': portal.adminKey, 'content-type': type },
        body: body === undefined ? undefined : body instanceof Buffer ? body : JSON.stringify(body),
      });
      return (await res.json()) as Record<string, unknown>;
    };
    await call('POST', '/api/v1/admin/versions', { version: '1.5.0' });
    await call('PUT', '/api/v1/admin/versions/1.5.0/artifact', randomBytes(1000), 'application/octet-stream');
    await call('POST', '/api/v1/admin/versions/1.5.0/publish', {});
    key = (await call('POST', '/api/v1/admin/licenses', { tier: 'pro' })).license_key as string;
    await fetch(`${url}/api/v1/license/activate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key, hardware_id: hw }),
    });
  }, 60_000);
  afterAll(async () => {
    portal?.child.kill('SIGTERM');
    dir.remove();
  });

  const queueFor = (baseUrl: string) =>
    new UpdateReportQueue({
      file: join(dir.path, 'update-reports.json'),
      clock: () => new Date(now),
      send: httpReportSender({
        baseUrl,
        credentials: () => ({ key, hardwareId: hw }),
        nonce: () => randomBytes(8).toString('hex'),
        timeoutMs: 5_000,
      }),
    });

  it('derives the report from the persisted status (step, code, duration)', () => {
    expect(reportOf(failed)).toEqual({
      attempt_id: 'upd_20260301_abc',
      from_version: '1.4.2',
      to_version: '1.5.0',
      outcome: 'failed',
      step: 'downloading',
      error_code: 'DOWNLOAD_FAILED',
      duration_ms: 42_000,
    });
    expect(
      reportOf({ ...failed, state: 'rolled_back', error: { code: 'HEALTH_CHECK_FAILED', message: 'x' } }),
    ).toMatchObject({
      outcome: 'rolled_back',
      step: 'health_check',
    });
    // A release that exited before it was healthy failed at its start, not at the health check — even when its
    // log's last step line is the health gate (the supervisor starts it under that state).
    expect(
      reportOf({
        ...failed,
        state: 'rolled_back',
        log: [...failed.log, 'health_check: waiting for 7.0.2'],
        error: {
          code: 'UPDATE_START_FAILED',
          message: 'release 7.0.2 exited during start (code 1, 0.4 s after start)',
        },
      }),
    ).toMatchObject({ outcome: 'rolled_back', step: 'starting', error_code: 'UPDATE_START_FAILED' });
    // The new release's supervisor never came up (the launcher fell back after its attempts): it failed to start
    // as well, not a health check.
    expect(
      reportOf({
        ...failed,
        state: 'rolled_back',
        log: [...failed.log, 'health_check: waiting for 7.0.2'],
        error: {
          code: 'UPDATE_SUPERVISOR_FAILED',
          message: 'the supervisor of 7.0.2 did not come up in 2 attempts',
        },
      }),
    ).toMatchObject({ outcome: 'rolled_back', step: 'starting', error_code: 'UPDATE_SUPERVISOR_FAILED' });
    expect(
      reportOf({ ...failed, state: 'rolled_back', error: { code: 'UPDATE_UNSTABLE', message: 'x' } }),
    ).toMatchObject({ step: 'health_check' });
    expect(reportOf({ ...failed, state: 'completed', error: null })).toMatchObject({
      outcome: 'succeeded',
      step: null,
      error_code: null,
    });
    expect(reportOf({ ...failed, state: 'downloading' })).toBeNull();
    expect(reportOf(idleStatus())).toBeNull();
  });

  it('a report the portal cannot take is kept, survives a restart, and is sent once the portal answers', async () => {
    // Portal unreachable: the report is queued and rescheduled, the update is untouched.
    const down = new UpdateReporter(queueFor(`http://127.0.0.1:${await closedPort()}`), () => failed);
    await down.tick();
    const pending = down.queue.pending();
    expect(pending).toHaveLength(1);
    expect(pending[0]).toMatchObject({ attempts: 1, report: { attempt_id: 'upd_20260301_abc' } });
    expect(Date.parse(pending[0]!.next_at)).toBe(now + 30_000);
    // "Restart": a new process reads the same file; the portal is back; the retry is due.
    now += 31_000;
    const up = new UpdateReporter(queueFor(url), () => failed);
    await up.tick();
    expect(up.queue.pending()).toEqual([]);
    expect(await health()).toMatchObject({ failed: 1, failed_by_step: { downloading: 1 }, reports: 1 });
    // Seen once: later ticks (and restarts) do not report the same attempt again.
    await up.tick();
    await new UpdateReporter(queueFor(url), () => failed).tick();
    expect((await health()).reports).toBe(1);
  });

  it('a refusal that retrying cannot fix (unknown version) is dropped, not retried forever', async () => {
    const reporter = new UpdateReporter(queueFor(url), () => ({
      ...failed,
      job_id: 'upd_other',
      to_version: '7.7.7',
    }));
    await reporter.tick();
    expect(reporter.queue.pending()).toEqual([]);
  });
});
