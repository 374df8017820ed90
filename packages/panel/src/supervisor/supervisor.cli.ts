import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import * as tar from 'tar';
import { fail } from '../commands/output';
import { loadPanelConfig } from '../config';
import { InstallLayout } from '../modules/updates/install-layout';
import { unpackRelease } from '../modules/updates/release-archive';
import { stepHookFromEnv } from '../modules/updates/step-hook';
import { isStandby, waitForGo } from './standby';
import { Supervisor } from './supervisor';

/** The version a release tarball holds, from its single top directory `wispanel-<version>/`. */
export async function versionInTarball(file: string): Promise<string> {
  let top: string | undefined;
  await tar.t({
    file,
    onReadEntry: (entry) => {
      top ??= entry.path.replace(/^\.\//, '').split('/')[0];
      entry.resume();
    },
  });
  const m = /^wispanel-(\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]+)?)$/.exec(top ?? '');
  if (!m) throw new Error(`${file} is not a WisPanel release (top directory ${top ?? 'missing'})`);
  return m[1] as string;
}

export function installReleaseCommand(program: Command): void {
  program
    .command('install-release <file>')
    .description(
      'Unpack a release tarball (from `npm run release`) into <install-dir>/releases/<version>; the first one becomes current',
    )
    .option('--install-dir <dir>', 'install dir (env WISPANEL_INSTALL_DIR)')
    .option('--activate', 'point `current` at it even when another release is current (supervisor stopped!)')
    .option('--json', 'print the result as JSON')
    .action(async (file: string, opts: Record<string, unknown>) => {
      try {
        const config = loadPanelConfig(opts);
        if (!config.installDir) throw new Error('--install-dir (or WISPANEL_INSTALL_DIR) is required');
        const layout = new InstallLayout(config.installDir);
        layout.ensure();
        const path = resolve(file);
        if (!existsSync(path)) throw new Error(`no such file: ${path}`);
        const version = await versionInTarball(path);
        const { dir, manifest } = await unpackRelease(path, layout, version);
        const activate = !layout.currentTarget() || opts.activate === true;
        if (activate) layout.switchTo(layout.targetOf(version));
        const launcher = installLauncher(layout, dir);
        const result = {
          version,
          dir,
          current: layout.currentVersion(),
          activated: activate,
          git_commit: manifest.git_commit,
          launcher,
        };
        if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
        else
          process.stdout.write(
            `installed WisPanel ${version} in ${dir}${activate ? ' (current)' : `; current is still ${result.current}`}\n`,
          );
      } catch (err) {
        fail(err);
      }
    });
}

