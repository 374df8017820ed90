import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, statfsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type {
  CheckUpdateResponse,
  DownloadTokenResponse,
  ReleaseChannel,
  ReleasePayload,
  SignedDocument,
  TrustedKeys,
  UpdateCheckPayload,
} from '@wispanel/contract';
import semver from 'semver';
import type { InstallLayout } from './install-layout';
import type { PortalDownloads } from './portal-downloads';
import type { unpackRelease as UnpackRelease } from './release-archive';
import type { StreamedUnpack } from './release-stream';
import { diskErrno, errorCodeOf, UpdateError } from './update-error';
import {
  isActive,
  PREPARE_STATES,
  processAlive,
  type UpdateStateStore,
  type UpdateStatus,
} from './update-state';
import { checkArtifact, checkTargetVersion, verifyRelease, verifyUpdateCheck } from './verify';

export interface UpdateCredentials {
  key: string;
  hardwareId: string;
}

export interface PipelineDeps {
  layout: InstallLayout;
  store: UpdateStateStore;
  portal: PortalDownloads;
  trustedKeys: () => TrustedKeys;
  /** The activated license key and this server's hardware id; throws UpdateError('LICENSE_REQUIRED') without one. */
  credentials: () => Promise<UpdateCredentials>;
  currentVersion: string;
  channel: ReleaseChannel;
  clock?: () => Date;
  /** Hands a prepared release to the supervisor (IPC from the panel, a signal from the `update` command). */
  requestSwitch: () => void;
  /** Free space that must remain after unpacking (bytes). */
  reserveBytes?: number;
  /** Node version to check release engines against (default: this process). */
  nodeVersion?: string;
  /** Test hook run at named steps (pause or kill there); see `stepHookFromEnv`. */
  hook?: (step: string) => Promise<void>;
  /** The SQLite database file the supervisor backs up before the switch (its size is checked up front). */
  databaseFile?: string | null;
  /** Download limits (a slow or stalled portal must not hold the update slot forever). */
  downloadPolicy?: Partial<DownloadPolicy>;
}

/** Download limits; defaults in DEFAULT_DOWNLOAD_POLICY, documented in docs/updates.md. */
export interface DownloadPolicy {
  /** Whole preparation (download, verify, unpack) must end within this (ms). */
  deadlineMs: number;
  /** At least this many bytes must arrive in every `windowMs` of the download. */
  minBytesPerWindow: number;
  windowMs: number;
}

export const DEFAULT_DOWNLOAD_POLICY: DownloadPolicy = {
  deadlineMs: 30 * 60_000,
  minBytesPerWindow: 1024 * 1024,
  windowMs: 60_000,
};

/** Download policy from the environment (`WISPANEL_UPDATE_DEADLINE`, `…_MIN_RATE`, `…_RATE_WINDOW`, seconds/bytes). */
export function downloadPolicyFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<DownloadPolicy> {
  const num = (name: string, min: number): number | undefined => {
    const raw = env[name];
    if (raw === undefined || raw === '') return undefined;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min) throw new Error(`${name} must be a number >= ${min}, got "${raw}"`);
    return n;
  };
  const deadline = num('WISPANEL_UPDATE_DEADLINE', 1);
  const rate = num('WISPANEL_UPDATE_MIN_RATE', 0);
  const window = num('WISPANEL_UPDATE_RATE_WINDOW', 1);
  const out: Partial<DownloadPolicy> = {};
  if (deadline !== undefined) out.deadlineMs = deadline * 1000;
  if (window !== undefined) out.windowMs = window * 1000;
  if (rate !== undefined)
    out.minBytesPerWindow = Math.floor(rate * ((out.windowMs ?? DEFAULT_DOWNLOAD_POLICY.windowMs) / 1000));
  return out;
}

/** Failures after which a partial download is kept so that the next attempt resumes it. */
const RESUMABLE = new Set([
  'UPDATE_DOWNLOAD_FAILED',
  'UPDATE_DOWNLOAD_TOO_SLOW',
  'PORTAL_UNREACHABLE',
  'PORTAL_ERROR',
  'UPDATE_INTERRUPTED',
]);

