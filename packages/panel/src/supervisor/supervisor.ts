import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { InstallLayout } from '../modules/updates/install-layout';
import { reconcileInterrupted } from '../modules/updates/update-pipeline';
import { type SwitchJournal, UpdateStateStore, type UpdateStatus } from '../modules/updates/update-state';
import { backupDatabase, restoreDatabase } from './database-backup';
import { probeHealth } from './health-check';

export interface SupervisorOptions {
  installDir: string;
  dataDir: string;
  databaseUrl: string;
  host: string;
  /** 0 = pick a free port once, at start. */
  port: number;
  tls: boolean;
  /** More arguments for the panel's `start` command. */
  childArgs?: string[];
  env?: NodeJS.ProcessEnv;
  /** How long a freshly switched release has to become healthy (slow hosts: raise it). */
  healthTimeoutMs?: number;
  healthIntervalMs?: number;
  stopTimeoutMs?: number;
  /** Previous releases kept besides the current one. */
  keepReleases?: number;
  log?: (line: string) => void;
  hook?: (step: string) => Promise<void>;
}

type Outcome = { ok: true } | { ok: false; code: string; detail: string };

const TAIL = 20;

async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host === '0.0.0.0' || host === '::' ? undefined : host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Runs the `current` release as a child process and owns the dangerous part of an update: it stops the old
 * release, backs up the database, switches `current`, starts the new release and health-checks it within a
 * window. Because it is not the release under test, a release that cannot even start is rolled back too:
 * `current` switched back, database restored, old release restarted, status `rolled_back` with the reason.
 * Each irreversible step is journalled in the state file first, so a supervisor killed mid-switch recovers
 * on its next start.
 */
export class Supervisor {
  readonly layout: InstallLayout;
  readonly store: UpdateStateStore;
  private child: ChildProcess | null = null;
  private childExited: Promise<void> | null = null;
  private expectExit = false;
  private stopping = false;
  private switching: Promise<void> | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private crashes = 0;
  private switchAgain = false;
  private port: number;
  private tail: string[] = [];
  private readonly log: (line: string) => void;

  constructor(private readonly options: SupervisorOptions) {
    this.layout = new InstallLayout(options.installDir);
    this.store = new UpdateStateStore(this.layout.stateFile);
    this.port = options.port;
    this.log = options.log ?? ((line) => process.stdout.write(`[supervisor] ${line}\n`));
  }

  get baseUrl(): string {
    const h = this.options.host;
    const host =
      h === '0.0.0.0' || h === '' ? '127.0.0.1' : h === '::' ? '[::1]' : h.includes(':') ? `[${h}]` : h;
    return `${this.options.tls ? 'https' : 'http'}://${host}:${this.port}`;
  }

