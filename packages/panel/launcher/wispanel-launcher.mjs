#!/usr/bin/env node
// WisPanel stable launcher: what systemd runs (ExecStart=/usr/bin/node /opt/wispanel/bin/wispanel-launcher.mjs).
// It lives OUTSIDE releases/ and is written only by `wispanel install-release` (never by a self-update), so no
// restart depends on code that has not proven itself. Plain Node, no dependencies, nothing from a release.
//
//   node wispanel-launcher.mjs [supervisor options…]    (env WISPANEL_INSTALL_DIR, default: the dir above bin/)
//
// It starts `node <install>/releases/<current>/bin/wispanel.mjs run [options…]` (the supervisor of the release
// `current` points at) with an IPC channel and keeps a boot counter in state/launcher.json, like greenboot:
//   - `good` is the last release whose supervisor came up (it sends {type:'wispanel:up'} once its panel is
//     healthy — for a switched release only after the health gate and stability window committed it);
//   - when `current` differs from `good`, every start of that supervisor counts one attempt *before* it runs;
//     after WISPANEL_LAUNCHER_ATTEMPTS (default 2) attempts that did not come up (exit, crash, or no `up`
//     within WISPANEL_LAUNCHER_UP_TIMEOUT seconds, default 300) `current` is pointed back at `good`, the update
//     journal is marked with the reason, and the good release's supervisor finishes the undo (database
//     restore, status `rolled_back` / UPDATE_SUPERVISOR_FAILED);
//   - a journal left by a supervisor that died mid-switch without handing over is undone the same way,
//     without ever running the new release's code;
//   - exit code 75 from a supervisor means "current moved, start the supervisor of the release it points at".
// SIGTERM/SIGINT stop the supervisor (which stops the panel) and exit; SIGHUP/SIGUSR2 are passed on.
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HANDOVER = 75;
const here = dirname(fileURLToPath(import.meta.url));
const installDir = resolve(process.env.WISPANEL_INSTALL_DIR || join(here, '..'));
const currentLink = join(installDir, 'current');
const stateDir = join(installDir, 'state');
const stateFile = join(stateDir, 'launcher.json');
const updateFile = join(stateDir, 'update.json');
const attemptsAllowed = Math.max(1, Number(process.env.WISPANEL_LAUNCHER_ATTEMPTS || 2));
const upTimeoutMs = Math.max(1, Number(process.env.WISPANEL_LAUNCHER_UP_TIMEOUT || 300)) * 1000;
const args = process.argv.slice(2);

const log = (line) => process.stdout.write(`[launcher] ${line}\n`);

function readJson(file, fallback) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return fallback;
  }
}

function writeJson(file, value) {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}

function currentTarget() {
  try {
    return readlinkSync(currentLink);
  } catch {
    return null;
  }
}

function switchTo(target) {
  const tmp = join(installDir, `.current-launcher-${process.pid}`);
  rmSync(tmp, { force: true });
  symlinkSync(target, tmp);
  renameSync(tmp, currentLink);
}

/** Same lock protocol as the panel's UpdateStateStore (a lock directory; stale after 5 s). */
function updateStatus(fn) {
  const lock = `${updateFile}.lock`;
  for (let i = 0; ; i++) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      try {
        if (Date.now() - statSync(lock).mtimeMs > 5_000) rmSync(lock, { recursive: true, force: true });
      } catch {
        /* gone */
      }
      if (i > 2_000) throw new Error(`update state lock ${lock} is held`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
  try {
    const s = readJson(updateFile, null);
    if (!s) return;
    const next = fn(s);
    next.updated_at = new Date().toISOString();
    if (Array.isArray(next.log) && next.log.length > 50) next.log = next.log.slice(-50);
    writeJson(updateFile, next);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** `current` back to the last good release; the good release's supervisor finishes the undo from the journal. */
function fallBack(state, code, message) {
  const bad = currentTarget();
  log(`falling back from ${bad} to ${state.good}: ${message}`);
  switchTo(state.good);
  const at = new Date().toISOString();
  updateStatus((s) => {
    const line = `${at} launcher: ${message}; current -> ${state.good}`;
    if (s.switch) return { ...s, switch: { ...s.switch, failure: { code, message } }, log: [...s.log, line] };
    // No journal (the release had been committed, or was activated by hand): the status tells the truth.
    return {
      ...s,
      state: s.to_version && bad && basename(bad) === s.to_version ? 'rolled_back' : s.state,
      error: s.to_version && bad && basename(bad) === s.to_version ? { code, message } : s.error,
      probation: null,
      log: [...s.log, line],
    };
  });
  state.trial = null;
  writeJson(stateFile, state);
}

let child = null;
let stopping = false;
let backoff = 500;
/**
 * A supervisor of the release being switched to, started early on the old supervisor's request
 * (`wispanel:prewarm`) with WISPANEL_STANDBY=1: it loads its code (and pre-starts its panel) while the old
 * release is stopped and backed up, and waits for `wispanel:go`. It only counts as started (and as a trial
 * attempt) once it gets `go`. Just a shorter gap — nothing depends on it: without it the supervisor is spawned.
 */
let standby = null;

function spawnSupervisor(releaseDir, extraEnv = {}) {
  const entry = readJson(join(releaseDir, 'release-manifest.json'), {}).entry || 'bin/wispanel.mjs';
  return spawn(process.execPath, [join(releaseDir, entry), 'run', '--install-dir', installDir, ...args], {
    cwd: releaseDir,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: {
      ...process.env,
      WISPANEL_LAUNCHER: '1',
      WISPANEL_INSTALL_DIR: installDir,
      WISPANEL_STANDBY: '',
      ...extraEnv,
    },
  });
}

function startStandby(version) {
  if (standby || typeof version !== 'string' || !/^[0-9A-Za-z.+-]+$/.test(version)) return;
  const target = join('releases', version);
  let releaseDir;
  try {
    releaseDir = realpathSync(join(installDir, target));
  } catch {
    return;
  }
  const proc = spawnSupervisor(releaseDir, { WISPANEL_STANDBY: '1' });
  const entry = { target, releaseDir, proc, dead: false };
  proc.once('exit', () => {
    entry.dead = true;
    if (standby === entry) standby = null;
  });
  standby = entry;
}

function dropStandby() {
  const s = standby;
  standby = null;
  if (s && !s.dead) s.proc.kill('SIGKILL');
}

function forward(signal) {
  if (child && child.exitCode === null && child.signalCode === null) child.kill(signal);
}
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    stopping = true;
    if (!child) process.exit(0);
    forward(sig);
  });
}
process.on('SIGHUP', () => forward('SIGHUP'));
process.on('SIGUSR2', () => forward('SIGUSR2'));