/** Removes everything in staging/ except (when given) the partial download to resume. */
export function cleanStaging(layout: InstallLayout, keep: string | null): void {
  let names: string[];
  try {
    names = readdirSync(layout.stagingDir);
  } catch {
    return;
  }
  for (const name of names) {
    if (name === keep) continue;
    try {
      rmSync(join(layout.stagingDir, name), { recursive: true, force: true });
    } catch {
      /* best effort */
    }
  }
}

function fileSize(path: string | null | undefined): number {
  if (!path) return 0;
  let n = 0;
  for (const p of [path, `${path}-wal`]) {
    try {
      n += statSync(p).size;
    } catch {
      /* absent */
    }
  }
  return n;
}

export interface VerifiedCheck {
  payload: UpdateCheckPayload;
  response: CheckUpdateResponse;
}

export interface PlannedUpdate {
  release: ReleasePayload;
  releaseDoc: SignedDocument;
}

const THROTTLE_MS = 250;

/**
 * The panel half of an update: check → plan (verify the signed answers, refuse downgrades) → download (resumable,
 * into staging) → verify the artifact → unpack and pre-flight → mark ready and hand over to the supervisor, which
 * switches, restarts, health-checks and commits or rolls back. Every step is written to the state file first.
 */
export class UpdatePipeline {
  private readonly clock: () => Date;
  private running: Promise<void> | null = null;
  private abort: AbortController | null = null;

  constructor(private readonly deps: PipelineDeps) {
    this.clock = deps.clock ?? (() => new Date());
  }

  /** check-update with a fresh nonce; the answer is verified before anything in it is believed. */
  async check(currentVersion = this.deps.currentVersion): Promise<VerifiedCheck> {
    const { key, hardwareId } = await this.deps.credentials();
    const nonce = randomBytes(16).toString('hex');
    const response = await this.deps.portal.checkUpdate({
      key,
      hardware_id: hardwareId,
      current_version: currentVersion,
      channel: this.deps.channel,
      nonce,
    });
    if (!response || typeof response !== 'object' || !response.signed) {
      throw new UpdateError('UPDATE_BAD_SIGNATURE', 'check-update answer carries no signed document');
    }
    const payload = verifyUpdateCheck(response.signed, {
      keys: this.deps.trustedKeys(),
      nonce,
      hardwareId,
      now: this.clock(),
    });
    return { payload, response };
  }

  /** Status as stored, with interrupted preparation steps (dead owner) reported as such. */
  status(): UpdateStatus {
    const s = this.deps.store.read();
    const orphaned =
      (PREPARE_STATES.includes(s.state) && !s.ready_to_switch) ||
      (s.state === 'restarting' && s.ready_to_switch && !s.switch_requested && !s.switch);
    if (orphaned && !processAlive(s.owner_pid) && !this.running) return this.reconcile();
    return s;
  }

  /** Marks a preparation step whose process died as failed (the running release never changed). */
  reconcile(): UpdateStatus {
    return reconcileInterrupted(
      this.deps.store,
      this.deps.layout,
      (s) => s.owner_pid === process.pid && !!this.running,
    );
  }

