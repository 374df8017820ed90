import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import type {
  CheckUpdateResponse,
  ReleaseChannel,
  ReleasePayload,
  SignedDocument,
  TrustedKeys,
  UpdateCheckPayload,
} from '@wispanel/contract';
import semver from 'semver';
import type { InstallLayout } from './install-layout';
import type { PortalDownloads } from './portal-downloads';
import { unpackRelease } from './release-archive';
import { errorCodeOf, UpdateError } from './update-error';
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
    if (
      PREPARE_STATES.includes(s.state) &&
      !s.ready_to_switch &&
      !processAlive(s.owner_pid) &&
      !this.running
    ) {
      return this.reconcile();
    }
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
      if (isActive(s) && (processAlive(s.owner_pid) || s.ready_to_switch || s.switch)) {
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
        switch: null,
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
    const done = this.prepare(jobId, plan).catch((err) => {
      const { code, message } = errorCodeOf(err);
      this.fail(jobId, code, message);
    });
    this.running = done.finally(() => {
      this.running = null;
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

  private async prepare(jobId: string, plan: PlannedUpdate): Promise<void> {
    const { layout, store, portal } = this.deps;
    const { release } = plan;
    layout.ensure();
    this.step(jobId, 'downloading', `requesting a download token for ${release.version}`);
    await this.hook('downloading');
    const { key, hardwareId } = await this.deps.credentials();
    let token = await portal.token({ key, hardware_id: hardwareId, version: release.version });
    if (token.size !== release.size || token.sha256 !== release.sha256) {
      throw new UpdateError(
        'UPDATE_METADATA_MISMATCH',
        `download token describes ${token.size} bytes / ${token.sha256}, the signed release ${release.size} / ${release.sha256}`,
      );
    }
    const file = join(layout.stagingDir, `wispanel-${release.version}.tar.gz`);
    mkdirSync(layout.stagingDir, { recursive: true });
    if (existsSync(`${file}.part`)) store.log('resuming a previous partial download');
    let lastWrite = 0;
    let hooked = false;
    const onProgress = (bytes: number, total: number) => {
      const t = Date.now();
      if (t - lastWrite < THROTTLE_MS && bytes < total) return;
      lastWrite = t;
      this.ownedUpdate(jobId, (s) => ({
        ...s,
        progress: { bytes, total, percent: Math.floor((bytes / total) * 1000) / 10 },
      }));
      if (!hooked && bytes >= total / 2) {
        hooked = true;
        void this.hook('download-half');
      }
    };
    let downloaded: { size: number; sha256: string } | undefined;
    for (let attempt = 0; !downloaded; attempt++) {
      try {
        downloaded = await portal.download(token, file, { onProgress });
      } catch (err) {
        if (!(err as { tokenRefused?: boolean }).tokenRefused || attempt >= 2) throw err;
        this.deps.store.log('download token expired; requesting a new one and resuming');
        token = await portal.token({ key, hardware_id: hardwareId, version: release.version });
      }
    }
    this.step(jobId, 'verifying', 'verifying size and SHA-256 against the signed metadata');
    await this.hook('verifying');
    // The client hashed the bytes as they arrived (resumed prefix included); no second pass over the file.
    const actual = { size: downloaded.size, sha256: downloaded.sha256 };
    try {
      checkArtifact(actual, release);
    } catch (err) {
      rmSync(file, { force: true });
      throw err;
    }
    this.ownedUpdate(jobId, (s) => ({
      ...s,
      progress: { bytes: actual.size, total: actual.size, percent: 100 },
    }));
    this.step(jobId, 'installing', `unpacking into releases/${release.version}`);
    await this.hook('installing');
    const { manifest } = await unpackRelease(file, layout, release.version);
    try {
      this.preflight(manifest.node_engine, release.size);
    } catch (err) {
      rmSync(layout.releaseDir(release.version), { recursive: true, force: true });
      throw err;
    }
    await this.hook('unpacked');
    rmSync(file, { force: true });
    this.ownedUpdate(jobId, (s) => ({
      ...s,
      state: 'restarting',
      ready_to_switch: true,
      log: [
        ...s.log,
        `${this.clock().toISOString()} release ${release.version} ready; asking the supervisor to switch`,
      ],
    }));
    await this.hook('ready');
    this.deps.requestSwitch();
  }

  private preflight(engine: string | undefined, artifactSize: number): void {
    const nodeVersion = this.deps.nodeVersion ?? process.versions.node;
    if (engine && semver.validRange(engine) && !semver.satisfies(nodeVersion, engine)) {
      throw new UpdateError(
        'UPDATE_PREFLIGHT_FAILED',
        `release needs Node ${engine}, this server runs ${nodeVersion}`,
      );
    }
    const fs = statfsSync(this.deps.layout.root);
    const free = Number(fs.bavail) * Number(fs.bsize);
    const needed = (this.deps.reserveBytes ?? 64 * 1024 * 1024) + artifactSize * 2;
    if (free < needed) {
      throw new UpdateError(
        'UPDATE_PREFLIGHT_FAILED',
        `only ${Math.floor(free / 1e6)} MB free in ${this.deps.layout.root}, need ${Math.ceil(needed / 1e6)} MB (release, database backup, reserve)`,
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

  private fail(jobId: string, code: string, message: string): void {
    this.deps.layout.prune(Number.POSITIVE_INFINITY, []);
    this.ownedUpdate(jobId, (s) => ({
      ...s,
      state: 'failed',
      finished_at: this.clock().toISOString(),
      owner_pid: null,
      ready_to_switch: false,
      error: { code, message },
      log: [...s.log, `${this.clock().toISOString()} failed: ${code}: ${message}`],
    }));
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
    if (
      !PREPARE_STATES.includes(s.state) ||
      s.ready_to_switch ||
      processAlive(s.owner_pid) ||
      isRunningHere(s)
    ) {
      return s;
    }
    layout.prune(Number.POSITIVE_INFINITY);
    const at = s.state;
    const now = new Date().toISOString();
    return {
      ...s,
      state: 'failed',
      finished_at: now,
      owner_pid: null,
      error: {
        code: 'UPDATE_INTERRUPTED',
        message: `the update process stopped during step ${at}; ${s.from_version ?? 'the old release'} kept running (a partial download resumes on the next attempt)`,
      },
      log: [...s.log, `${now} interrupted during ${at}; nothing was switched`],
    };
  });
}
