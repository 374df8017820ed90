import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { HeldBackRelease, ReleaseChannel } from '@wispanel/contract';
import type { Logger } from 'pino';
import type { PanelConfig } from '../../config';
import type { PortalEndpoint } from '../license/portal-trust';
import { decide, inWindow, nextWindowStart, type UpdatePolicy } from './update-policy';
import { httpReportSender, UpdateReporter, UpdateReportQueue } from './update-report';
import { UpdatePolicyStore, UpdateScheduler } from './update-scheduler';
import type { UpdatesService } from './updates.service';

export interface AutoUpdateExplanationView {
  mode: string;
  action: string;
  reason: string;
  in_window: boolean;
  next_window_at: string | null;
}

/** Automatic-update scheduler knobs (tests and the fleet simulation compress time). */
export interface UpdateSchedulingTuning {
  intervalMs?: number;
  random?: () => number;
  reportIntervalMs?: number;
  start?: boolean;
}

export interface UpdatePolicyService {
  /** The stored policy (`GET/PUT /version/settings`). */
  store: UpdatePolicyStore;
  channel(): ReleaseChannel;
  get(): UpdatePolicy;
  /** `/version/check` plus why an update is or is not offered (portal's held_back, the policy's decision). */
  explain<T extends { update_available: boolean }>(
    base: T,
  ): Promise<T & { held_back?: HeldBackRelease[]; auto_update: AutoUpdateExplanationView }>;
  scheduler: UpdateScheduler;
  reporter: UpdateReporter | null;
  /** Starts the scheduler and the report queue (as configured); `stop` ends both. */
  start(): void;
  stop(): void;
}

export interface UpdatePolicyDeps {
  config: PanelConfig;
  clock: () => Date;
  logger: Logger;
  updates: UpdatesService;
  hardwareId: string | undefined;
  /** The configured portal (install reports go there); null: none. */
  endpoint: PortalEndpoint | null;
  /** The activated license key (null when none): install reports are sent with it. */
  licenseKey: () => string | null;
  /** Writes an `update_available` entry to the license audit log. */
  audit: (message: string, detail: Record<string, unknown>) => Promise<unknown>;
  /** Finished attempts by outcome (the metrics gauge reads it). */
  updateAttempts: Map<string, number>;
  tuning?: UpdateSchedulingTuning;
}

/** Seconds between automatic checks (default one hour; jittered ±25 %). */
function intervalFromEnv(): number {
  const raw = process.env.WISPANEL_AUTO_UPDATE_INTERVAL_SECONDS;
  const n = raw === undefined ? 3600 : Number(raw);
  return Number.isFinite(n) && n >= 10 ? n * 1000 : 3_600_000;
}

/** The update policy, the automatic-update scheduler and the install-report queue (docs/updates.md). */
export function createUpdatePolicyService(deps: UpdatePolicyDeps): UpdatePolicyService {
  const { config, updates } = deps;
  const stateDir = updates.layout ? join(updates.layout.stateFile, '..') : config.dataDir;
  const store = new UpdatePolicyStore(join(stateDir, 'update-policy.json'), config.channel as ReleaseChannel);
  const tuning = deps.tuning ?? {};

  const scheduler = new UpdateScheduler({
    policy: () => store.read(),
    clock: deps.clock,
    random: tuning.random,
    intervalMs: tuning.intervalMs ?? intervalFromEnv(),
    check: async () => {
      const p = await updates.verifiedPayload();
      return { available: p.update_available, critical: p.critical, latest: p.latest_version };
    },
    install: async () => {
      await updates.startUpdate({ source: 'auto' });
    },
    notify: async (u, decision) => {
      const message = `WisPanel ${u.latest} is available${u.critical ? ' (critical)' : ''}; policy ${store.read().auto_update}: ${decision.reason}`;
      await deps.audit(message, { latest_version: u.latest, critical: u.critical, reason: decision.reason });
    },
    notifiedVersion: () => store.notifiedVersion(),
    setNotified: (v) => store.setNotified(v),
    log: (message, err) => deps.logger.warn({ err }, `updates: ${message}`),
  });

  let reporter: UpdateReporter | null = null;
  if (deps.endpoint && deps.hardwareId) {
    const hardwareId = deps.hardwareId;
    const queue = new UpdateReportQueue({
      file: join(stateDir, 'update-reports.json'),
      clock: deps.clock,
      send: httpReportSender({
        baseUrl: deps.endpoint.url,
        ca: deps.endpoint.ca,
        credentials: () => {
          const key = deps.licenseKey();
          return key ? { key, hardwareId } : null;
        },
        nonce: () => randomBytes(16).toString('hex'),
      }),
      warn: (m) => deps.logger.warn(`updates: ${m}`),
    });
    reporter = new UpdateReporter(
      queue,
      () => updates.status() as never,
      (r) => {
        deps.updateAttempts.set(r.outcome, (deps.updateAttempts.get(r.outcome) ?? 0) + 1);
        deps.logger.info({ report: r }, `updates: install report queued for ${r.to_version} (${r.outcome})`);
      },
    );
  }

  return {
    store,
    channel: () => store.read().channel,
    get: () => store.read(),
    scheduler,
    reporter,
    explain: async (base) => {
      const policy = store.read();
      const now = deps.clock();
      const payload = await updates.verifiedPayload();
      const decision = decide(policy, { available: base.update_available, critical: payload.critical }, now);
      const next = nextWindowStart(policy.window, now);
      return {
        ...base,
        ...(payload.held_back && payload.held_back.length > 0 ? { held_back: payload.held_back } : {}),
        auto_update: {
          mode: policy.auto_update,
          action: decision.action,
          reason: decision.reason,
          in_window: inWindow(policy.window, now),
          next_window_at: next ? next.toISOString() : null,
        },
      };
    },
    start: () => {
      if (tuning.start !== false && config.licenseTickSeconds !== 0) {
        scheduler.start();
        reporter?.start(tuning.reportIntervalMs);
      } else if (reporter && tuning.start !== false) {
        // Tests without background jobs still get reports on start (the attempt the supervisor just finished).
        void reporter.tick();
      }
    },
    stop: () => {
      scheduler.stop();
      reporter?.stop();
    },
  };
}