  /**
   * Claims the one update slot (409 UPDATE_IN_PROGRESS when taken), checks and plans synchronously (so a bad
   * signature, a stale answer or a downgrade is answered at once), then runs the rest in the background.
   * Returns the job and a promise for the preparation.
   */
  async start(options: {
    version?: string;
    allowDowngrade?: boolean;
    source: string;
  }): Promise<{ job: UpdateStatus; done: Promise<void> }> {
    if (options.version !== undefined) {
      // One spelling from here on (v1.2.3 → 1.2.3): the portal and the signed metadata use the bare form.
      const version = semver.valid(options.version);
      if (!version) {
        throw new UpdateError(
          'VALIDATION_ERROR',
          `version must be a semantic version x.y.z, got "${options.version}"`,
        );
      }
      options = { ...options, version };
    }
    const jobId = randomBytes(8).toString('hex');
    const now = () => this.clock().toISOString();
    const previous = this.deps.store.read();
    const claimed = this.deps.store.update((s) => {
      if (
        isActive(s) &&
        (processAlive(s.owner_pid) || (s.ready_to_switch && s.switch_requested) || s.switch)
      ) {
        throw new UpdateError(
          'UPDATE_IN_PROGRESS',
          `update ${s.job_id} to ${s.to_version ?? '?'} is running (state ${s.state})`,
        );
      }
      return {
        job_id: jobId,
        state: 'checking',
        from_version: this.deps.currentVersion,
        to_version: options.version ?? null,
        progress: { bytes: 0, total: null, percent: null },
        started_at: now(),
        updated_at: now(),
        finished_at: null,
        error: null,
        log: [
          `${now()} update requested (${options.source}${options.version ? `, version ${options.version}` : ''})`,
        ],
        owner_pid: process.pid,
        ready_to_switch: false,
        switch_requested: false,
        cancel_requested: false,
        switch: null,
        probation: s.probation,
        source: options.source,
      };
    });
    let plan: PlannedUpdate;
    try {
      await this.hook('checking');
      plan = await this.plan(options.version, options.allowDowngrade ?? false);
    } catch (err) {
      const { code, message } = errorCodeOf(err);
      if (code === 'UPDATE_NOT_AVAILABLE') {
        // Nothing to do is not a failed update: keep the previous job's status.
        this.deps.store.update(() => ({
          ...previous,
          log: [...previous.log, `${now()} checked: ${message}`],
        }));
      } else {
        this.fail(jobId, code, message);
      }
      throw err;
    }
    this.deps.store.log(`verified signed metadata of ${plan.release.version} (${plan.release.size} bytes)`, {
      to_version: plan.release.version,
      progress: { bytes: 0, total: plan.release.size, percent: 0 },
    });
    const abort = new AbortController();
    this.abort = abort;
    const done = this.prepare(jobId, plan, abort).catch((err) => {
      const { code, message } = errorCodeOf(abort.signal.aborted ? abort.signal.reason : err);
      this.fail(jobId, code, message, plan.release.version);
    });
    this.running = done.finally(() => {
      this.running = null;
      if (this.abort === abort) this.abort = null;
    });
    return { job: { ...claimed, to_version: plan.release.version }, done };
  }

  /** Which release to install, from a fresh verified answer; refuses equal/older versions unless allowed. */
  async plan(version: string | undefined, allowDowngrade: boolean): Promise<PlannedUpdate> {
    if (version !== undefined && !semver.valid(version)) {
      throw new UpdateError('VALIDATION_ERROR', `version must be a semantic version x.y.z, got "${version}"`);
    }
    const { payload } = await this.check();
    let releaseDoc: SignedDocument | null = null;
    if (payload.release) {
      const latest = verifyRelease(payload.release, this.deps.trustedKeys());
      if (version === undefined || latest.version === version) releaseDoc = payload.release;
    }
    if (version === undefined) {
      if (!payload.update_available || !releaseDoc) {
        throw new UpdateError('UPDATE_NOT_AVAILABLE', `no newer release in channel ${this.deps.channel}`);
      }
    } else if (!releaseDoc) {
      // A named version other than the latest: its signed metadata comes with its download token.
      checkTargetVersion({ version, min_version: null }, this.deps.currentVersion, allowDowngrade);
      const { key, hardwareId } = await this.deps.credentials();
      const token = await this.deps.portal.token({ key, hardware_id: hardwareId, version });
      if (!token.release) {
        throw new UpdateError(
          'UPDATE_BAD_SIGNATURE',
          `the portal sent no signed release metadata for ${version}; refusing to install unsigned software`,
        );
      }
      releaseDoc = token.release;
    }
    const release = verifyRelease(releaseDoc, this.deps.trustedKeys(), version);
    checkTargetVersion(release, this.deps.currentVersion, allowDowngrade);
    return { release, releaseDoc };
  }

  /**
   * Asks the running preparation to stop (POST /version/update/cancel, or the job's owner seeing
   * `cancel_requested` in the state file when another process runs it). Only before the hand-over to the
   * supervisor: a switch in progress is never interrupted (it ends committed or rolled back by itself).
   */
  cancel(): UpdateStatus {
    const s = this.deps.store.read();
    const preparing =
      PREPARE_STATES.includes(s.state) ||
      (s.state === 'restarting' && s.ready_to_switch && !s.switch_requested);
    if (!isActive(s) || !preparing) {
      throw new UpdateError(
        'UPDATE_NOT_CANCELLABLE',
        isActive(s)
          ? `update ${s.job_id} is past the hand-over to the supervisor (state ${s.state}); it ends committed or rolled back by itself`
          : 'no update is being prepared',
      );
    }
    if (this.abort && s.owner_pid === process.pid) {
      this.abort.abort(new UpdateError('UPDATE_CANCELLED', 'update cancelled by an administrator'));
      return this.deps.store.read();
    }
    if (!processAlive(s.owner_pid)) return this.reconcile();
    // Another process (`wispanel update`) owns the job: it polls the flag and stops itself.
    return this.deps.store.update((x) => (x.job_id === s.job_id ? { ...x, cancel_requested: true } : x));
  }

