#!/usr/bin/env node
// `npm run demo:update [-- --dir DIR] [--stability-window S]`: a fleet-safe self-update, end to end, on this
// machine, with nothing to configure and no prompt.
//   1. builds release X (the tree's version) and X+1 (the same code, patch version + 1) with scripts/release.mjs;
//   2. starts a local portal (wispanel-portal init + start, loopback, a free port) and issues a license;
//   3. gives X+1 a 2-stage rollout (stage 0 = 0 %: canary licenses only; stage 1 = 100 % after 24 h), marks the
//      demo's license as a canary, and publishes X+1;
//   4. installs X with `install-release` and runs it under the real stable launcher and supervisor;
//   5. activates the license, asks the panel what it is offered, starts the update through the panel's API and
//      follows the update job (steps and a progress bar) until the new release is committed;
//   6. shows the result: the version running, the panel's health, and the portal's view of the release (the
//      install report the panel sent), then promotes the rollout to its second stage (100 %).
// Everything lives in DIR (default ./data/demo, emptied first). The processes it started (portal, launcher →
// supervisor → panel) are stopped by PID on exit, on an error and on Ctrl-C. Exit code 0 = X+1 runs and the
// portal counted its install report.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';

const root = new URL('..', import.meta.url).pathname;
const PANEL = join(root, 'packages/panel/bin/wispanel.mjs');
const PORTAL = join(root, 'packages/portal/bin/wispanel-portal.mjs');

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    'stability-window': { type: 'string', default: '5' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write(
    'npm run demo:update [-- --dir DIR] [--stability-window SECONDS]\n' +
      '  builds X and X+1, runs X under the launcher, publishes X+1 with a 2-stage rollout on a local portal,\n' +
      '  updates through the panel API with a progress bar, then shows the portal’s release health.\n',
  );
  process.exit(0);
}
const stability = Number(values['stability-window']);
if (!Number.isInteger(stability) || stability < 1 || stability > 600) {
  process.stderr.write(
    `--stability-window must be a whole number of seconds from 1 to 600, got "${values['stability-window']}"\n`,
  );
  process.exit(2);
}
const dir = resolve(values.dir ?? join(root, 'data/demo'));
const tty = process.stdout.isTTY === true;
const color = (code) => (s) => (tty ? `\x1b[${code}m${s}\x1b[0m` : s);
const bold = color('1');
const dim = color('2');
const green = color('32');
const red = color('31');
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
const say = (s = '') => process.stdout.write(`${s}\n`);
const step = (n, s) => say(`\n${bold(`[${n}/6]`)} ${bold(s)}  ${dim(elapsed())}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- processes (stopped by PID on every exit path)

/** @type {Array<{ name: string, child: import('node:child_process').ChildProcess, out: () => string }>} */
const procs = [];
let stopping = null;

function startProc(name, args, env = {}) {
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, ...env },
    detached: true, // own process group: Ctrl-C in the terminal reaches only us, we stop them in order
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (d) => {
    out += d.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const p = { name, child, out: () => out };
  procs.push(p);
  return p;
}

const alive = (c) => c.exitCode === null && c.signalCode === null;

/** SIGTERM to each process we started (newest first: the launcher stops its supervisor and panel), then SIGKILL. */
async function stopAll() {
  stopping ??= (async () => {
    for (const p of [...procs].reverse()) {
      if (!alive(p.child)) continue;
      const exited = new Promise((r) => p.child.once('exit', r));
      try {
        process.kill(p.child.pid, 'SIGTERM');
      } catch {
        continue;
      }
      const done = await Promise.race([exited.then(() => true), sleep(20_000).then(() => false)]);
      if (!done) {
        // Its children (supervisor, panel) are in its process group: take them down with it.
        try {
          process.kill(-p.child.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      say(dim(`  stopped ${p.name} (pid ${p.child.pid})`));
    }
  })();
  return stopping;
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    say(`\n${red(`${sig}: stopping the demo`)}`);
    void stopAll().then(() => process.exit(130));
  });
}

// ---------------------------------------------------------------- small helpers

function runJson(args, what) {
  const r = spawnSync(process.execPath, args, {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 32 * 1024 * 1024,
    env: { ...process.env, WISPANEL_PORTAL_LOG_LEVEL: 'warn', WISPANEL_LOG_LEVEL: 'warn' },
  });
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}):\n${r.stderr || r.stdout}`);
  const text = r.stdout.trim();
  const lastLine = text.split('\n').pop() ?? '';
  try {
    return JSON.parse(lastLine);
  } catch {
    return JSON.parse(text.slice(text.indexOf('{')));
  }
}