  get childPid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    this.layout.ensure();
    if (!this.layout.currentTarget()) {
      throw new Error(
        `no release installed in ${this.options.installDir}: run \`wispanel install-release FILE\` first`,
      );
    }
    if (this.port === 0) this.port = await freePort(this.options.host);
    writeFileSync(this.layout.supervisorPidFile, String(process.pid));
    const recovered = await this.recover();
    if (recovered === 'pending') {
      await this.applySwitch();
      return;
    }
    if (recovered === 'launched') return;
    const outcome = await this.launchAndWait(this.layout.currentVersion() ?? undefined);
    if (outcome.ok) this.log(`release ${this.layout.currentVersion()} is up on ${this.baseUrl}`);
    else this.log(`release ${this.layout.currentVersion()} is not healthy yet: ${outcome.detail}`);
  }

  /** Stops the child and forgets the pid file (SIGTERM/SIGINT). A switch in progress is recovered next start. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    await this.stopChild();
    try {
      rmSync(this.layout.supervisorPidFile, { force: true });
    } catch {
      /* gone */
    }
  }

  /** Restarts the running release (SIGHUP). */
  async restart(): Promise<void> {
    if (this.switching) return;
    await this.stopChild();
    await this.launchAndWait(this.layout.currentVersion() ?? undefined);
  }

  /** Switches to the release the pipeline marked ready (IPC from the panel, SIGUSR2 from `wispanel update`). */
  applySwitch(): Promise<void> {
    if (this.switching) {
      // A request that arrives while a switch (or its rollback's relaunch) is still running — the old release
      // answers, the next update is prepared before the rollback finished — is run right after, not dropped.
      this.switchAgain = true;
      return this.switching;
    }
    this.switching = this.doSwitch()
      .catch((err) => this.log(`switch failed unexpectedly: ${(err as Error).stack ?? err}`))
      .finally(() => {
        this.switching = null;
        if (this.switchAgain && !this.stopping) {
          this.switchAgain = false;
          void this.applySwitch();
        }
      });
    return this.switching;
  }

  /**
   * After a crash or kill: a switch that was in flight is undone (switch back, restore the database if the new
   * release may have run); preparation steps whose process died are marked interrupted. Returns `pending` when a
   * prepared release is waiting to be switched to, `launched` when recovery already started a release.
   */
  private async recover(): Promise<'pending' | 'launched' | 'none'> {
    const s = this.store.read();
    if (
      s.switch?.phase === 'started' &&
      this.layout.currentTarget() === this.layout.targetOf(s.to_version ?? '')
    ) {
      // The new release had passed its health check; only the commit record was missing.
      this.finish(
        'completed',
        null,
        `supervisor restarted after ${s.to_version} passed its health check; update committed`,
      );
      return 'none';
    }
    if (s.switch) {
      await this.undoSwitch(
        s,
        s.switch,
        'UPDATE_INTERRUPTED',
        `the supervisor stopped during the switch to ${s.to_version} (phase ${s.switch.phase})`,
      );
      return 'launched';
    }
    if (s.state === 'restarting' && s.ready_to_switch && s.to_version) return 'pending';
    reconcileInterrupted(this.store, this.layout);
    return 'none';
  }

  private journal(
    phase: SwitchJournal['phase'],
    patch: Partial<SwitchJournal> = {},
    line?: string,
  ): UpdateStatus {
    return this.store.update((s) => ({
      ...s,
      switch: { ...(s.switch ?? { previous_target: null, backup: null }), ...patch, phase },
      log: line ? [...s.log, `${new Date().toISOString()} ${line}`] : s.log,
    }));
  }

  private async doSwitch(): Promise<void> {
    const s = this.store.read();
    if (!s.ready_to_switch || !s.to_version || s.switch) return;
    const to = s.to_version;
    const from = this.layout.currentVersion();
    const previousTarget = this.layout.currentTarget();
    if (!this.layout.hasRelease(to)) {
      this.finish('failed', { code: 'UPDATE_INSTALL_FAILED', message: `prepared release ${to} is missing` });
      return;
    }
    this.store.update((st) => ({
      ...st,
      state: 'restarting',
      owner_pid: process.pid,
      switch: { phase: 'requested', previous_target: previousTarget, backup: null },
      log: [...st.log, `${new Date().toISOString()} supervisor: stopping ${from} to switch to ${to}`],
    }));
    await this.hook('sup:requested');
    await this.stopChild();
    this.journal('stopped');
    await this.hook('sup:stopped');
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const backup = await backupDatabase(
      this.options.databaseUrl,
      this.layout.backupsDir,
      `${from}-to-${to}-${stamp}`,
    );
    this.journal(
      'backed_up',
      { backup },
      backup ? `database backed up to ${backup}` : 'no SQLite database to back up',
    );
    await this.hook('sup:backed_up');
    this.layout.switchTo(this.layout.targetOf(to));
    const st = this.journal('switched', {}, `current -> releases/${to}; starting it`);
    this.store.update((x) => ({ ...x, state: 'health_check' }));
    await this.hook('sup:switched');
    const outcome = await this.launchAndWait(to);
    if (outcome.ok) {
      this.journal('started');
      await this.hook('sup:started');
      const removed = this.layout.prune(this.options.keepReleases ?? 3, from ? [from] : []);
      this.pruneBackups(3);
      this.finish(
        'completed',
        null,
        `release ${to} is healthy; update committed${removed.length ? ` (pruned ${removed.join(', ')})` : ''}`,
      );
      this.crashes = 0;
      return;
    }
    await this.undoSwitch(
      this.store.read(),
      st.switch ?? { phase: 'switched', previous_target: previousTarget, backup },
      outcome.code,
      outcome.detail,
    );
  }

  /** Back to the previous release: stop, switch back, restore the database, mark rolled_back, start old. */
  private async undoSwitch(s: UpdateStatus, j: SwitchJournal, code: string, detail: string): Promise<void> {
    const to = s.to_version ?? '?';
    this.log(`rolling back from ${to}: ${detail}`);
    await this.stopChild();
    const switched = j.previous_target !== null && this.layout.currentTarget() !== j.previous_target;
    if (j.previous_target && switched) this.layout.switchTo(j.previous_target);
    const mayHaveRun = j.phase === 'switched' || j.phase === 'started';
    let restored = false;
    if (mayHaveRun && j.backup && existsSync(j.backup)) {
      restoreDatabase(this.options.databaseUrl, j.backup);
      restored = true;
    }
    const back = this.layout.currentVersion();
    const rolledBack = switched || mayHaveRun;
    // The release that failed is not kept as a "previous release" (a retry downloads and checks it again).
    if (s.to_version && s.to_version !== back && this.layout.hasRelease(s.to_version)) {
      rmSync(this.layout.releaseDir(s.to_version), { recursive: true, force: true });
    }
    this.finish(
      rolledBack ? 'rolled_back' : 'failed',
      { code, message: rolledBack ? `${detail}; rolled back to ${back}` : `${detail}; ${back} kept running` },
      rolledBack
        ? `rolled back to ${back}${restored ? ', database restored from the pre-update backup' : ''}`
        : `switch abandoned before ${to} ran; ${back} unchanged`,
    );
    const outcome = await this.launchAndWait(back ?? undefined);
    if (outcome.ok) this.log(`release ${back} is up again`);
    else
      this.log(
        `previous release ${back} did not come back healthy: ${outcome.detail} (will keep restarting it)`,
      );
  }

  private finish(
    state: 'completed' | 'failed' | 'rolled_back',
    error: UpdateStatus['error'],
    line?: string,
  ): void {
    this.store.update((s) => ({
      ...s,
      state,
      error,
      finished_at: new Date().toISOString(),
      owner_pid: null,
      ready_to_switch: false,
      switch: null,
      log: line ? [...s.log, `${new Date().toISOString()} ${line}`] : s.log,
    }));
  }

  private pruneBackups(keep: number): void {
    const dir = this.layout.backupsDir;
    if (!existsSync(dir)) return;
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.bak'))
      .map((f) => ({ f, t: statSync(join(dir, f)).mtimeMs }))
      .sort((a, b) => b.t - a.t);
    for (const { f } of files.slice(keep)) rmSync(join(dir, f), { force: true });
  }

  private launch(): ChildProcess {
    const releaseDir = realpathSync(this.layout.currentLink);
    const manifest = this.layout.manifestOf(this.layout.currentVersion() ?? '');
    const entry = join(releaseDir, manifest?.entry ?? 'bin/wispanel.mjs');
    const args = [
      entry,
      'start',
      '--data-dir',
      this.options.dataDir,
      '--host',
      this.options.host,
      '--port',
      String(this.port),
      ...(this.options.childArgs ?? []),
    ];
    this.tail = [];
    const child = spawn(process.execPath, args, {
      cwd: releaseDir,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: {
        ...(this.options.env ?? process.env),
        WISPANEL_SUPERVISED: '1',
        WISPANEL_INSTALL_DIR: this.options.installDir,
        WISPANEL_SUPERVISOR_PID: String(process.pid),
      },
    });
    const keep = (stream: NodeJS.WritableStream) => (chunk: Buffer) => {
      stream.write(chunk);
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) this.tail.push(line.trim());
      if (this.tail.length > TAIL) this.tail.splice(0, this.tail.length - TAIL);
    };
    child.stdout?.on('data', keep(process.stdout));
    child.stderr?.on('data', keep(process.stderr));
    child.on('message', (msg) => {
      if ((msg as { type?: string })?.type === 'wispanel:switch') void this.applySwitch();
    });
    this.child = child;
    this.childExited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        if (this.child === child) this.child = null;
        resolve();
        this.onChildExit(code, signal);
      });
    });
    this.log(`started release ${this.layout.currentVersion()} (pid ${child.pid})`);
    return child;
  }

  private onChildExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.stopping || this.expectExit || this.switching) return;
    this.log(`release exited (${signal ?? `code ${code}`})`);
    const s = this.store.read();
    if (s.ready_to_switch && !s.switch && s.to_version) {
      // The panel prepared a release and died before (or right after) asking for the switch.
      void this.applySwitch();
      return;
    }
    this.crashes++;
    const delay = Math.min(30_000, 500 * 2 ** Math.min(this.crashes - 1, 6));
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.stopping || this.child || this.switching) return;
      const child = this.launch();
      void this.resetBackoffWhenHealthy(child);
    }, delay);
  }

  /** A restarted release that comes up healthy resets the crash back-off. */
  private async resetBackoffWhenHealthy(child: ChildProcess): Promise<void> {
    const deadline = Date.now() + (this.options.healthTimeoutMs ?? 90_000);
    while (Date.now() < deadline && this.child === child) {
      if ((await probeHealth(this.baseUrl)).ok) {
        this.crashes = 0;
        return;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** Starts `current` and waits until it is healthy (two good probes), it exits, or the window closes. */
  private async launchAndWait(expectedVersion: string | undefined): Promise<Outcome> {
    if (this.restartTimer) {
      clearTimeout(this.restartTimer);
      this.restartTimer = null;
    }
    const child = this.launch();
    let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    child.once('exit', (code, signal) => {
      exited = { code, signal };
    });
    const deadline = Date.now() + (this.options.healthTimeoutMs ?? 90_000);
    const interval = this.options.healthIntervalMs ?? 300;
    let good = 0;
    let last = 'no answer yet';
    await this.hook('sup:health_check');
    while (Date.now() < deadline) {
      if (exited) {
        const e = exited as { code: number | null; signal: NodeJS.Signals | null };
        return {
          ok: false,
          code: 'UPDATE_START_FAILED',
          detail: `release ${expectedVersion} exited during start (${e.signal ?? `code ${e.code}`}): ${this.tail.slice(-3).join(' | ') || 'no output'}`,
        };
      }
      const probe = await probeHealth(this.baseUrl, expectedVersion);
      last = probe.detail;
      good = probe.ok ? good + 1 : 0;
      if (good >= 2) return { ok: true };
      await new Promise((r) => setTimeout(r, interval));
    }
    return {
      ok: false,
      code: 'UPDATE_HEALTH_CHECK_FAILED',
      detail: `release ${expectedVersion} did not pass its health check within ${Math.round((this.options.healthTimeoutMs ?? 90_000) / 1000)} s: ${last}`,
    };
  }

  private async stopChild(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      this.child = null;
      return;
    }
    this.expectExit = true;
    try {
      child.kill('SIGTERM');
      const timeout = this.options.stopTimeoutMs ?? 15_000;
      const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
      await this.childExited;
      clearTimeout(timer);
    } finally {
      this.expectExit = false;
      this.child = null;
    }
  }

  private async hook(step: string): Promise<void> {
    await this.options.hook?.(step);
  }
}
