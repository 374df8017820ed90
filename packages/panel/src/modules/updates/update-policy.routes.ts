import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type HeldBackRelease,
  type ReleaseChannel,
  UpdateSettingsBodySchema,
  UpdateSettingsSchema,
} from '@wispanel/contract';
import { validationError } from '@wispanel/kit';
import type { PanelPlugin } from '../../http/plugin';
import {
  decide,
  inWindow,
  type MaintenanceWindow,
  nextWindowStart,
  policyProblems,
  type UpdatePolicy,
} from './update-policy';
import { httpReportSender, UpdateReporter, UpdateReportQueue } from './update-report';
import { UpdatePolicyStore, UpdateScheduler } from './update-scheduler';

export interface AutoUpdateExplanationView {
  mode: string;
  action: string;
  reason: string;
  in_window: boolean;
  next_window_at: string | null;
}

export interface UpdatePolicyService {
  channel(): ReleaseChannel;
  get(): UpdatePolicy;
  /** `/version/check` plus why an update is or is not offered (portal's held_back, the policy's decision). */
  explain<T extends { update_available: boolean }>(
    base: T,
  ): Promise<T & { held_back?: HeldBackRelease[]; auto_update: AutoUpdateExplanationView }>;
  scheduler: UpdateScheduler;
  reporter: UpdateReporter | null;
}

declare module '../../context' {
  interface PanelDeps {
    /** Automatic-update scheduler knobs (tests and the fleet simulation compress time). */
    updateScheduling?: {
      intervalMs?: number;
      random?: () => number;
      reportIntervalMs?: number;
      start?: boolean;
    };
  }
  interface PanelServices {
    updatePolicy?: UpdatePolicyService;
  }
}

const auth = { resource: 'version', roles: ['admin'] } as const;
const tags = ['version'];

/** Seconds between automatic checks (default one hour; jittered ±25 %). */
function intervalFromEnv(): number {
  const raw = process.env.WISPANEL_AUTO_UPDATE_INTERVAL_SECONDS;
  const n = raw === undefined ? 3600 : Number(raw);
  return Number.isFinite(n) && n >= 10 ? n * 1000 : 3_600_000;
}

/**
 * Update policy (`GET/PUT /version/settings`), the automatic-update scheduler and the install-report queue.
 * Registered after the version routes (it uses `services.updates`).
 */
export const updatePolicyRoutes: PanelPlugin = async (app, { ctx }) => {
  const updates = ctx.services.updates;
  if (!updates) return;
  const config = ctx.config;
  const stateDir = updates.layout ? join(updates.layout.stateFile, '..') : config.dataDir;
  const store = new UpdatePolicyStore(join(stateDir, 'update-policy.json'), config.channel as ReleaseChannel);
  const tuning = ctx.deps.updateScheduling ?? {};
  const licenseKey = () => ctx.services.license.snapshot().state.license_key ?? null;

  const scheduler = new UpdateScheduler({
    policy: () => store.read(),
    clock: ctx.clock,
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
      await ctx.services.license.audit('update_available', 'system', 'info', message, null, {
        latest_version: u.latest,
        critical: u.critical,
        reason: decision.reason,
      });
    },
    notifiedVersion: () => store.notifiedVersion(),
    setNotified: (v) => store.setNotified(v),
    log: (message, err) => ctx.logger.warn({ err }, `updates: ${message}`),
  });

  let reporter: UpdateReporter | null = null;
  if (config.portalUrl && ctx.hardwareId) {
    const hardwareId = ctx.hardwareId;
    const queue = new UpdateReportQueue({
      file: join(stateDir, 'update-reports.json'),
      clock: ctx.clock,
      send: httpReportSender({
        baseUrl: config.portalUrl,
        ca: config.portalCaPath ? readFileSync(config.portalCaPath) : undefined,
        credentials: () => {
          const key = licenseKey();
          return key ? { key, hardwareId } : null;
        },
        nonce: () => randomBytes(16).toString('hex'),
      }),
      warn: (m) => ctx.logger.warn(`updates: ${m}`),
    });
    reporter = new UpdateReporter(
      queue,
      () => updates.status() as never,
      (r) => {
        ctx.services.updateAttempts?.set(r.outcome, (ctx.services.updateAttempts.get(r.outcome) ?? 0) + 1);
        ctx.logger.info({ report: r }, `updates: install report queued for ${r.to_version} (${r.outcome})`);
      },
    );
  }

  ctx.services.updatePolicy = {
    channel: () => store.read().channel,
    get: () => store.read(),
    scheduler,
    reporter,
    explain: async (base) => {
      const policy = store.read();
      const now = ctx.clock();
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
  };

  app.get(
    '/version/settings',
    {
      config: { auth },
      schema: {
        tags,
        summary: 'Update policy: automatic updates, channel, maintenance window',
        response: { 200: UpdateSettingsSchema },
      },
    },
    async () => store.read(),
  );
  app.put(
    '/version/settings',
    {
      config: { auth },
      schema: {
        tags,
        summary: 'Change the update policy (fields left out keep their value; window null = any time)',
        body: UpdateSettingsBodySchema,
        response: { 200: UpdateSettingsSchema },
      },
    },
    async (req) => {
      const body = req.body as Partial<UpdatePolicy>;
      const problems = policyProblems(body);
      if (Object.keys(problems).length > 0) {
        const first = Object.values(problems)[0]![0]!;
        throw validationError(first, problems);
      }
      const current = store.read();
      const next: UpdatePolicy = {
        auto_update: body.auto_update ?? current.auto_update,
        channel: body.channel ?? current.channel,
        window:
          body.window === undefined
            ? current.window
            : body.window === null
              ? null
              : ({ ...body.window, days: [...new Set(body.window.days)] } as MaintenanceWindow),
      };
      store.write(next);
      if (next.channel !== current.channel) updates.forgetCheck();
      return next;
    },
  );

  if (tuning.start !== false && config.licenseTickSeconds !== 0) {
    scheduler.start();
    reporter?.start(tuning.reportIntervalMs);
  } else if (reporter && tuning.start !== false) {
    // Tests without background jobs still get reports on start (the attempt the supervisor just finished).
    void reporter.tick();
  }
  app.addHook('onClose', async () => {
    scheduler.stop();
    reporter?.stop();
  });
};