  /** Resolves when the preparation running in this process (if any) has ended. */
  async settled(): Promise<void> {
    await this.running?.catch(() => {});
  }

  private async prepare(jobId: string, plan: PlannedUpdate, abort: AbortController): Promise<void> {
    const policy = { ...DEFAULT_DOWNLOAD_POLICY, ...this.deps.downloadPolicy };
    const startedAt = Date.now();
    let windowStart = Date.now();
    let windowBytes = 0;
    let downloading = false;
    // One watchdog for the whole preparation: overall deadline, minimum throughput while downloading, and a
    // cancel requested through the state file (by the API of a panel that does not own the job).
    const watchdog = setInterval(() => {
      if (abort.signal.aborted) return;
      const now = Date.now();
      if (now - startedAt > policy.deadlineMs) {
        abort.abort(
          new UpdateError(
            'UPDATE_DOWNLOAD_TOO_SLOW',
            `preparing the update took longer than ${Math.round(policy.deadlineMs / 1000)} s; stopped (the partial download resumes on the next attempt)`,
          ),
        );
        return;
      }
      if (downloading && now - windowStart >= policy.windowMs) {
        if (windowBytes < policy.minBytesPerWindow) {
          abort.abort(
            new UpdateError(
              'UPDATE_DOWNLOAD_TOO_SLOW',
              `download too slow: ${windowBytes} bytes in ${Math.round((now - windowStart) / 1000)} s, at least ${policy.minBytesPerWindow} required; stopped (it resumes on the next attempt)`,
            ),
          );
          return;
        }
        windowStart = now;
        windowBytes = 0;
      }
      try {
        if (this.deps.store.read().cancel_requested) {
          abort.abort(new UpdateError('UPDATE_CANCELLED', 'update cancelled by an administrator'));
        }
      } catch {
        /* unreadable state: the next tick tries again */
      }
    }, 250);
    watchdog.unref?.();
    try {
      await this.prepareSteps(jobId, plan, abort.signal, (bytes, isDownloading) => {
        if (isDownloading !== downloading) {
          downloading = isDownloading;
          windowStart = Date.now();
          windowBytes = 0;
        }
        windowBytes += bytes;
      });
    } finally {
      clearInterval(watchdog);
    }
  }

