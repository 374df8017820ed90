import { type ChildProcess, spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  readdirSync,
  realpathSync,
  rmSync,
  statfsSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { basename, join } from 'node:path';
import { InstallLayout } from '../modules/updates/install-layout';
import { cleanStaging, reconcileInterrupted } from '../modules/updates/update-pipeline';
import {
  type Probation,
  type SwitchJournal,
  UpdateStateStore,
  type UpdateStatus,
} from '../modules/updates/update-state';
import { backupDatabase, restoreDatabase, sqliteFileOf } from './database-backup';
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
  /**
   * After the first two good probes, a switched release must stay up with its health green this long before it
   * is committed (writes are held meanwhile). Default 15 s.
   */
  stabilityMs?: number;
  /** After the commit: this many crashes within `probationMs` roll the release back. Defaults 10 min, 3. */
  probationMs?: number;
  probationCrashes?: number;
  /** Previous releases kept besides the current one. */
  keepReleases?: number;
  log?: (line: string) => void;
  hook?: (step: string) => Promise<void>;
  /**
   * Set when the stable launcher (`bin/wispanel-launcher.mjs`, outside releases/) runs this supervisor. The
   * supervisor then never runs another release's code path in-process: after moving `current` it exits with
   * `onHandover` (code 75) and the launcher starts the supervisor of the release `current` points at.
   */
  launcher?: {
    /** Version of the release this supervisor's own code belongs to, and its directory. */
    ownVersion: string | null;
    ownReleaseDir?: string | null;
    notify: (message: { type: string; version: string | null }) => void;
    onHandover: () => void;
  };
}