async function waitFor(fn, timeoutMs, what, intervalMs = 200) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      lastError = err;
    }
    await sleep(intervalMs);
  }
  throw new Error(`${what} (waited ${timeoutMs / 1000} s)${lastError ? `: ${lastError.message}` : ''}`);
}

function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => res(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

/** The panel's certificate is its own self-signed one (data dir `tls/`): the demo does not verify it. */
const selfSigned = new Agent({ connect: { rejectUnauthorized: false } });

async function http(base, method, path, { body, headers = {}, dispatcher, raw } = {}) {
  const res = await request(`${base}${path}`, {
    method,
    dispatcher,
    headers: { ...headers, ...(body !== undefined && !raw ? { 'content-type': 'application/json' } : {}) },
    body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
    headersTimeout: 30_000,
    bodyTimeout: 120_000,
  });
  const text = await res.body.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = { raw: text };
  }
  return { status: res.statusCode, body: json };
}

function expectOk(r, what) {
  if (r.status >= 300) throw new Error(`${what}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

const bar = (percent, width = 30) => {
  const full = Math.round((Math.max(0, Math.min(100, percent)) / 100) * width);
  return `[${'█'.repeat(full)}${'░'.repeat(width - full)}] ${String(Math.round(percent)).padStart(3)} %`;
};
/** A path as the user would type it: relative to the checkout when inside it. */
const show = (p) => (p.startsWith(root) ? relative(process.cwd(), p) || '.' : p);
const mb = (n) => `${(n / 1024 / 1024).toFixed(1)} MB`;

// ---------------------------------------------------------------- the demo

const STEPS = [
  'checking',
  'downloading',
  'verifying',
  'installing',
  'restarting',
  'health_check',
  'completed',
];
const STEP_TEXT = {
  checking: 'ask the portal, verify its signed answer',
  downloading: 'download the artifact (resumable, size and SHA-256 checked while it streams)',
  verifying: 'check the signed release metadata and the archive',
  installing: 'unpack into releases/, pre-flight (space, Node version)',
  restarting: 'supervisor: stop the old release, back up the database, switch `current`, hand over',
  health_check: `new release on trial: two good health probes, then ${stability} s of stability (writes held)`,
  completed: 'committed',
};

async function main() {
  say(bold('WisPanel fleet-safe update demo'));
  say(dim(`everything in ${dir} (emptied first); Ctrl-C stops it cleanly`));
  if (!existsSync(join(root, 'node_modules'))) throw new Error('run `npm ci` first');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const releasesDir = join(dir, 'releases');
  const portalDir = join(dir, 'portal');
  const installDir = join(dir, 'install');
  const dataDir = join(dir, 'panel-data');

  // 1. Releases
  const X = JSON.parse(readFileSync(join(root, 'packages/panel/package.json'), 'utf8')).version;
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(X);
  if (!m) throw new Error(`packages/panel/package.json version "${X}" is not X.Y.Z`);
  const X1 = `${m[1]}.${m[2]}.${Number(m[3]) + 1}`;
  step(1, `build release ${X} and ${X1} from this tree (scripts/release.mjs)`);
  const build = (v) =>
    runJson(
      [join(root, 'scripts/release.mjs'), '--version', v, '--out', releasesDir, '--json'],
      `release ${v}`,
    );
  const relX = build(X);
  say(`  ${green('✔')} ${show(relX.file)}  ${mb(relX.size)}  sha256 ${relX.sha256.slice(0, 16)}…`);
  const relX1 = build(X1);
  say(`  ${green('✔')} ${show(relX1.file)}  ${mb(relX1.size)}  sha256 ${relX1.sha256.slice(0, 16)}…`);

  // 2. Portal
  step(2, 'start a local portal and issue a license');
  const init = runJson([PORTAL, 'init', '--data-dir', portalDir, '--json'], 'wispanel-portal init');
  const portal = startProc('portal', [PORTAL, 'start', '--data-dir', portalDir, '--port', '0', '--json'], {
    WISPANEL_PORTAL_LOG_LEVEL: 'warn',
  });
  const portalUrl = await waitFor(
    async () => {
      if (!alive(portal.child)) throw new Error(`the portal exited:\n${portal.out()}`);
      return /"url":\s*"([^"]+)"/.exec(portal.out())?.[1];
    },
    60_000,
    'the portal did not start',
  );
  const admin = { 'x-admin-key': init.admin_key };
  const issued = expectOk(
    await http(portalUrl, 'POST', '/api/v1/admin/licenses', {
      headers: admin,
      body: { tier: 'pro', term_days: 30, customer_name: 'demo', customer_email: 'demo@example.com' },
    }),
    'issue a license',
  );
  say(`  ${green('✔')} portal ${portalUrl} (pid ${portal.child.pid}), license ${issued.license.id}`);

  // 3. Release X+1 with a 2-stage rollout
  step(3, `publish ${X1} with a 2-stage rollout`);
  const v = `/api/v1/admin/versions/${X1}`;
  expectOk(
    await http(portalUrl, 'POST', '/api/v1/admin/versions', {
      headers: admin,
      body: { version: X1, channel: 'stable', changelog: `## WisPanel ${X1}\n\n- the demo's update\n` },
    }),
    'create the release',
  );
  expectOk(
    await http(portalUrl, 'PUT', `${v}/artifact`, {
      headers: { ...admin, 'content-type': 'application/octet-stream' },
      raw: readFileSync(relX1.file),
    }),
    'upload the artifact',
  );
  // The plan is set before publishing, so there is no moment when the release is offered to everyone.
  const plan = expectOk(
    await http(portalUrl, 'PUT', `${v}/rollout`, {
      headers: admin,
      body: {
        stages: [
          { percent: 0, after_hours: 0 },
          { percent: 100, after_hours: 24 },
        ],
        halt_policy: { min_failures: 3, failure_rate: 0.05 },
      },
    }),
    'set the rollout plan',
  ).rollout;
  expectOk(
    await http(portalUrl, 'PUT', `/api/v1/admin/licenses/${issued.license.id}/canary`, {
      headers: admin,
      body: { canary: true },
    }),
    'mark the license as a canary',
  );
  expectOk(await http(portalUrl, 'POST', `${v}/publish`, { headers: admin }), 'publish');
  say(
    `  ${green('✔')} plan: stage 0 = ${plan.stages[0].percent} % (canary licenses only), stage 1 = 100 % after 24 h`,
  );
  say(
    `  ${green('✔')} halt policy: ≥ 3 failures and ≥ 5 % of finished attempts in a stage → halted, webhook`,
  );
  say(`  ${green('✔')} the demo's license is a canary, so this server is in stage 0; ${X1} published`);

  // 4. Panel X under the launcher
  step(4, `install ${X} and run it under the stable launcher → supervisor → panel`);
  runJson([PANEL, 'install-release', relX.file, '--install-dir', installDir, '--json'], 'install-release');
  const bin = join(installDir, 'current/bin/wispanel.mjs');
  const panelInit = runJson([bin, 'init', '--data-dir', dataDir, '--json'], 'wispanel init');
  const apiKey = panelInit.api_key;
  if (!apiKey) throw new Error(`wispanel init printed no api_key: ${JSON.stringify(panelInit)}`);
  const port = await freePort();
  const launcher = startProc(
    'launcher (supervisor, panel)',
    [
      join(installDir, 'bin/wispanel-launcher.mjs'),
      '--data-dir',
      dataDir,
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--stability-window',
      String(stability),
    ],
    {
      WISPANEL_INSTALL_DIR: installDir,
      WISPANEL_PORTAL_URL: portalUrl,
      WISPANEL_PORTAL_KEYS: init.public_keys_file,
      WISPANEL_LOG_LEVEL: 'warn',
      WISPANEL_CHANNEL: 'stable',
    },
  );
  const panelUrl = `https://127.0.0.1:${port}`;
  const api = (method, path, body) =>
    http(panelUrl, method, `/api/v1${path}`, {
      body,
      headers: { authorization: `Bearer ${apiKey}` },
      dispatcher: selfSigned,
    });
  await waitFor(
    async () => {
      if (!alive(launcher.child)) throw new Error(`the launcher exited:\n${launcher.out()}`);
      return (await api('GET', '/health')).status === 200;
    },
    120_000,
    'the panel did not become healthy',
    300,
  );
  const info0 = expectOk(await api('GET', '/version/info'), 'version info').version;
  say(
    `  ${green('✔')} ${panelUrl} runs ${bold(info0)} (launcher pid ${launcher.child.pid}, install ${show(installDir)})`,
  );

  // 5. Update
  step(5, `update ${X} → ${X1} through the panel's API`);
  expectOk(await api('POST', '/license/activate', { key: issued.license_key }), 'activate the license');
  const check = expectOk(await api('GET', '/version/check'), 'version check');
  say(
    `  ${green('✔')} license activated; GET /version/check: update_available ${check.update_available}, latest ${check.latest_version}${
      check.held_back?.length ? `, held back ${JSON.stringify(check.held_back)}` : ''
    }`,
  );
  if (!check.update_available) throw new Error(`${X1} is not offered: ${JSON.stringify(check)}`);
  const job = expectOk(await api('POST', '/version/update'), 'POST /version/update');
  say(`  ${green('✔')} POST /version/update → 202, job ${job.job_id}; following GET /version/update/status`);
  const final = await follow(api, job.job_id);
  if (final.state !== 'completed') {
    throw new Error(
      `the update ended ${final.state}: ${JSON.stringify(final.error)}\n${(final.log ?? []).join('\n')}`,
    );
  }

  // 6. Result
  step(6, 'result');
  const info = expectOk(await api('GET', '/version/info'), 'version info');
  const health = expectOk(await api('GET', '/health'), 'health');
  say(`  ${green('✔')} the panel runs ${bold(info.version)} (${info.info}); health ${health.status}`);
  say(`  ${green('✔')} ${show(join(installDir, 'current'))} -> ${readlinkSync(join(installDir, 'current'))}`);
  say(
    dim(
      '  waiting for the panel’s install report to reach the portal (sent in the background, within ~15 s)…',
    ),
  );
  const relHealth = await waitFor(
    async () => {
      const h = expectOk(
        await http(portalUrl, 'GET', `${v}/health`, { headers: admin }),
        'release health',
      ).health;
      return h.reports >= 1 && h.succeeded >= 1 ? h : undefined;
    },
    90_000,
    'the portal never counted the install report',
    500,
  );
  say(`  ${green('✔')} portal GET ${v}/health:`);
  say(
    `      state ${relHealth.rollout.state}, stage ${relHealth.rollout.stage} (${relHealth.rollout.percent} %), offered ${relHealth.offered}, started ${relHealth.started}, succeeded ${relHealth.succeeded}, failed ${relHealth.failed}, rolled back ${relHealth.rolled_back}`,
  );
  say(
    `      reports ${relHealth.reports}, median install ${relHealth.median_install_ms === null ? '-' : `${(relHealth.median_install_ms / 1000).toFixed(1)} s`}`,
  );
  const promoted = expectOk(
    await http(portalUrl, 'POST', `${v}/rollout/promote`, { headers: admin }),
    'promote',
  ).rollout;
  say(
    `  ${green('✔')} canary fine → POST ${v}/rollout/promote: state ${promoted.state}, ${promoted.percent} % of the fleet`,
  );
  say(
    `\n${green(bold('done'))} in ${elapsed()}: ${X} → ${X1} under the launcher, the portal saw the install report.`,
  );
  say(dim(`  files: ${dir}  (update history: GET /api/v1/version/update/history; docs/updates.md)`));
}

