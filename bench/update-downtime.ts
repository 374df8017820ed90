/**
 * API downtime of a normal self-update (X → X+1), with real releases, a real portal and the real launcher and
 * supervisor, in three modes measured in the same run, interleaved:
 *   launcher  — production: stable launcher, hand-over to the new supervisor
 *   prewarm   — the same with the new supervisor and panel pre-warmed while the old one stops (WISPANEL_PREWARM=1)
 *   legacy    — `wispanel run` without the launcher (switch and health gate in-process, as before issue 15)
 *   npx tsx bench/update-downtime.ts [rounds=3]
 * "API down" is the longest stretch in which GET /api/v1/health (polled every 25 ms) got no 200; "writes held"
 * is the time POST /domains answered 503 UPDATE_WRITES_HELD (health gate + stability window, set to 2 s here).
 * Medians per mode and the ratio to legacy.
 */
import { join } from 'node:path';
import { PortalAdminClient } from '@wispanel/client';
import { tempDir } from '@wispanel/kit/testing';
import {
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
} from '../packages/panel/test/update-helpers';

const ROUNDS = Number(process.argv[2] ?? 3);
const MODES = ['launcher', 'prewarm', 'legacy'] as const;
type Mode = (typeof MODES)[number];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2
    ? (s[(s.length - 1) / 2] as number)
    : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};

async function main() {
  const dir = tempDir('wispanel-bench-downtime-');
  try {
    const out = join(dir.path, 'out');
    const install = join(dir.path, 'install');
    const data = join(dir.path, 'data');
    const n = ROUNDS * MODES.length;
    const versions = Array.from({ length: n + 1 }, (_, i) => `9.0.${i}`);
    const first = await buildRelease(versions[0] as string, out);
    const rest = await Promise.all(versions.slice(1).map((v) => buildRelease(v, out)));
    const init = await portalCli(['init', '--data-dir', join(dir.path, 'portal')]);
    const portal = await startPortal(join(dir.path, 'portal'));
    const issued = await new PortalAdminClient({
      baseUrl: portal.url,
      adminKey: init.admin_key,
    }).issueLicense({
      tier: 'pro',
      term_days: 30,
    });
    for (const r of rest) await publishRelease(portal.url, init.admin_key, r.file, r.version);
    const inst = spawnProc(
      process.execPath,
      [
        join(root, 'packages/panel/bin/wispanel.mjs'),
        'install-release',
        first.file,
        '--install-dir',
        install,
      ],
      process.env,
    );
    await waitFor(
      async () => inst.child.exitCode === 0,
      60_000,
      () => inst.output(),
    );
    const pi = spawnProc(
      process.execPath,
      [join(install, 'current/bin/wispanel.mjs'), 'init', '--data-dir', data, '--json'],
      process.env,
    );
    const initOut = await waitFor(
      async () => (pi.child.exitCode === 0 ? pi.output() : undefined),
      60_000,
      () => pi.output(),
    );
    const apiKey = JSON.parse(initOut.slice(initOut.indexOf('{'))).api_key as string;
    const port = await freePort();
    const api = panelApi(`https://127.0.0.1:${port}`, apiKey);
    const env = {
      ...process.env,
      WISPANEL_PORTAL_URL: portal.url,
      WISPANEL_PORTAL_KEYS: init.public_keys_file as string,
      WISPANEL_LOG_LEVEL: 'warn',
      WISPANEL_LICENSE_TICK: '0',
      WISPANEL_RATE_LIMIT: '1000000',
      WISPANEL_STABILITY_WINDOW: '2',
      WISPANEL_INSTALL_DIR: install,
    };
    const common = ['--data-dir', data, '--host', '127.0.0.1', '--port', String(port)];
    const start = (mode: Mode): Proc =>
      mode === 'legacy'
        ? spawnProc(
            process.execPath,
            [join(install, 'current/bin/wispanel.mjs'), 'run', '--install-dir', install, ...common],
            env,
          )
        : spawnProc(process.execPath, [join(install, 'bin/wispanel-launcher.mjs'), ...common], {
            ...env,
            WISPANEL_PREWARM: mode === 'prewarm' ? '1' : '0',
          });
    const results: Record<Mode, { down: number[]; held: number[] }> = {
      launcher: { down: [], held: [] },
      prewarm: { down: [], held: [] },
      legacy: { down: [], held: [] },
    };
    let v = 0;
    let licensed = false;
    for (let round = 0; round < ROUNDS; round++) {
      for (const mode of MODES) {
        const proc = start(mode);
        try {
          await waitFor(
            async () => (await api.call('GET', '/health')).status === 200,
            60_000,
            () => proc.output(),
          );
          if (!licensed) {
            await api.call('POST', '/license/activate', { key: issued.license_key });
            licensed = true;
          }
          await sleep(1_000);
          const target = versions[++v] as string;
          let polling = true;
          let gapStart = 0;
          let worst = 0;
          const poll = (async () => {
            while (polling) {
              let ok = false;
              try {
                ok = (await api.call('GET', '/health')).status === 200;
              } catch {
                ok = false;
              }
              const t = Date.now();
              if (!ok && !gapStart) gapStart = t;
              if (ok && gapStart) {
                worst = Math.max(worst, t - gapStart);
                gapStart = 0;
              }
              await sleep(25);
            }
          })();
          let firstHeld = 0;
          let heldEnd = 0;
          let writing = true;
          const writer = (async () => {
            for (let i = 0; writing; i++) {
              try {
                const r = await api.call('POST', '/domains', { domain: `b${v}-${i}.example` });
                if (r.status === 503 && r.body.code === 'UPDATE_WRITES_HELD' && !firstHeld)
                  firstHeld = Date.now();
                if (r.status === 201 && firstHeld && !heldEnd) heldEnd = Date.now();
              } catch {
                /* down */
              }
              await sleep(50);
            }
          })();
          const started = await api.call('POST', '/version/direct-update', { version: target });
          if (started.status !== 202) throw new Error(JSON.stringify(started.body));
          await waitFor(
            async () => {
              const s = await api.call('GET', '/version/update/status');
              return s.body.job_id === started.body.job_id && s.body.state === 'completed';
            },
            120_000,
            () => proc.output().slice(-3000),
            100,
          );
          await waitFor(
            async () => heldEnd > 0 || !firstHeld,
            30_000,
            () => 'writes never reopened',
          );
          polling = false;
          writing = false;
          await Promise.all([poll, writer]);
          results[mode].down.push(worst);
          results[mode].held.push(firstHeld ? heldEnd - firstHeld : 0);
          process.stderr.write(
            `round ${round + 1} ${mode}: API down ${worst} ms, writes held ${firstHeld ? heldEnd - firstHeld : 0} ms\n`,
          );
        } finally {
          await proc.stop();
        }
      }
    }
    const base = median(results.legacy.down);
    for (const mode of MODES) {
      const d = median(results[mode].down);
      process.stdout.write(
        `${mode.padEnd(11)} API down median ${d} ms (${results[mode].down.join(', ')}), ratio to legacy ${(d / base).toFixed(2)}; writes held median ${median(results[mode].held)} ms\n`,
      );
    }
    await portal.proc.stop();
  } finally {
    dir.remove();
  }
}

await main();