async function loop() {
  for (;;) {
    if (stopping) return;
    const target = currentTarget();
    if (!target) {
      log(`no release installed in ${installDir}: run \`wispanel install-release FILE\` first`);
      process.exit(1);
    }
    const state = readJson(stateFile, {});
    if (!state.good || !existsSync(join(installDir, state.good, 'release-manifest.json'))) {
      state.good = target; // first start: what was installed is what we have
      state.trial = null;
      writeJson(stateFile, state);
    }
    const trial = target !== state.good;
    if (!trial && state.trial) {
      // Back on the good release (the trial was undone): a later attempt at that version starts counting anew.
      state.trial = null;
      writeJson(stateFile, state);
    }
    if (trial) {
      const journal = readJson(updateFile, {})?.switch;
      if (journal && journal.phase !== 'requested' && !journal.handover && !journal.failure) {
        // A supervisor died in the middle of a switch without handing over: undo it with the good code.
        fallBack(
          state,
          'UPDATE_INTERRUPTED',
          `the supervisor stopped during the switch to ${basename(target)} (phase ${journal.phase})`,
        );
        continue;
      }
      const t = state.trial && state.trial.target === target ? state.trial : { target, attempts: 0 };
      if (t.attempts >= attemptsAllowed) {
        fallBack(
          state,
          'UPDATE_SUPERVISOR_FAILED',
          `the supervisor of ${basename(target)} did not come up in ${t.attempts} attempts`,
        );
        continue;
      }
      t.attempts++; // counted before the attempt: a crash of the whole machine counts too
      state.trial = t;
      writeJson(stateFile, state);
      log(
        `starting ${basename(target)} on trial (attempt ${t.attempts} of ${attemptsAllowed}; last good ${basename(state.good)})`,
      );
    }
    let releaseDir;
    try {
      releaseDir = realpathSync(currentLink);
    } catch (err) {
      if (trial) {
        fallBack(state, 'UPDATE_SUPERVISOR_FAILED', `release ${target} is missing: ${err.message}`);
        continue;
      }
      throw err;
    }
    const entry = readJson(join(releaseDir, 'release-manifest.json'), {}).entry || 'bin/wispanel.mjs';
    const result = await new Promise((done) => {
      let up = false;
      let timer = null;
      child = spawn(
        process.execPath,
        [join(releaseDir, entry), 'run', '--install-dir', installDir, ...args],
        {
          cwd: releaseDir,
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
          env: { ...process.env, WISPANEL_LAUNCHER: '1', WISPANEL_INSTALL_DIR: installDir },
        },
      );
      if (trial) {
        timer = setTimeout(() => {
          log(
            `the supervisor of ${basename(target)} did not come up within ${upTimeoutMs / 1000} s; stopping it`,
          );
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
        }, upTimeoutMs);
      }
      child.on('message', (msg) => {
        if (msg?.type === 'wispanel:prewarm') return startStandby(msg.version);
        if (msg?.type === 'wispanel:prewarm-cancel') return dropStandby();
        if (msg?.type !== 'wispanel:up' || up) return;
        up = true;
        backoff = 500;
        if (timer) clearTimeout(timer);
        const s = readJson(stateFile, {});
        const now = currentTarget();
        if (now && s.good !== now) {
          log(`${basename(now)} came up: it is the last good release now`);
          s.good = now;
        }
        s.trial = null;
        writeJson(stateFile, s);
      });
      const proc = child;
      const onExit = (code, signal) => {
        if (timer) clearTimeout(timer);
        done({ code, signal, up });
      };
      if (proc.exitCode !== null || proc.signalCode !== null) onExit(proc.exitCode, proc.signalCode);
      else proc.once('exit', onExit);
    });
    child = null;
    if (stopping) {
      dropStandby();
      return;
    }
    if (result.code === HANDOVER) continue;
    dropStandby(); // a standby is only for the hand-over its supervisor asked for
    log(
      `supervisor exited (${result.signal ?? `code ${result.code}`})${result.up ? '' : ' before it came up'}`,
    );
    // On trial the next round counts the attempt (and falls back once they are used up); otherwise a
    // back-off like systemd's Restart=always.
    if (!trial || result.up) {
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, 30_000);
    }
  }
}

loop().then(
  () => process.exit(0),
  (err) => {
    log(`fatal: ${err?.stack ?? err}`);
    process.exit(1);
  },
);
