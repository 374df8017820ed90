import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PortalAdminClient } from '@wispanel/client';
import { tempDir } from '@wispanel/kit/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { stepOf } from '../src/modules/updates/update-report';
import {
  type BuiltRelease,
  buildRelease,
  CRASHING_LAUNCHER,
  freePort,
  type Json,
  type Proc,
  panelApi,
  portalCli,
  publishRelease,
  readJson,
  rolloutFailures,
  spawnProc,
  startPortal,
  UNHEALTHY_LAUNCHER,
  waitFor,
  waitForStatus,
  withLauncher,
} from './update-helpers';

/**
 * End to end with real processes and real artifacts: releases built by `npm run release` from this tree, a real
 * `wispanel-portal` (init, license issue, release publish), the panel installed at X and run by the supervisor
 * (`wispanel run`) from the installed release with plain node.
 */
const X = '7.0.0';
const X1 = '7.0.1';
const X2 = '7.0.2';
const X3 = '7.0.3';
const X4 = '7.0.4';
const X5 = '7.0.5';

const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe('self-update end to end', () => {
  it('updates X → X+1, rolls back a release that cannot start and one that fails its health check', {
    timeout: 300_000,
  }, async () => {
    const dir = tempDir('wispanel-update-e2e-');
    cleanups.push(() => dir.remove());
    const out = join(dir.path, 'out');
    const install = join(dir.path, 'install');
    const data = join(dir.path, 'data');
    const portalData = join(dir.path, 'portal');

    // Releases from this tree (X and X+1 as built; X+2 dies at start, X+3 starts but is never healthy), and the
    // portal (init, a license, serving), prepared side by side.
    const endBuilds: { x4?: Promise<BuiltRelease>; x5?: Promise<BuiltRelease> } = {};
    const releases = (async () => {
      const relX = await buildRelease(X, out);
      // X+4 and X+5 are needed only at the end: built now (cached bundle) instead of on the critical path.
      endBuilds.x4 = buildRelease(X4, out);
      endBuilds.x5 = buildRelease(X5, out);
      for (const b of [endBuilds.x4, endBuilds.x5]) b.catch(() => {}); // reported where awaited
      const [relX1, relX2, relX3] = await Promise.all([
        buildRelease(X1, out),
        buildRelease(X2, out),
        buildRelease(X3, out),
      ]);
      const fileX2 = await withLauncher(relX2, join(dir.path, 'bad'), CRASHING_LAUNCHER);
      const fileX3 = await withLauncher(relX3, join(dir.path, 'bad'), UNHEALTHY_LAUNCHER);
      return { relX, relX1, fileX2, fileX3 };
    })();
    const init = await portalCli(['init', '--data-dir', portalData]);
    const portal = await startPortal(portalData);
    cleanups.push(() => portal.proc.stop());
    const publish = (file: string, version: string) =>
      publishRelease(portal.url, init.admin_key, file, version);
    const issued = await new PortalAdminClient({
      baseUrl: portal.url,
      adminKey: init.admin_key,
    }).issueLicense({
      tier: 'pro',
      term_days: 30,
    });
    const { relX, relX1, fileX2, fileX3 } = await releases;

    // Panel X installed and supervised.
    const installX = spawnProc(
      process.execPath,
      [
        join(root(), 'packages/panel/bin/wispanel.mjs'),
        'install-release',
        relX.file,
        '--install-dir',
        install,
      ],
      process.env,
    );
    await waitFor(
      async () => installX.child.exitCode === 0,
      30_000,
      () => `install-release failed: ${installX.output()}`,
    );
    expect(readlinkSync(join(install, 'current'))).toBe(join('releases', X));
    const bin = join(install, 'current/bin/wispanel.mjs');
    const panelInit = spawnProc(process.execPath, [bin, 'init', '--data-dir', data, '--json'], process.env);
    const initOut = await waitFor(
      async () => (panelInit.child.exitCode === 0 ? panelInit.output() : undefined),
      30_000,
      () => `panel init failed: ${panelInit.output()}`,
    );
    const apiKey = JSON.parse(initOut.slice(initOut.indexOf('{'))).api_key as string;
    const port = await freePort();
    const env = {
      ...process.env,
      WISPANEL_PORTAL_URL: portal.url,
      WISPANEL_PORTAL_KEYS: init.public_keys_file as string,
      WISPANEL_LOG_LEVEL: 'warn',
      WISPANEL_LICENSE_TICK: '0',
      WISPANEL_STABILITY_WINDOW: '2',
    };
    let supervisor: Proc = spawnProc(
      process.execPath,
      [
        bin,
        'run',
        '--install-dir',
        install,
        '--data-dir',
        data,
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--health-timeout',
        '12',
        '--stability-window',
        '2',
      ],
      env,
    );
    cleanups.push(() => supervisor.stop());
    const api = panelApi(`https://127.0.0.1:${port}`, apiKey);
    const logs = () => supervisor.output();
    await waitFor(
      async () => (await api.call('GET', '/version/info')).status === 200,
      45_000,
      () => `panel did not come up: ${logs()}`,
    );

    const info = await api.call('GET', '/version/info');
    expect(info.body).toEqual({
      version: X,
      channel: 'stable',
      build_time: relX.build_time,
      git_commit: relX.git_commit,
      info: `WisPanel v${X}`,
    });
    // Not yet licensed: the panel says so instead of guessing.
    const unlicensed = await api.call('POST', '/version/update');
    expect(unlicensed.status).toBe(409);
    expect(unlicensed.body.code).toBe('LICENSE_NOT_ACTIVATED');

    const activated = await api.call('POST', '/license/activate', { key: issued.license_key });
    expect(activated.status, JSON.stringify(activated.body)).toBe(200);
    const domain = await api.call('POST', '/domains', { domain: 'kept-through-updates.example' });
    expect(domain.status, JSON.stringify(domain.body)).toBe(201);

    // X+1 published → check sees it, update installs it, the panel restarts on it.
    await publish(relX1.file, X1);
    const check = await api.call('GET', '/version/check');
    expect(check.body).toEqual({
      update_available: true,
      current_version: X,
      latest_version: X1,
      changelog: expect.stringContaining(`WisPanel ${X1}`),
      // Why an automatic update would or would not start (docs/updates.md "Update policy"); off by default.
      auto_update: expect.objectContaining({ mode: 'off', action: 'none', reason: 'policy_off' }),
    });
    const started = await api.call('POST', '/version/update');
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    expect(started.body).toMatchObject({
      success: true,
      from_version: X,
      to_version: X1,
      job_id: expect.any(String),
    });
    const second = await api.call('POST', '/version/update');
    expect(second.status).toBe(409);
    expect(second.body.code).toBe('UPDATE_IN_PROGRESS');
    const done1 = await waitForStatus(
      api,
      (s) => ['completed', 'failed', 'rolled_back'].includes(s.state),
      60_000,
      logs,
    );
    expect(done1, JSON.stringify(done1)).toMatchObject({
      state: 'completed',
      from_version: X,
      to_version: X1,
      error: null,
    });
    expect(done1.progress).toMatchObject({ total: relX1.size, bytes: relX1.size, percent: 100 });
    // The real release came over HTTPS from the real portal and was unpacked while it downloaded (issue 14).
    expect(done1.log.join('\n')).toContain('unpacked while downloading (verified: size, SHA-256, signature)');
    expect((await api.call('GET', '/version/info')).body).toMatchObject({
      version: X1,
      build_time: relX1.build_time,
    });
    expect(readlinkSync(join(install, 'current'))).toBe(join('releases', X1));
    // An older version is refused with its own code.
    const older = await api.call('POST', '/version/direct-update', { version: X });
    expect(older.status).toBe(409);
    expect(older.body.code).toBe('UPDATE_DOWNGRADE_REFUSED');
    const later = await api.call('POST', '/domains', { domain: 'created-on-x1.example' });
    expect(later.status).toBe(201);

    // X+2 cannot start → rolled back to X+1, data intact.
    await publish(fileX2, X2);
    const s2 = await api.call('POST', '/version/update');
    expect(s2.status, JSON.stringify(s2.body)).toBe(202);
    const done2 = await waitForStatus(
      api,
      (s) => s.job_id === s2.body.job_id && ['completed', 'failed', 'rolled_back'].includes(s.state),
      60_000,
      logs,
    );
    expect(done2, JSON.stringify(done2)).toMatchObject({
      state: 'rolled_back',
      from_version: X1,
      to_version: X2,
    });
    expect(done2.error.code).toBe('UPDATE_START_FAILED');
    expect(done2.error.message).toMatch(/exited during start/);
    // The job's failing step, as the install report names it to the portal (docs/updates.md "Install reports"):
    // `starting`, not `health_check` — a release that dies at start is told apart from one that never got healthy.
    expect(stepOf(done2 as never)).toBe('starting');
    expect((await api.call('GET', '/version/info')).body.version).toBe(X1);
    expect(readlinkSync(join(install, 'current'))).toBe(join('releases', X1));

    // X+3 starts but never passes its health check → rolled back to X+1, data intact.
    await publish(fileX3, X3);
    const s3 = await api.call('POST', '/version/update');
    expect(s3.status, JSON.stringify(s3.body)).toBe(202);
    const done3 = await waitForStatus(
      api,
      (s) => s.job_id === s3.body.job_id && ['completed', 'failed', 'rolled_back'].includes(s.state),
      60_000,
      logs,
    );
    expect(done3, JSON.stringify(done3)).toMatchObject({
      state: 'rolled_back',
      from_version: X1,
      to_version: X3,
    });
    expect(done3.error.code).toBe('UPDATE_HEALTH_CHECK_FAILED');
    expect(stepOf(done3 as never)).toBe('health_check');
    // Both reports reached the real portal (sent by the panel at its restart and every 15 s), each at its step.
    await waitFor(
      async () => {
        const [f2, f3] = await Promise.all([
          rolloutFailures(portal.url, init.admin_key, X2),
          rolloutFailures(portal.url, init.admin_key, X3),
        ]);
        return f2.length > 0 && f3.length > 0 ? true : undefined;
      },
      60_000,
      () => `install reports did not reach the portal: ${logs()}`,
    );
    expect(await rolloutFailures(portal.url, init.admin_key, X2)).toEqual([
      { step: 'starting', error_code: 'UPDATE_START_FAILED', servers: 1 },
    ]);
    expect(await rolloutFailures(portal.url, init.admin_key, X3)).toEqual([
      { step: 'health_check', error_code: 'UPDATE_HEALTH_CHECK_FAILED', servers: 1 },
    ]);
    expect(done3.log.join('\n')).toMatch(/database restored/);
    expect((await api.call('GET', '/version/info')).body.version).toBe(X1);
    const domains = await api.call('GET', '/domains');
    const names = JSON.stringify(domains.body);
    expect(names).toContain('kept-through-updates.example');
    expect(names).toContain('created-on-x1.example');

    // A tampered artifact on the portal (same size, one byte changed) is refused; X+1 keeps running.
    const relX4 = await (endBuilds.x4 as Promise<BuiltRelease>);
    await publish(relX4.file, X4);
    const stored = join(portalData, 'artifacts', X4, `wispanel-${X4}.tar.gz`);
    const bytes = readFileSync(stored);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 100) ^ 0xff, bytes.length - 100);
    writeFileSync(stored, bytes);
    const s4 = await api.call('POST', '/version/update');
    expect(s4.status, JSON.stringify(s4.body)).toBe(202);
    const done4 = await waitForStatus(
      api,
      (s) => s.job_id === s4.body.job_id && ['completed', 'failed', 'rolled_back'].includes(s.state),
      60_000,
      logs,
    );
    expect(done4, JSON.stringify(done4)).toMatchObject({
      state: 'failed',
      to_version: X4,
      error: { code: 'UPDATE_CHECKSUM_MISMATCH' },
    });
    expect((await api.call('GET', '/version/info')).body.version).toBe(X1);

    // Status survives a restart of the whole thing.
    await supervisor.stop();
    supervisor = spawnProc(
      process.execPath,
      [
        bin,
        'run',
        '--install-dir',
        install,
        '--data-dir',
        data,
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
      ],
      env,
    );
    const after = await waitForStatus(api, (s) => s.state === 'failed', 45_000, logs);
    expect(after.job_id).toBe(s4.body.job_id);
    expect(after.error.code).toBe('UPDATE_CHECKSUM_MISMATCH');
    const json: Json = readJsonSafe(join(install, 'state/update.json'));
    expect(json.switch).toBeNull();

    // The same pipeline from the command line (`wispanel update`), handing over to the running supervisor.
    const relX5 = await (endBuilds.x5 as Promise<BuiltRelease>);
    await publish(relX5.file, X5);
    const cli = spawnProc(
      process.execPath,
      [bin, 'update', '--version', X5, '--install-dir', install, '--data-dir', data, '--json'],
      env,
    );
    const cliOut = await waitFor(
      async () => (cli.child.exitCode !== null ? cli.output() : undefined),
      60_000,
      () => `wispanel update did not finish: ${cli.output()}\n${logs().slice(-3000)}`,
    );
    expect(cli.child.exitCode, cliOut).toBe(0);
    const final = JSON.parse(cliOut.slice(cliOut.lastIndexOf('{"job_id"')).split('\n')[0] as string);
    expect(final).toMatchObject({ state: 'completed', from_version: X1, to_version: X5 });
    await waitFor(async () => (await api.call('GET', '/version/info')).body.version === X5, 30_000, logs);
    // Releases that failed were removed at rollback; the ones that ran are kept (current + up to 3 previous).
    expect(readdirSync(join(install, 'releases')).sort()).toEqual([X, X1, X5]);
  });
});

function root(): string {
  return new URL('../../..', import.meta.url).pathname;
}

function readJsonSafe(path: string): Json {
  try {
    return readJson(path);
  } catch {
    return {};
  }
}
