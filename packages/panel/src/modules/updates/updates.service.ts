import type { ReleaseChannel, TrustedKeys } from '@wispanel/contract';
import { AppError } from '@wispanel/kit';
import type { PanelConfig } from '../../config';
import { sqliteFileOf } from '../../supervisor/database-backup';
import type { BuildInfo } from '../../version';
import { PortalKeysUnavailable, type PortalTrustSource } from '../license/portal-trust';
import { InstallLayout } from './install-layout';
import type { PortalDownloads } from './portal-downloads';
import { stepHookFromEnv } from './step-hook';
import { UpdateError } from './update-error';
import {
  downloadPolicyFromEnv,
  type UpdateCredentials,
  UpdatePipeline,
  type VerifiedCheck,
} from './update-pipeline';
import { UpdateStateStore, type UpdateStatus } from './update-state';

export interface UpdatesServiceDeps {
  config: PanelConfig;
  build: BuildInfo;
  clock: () => Date;
  /** The activated license key (null when none) — from the license module. */
  licenseKey: () => string | null;
  hardwareId: string | undefined;
  /** The portal's download API (null: no portal configured). Built by the composition root. */
  portal: PortalDownloads | null;
  /** The portal's keys, shared with the license service (license/portal-trust.ts). */
  trust: PortalTrustSource;
  /** How the prepared release is handed to the supervisor (default: IPC). */
  requestSwitch?: () => void;
  /** The channel to follow now (the update policy's; default config.channel). */
  channel?: () => ReleaseChannel;
}

/** Public view of the update status (internal journal fields left out). */
export function publicStatus(s: UpdateStatus, supervised: boolean) {
  return {
    job_id: s.job_id,
    state: s.state,
    from_version: s.from_version,
    to_version: s.to_version,
    progress: s.progress,
    started_at: s.started_at,
    updated_at: s.updated_at,
    finished_at: s.finished_at,
    error: s.error,
    log: s.log,
    supervised,
  };
}

const CHECK_CACHE_MS = 30_000;

function asAppError(err: unknown): unknown {
  if (err instanceof UpdateError) return new AppError(err.code, err.message);
  return err;
}

/** The version endpoints' logic: info, check, changelog, starting updates and reading their status. */
export class UpdatesService {
  readonly layout: InstallLayout | null;
  private readonly store: UpdateStateStore;
  private readonly pipeline: UpdatePipeline | null;
  private readonly checker: UpdatePipeline;
  private cache: { at: number; value: VerifiedCheck } | null = null;

  constructor(private readonly deps: UpdatesServiceDeps) {
    const { config } = deps;
    const base = {
      portal: deps.portal ?? unconfiguredPortal,
      trustedKeys: () => this.trustedKeys(),
      credentials: () => this.credentials(),
      currentVersion: deps.build.version,
      channel: config.channel as ReleaseChannel,
      clock: deps.clock,
    };
    this.layout = config.installDir ? new InstallLayout(config.installDir) : null;
    const store = new UpdateStateStore(
      this.layout ? this.layout.stateFile : `${config.dataDir}/update-state.json`,
      deps.clock,
    );
    this.store = store;
    const pipelineDeps = {
      ...base,
      // Read at each check: the update policy may change the channel at run time.
      get channel(): ReleaseChannel {
        return deps.channel?.() ?? (config.channel as ReleaseChannel);
      },
      layout: this.layout ?? new InstallLayout(`${config.dataDir}/.no-install-dir`),
      store,
      requestSwitch: deps.requestSwitch ?? defaultRequestSwitch,
      hook: this.layout ? stepHookFromEnv(config.updateHook, this.layout.stateFile) : undefined,
      databaseFile: sqliteFileOf(config.databaseUrl),
      downloadPolicy: downloadPolicyFromEnv(),
    };
    this.checker = new UpdatePipeline(pipelineDeps);
    this.pipeline = this.layout && config.supervised ? this.checker : null;
    if (this.pipeline) this.pipeline.reconcile();
  }

  get channel(): ReleaseChannel {
    return this.deps.channel?.() ?? (this.deps.config.channel as ReleaseChannel);
  }

  /** Drops the cached check answer (the channel changed). */
  forgetCheck(): void {
    this.cache = null;
  }

  /** The verified check answer (cached 30 s), for the update policy and scheduler. */
  async verifiedPayload() {
    return (await this.verifiedCheck()).payload;
  }

  get supervised(): boolean {
    return this.pipeline !== null;
  }

  private trustedKeys(): TrustedKeys {
    const keys = this.deps.trust.keys;
    if (keys.size === 0) {
      throw new UpdateError(
        'PORTAL_NOT_CONFIGURED',
        'No trusted portal keys: start the panel with --portal-keys (the JSON of the portal GET /api/v1/keys)',
      );
    }
    return keys;
  }

