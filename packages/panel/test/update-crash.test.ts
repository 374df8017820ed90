import { existsSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PortalAdminClient } from '@wispanel/client';
import { tempDir } from '@wispanel/kit/testing';
import SQLite from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type BuiltRelease,
  buildRelease,
  freePort,
  type Proc,
  panelApi,
  portalCli,
  publishRelease,
  root,
  spawnProc,
  startPortal,
  waitFor,
  waitForStatus,
} from './update-helpers';

/**
 * Crash safety with real processes, run the way systemd runs the panel — through the stable launcher
 * (`<install>/bin/wispanel-launcher.mjs`): the panel (or a supervisor) SIGKILLs itself at a named pipeline step
 * (`WISPANEL_UPDATE_HOOK=file:…`, rule moved between runs), or the whole service is killed -9 there and started
 * again (`service`); afterwards the server runs the old or the new release, the database is intact and the
 * status says what happened.
 */
type Outcome = 'failed' | 'completed' | 'rolled_back';
const SCENARIOS: Array<{ who: 'panel' | 'supervisor' | 'service'; step: string; expect: Outcome }> = [
  { who: 'panel', step: 'checking', expect: 'failed' },
  { who: 'panel', step: 'downloading', expect: 'failed' },
  { who: 'panel', step: 'download-half', expect: 'failed' },
  { who: 'panel', step: 'verifying', expect: 'failed' },
  { who: 'panel', step: 'installing', expect: 'failed' },
  { who: 'panel', step: 'unpacked', expect: 'failed' },
  // Prepared, but the panel died before handing it over: abandoned visibly, never applied unannounced.
  { who: 'panel', step: 'ready', expect: 'failed' },
  { who: 'supervisor', step: 'sup:requested', expect: 'failed' },
  { who: 'supervisor', step: 'sup:stopped', expect: 'failed' },
  { who: 'supervisor', step: 'sup:backed_up', expect: 'failed' },
  // `current` already points at the new release and the old supervisor died before handing over: the
  // launcher points it back without running the new code; the old supervisor restores the database.
  { who: 'supervisor', step: 'sup:switched', expect: 'rolled_back' },
  // The new release's supervisor dies during its health gate: the launcher's second attempt completes it.
  { who: 'supervisor', step: 'sup:health_check', expect: 'completed' },
  // Health gate passed, commit not yet recorded: committed by the next attempt.
  { who: 'supervisor', step: 'sup:started', expect: 'completed' },
  // The whole service killed -9 (power loss) between switch and commit, then started again.
  { who: 'service', step: 'sup:health_check', expect: 'completed' },
  { who: 'service', step: 'sup:switched', expect: 'rolled_back' },
];