  private async prepareSteps(
    jobId: string,
    plan: PlannedUpdate,
    signal: AbortSignal,
    meter: (bytes: number, downloading: boolean) => void,
  ): Promise<void> {
    const { layout, store, portal } = this.deps;
    const { release } = plan;
    const check = () => {
      if (signal.aborted) throw signal.reason;
    };
    layout.ensure();
    const file = join(layout.stagingDir, `wispanel-${release.version}.tar.gz`);
    // Left-overs of other attempts (other versions, rejected files) go; only this version's partial stays.
    cleanStaging(layout, `wispanel-${release.version}.tar.gz.part`);
    this.preflightSpace(release.size);
    this.step(jobId, 'downloading', `requesting a download token for ${release.version}`);
    await this.hook('downloading');
    check();
    const { key, hardwareId } = await this.deps.credentials();
    const token = await portal.token({ key, hardware_id: hardwareId, version: release.version });
    if (token.size !== release.size || token.sha256 !== release.sha256) {
      throw new UpdateError(
        'UPDATE_METADATA_MISMATCH',
        `download token describes ${token.size} bytes / ${token.sha256}, the signed release ${release.size} / ${release.sha256}`,
      );
    }
    mkdirSync(layout.stagingDir, { recursive: true });
    if (existsSync(`${file}.part`)) store.log('resuming a previous partial download');
    let lastWrite = 0;
    let lastBytes = -1;
    let hooked = false;
    const onProgress = (bytes: number, total: number) => {
      if (lastBytes >= 0 && bytes > lastBytes) meter(bytes - lastBytes, true);
      lastBytes = bytes;
      const t = Date.now();
      if (t - lastWrite < THROTTLE_MS && bytes < total) return;
      lastWrite = t;
      try {
        this.ownedUpdate(jobId, (s) => ({
          ...s,
          progress: { bytes, total, percent: Math.floor((bytes / total) * 1000) / 10 },
        }));
      } catch {
        // Progress is cosmetic; a status write that fails (disk full) must not break the download — the
        // download's own write fails next and is reported as UPDATE_DISK_FULL.
      }
      if (!hooked && bytes >= total / 2) {
        hooked = true;
        void this.hook('download-half');
      }
    };
    meter(0, true);
    // Loaded when an update runs (tar is not needed by a panel that is not updating).
    const [{ StreamedUnpack }, { unpackRelease }] = await Promise.all([
      import('./release-stream'),
      import('./release-archive'),
    ]);
    // Unpacked while it downloads, into a private dir under staging/; believed only after the hash check below.
    const streamed = new StreamedUnpack(layout, release.version, this.streamBudget(release.size));
    try {
      await this.downloadVerifyUnpack(jobId, plan, file, token, {
        streamed,
        unpackRelease,
        signal,
        onProgress,
        newAttempt: () => {
          lastBytes = -1;
        },
        meter,
        check,
        key,
        hardwareId,
      });
    } catch (err) {
      // Unverified bytes never stay: the streamed dir goes with any failure (hash mismatch, cancel, deadline…).
      await streamed.discard();
      throw err;
    }
    await this.hook('unpacked');
    rmSync(file, { force: true });
    this.ownedUpdate(jobId, (s) => ({
      ...s,
      state: 'restarting',
      ready_to_switch: true,
      log: [...s.log, `${this.clock().toISOString()} release ${release.version} ready`],
    }));
    await this.hook('ready');
    check();
    // Recorded before the signal: a process killed between the two leaves a request the supervisor finishes;
    // one killed before leaves a job that is abandoned visibly (never applied later unannounced).
    this.ownedUpdate(jobId, (s) => ({
      ...s,
      switch_requested: true,
      log: [...s.log, `${this.clock().toISOString()} asking the supervisor to switch to ${release.version}`],
    }));
    this.deps.requestSwitch();
  }

  /** Download (unpacking as the bytes arrive), compare size and SHA-256 with the signed metadata, install. */
  private async downloadVerifyUnpack(
    jobId: string,
    plan: PlannedUpdate,
    file: string,
    firstToken: DownloadTokenResponse,
    io: {
      streamed: StreamedUnpack;
      unpackRelease: typeof UnpackRelease;
      signal: AbortSignal;
      onProgress: (bytes: number, total: number) => void;
      newAttempt: () => void;
      meter: (bytes: number, downloading: boolean) => void;
      check: () => void;
      key: string;
      hardwareId: string;
    },
  ): Promise<void> {
    const { layout, portal } = this.deps;
    const { release } = plan;
    const { streamed, signal, onProgress, meter, check, key, hardwareId } = io;
    let token = firstToken;
    let downloaded: { size: number; sha256: string } | undefined;
    try {
      for (let attempt = 0; !downloaded; attempt++) {
        try {
          io.newAttempt();
          downloaded = await portal.download(token, file, {
            onProgress,
            signal,
            sink: () => streamed.begin(),
          });
        } catch (err) {
          check();
          if (!(err as { tokenRefused?: boolean }).tokenRefused || attempt >= 2) throw err;
          this.deps.store.log('download token expired; requesting a new one and resuming');
          token = await portal.token({ key, hardware_id: hardwareId, version: release.version });
        }
      }
    } catch (err) {
      check();
      const errno = diskErrno(err);
      if (errno) {
        // Free what filled the disk before anything else (the status write below needs the space too).
        await streamed.discard();
        rmSync(`${file}.part`, { force: true });
        rmSync(file, { force: true });
        throw new UpdateError(
          'UPDATE_DISK_FULL',
          `disk full while downloading into ${layout.stagingDir} (${errno}); the partial download was removed`,
        );
      }
      throw err;
    } finally {
      meter(0, false);
    }
    check();
    this.step(jobId, 'verifying', 'verifying size and SHA-256 against the signed metadata');
    await this.hook('verifying');
    // The client hashed the bytes as they arrived (resumed prefix included); no second pass over the file.
    const actual = { size: downloaded.size, sha256: downloaded.sha256 };
    try {
      checkArtifact(actual, release);
    } catch (err) {
      await streamed.discard();
      rmSync(file, { force: true });
      throw err;
    }
    this.ownedUpdate(jobId, (s) => ({
      ...s,
      progress: { bytes: actual.size, total: actual.size, percent: 100 },
    }));
    check();
    this.step(jobId, 'installing', `unpacking into releases/${release.version}`);
    await this.hook('installing');
    check();
    // The bytes unpacked while downloading are the ones just verified; when streaming was given up (or the
    // portal cannot stream), the verified file is unpacked now.
    let unpacked = await streamed.install();
    if (unpacked) {
      this.deps.store.log(`unpacked while downloading (verified: size, SHA-256, signature)`);
    } else {
      if (streamed.outcome !== 'not-started') {
        this.deps.store.log(`unpacking the verified file (streamed unpack given up: ${streamed.outcome})`);
      }
      unpacked = await io.unpackRelease(file, layout, release.version);
    }
    try {
      check();
      this.preflight(unpacked.manifest.node_engine);
    } catch (err) {
      rmSync(layout.releaseDir(release.version), { recursive: true, force: true });
      throw err;
    }
  }