export const DEFAULT_STABILITY_MS = 15_000;
export const DEFAULT_PROBATION_MS = 10 * 60_000;
export const DEFAULT_PROBATION_CRASHES = 3;

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
  private watcher: NodeJS.Timeout | null = null;
  /** A panel process of this release started ahead of a hand-over, waiting for `go` (see `prewarm`). */
  private warm: { child: ChildProcess; releaseDir: string; dead: boolean } | null = null;
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
    this.watch();
    const recovered = await this.recover();
    if (recovered === 'pending') {
      await this.applySwitch();
      return;
    }
    if (recovered === 'trial') {
      await this.exclusive(() => this.trial());
      return;
    }
    if (recovered === 'launched') return;
    const outcome = await this.launchAndWait(this.layout.currentVersion() ?? undefined);
    if (outcome.ok) {
      this.log(`release ${this.layout.currentVersion()} is up on ${this.baseUrl}`);
      this.notifyUp();
    } else this.log(`release ${this.layout.currentVersion()} is not healthy yet: ${outcome.detail}`);
  }

  /**
   * Every 2 s: a prepared release whose hand-over was recorded but whose signal never came (the `update`
   * command killed in between) is switched to; one prepared by a process that died before the hand-over is
   * abandoned visibly (status `failed`, UPDATE_INTERRUPTED). No job stays `restarting` with nobody driving it.
   */
  private watch(): void {
    this.watcher = setInterval(() => {
      if (this.stopping || this.switching) return;
      try {
        const s = this.store.read();
        if (s.state === 'restarting' && s.ready_to_switch && s.switch_requested && !s.switch) {
          void this.applySwitch();
          return;
        }
        if (s.state === 'restarting' && s.ready_to_switch && !s.switch_requested) {
          reconcileInterrupted(this.store, this.layout);
        }
      } catch (err) {
        this.log(`update watch: ${(err as Error).message}`);
      }
    }, 2_000);
    this.watcher.unref();
  }

  private notifyUp(): void {
    this.options.launcher?.notify({ type: 'wispanel:up', version: this.layout.currentVersion() });
  }

  /** True when `current` no longer points at the release this supervisor's code belongs to (launcher mode). */
  private needsHandover(): boolean {
    const l = this.options.launcher;
    return !!l && !!l.ownVersion && this.layout.currentVersion() !== l.ownVersion;
  }

  /** Would switching to `version` hand over to another release's supervisor (launcher mode)? */
  private needsHandoverTo(version: string): boolean {
    const l = this.options.launcher;
    return !!l && !!l.ownVersion && version !== l.ownVersion;
  }

  /** Runs `fn` as the one switch-like operation (child exits are not restarts meanwhile). */
  private exclusive(fn: () => Promise<void>): Promise<void> {
    if (this.switching) return this.switching;
    this.switching = fn()
      .catch((err) => this.log(`switch failed unexpectedly: ${(err as Error).stack ?? err}`))
      .finally(() => {
        this.switching = null;
      });
    return this.switching;
  }

  /** Stops the child and forgets the pid file (SIGTERM/SIGINT). A switch in progress is recovered next start. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.watcher) clearInterval(this.watcher);
    this.dropWarm();
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
  private async recover(): Promise<'pending' | 'launched' | 'trial' | 'none'> {
    const s = this.store.read();
    const current = this.layout.currentTarget();
    const onNew = current === this.layout.targetOf(s.to_version ?? '');
    if (s.switch?.failure) {
      // The launcher gave up on the new release's supervisor and pointed `current` back: finish the undo
      // (database restore, status) with the reason it recorded.
      await this.undoSwitch(s, s.switch, s.switch.failure.code, s.switch.failure.message);
      return 'launched';
    }
    if (s.switch?.phase === 'started' && onNew) {
      // The new release had passed its health check and stability window; only the commit record was missing.
      this.commit(s.switch, s.from_version, 'update committed after a restart of the supervisor');
      return 'none';
    }
    if (s.switch?.handover && s.switch.phase === 'switched' && onNew) return 'trial';
    if (s.switch) {
      await this.undoSwitch(
        s,
        s.switch,
        'UPDATE_INTERRUPTED',
        `the supervisor stopped during the switch to ${s.to_version} (phase ${s.switch.phase})`,
      );
      return 'launched';
    }
    if (s.state === 'restarting' && s.ready_to_switch && s.switch_requested && s.to_version) return 'pending';
    reconcileInterrupted(this.store, this.layout);
    const now = this.store.read();
    const running = this.layout.currentVersion();
    if (now.state === 'completed' && now.to_version && running && running !== now.to_version) {
      // `current` was pointed elsewhere by hand (docs: rolling back by hand): the status says so.
      this.store.update((x) => ({
        ...x,
        state: 'rolled_back',
        probation: null,
        error: {
          code: 'UPDATE_MANUAL_ROLLBACK',
          message: `current points at ${running}, not at ${now.to_version} which the update had installed: rolled back by hand`,
        },
        log: [
          ...x.log,
          `${new Date().toISOString()} found current at ${running} instead of ${now.to_version}`,
        ],
      }));
    }
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

  /**
   * Free space for the database backup, checked before anything is stopped: the database (with its WAL) must
   * fit into the backups dir with 1 MB to spare.
   */
  private preflightBackup(database: string | null): void {
    if (!database || !existsSync(database)) return;
    let need = 1024 * 1024;
    for (const f of [database, `${database}-wal`]) {
      try {
        need += statSync(f).size;
      } catch {
        /* no WAL */
      }
    }
    const fs = statfsSync(this.layout.backupsDir);
    const free = Number(fs.bavail) * Number(fs.bsize);
    if (free < need) {
      throw new Error(
        `only ${Math.floor(free / 1e6)} MB free in ${this.layout.backupsDir}, the database backup needs ${Math.ceil(need / 1e6)} MB`,
      );
    }
  }

  private async doSwitch(): Promise<void> {
    const s = this.store.read();
    if (!s.ready_to_switch || !s.to_version || s.switch) return;
    const to = s.to_version;
    const from = this.layout.currentVersion();
    const previousTarget = this.layout.currentTarget();
    const abandon = (code: string, message: string) => {
      if (this.layout.currentVersion() !== to)
        rmSync(this.layout.releaseDir(to), { recursive: true, force: true });
      cleanStaging(this.layout, null);
      this.finish('failed', { code, message }, `failed before the switch: ${code}: ${message}`);
    };
    if (!this.layout.hasRelease(to)) {
      this.finish('failed', { code: 'UPDATE_INSTALL_FAILED', message: `prepared release ${to} is missing` });
      return;
    }
    const database = sqliteFileOf(this.options.databaseUrl);
    try {
      this.layout.ensure();
      this.preflightBackup(database);
    } catch (err) {
      // Nothing stopped yet: the running release never noticed.
      abandon('UPDATE_PREFLIGHT_FAILED', `${(err as Error).message}; ${from} kept running`);
      return;
    }
    // Launcher mode: the new release's supervisor (and its panel) load their code while this one stops the old
    // release and backs up — they wait for `go` and only then touch anything (shorter API downtime).
    // Off by default (WISPANEL_PREWARM=1 turns it on): on a CPU-starved host the parallel loading slowed the
    // switch down instead (bench/update-downtime.ts compares both).
    if (this.needsHandoverTo(to) && process.env.WISPANEL_PREWARM === '1')
      this.options.launcher?.notify({ type: 'wispanel:prewarm', version: to });
    this.store.update((st) => ({
      ...st,
      state: 'restarting',
      owner_pid: process.pid,
      switch: { phase: 'requested', previous_target: previousTarget, backup: null, database },
      log: [...st.log, `${new Date().toISOString()} supervisor: stopping ${from} to switch to ${to}`],
    }));
    await this.hook('sup:requested');
    await this.stopChild();
    this.journal('stopped');
    await this.hook('sup:stopped');
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    let backup: string | null;
    try {
      backup = await backupDatabase(
        this.options.databaseUrl,
        this.layout.backupsDir,
        `${from}-to-${to}-${stamp}`,
      );
    } catch (err) {
      // The old release is started again, untouched: the switch never happened.
      const message = `the database backup before the switch failed (${(err as Error).message}); ${from} restarted, nothing was switched`;
      this.log(message);
      this.options.launcher?.notify({ type: 'wispanel:prewarm-cancel', version: to });
      abandon('UPDATE_BACKUP_FAILED', message);
      const outcome = await this.launchAndWait(from ?? undefined);
      if (!outcome.ok) this.log(`release ${from} did not come back healthy: ${outcome.detail}`);
      return;
    }
    this.journal(
      'backed_up',
      { backup },
      backup ? `database backed up to ${backup}` : 'no SQLite database to back up',
    );
    await this.hook('sup:backed_up');
    this.layout.switchTo(this.layout.targetOf(to));
    this.journal('switched', {}, `current -> releases/${to}; starting it`);
    this.store.update((x) => ({ ...x, state: 'health_check' }));
    await this.hook('sup:switched');
    if (this.needsHandover()) {
      // Launcher mode: the new release is health-gated by its own supervisor, started by the launcher, so a
      // supervisor that cannot start is caught before the commit (the launcher falls back to the old release).
      this.journal('switched', { handover: true }, `handing over to the supervisor of ${to}`);
      this.options.launcher?.onHandover();
      return;
    }
    await this.trial();
  }

  /**
   * The health gate of a switched release: start it with writes held, require two good probes within the
   * health timeout and then the stability window (process up, health green), then commit; or undo.
   */
  private async trial(): Promise<void> {
    const s = this.store.read();
    const j = s.switch;
    const to = s.to_version;
    if (!j || !to) return;
    this.store.update((x) => ({ ...x, state: 'health_check', owner_pid: process.pid }));
    const outcome = await this.launchAndWait(to, { trial: true });
    if (outcome.ok) {
      this.journal('started');
      await this.hook('sup:started');
      this.commit(
        this.store.read().switch ?? j,
        s.from_version,
        `release ${to} is healthy and stable; update committed`,
      );
      this.child?.send?.({ type: 'wispanel:writes-open' });
      this.notifyUp();
      return;
    }
    await this.undoSwitch(this.store.read(), this.store.read().switch ?? j, outcome.code, outcome.detail);
  }

  /** Records a passed health gate: prune, probation starts, status `completed`. */
  private commit(j: SwitchJournal, from: string | null, line: string): void {
    const to = this.layout.currentVersion();
    const removed = this.layout.prune(this.options.keepReleases ?? 3, from ? [from] : []);
    this.pruneBackups(3);
    rmSync(this.probationMarker, { force: true });
    const probationMs = this.options.probationMs ?? DEFAULT_PROBATION_MS;
    const probation: Probation | null =
      probationMs > 0 && to
        ? {
            version: to,
            until: new Date(Date.now() + probationMs).toISOString(),
            previous_target: j.previous_target,
            backup: j.backup,
            database: j.database ?? null,
            crashes: 0,
          }
        : null;
    this.finish('completed', null, `${line}${removed.length ? ` (pruned ${removed.join(', ')})` : ''}`, {
      probation,
    });
    this.crashes = 0;
  }

  /** File the panel writes before acknowledging its first write after a commit (probation: may we restore?). */
  get probationMarker(): string {
    return join(this.layout.root, 'state', 'writes-since-commit');
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
    if (this.needsHandover()) {
      this.options.launcher?.onHandover();
      return;
    }
    const outcome = await this.launchAndWait(back ?? undefined);
    if (outcome.ok) {
      this.log(`release ${back} is up again`);
      this.notifyUp();
    } else
      this.log(
        `previous release ${back} did not come back healthy: ${outcome.detail} (will keep restarting it)`,
      );
  }

  private finish(
    state: 'completed' | 'failed' | 'rolled_back',
    error: UpdateStatus['error'],
    line?: string,
    patch: Partial<UpdateStatus> = {},
  ): void {
    this.store.update((s) => ({
      ...s,
      state,
      error,
      finished_at: new Date().toISOString(),
      owner_pid: null,
      ready_to_switch: false,
      switch_requested: false,
      cancel_requested: false,
      switch: null,
      probation: state === 'completed' ? s.probation : null,
      ...patch,
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
    // Backups made by older releases (world-readable then) are made private too.
    for (const { f } of files.slice(0, keep)) {
      try {
        chmodSync(join(dir, f), 0o600);
      } catch {
        /* removed meanwhile */
      }
    }
  }

  /**
   * Launcher mode, while the old release is still being stopped and backed up: start this release's panel
   * process now in standby (it loads its code, then waits for `go`), so that after the switch only the database
   * open and the listen are left. Used only for the trial of this (the new) release.
   */
  prewarm(): void {
    const releaseDir = this.options.launcher?.ownReleaseDir;
    if (!releaseDir || this.warm || this.port === 0) return;
    const child = this.spawnPanel(releaseDir, { trial: true, standby: true });
    const warm = { child, releaseDir, dead: false };
    child.once('exit', () => {
      warm.dead = true;
    });
    this.warm = warm;
  }

  private dropWarm(): void {
    const w = this.warm;
    this.warm = null;
    if (w && !w.dead) w.child.kill('SIGKILL');
  }

  private launch(options: { trial?: boolean } = {}): ChildProcess {
    const releaseDir = realpathSync(this.layout.currentLink);
    const w = this.warm;
    this.warm = null;
    let child: ChildProcess;
    if (w && !w.dead && w.releaseDir === releaseDir && options.trial && w.child.connected) {
      child = w.child;
      child.send({ type: 'wispanel:go' });
    } else {
      if (w && !w.dead) w.child.kill('SIGKILL');
      this.tail = [];
      child = this.spawnPanel(releaseDir, options);
    }
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

  private spawnPanel(releaseDir: string, options: { trial?: boolean; standby?: boolean }): ChildProcess {
    const manifest = this.layout.manifestOf(basename(releaseDir));
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
    const child = spawn(process.execPath, args, {
      cwd: releaseDir,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: {
        ...(this.options.env ?? process.env),
        WISPANEL_SUPERVISED: '1',
        WISPANEL_INSTALL_DIR: this.options.installDir,
        WISPANEL_SUPERVISOR_PID: String(process.pid),
        // A release on trial refuses writes (503 + Retry-After) until it is committed: a rollback restores the
        // database, so nothing it acknowledged may exist only there. During probation it notes its first write.
        WISPANEL_WRITE_GATE: options.trial ? 'hold' : '',
        WISPANEL_WRITE_GATE_RETRY: String(
          Math.ceil(((this.options.stabilityMs ?? DEFAULT_STABILITY_MS) + 5_000) / 1000),
        ),
        WISPANEL_WRITE_MARKER: options.trial || this.inProbation() ? this.probationMarker : '',
        WISPANEL_STANDBY: options.standby ? '1' : '',
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
    return child;
  }

  private onChildExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.stopping || this.expectExit || this.switching) return;
    this.log(`release exited (${signal ?? `code ${code}`})`);
    const s = this.store.read();
    if (s.ready_to_switch && !s.switch && s.to_version) {
      if (s.switch_requested) {
        // The panel asked for the switch and died right after: the request stands.
        void this.applySwitch();
        return;
      }
      // It died before handing the release over: abandoned visibly, never applied later unannounced.
      reconcileInterrupted(this.store, this.layout);
    }
    const p = this.inProbation();
    if (p) {
      const crashes = p.crashes + 1;
      this.store.update((x) => ({
        ...x,
        probation: x.probation ? { ...x.probation, crashes } : null,
        log: [
          ...x.log,
          `${new Date().toISOString()} ${p.version} exited during probation (${crashes} of ${this.options.probationCrashes ?? DEFAULT_PROBATION_CRASHES} crashes allowed before a rollback)`,
        ],
      }));
      if (crashes >= (this.options.probationCrashes ?? DEFAULT_PROBATION_CRASHES)) {
        void this.exclusive(() => this.probationRollback({ ...p, crashes }));
        return;
      }
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

  /** The probation of the committed current release, while it lasts. */
  private inProbation(): Probation | null {
    const p = this.store.read().probation;
    if (!p || Date.parse(p.until) <= Date.now() || this.layout.currentVersion() !== p.version) return null;
    return p;
  }

  /**
   * A committed release that keeps crashing during its probation goes back to the previous release. The
   * database backup is restored only when the release acknowledged no write since the commit (the panel writes
   * `state/writes-since-commit` before answering its first successful write); otherwise no automatic rollback
   * happens — it would lose those writes — and the status says so.
   */
  private async probationRollback(p: Probation): Promise<void> {
    const wrote = existsSync(this.probationMarker);
    if (wrote || !p.previous_target) {
      const why = wrote
        ? 'writes were acknowledged since the commit, so it is not rolled back automatically (restoring the pre-update backup would lose them); roll back by hand (docs/updates.md) or fix forward'
        : 'there is no previous release to go back to';
      this.store.update((x) => ({
        ...x,
        probation: null,
        error: {
          code: 'UPDATE_PROBATION_FAILED',
          message: `${p.version} crashed ${p.crashes} times during its probation; ${why}`,
        },
        log: [...x.log, `${new Date().toISOString()} probation failed: ${why}`],
      }));
      this.crashes++;
      this.restartTimer = setTimeout(() => {
        this.restartTimer = null;
        if (!this.stopping && !this.child) void this.resetBackoffWhenHealthy(this.launch());
      }, 1_000);
      return;
    }
    this.log(`rolling back ${p.version}: ${p.crashes} crashes during probation`);
    await this.stopChild();
    this.layout.switchTo(p.previous_target);
    let restored = false;
    if (p.backup && p.database && existsSync(p.backup)) {
      restoreDatabase(this.options.databaseUrl, p.backup);
      restored = true;
    }
    const back = this.layout.currentVersion();
    if (back !== p.version) rmSync(this.layout.releaseDir(p.version), { recursive: true, force: true });
    this.finish(
      'rolled_back',
      {
        code: 'UPDATE_PROBATION_FAILED',
        message: `${p.version} crashed ${p.crashes} times during its probation; rolled back to ${back}`,
      },
      `rolled back to ${back} after ${p.crashes} crashes in probation${restored ? ', database restored (no write had been acknowledged since the commit)' : ''}`,
    );
    if (this.needsHandover()) {
      this.options.launcher?.onHandover();
      return;
    }
    const outcome = await this.launchAndWait(back ?? undefined);
    if (outcome.ok) this.notifyUp();
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

  /**
   * Starts `current` and waits until it is healthy (two good probes), it exits, or the window closes. On
   * `trial` (a switched release) it must then stay up with its health green for the stability window too.
   */
  private async launchAndWait(
    expectedVersion: string | undefined,
    options: { trial?: boolean } = {},
  ): Promise<Outcome> {
    if (this.restartTimer) {
      clearTimeout(this.restartTimer);
      this.restartTimer = null;
    }
    const child = this.launch(options);
    const startedAt = Date.now();
    let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    child.once('exit', (code, signal) => {
      exited = { code, signal };
    });
    const timeoutMs = this.options.healthTimeoutMs ?? 90_000;
    const deadline = Date.now() + timeoutMs;
    const interval = this.options.healthIntervalMs ?? 300;
    const exitedOutcome = (code: string, what: string): Outcome => {
      const e = exited as unknown as { code: number | null; signal: NodeJS.Signals | null };
      return {
        ok: false,
        code,
        detail: `release ${expectedVersion} ${what} (${e.signal ?? `code ${e.code}`}, ${((Date.now() - startedAt) / 1000).toFixed(1)} s after start): ${this.tail.slice(-3).join(' | ') || 'no output'}`,
      };
    };
    let good = 0;
    let last = 'no answer yet';
    await this.hook('sup:health_check');
    while (good < 2) {
      if (Date.now() >= deadline) {
        return {
          ok: false,
          code: 'UPDATE_HEALTH_CHECK_FAILED',
          detail: `release ${expectedVersion} did not pass its health check within ${Math.round(timeoutMs / 1000)} s: ${last}`,
        };
      }
      if (exited) return exitedOutcome('UPDATE_START_FAILED', 'exited during start');
      const probe = await probeHealth(this.baseUrl, expectedVersion);
      last = probe.detail;
      good = probe.ok ? good + 1 : 0;
      if (good < 2) await new Promise((r) => setTimeout(r, interval));
    }
    if (!options.trial) return { ok: true };
    const stability = this.options.stabilityMs ?? DEFAULT_STABILITY_MS;
    const stableUntil = Date.now() + stability;
    let bad = 0;
    while (Date.now() < stableUntil) {
      await new Promise((r) => setTimeout(r, Math.min(interval * 3, 1_000)));
      if (exited) return exitedOutcome('UPDATE_UNSTABLE', 'exited during its stability window');
      const probe = await probeHealth(this.baseUrl, expectedVersion);
      bad = probe.ok ? 0 : bad + 1;
      // One slow probe on a loaded host is not a failure; three in a row are.
      if (bad >= 3) {
        return {
          ok: false,
          code: 'UPDATE_UNSTABLE',
          detail: `release ${expectedVersion} became unhealthy during its ${Math.round(stability / 1000)} s stability window: ${probe.detail}`,
        };
      }
    }
    if (exited) return exitedOutcome('UPDATE_UNSTABLE', 'exited during its stability window');
    return { ok: true };
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