export function runCommand(program: Command): void {
  program
    .command('run')
    .description(
      'Supervisor: run the current release of <install-dir>, restart it, and switch/health-check/roll back updates',
    )
    .option('--install-dir <dir>', 'install dir holding releases/ and current (env WISPANEL_INSTALL_DIR)')
    .option('--data-dir <dir>', 'data directory (env WISPANEL_DATA_DIR, default ./data)')
    .option('--host <host>', 'listen address (env WISPANEL_HOST, default 0.0.0.0)')
    .option('--port <port>', 'listen port, 0 = a free port chosen once (env WISPANEL_PORT, default 2083)')
    .option('--health-timeout <seconds>', 'how long a new release has to become healthy (default 90)')
    .option(
      '--stability-window <seconds>',
      'after its first good probes a new release must stay up and healthy this long before the commit; writes are held meanwhile (env WISPANEL_STABILITY_WINDOW, default 15)',
    )
    .option(
      '--probation <seconds>',
      'after the commit, crashes within this period roll the release back (env WISPANEL_PROBATION, default 600; 0 = none)',
    )
    .option(
      '--probation-crashes <n>',
      'crashes during probation that trigger the rollback (env WISPANEL_PROBATION_CRASHES, default 3)',
    )
    .allowUnknownOption(true)
    .argument('[start-options...]', 'further options passed to `wispanel start`')
    .action(async (startOptions: string[], opts: Record<string, unknown>) => {
      try {
        const config = loadPanelConfig(opts);
        if (!config.installDir) throw new Error('--install-dir (or WISPANEL_INSTALL_DIR) is required');
        const timeout = opts.healthTimeout === undefined ? 90 : Number(opts.healthTimeout);
        if (!Number.isFinite(timeout) || timeout < 1 || timeout > 3600) {
          throw new Error(`--health-timeout must be 1..3600 seconds, got ${String(opts.healthTimeout)}`);
        }
        const seconds = (value: unknown, env: string, name: string, fallback: number, min: number) => {
          const raw = value ?? process.env[env];
          if (raw === undefined || raw === '') return fallback;
          const n = Number(raw);
          if (!Number.isFinite(n) || n < min || n > 86_400)
            throw new Error(`${name} must be ${min}..86400, got ${String(raw)}`);
          return n;
        };
        const stability = seconds(
          opts.stabilityWindow,
          'WISPANEL_STABILITY_WINDOW',
          '--stability-window',
          15,
          0,
        );
        const probation = seconds(opts.probation, 'WISPANEL_PROBATION', '--probation', 600, 0);
        const probationCrashes = seconds(
          opts.probationCrashes,
          'WISPANEL_PROBATION_CRASHES',
          '--probation-crashes',
          3,
          1,
        );
        const layout = new InstallLayout(config.installDir);
        // Run by the stable launcher (bin/wispanel-launcher.mjs): it opened an IPC channel and set the variable.
        const underLauncher = process.env.WISPANEL_LAUNCHER === '1' && typeof process.send === 'function';
        const ownVersion = releaseVersionOf(process.env.WISPANEL_RELEASE_DIR);
        let ownReleaseDir: string | null = null;
        try {
          ownReleaseDir = process.env.WISPANEL_RELEASE_DIR
            ? realpathSync(process.env.WISPANEL_RELEASE_DIR)
            : null;
        } catch {
          ownReleaseDir = null;
        }
        const supervisor = new Supervisor({
          installDir: config.installDir,
          dataDir: config.dataDir,
          databaseUrl: config.databaseUrl,
          host: config.host,
          port: config.port,
          tls: !config.tlsDisabled,
          childArgs: startOptions,
          healthTimeoutMs: timeout * 1000,
          stabilityMs: stability * 1000,
          probationMs: probation * 1000,
          probationCrashes,
          hook: stepHookFromEnv(config.updateHook, layout.stateFile),
          launcher: underLauncher
            ? {
                ownVersion,
                ownReleaseDir,
                notify: (message) => {
                  if (process.connected) process.send?.(message);
                },
                // Exit code 75: "current moved, start the supervisor of the release it points at now".
                onHandover: () => {
                  rmSync(layout.supervisorPidFile, { force: true });
                  process.exit(75);
                },
              }
            : undefined,
        });
        let stopping = false;
        const stop = async () => {
          if (stopping) return;
          stopping = true;
          await supervisor.stop();
          process.exit(0);
        };
        process.on('SIGTERM', () => void stop());
        process.on('SIGINT', () => void stop());
        process.on('SIGHUP', () => void supervisor.restart());
        process.on('SIGUSR2', () => void supervisor.applySwitch());
        // The launcher died (kill -9): a supervisor nobody watches would block the next one from the port.
        if (underLauncher) process.once('disconnect', () => void stop());
        if (underLauncher && isStandby()) {
          // Started ahead of a hand-over: pre-warm our panel, then wait until the old supervisor is done.
          supervisor.prewarm();
          await waitForGo();
        }
        await supervisor.start();
        process.stdout.write(
          `[supervisor] supervising ${layout.currentVersion()} on ${supervisor.baseUrl} (pid ${process.pid})\n`,
        );
      } catch (err) {
        fail(err);
      }
    });
}

/**
 * Copies the release's stable launcher to `<install>/bin/wispanel-launcher.mjs` (what systemd runs). Only
 * `install-release` does this — an operator's deliberate act — never a self-update, so the code that decides
 * which release to start is never untested. Returns its path, or null for a release without one.
 */
export function installLauncher(layout: InstallLayout, releaseDir: string): string | null {
  const src = join(releaseDir, 'launcher', 'wispanel-launcher.mjs');
  if (!existsSync(src)) return null;
  const binDir = join(layout.root, 'bin');
  mkdirSync(binDir, { recursive: true });
  const dest = join(binDir, 'wispanel-launcher.mjs');
  const tmp = `${dest}.tmp-${process.pid}`;
  copyFileSync(src, tmp);
  chmodSync(tmp, 0o755);
  renameSync(tmp, dest);
  return dest;
}

/** Version in the manifest of the release directory this process was started from (resolved now), or null. */
function releaseVersionOf(dir: string | undefined): string | null {
  if (!dir) return null;
  try {
    return JSON.parse(readFileSync(join(realpathSync(dir), 'release-manifest.json'), 'utf8')).version ?? null;
  } catch {
    return null;
  }
}

/** Pid of a running supervisor for this install dir, or null. */
export function runningSupervisorPid(layout: InstallLayout): number | null {
  try {
    const pid = Number(readFileSync(layout.supervisorPidFile, 'utf8').trim());
    if (!(pid > 0)) return null;
    process.kill(pid, 0);
    return pid;
  } catch {
    return null;
  }
}