  /**
   * What unverified bytes may take on disk while streaming: the free space less the reserve and the download
   * itself, and at most 20× the artifact (64 MiB at least). Past it the stream is given up (a gzip bomb
   * in a tampered download cannot fill the disk); a real release then unpacks after its hash check.
   */
  private streamBudget(artifactSize: number): number {
    const reserve = this.deps.reserveBytes ?? 64 * 1024 * 1024;
    let free = 0;
    try {
      const fs = statfsSync(this.deps.layout.stagingDir);
      free = Number(fs.bavail) * Number(fs.bsize);
    } catch {
      return 0;
    }
    return Math.max(
      0,
      Math.min(free - reserve - artifactSize, Math.max(20 * artifactSize, 64 * 1024 * 1024)),
    );
  }

  private preflight(engine: string | undefined): void {
    const nodeVersion = this.deps.nodeVersion ?? process.versions.node;
    if (engine && semver.validRange(engine) && !semver.satisfies(nodeVersion, engine)) {
      throw new UpdateError(
        'UPDATE_PREFLIGHT_FAILED',
        `release needs Node ${engine}, this server runs ${nodeVersion}`,
      );
    }
    this.preflightSpace(0);
  }

  /**
   * Free space, checked before the download (artifact + unpacked release, estimated at 3x the artifact) and
   * again after unpacking: the install dir keeps the reserve, and the backups dir must hold a copy of the
   * database (its size, WAL included). The supervisor checks the backup space once more before stopping anything.
   */
  private preflightSpace(artifactSize: number): void {
    const { layout } = this.deps;
    const reserve = this.deps.reserveBytes ?? 64 * 1024 * 1024;
    const dbBytes = fileSize(this.deps.databaseFile);
    const free = (dir: string) => {
      const fs = statfsSync(existsSync(dir) ? dir : layout.root);
      return {
        bytes: Number(fs.bavail) * Number(fs.bsize),
        dev: statSync(existsSync(dir) ? dir : layout.root).dev,
      };
    };
    const root = free(layout.root);
    const backups = free(layout.backupsDir);
    const same = root.dev === backups.dev;
    const needRoot = reserve + artifactSize * 4 + (same ? dbBytes : 0);
    const mb = (n: number) => `${Math.ceil(n / 1e6)} MB`;
    if (root.bytes < needRoot) {
      throw new UpdateError(
        'UPDATE_PREFLIGHT_FAILED',
        `only ${mb(root.bytes)} free in ${layout.root}, need ${mb(needRoot)} (download and unpacked release ${mb(artifactSize * 4)}, database backup ${mb(same ? dbBytes : 0)}, reserve ${mb(reserve)})`,
      );
    }
    if (!same && backups.bytes < dbBytes + 1024 * 1024) {
      throw new UpdateError(
        'UPDATE_PREFLIGHT_FAILED',
        `only ${mb(backups.bytes)} free in ${layout.backupsDir}, the database backup needs ${mb(dbBytes + 1024 * 1024)}`,
      );
    }
  }