const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe('self-update crash safety', () => {
  it('kill -9 of the panel or the supervisor at every step leaves old or new running, data intact, status true', {
    timeout: 480_000,
  }, async () => {
    const dir = tempDir('wispanel-update-crash-');
    cleanups.push(() => dir.remove());
    const out = join(dir.path, 'out');
    const install = join(dir.path, 'install');
    const data = join(dir.path, 'data');
    const portalData = join(dir.path, 'portal');
    const hookFile = join(dir.path, 'hook');
    const stateDir = join(install, 'state');

    let minor = 0;
    const version = () => `8.0.${minor}`;
    const first = buildRelease(version(), out);
    const init = await portalCli(['init', '--data-dir', portalData]);
    const portal = await startPortal(portalData);
    cleanups.push(() => portal.proc.stop());
    const admin = new PortalAdminClient({ baseUrl: portal.url, adminKey: init.admin_key });
    const issued = await admin.issueLicense({ tier: 'pro', term_days: 30 });
    // Every release the run needs (X, then one more after each completed scenario) is built before it is
    // needed: X first (it fills the bundle cache), the rest in the background while the portal and panel start.
    const builds = new Map<string, Promise<BuiltRelease>>();
    const build = (v: string) => {
      let b = builds.get(v);
      if (!b) {
        b = buildRelease(v, out);
        b.catch(() => {}); // awaited (and reported) when used
        builds.set(v, b);
      }
      return b;
    };
    const needed = 1 + SCENARIOS.filter((sc) => sc.expect === 'completed').length;
    void first.then(
      () => {
        for (let i = 1; i <= needed; i++) build(`8.0.${i}`);
      },
      () => {},
    );
    const publishNext = async () => {
      minor++;
      const rel = await build(version());
      await publishRelease(portal.url, init.admin_key, rel.file, rel.version);
      return rel.version;
    };

    const relX = await first;
    const panelBin = join(root, 'packages/panel/bin/wispanel.mjs');
    const installed = spawnProc(
      process.execPath,
      [panelBin, 'install-release', relX.file, '--install-dir', install],
      process.env,
    );
    await waitFor(
      async () => installed.child.exitCode === 0,
      30_000,
      () => installed.output(),
    );
    const bin = join(install, 'current/bin/wispanel.mjs');
    const panelInit = spawnProc(process.execPath, [bin, 'init', '--data-dir', data, '--json'], process.env);
    const initOut = await waitFor(
      async () => (panelInit.child.exitCode === 0 ? panelInit.output() : undefined),
      30_000,
      () => panelInit.output(),
    );
    const apiKey = JSON.parse(initOut.slice(initOut.indexOf('{'))).api_key as string;
    const port = await freePort();
    const env = {
      ...process.env,
      WISPANEL_PORTAL_URL: portal.url,
      WISPANEL_PORTAL_KEYS: init.public_keys_file as string,
      WISPANEL_LOG_LEVEL: 'warn',
      WISPANEL_LICENSE_TICK: '0',
      WISPANEL_UPDATE_HOOK: `file:${hookFile}`,
      WISPANEL_STABILITY_WINDOW: '2',
      WISPANEL_INSTALL_DIR: install,
    };
    const startSupervisor = () =>
      spawnProc(
        process.execPath,
        [
          join(install, 'bin/wispanel-launcher.mjs'),
          '--data-dir',
          data,
          '--host',
          '127.0.0.1',
          '--port',
          String(port),
          '--health-timeout',
          '20',
        ],
        env,
      );
    let supervisor: Proc = startSupervisor();
    cleanups.push(() => supervisor.stop());
    const api = panelApi(`https://127.0.0.1:${port}`, apiKey);
    const up = async () => (await api.call('GET', '/version/info')).status === 200;
    await waitFor(up, 45_000, () => supervisor.output());
    expect((await api.call('POST', '/license/activate', { key: issued.license_key })).status).toBe(200);
    expect((await api.call('POST', '/domains', { domain: 'survives-crashes.example' })).status).toBe(201);

    let latest = await publishNext();
    const results: string[] = [];
    let previousJob: unknown = null;
    for (const sc of SCENARIOS) {
      const t0 = Date.now();
      const before = (await api.call('GET', '/version/info')).body.version as string;
      const marker = join(stateDir, `hook-${sc.step.replace(/[^a-z_-]/g, '_')}`);
      rmSync(marker, { force: true });
      writeFileSync(hookFile, `${sc.who === 'service' ? 'pause' : 'kill'}@${sc.step}`);
      const started = await api.call('POST', '/version/update').catch(() => ({ status: 0, body: {} }));
      await waitFor(
        async () => existsSync(marker),
        30_000,
        () =>
          `step ${sc.step} never reached (${JSON.stringify(started.body)})\n${supervisor.output().slice(-3000)}`,
      );
      writeFileSync(hookFile, '');
      // A killed supervisor is restarted by the launcher; a killed service is started again here (systemd).
      if (sc.who === 'service') {
        await supervisor.stop('SIGKILL');
        supervisor = startSupervisor();
      }
      const status = await waitForStatus(
        api,
        // This scenario's job, not the previous one's final state still in the file.
        (s) => s.job_id !== previousJob && ['completed', 'failed', 'rolled_back'].includes(s.state),
        60_000,
        () => supervisor.output(),
      );
      await waitFor(up, 45_000, () => supervisor.output());
      previousJob = status.job_id;
      const running = (await api.call('GET', '/version/info')).body.version as string;
      results.push(
        `${sc.who}@${sc.step}: ${status.state} ${status.error?.code ?? ''} running ${running} (${Date.now() - t0} ms)`,
      );
      expect(status.state, `${sc.step}: ${JSON.stringify(status)}`).toBe(sc.expect);
      if (sc.expect === 'completed') {
        expect(running).toBe(latest);
        expect(status.error).toBeNull();
      } else {
        expect(running).toBe(before);
        expect(status.error?.code).toBe('UPDATE_INTERRUPTED');
        // The release is unpacked while it downloads, unverified, in staging/.unpack-*: an interrupted job
        // leaves none of it (only a resumable .part may stay).
        expect(readdirSync(join(install, 'staging')).filter((n) => !n.endsWith('.part'))).toEqual([]);
      }
      expect(readlinkSync(join(install, 'current'))).toBe(join('releases', running));
      const domains = await api.call('GET', '/domains');
      expect(JSON.stringify(domains.body)).toContain('survives-crashes.example');
      if (sc.expect === 'completed') latest = await publishNext();
    }
    await supervisor.stop();
    const db = new SQLite(join(data, 'panel.db'), { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
    process.stderr.write(`${results.join('\n')}\n`);
  });
});
