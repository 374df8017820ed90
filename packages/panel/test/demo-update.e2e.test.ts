import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { tempDir } from '@wispanel/kit/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { root, waitFor } from './update-helpers';

/**
 * `npm run demo:update` end to end, as a newcomer runs it: real releases built from this tree, a real portal
 * process, the real launcher → supervisor → panel, the update through the panel's API, the install report
 * counted by the portal. Then the same demo interrupted with SIGINT in the middle: every process it started
 * must be gone.
 */
const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

const panelVersion = JSON.parse(readFileSync(join(root, 'packages/panel/package.json'), 'utf8'))
  .version as string;
const [maj, min, patch] = panelVersion.split('.').map((n) => Number.parseInt(n, 10)) as [
  number,
  number,
  number,
];
const next = `${maj}.${min}.${patch + 1}`;

function runDemo(dir: string) {
  const child = spawn(process.execPath, [join(root, 'scripts/demo-update.mjs'), '--dir', dir], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  cleanups.push(() => {
    if (child.exitCode === null) process.kill(-(child.pid as number), 'SIGKILL');
  });
  return { child, output: () => out, exited };
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

/** Processes whose command line names the demo's dir (the launcher, supervisors, panels, the portal). */
function processesUsing(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmd.includes(dir) && Number(pid) !== process.pid) found.push(`${pid}: ${cmd}`);
    } catch {
      /* exited meanwhile */
    }
  }
  return found;
}

/** The PIDs and port the demo printed, and the supervisor's own PID file. */
function started(out: string, dir: string) {
  const pids = [...out.matchAll(/\(pid (\d+)\)|launcher pid (\d+)/g)].map((m) => Number(m[1] ?? m[2]));
  const pidFile = join(dir, 'install/state/supervisor.pid');
  if (existsSync(pidFile)) pids.push(Number(readFileSync(pidFile, 'utf8').trim()));
  const port = Number(/https:\/\/127\.0\.0\.1:(\d+) runs/.exec(out)?.[1] ?? 0);
  return { pids: [...new Set(pids)].filter((p) => p > 0), port };
}

describe('npm run demo:update', () => {
  it(`builds ${panelVersion} and ${next}, updates under the launcher with a 2-stage rollout, the portal counts the report, nothing left running`, {
    timeout: 240_000,
  }, async () => {
    const dir = tempDir('wispanel-demo-');
    cleanups.push(() => dir.remove());
    const demo = runDemo(dir.path);
    let seenRunning: string[] = [];
    const watch = setInterval(() => {
      const now = processesUsing(dir.path);
      if (now.length > seenRunning.length) seenRunning = now;
    }, 500);
    const code = await demo.exited;
    clearInterval(watch);
    const out = demo.output();
    expect(code, out).toBe(0);
    // The steps a newcomer sees, in order.
    const order = [
      `build release ${panelVersion} and ${next}`,
      'start a local portal',
      `publish ${next} with a 2-stage rollout`,
      `runs ${panelVersion}`,
      'update_available true',
      '→ downloading',
      '100 %',
      '✔ completed',
      `the panel runs ${next}`,
      'health ok',
      `current -> releases/${next}`,
      'succeeded 1',
      'reports 1',
      'state complete, 100 % of the fleet',
      'done in',
    ];
    let at = 0;
    for (const text of order) {
      const i = out.indexOf(text, at);
      expect(i, `"${text}" after position ${at} in:\n${out}`).toBeGreaterThanOrEqual(0);
      at = i;
    }
    expect(out).toContain('stage 0 (0 %)'); // the server got it as a canary, before the fleet's stage
    expect(readlinkSync(join(dir.path, 'install/current'))).toBe(join('releases', next));
    const { pids, port } = started(out, dir.path);
    expect(pids.length).toBeGreaterThanOrEqual(2); // portal, launcher (the supervisor removes its PID file)
    for (const pid of pids) expect(isAlive(pid), `pid ${pid} still runs`).toBe(false);
    // While it ran: the portal, the launcher, a supervisor and a panel (all started with the demo's dir)…
    expect(seenRunning.length, seenRunning.join('\n')).toBeGreaterThanOrEqual(4);
    // … and none of them is left.
    expect(processesUsing(dir.path)).toEqual([]);
    expect(port).toBeGreaterThan(0);
    expect(await portOpen(port)).toBe(false);
  });

  it('Ctrl-C (SIGINT) in the middle of the update stops the portal, the launcher, the supervisor and the panel', {
    timeout: 240_000,
  }, async () => {
    const dir = tempDir('wispanel-demo-int-');
    cleanups.push(() => dir.remove());
    const demo = runDemo(dir.path);
    await waitFor(
      async () => demo.output().includes('→ checking') || demo.child.exitCode !== null,
      200_000,
      () => `the demo never started the update:\n${demo.output()}`,
      100,
    );
    const before = started(demo.output(), dir.path);
    for (const pid of before.pids) expect(isAlive(pid), `pid ${pid} should run`).toBe(true);
    process.kill(demo.child.pid as number, 'SIGINT');
    const code = await demo.exited;
    const out = demo.output();
    expect(code, out).toBe(130);
    expect(out).toContain('SIGINT: stopping the demo');
    const after = started(out, dir.path);
    for (const pid of after.pids) expect(isAlive(pid), `pid ${pid} still runs:\n${out}`).toBe(false);
    expect(processesUsing(dir.path)).toEqual([]);
    expect(await portOpen(before.port)).toBe(false);
  });
});