  private step(jobId: string, state: UpdateStatus['state'], line: string): void {
    this.ownedUpdate(jobId, (s) => ({
      ...s,
      state,
      log: [...s.log, `${this.clock().toISOString()} ${line}`],
    }));
  }

  /** Updates the status only while it still belongs to this job. */
  private ownedUpdate(jobId: string, fn: (s: UpdateStatus) => UpdateStatus): void {
    this.deps.store.update((s) => (s.job_id === jobId ? fn(s) : s));
  }

  private fail(jobId: string, code: string, message: string, version?: string): void {
    // Rejected or failed artifacts never stay in staging/; a partial download is kept only when the next
    // attempt can resume it.
    const part = version && RESUMABLE.has(code) ? `wispanel-${version}.tar.gz.part` : null;
    try {
      cleanStaging(this.deps.layout, part);
      this.deps.layout.prune(Number.POSITIVE_INFINITY, []);
      this.ownedUpdate(jobId, (s) => ({
        ...s,
        state: 'failed',
        finished_at: this.clock().toISOString(),
        owner_pid: null,
        ready_to_switch: false,
        switch_requested: false,
        cancel_requested: false,
        error: { code, message },
        log: [...s.log, `${this.clock().toISOString()} failed: ${code}: ${message}`],
      }));
    } catch (err) {
      // Even the status cannot be written (disk still full, read-only): the job is reconciled as interrupted
      // when its owner is gone; this process keeps serving.
      process.stderr.write(
        `update ${jobId} failed (${code}: ${message}); status not written: ${(err as Error).message}\n`,
      );
    }
  }

  private async hook(step: string): Promise<void> {
    await this.deps.hook?.(step);
  }
}

/**
 * Marks a preparation step whose process died as failed (the running release never changed). Used by the
 * supervisor at start and by the panel when it reads the status.
 */
export function reconcileInterrupted(
  store: UpdateStateStore,
  layout: InstallLayout,
  isRunningHere: (s: UpdateStatus) => boolean = () => false,
): UpdateStatus {
  return store.update((s) => {
    if (processAlive(s.owner_pid) || isRunningHere(s) || s.switch) return s;
    const orphanedReady =
      s.state === 'restarting' && s.ready_to_switch && !s.switch_requested && !!s.to_version;
    if (!orphanedReady && (!PREPARE_STATES.includes(s.state) || s.ready_to_switch)) return s;
    const now = new Date().toISOString();
    if (orphanedReady) {
      // Prepared, but its process died before handing it to the supervisor: abandoned, visibly — never
      // switched to later without anyone asking.
      const v = s.to_version as string;
      if (layout.currentVersion() !== v) rmSync(layout.releaseDir(v), { recursive: true, force: true });
      cleanStaging(layout, null);
      return {
        ...s,
        state: 'failed',
        finished_at: now,
        owner_pid: null,
        ready_to_switch: false,
        error: {
          code: 'UPDATE_INTERRUPTED',
          message: `the update process stopped after preparing ${v} and before handing it to the supervisor; nothing was switched, ${s.from_version ?? 'the old release'} kept running (start the update again)`,
        },
        log: [
          ...s.log,
          `${now} prepared release ${v} abandoned: its update process died before the hand-over`,
        ],
      };
    }
    layout.prune(Number.POSITIVE_INFINITY);
    const at = s.state;
    // A partial download resumes; anything else left in staging/ goes.
    cleanStaging(layout, s.to_version ? `wispanel-${s.to_version}.tar.gz.part` : null);
    return {
      ...s,
      state: 'failed',
      finished_at: now,
      owner_pid: null,
      cancel_requested: false,
      error: {
        code: 'UPDATE_INTERRUPTED',
        message: `the update process stopped during step ${at}; ${s.from_version ?? 'the old release'} kept running (a partial download resumes on the next attempt)`,
      },
      log: [...s.log, `${now} interrupted during ${at}; nothing was switched`],
    };
  });
}