  private async credentials(): Promise<UpdateCredentials> {
    if (!this.deps.config.portalUrl) {
      throw new UpdateError(
        'PORTAL_NOT_CONFIGURED',
        'No portal is configured: start the panel with --portal-url and --portal-keys',
      );
    }
    try {
      await this.deps.trust.ensure();
    } catch (err) {
      // An unreachable development portal or an answer that is no key set: 503 naming it, not a 500.
      if (err instanceof PortalKeysUnavailable) throw new UpdateError('PORTAL_UNREACHABLE', err.message);
      throw err;
    }
    const key = this.deps.licenseKey();
    if (!key) {
      throw new UpdateError(
        'LICENSE_NOT_ACTIVATED',
        'No license is activated on this panel: POST /api/v1/license/activate first',
      );
    }
    if (!this.deps.hardwareId) throw new UpdateError('INTERNAL_ERROR', 'hardware id is not known');
    return { key, hardwareId: this.deps.hardwareId };
  }

  info() {
    const b = this.deps.build;
    return {
      version: b.version,
      channel: this.channel,
      build_time: b.build_time,
      git_commit: b.git_commit,
      info: `WisPanel v${b.version}`,
    };
  }

  private async verifiedCheck(): Promise<VerifiedCheck> {
    const now = Date.now();
    if (this.cache && now - this.cache.at < CHECK_CACHE_MS) {
      const exp = Date.parse(this.cache.value.payload.expires_at);
      if (exp > now) return this.cache.value;
    }
    try {
      const value = await this.checker.check();
      this.cache = { at: now, value };
      return value;
    } catch (err) {
      throw asAppError(err);
    }
  }

  /** SPEC A2 shape, exactly. */
  async check() {
    const { payload } = await this.verifiedCheck();
    return {
      update_available: payload.update_available,
      current_version: this.deps.build.version,
      latest_version: payload.latest_version,
      changelog: payload.changelog,
    };
  }

  async changelog() {
    const { payload } = await this.verifiedCheck();
    return {
      current_version: this.deps.build.version,
      latest_version: payload.latest_version,
      update_available: payload.update_available,
      critical: payload.critical,
      channel: this.channel,
      changelog: payload.changelog,
      releases: payload.releases,
    };
  }

  private requireSupervised(): UpdatePipeline {
    if (!this.pipeline) {
      const why = !this.deps.config.installDir
        ? 'this panel runs from its source tree (no install dir)'
        : 'this panel was not started by the supervisor';
      throw new AppError(
        'UPDATE_NOT_SUPPORTED',
        `Self-update needs the release layout and the supervisor (\`wispanel run --install-dir DIR\`): ${why}. Checking for updates still works.`,
      );
    }
    return this.pipeline;
  }

  async startUpdate(input: { version?: string; allowDowngrade?: boolean; source: string }) {
    const pipeline = this.requireSupervised();
    try {
      const { job } = await pipeline.start(input);
      this.cache = null;
      return job;
    } catch (err) {
      throw asAppError(err);
    }
  }

  /** POST /version/update/cancel: stops a download/verify/unpack in progress (not a switch). */
  async cancel() {
    const pipeline = this.requireSupervised();
    try {
      pipeline.cancel();
    } catch (err) {
      throw asAppError(err);
    }
    await Promise.race([pipeline.settled(), new Promise((r) => setTimeout(r, 5_000))]);
    return publicStatus(pipeline.status(), true);
  }

  /** Finished updates of this installation, newest first. */
  history(limit: number) {
    return { updates: this.store.history(limit) };
  }

  status() {
    if (!this.pipeline) {
      const s = this.checker.status();
      return publicStatus(s, false);
    }
    return publicStatus(this.pipeline.status(), true);
  }
}

const unconfiguredPortal: PortalDownloads = {
  checkUpdate: () =>
    Promise.reject(new UpdateError('PORTAL_NOT_CONFIGURED', 'No portal is configured: --portal-url')),
  token: () =>
    Promise.reject(new UpdateError('PORTAL_NOT_CONFIGURED', 'No portal is configured: --portal-url')),
  download: () =>
    Promise.reject(new UpdateError('PORTAL_NOT_CONFIGURED', 'No portal is configured: --portal-url')),
};

/**
 * Panel → supervisor, over the IPC channel the supervisor opened when it spawned us. When the channel is gone
 * the supervisor is dead; the release stays marked ready and a restarted supervisor switches to it.
 */
function defaultRequestSwitch(): void {
  if (typeof process.send === 'function' && process.connected) process.send({ type: 'wispanel:switch' });
}

/** A supervised panel exits with its supervisor (the IPC channel closes), so a restarted one finds the port free. */
export function followSupervisor(): void {
  if (typeof process.send === 'function') {
    // The supervisor may have died while we were still loading: then the channel is already closed.
    if (!process.connected) setImmediate(() => process.kill(process.pid, 'SIGTERM'));
    else process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  }
}
