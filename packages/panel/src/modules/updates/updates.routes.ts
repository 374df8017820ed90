import { Type } from 'typebox';
import type { PanelPlugin } from '../../http/plugin';
import { buildInfo } from '../../version';
import { AutoUpdateExplanation, HeldBack } from './update-policy.routes';
import { followSupervisor, UpdatesService } from './updates.service';

declare module '../../context' {
  interface PanelDeps {
    /** Portal download API for updates (tests inject one; default: HTTPS to config.portalUrl). */
    updatePortal?: import('./portal-downloads').PortalDownloads;
    /** Hands a prepared release to the supervisor (tests inject one; default: IPC / SIGUSR2). */
    requestSwitch?: () => void;
  }
  interface PanelServices {
    updates?: UpdatesService;
  }
}

const auth = { resource: 'version', roles: ['admin'] } as const;
const tags = ['version'];
const NullableString = Type.Union([Type.String(), Type.Null()]);

/** The documented shape, exactly. */
const VersionInfo = Type.Object({
  version: Type.String(),
  channel: Type.String(),
  build_time: Type.String(),
  git_commit: Type.String(),
  info: Type.String(),
});
/** SPEC A2, plus why an update is or is not offered (docs/updates.md "Update policy"). */
const VersionCheck = Type.Object({
  update_available: Type.Boolean(),
  current_version: Type.String(),
  latest_version: Type.String(),
  changelog: Type.String(),
  held_back: Type.Optional(HeldBack),
  auto_update: Type.Optional(AutoUpdateExplanation),
});
const Changelog = Type.Object({
  current_version: Type.String(),
  latest_version: Type.String(),
  update_available: Type.Boolean(),
  critical: Type.Boolean(),
  channel: Type.String(),
  changelog: Type.String({
    description: 'Markdown: releases newer than the running one, and the running one',
  }),
  releases: Type.Array(
    Type.Object({
      version: Type.String(),
      channel: Type.String(),
      changelog: Type.String(),
      critical: Type.Boolean(),
      published_at: Type.String(),
    }),
  ),
});
const Status = Type.Object({
  job_id: NullableString,
  state: Type.String({
    description:
      'idle|checking|downloading|verifying|installing|restarting|health_check|completed|failed|rolled_back',
  }),
  from_version: NullableString,
  to_version: NullableString,
  progress: Type.Object({
    bytes: Type.Integer(),
    total: Type.Union([Type.Integer(), Type.Null()]),
    percent: Type.Union([Type.Number(), Type.Null()]),
  }),
  started_at: NullableString,
  updated_at: NullableString,
  finished_at: NullableString,
  error: Type.Union([Type.Object({ code: Type.String(), message: Type.String() }), Type.Null()]),
  log: Type.Array(Type.String()),
  supervised: Type.Boolean(),
});
const History = Type.Object({
  updates: Type.Array(
    Type.Object({
      job_id: Type.String(),
      state: Type.String({ description: 'completed|failed|rolled_back' }),
      from_version: NullableString,
      to_version: NullableString,
      started_at: NullableString,
      finished_at: NullableString,
      error: Type.Union([
        Type.Object(
          { code: Type.String(), message: Type.String() },
          { description: 'why it failed or was rolled back' },
        ),
        Type.Null(),
      ]),
      source: Type.Union([Type.String({ description: 'api or cli' }), Type.Null()]),
    }),
  ),
});
const Accepted = Type.Object({
  success: Type.Boolean(),
  message: Type.String(),
  job_id: Type.String(),
  state: Type.String(),
  from_version: Type.String(),
  to_version: Type.String(),
  status_url: Type.String(),
});
const DirectUpdateBody = Type.Object(
  {
    version: Type.String({ minLength: 1, maxLength: 64, description: 'x.y.z' }),
    allow_downgrade: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const updateRoutes: PanelPlugin = async (app, { ctx }) => {
  const updates = new UpdatesService({
    config: ctx.config,
    build: buildInfo(),
    clock: ctx.clock,
    licenseKey: () => ctx.services.license.snapshot().state.license_key ?? null,
    hardwareId: ctx.hardwareId,
    portal: ctx.deps.updatePortal,
    portalKeys: ctx.deps.portalKeys,
    requestSwitch: ctx.deps.requestSwitch,
    channel: () => ctx.services.updatePolicy?.channel() ?? (ctx.config.channel as never),
  });
  ctx.services.updates = updates;
  if (updates.supervised && !ctx.deps.requestSwitch) followSupervisor();

  const accepted = (job: {
    job_id: string | null;
    state: string;
    from_version: string | null;
    to_version: string | null;
  }) => ({
    success: true,
    message: `Update to ${job.to_version} started; follow GET /api/v1/version/update/status`,
    job_id: job.job_id ?? '',
    state: job.state,
    from_version: job.from_version ?? '',
    to_version: job.to_version ?? '',
    status_url: '/api/v1/version/update/status',
  });

  app.get(
    '/version/info',
    {
      config: { auth },
      schema: { tags, summary: 'Running version and build', response: { 200: VersionInfo } },
    },
    async () => updates.info(),
  );
  app.get(
    '/version/check',
    {
      config: { auth },
      schema: {
        tags,
        summary: 'Ask the portal for a newer release (signed, nonce-bound answer)',
        response: { 200: VersionCheck },
      },
    },
    async () => {
      const base = await updates.check();
      return ctx.services.updatePolicy ? ctx.services.updatePolicy.explain(base) : base;
    },
  );
  app.get(
    '/version/changelog',
    {
      config: { auth },
      schema: {
        tags,
        summary: 'Markdown changelog of newer releases and the running one',
        response: { 200: Changelog },
      },
    },
    async () => updates.changelog(),
  );
  app.get(
    '/version/update/history',
    {
      config: { auth },
      schema: {
        tags,
        summary: 'Finished updates of this installation, newest first (outcome and rollback reason)',
        querystring: Type.Object(
          { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })) },
          { additionalProperties: false },
        ),
        response: { 200: History },
      },
    },
    async (req) => updates.history((req.query as { limit?: number }).limit ?? 100),
  );
  app.get(
    '/version/update/status',
    {
      config: { auth },
      schema: {
        tags,
        summary: 'State of the current or last update (survives restarts)',
        response: { 200: Status },
      },
    },
    async () => updates.status(),
  );
  app.post(
    '/version/update',
    {
      config: { auth },
      schema: {
        tags,
        summary: 'Update to the latest eligible release of the channel (202 + job)',
        response: { 202: Accepted },
      },
    },
    async (_req, reply) => {
      const job = await updates.startUpdate({ source: 'api' });
      return reply.code(202).send(accepted(job));
    },
  );
  app.post(
    '/version/update/cancel',
    {
      config: { auth },
      schema: {
        tags,
        summary:
          'Cancel the update being prepared (download, verify, unpack): status failed / UPDATE_CANCELLED; 409 UPDATE_NOT_CANCELLABLE once the supervisor switches',
        response: { 200: Status },
      },
    },
    async () => updates.cancel(),
  );
  app.post(
    '/version/direct-update',
    {
      config: { auth },
      schema: {
        tags,
        summary: 'Install a named version (older only with allow_downgrade: true)',
        body: DirectUpdateBody,
        response: { 202: Accepted },
      },
    },
    async (req, reply) => {
      const body = req.body as { version: string; allow_downgrade?: boolean };
      const job = await updates.startUpdate({
        version: body.version.trim(),
        allowDowngrade: body.allow_downgrade === true,
        source: 'api',
      });
      return reply.code(202).send(accepted(job));
    },
  );
};