/** Follows the update job: one line per step (with what it does) and a progress bar while downloading. */
async function follow(api, jobId) {
  const seen = new Set();
  let drawn = -1; // last download percent drawn (-1: none yet)
  let barOpen = false; // a TTY bar line without its newline yet
  let offline = false;
  let last;
  const t0 = Date.now();
  const closeBar = () => {
    if (barOpen) process.stdout.write('\n');
    barOpen = false;
  };
  const drawBar = (percent, bytes, total) => {
    const line = `      ${bar(percent)}  ${mb(bytes)} / ${mb(total)}`;
    if (tty) {
      process.stdout.write(`\r\x1b[K${line}`);
      barOpen = true;
    } else if (drawn < 0 || Math.floor(percent / 25) !== Math.floor(drawn / 25)) say(line);
    drawn = percent;
  };
  for (;;) {
    let r = null;
    try {
      r = await api('GET', '/version/update/status');
    } catch {
      r = null; // the panel is down while the release is switched: expected
    }
    if (r?.status !== 200) {
      if (!offline) {
        closeBar();
        if (seen.has('installing') && !seen.has('restarting')) {
          seen.add('restarting');
          say(
            `  → ${'restarting'.padEnd(12)} ${dim(STEP_TEXT.restarting)}  ${dim(`+${((Date.now() - t0) / 1000).toFixed(1)} s`)}`,
          );
        }
        say(dim('      (panel offline while the switch happens: the supervisor carries on)'));
        offline = true;
      }
    } else if (r.body.job_id === jobId) {
      offline = false;
      last = r.body;
      const idx = STEPS.indexOf(last.state);
      const p = last.progress ?? {};
      const total = p.total ?? 0;
      const percent = p.percent ?? (total ? (100 * (p.bytes ?? 0)) / total : 0);
      // Past the download and its bar never reached 100 % (a local artifact is fast): finish it.
      if (idx > STEPS.indexOf('downloading') && seen.has('downloading') && drawn < 100) {
        drawBar(100, total, total);
      }
      for (const s of STEPS.slice(0, Math.max(idx, 0) + 1)) {
        if (seen.has(s)) continue;
        if (s === 'downloading' || idx > STEPS.indexOf('downloading')) closeBar();
        seen.add(s);
        const mark = s === 'completed' ? green('✔') : '→';
        say(
          `  ${mark} ${s.padEnd(12)} ${dim(STEP_TEXT[s])}  ${dim(`+${((Date.now() - t0) / 1000).toFixed(1)} s`)}`,
        );
        if (s === 'downloading' && idx > STEPS.indexOf('downloading')) drawBar(100, total, total);
      }
      if (last.state === 'downloading') drawBar(percent, p.bytes ?? 0, total);
      if (['completed', 'failed', 'rolled_back'].includes(last.state)) {
        closeBar();
        if (last.state !== 'completed')
          say(`  ${red('✘')} ${last.state}: ${last.error?.code} ${last.error?.message}`);
        return last;
      }
    }
    if (Date.now() - t0 > 300_000)
      throw new Error(`the update did not finish in 5 minutes: ${JSON.stringify(last)}`);
    await sleep(150);
  }
}

let code = 0;
try {
  await main();
} catch (err) {
  code = 1;
  say(`\n${red(bold('demo failed:'))} ${err instanceof Error ? err.message : String(err)}`);
  for (const p of procs) {
    const tail = p.out().trim().split('\n').slice(-15).join('\n');
    if (tail) say(dim(`--- last output of ${p.name} ---\n${tail}`));
  }
} finally {
  await stopAll();
}
process.exit(code);
