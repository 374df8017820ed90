import {
  DirectUpdateBody,
  UpdateAccepted,
  UpdateHistory,
  UpdateHistoryQuery,
  UpdateStatus,
  VersionChangelog,
  VersionCheck,
  VersionInfo,
} from '@wispanel/contract';
import type { PanelPlugin } from '../../http/plugin';

const auth = { resource: 'version', roles: ['admin'] } as const;
const tags = ['version'];
/** `/version/*` (role admin, scope `version`); the service is built by the composition root (compose.ts). */
export const updateRoutes: PanelPlugin = async (app, { ctx }) => {
  const { updates, updatePolicy } = ctx.services;

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
      return updatePolicy.explain(base);
    },
  );
  app.get(
    '/version/changelog',
    {
      config: { auth },
      schema: {
        tags,
        summary: 'Markdown changelog of newer releases and the running one',
        response: { 200: VersionChangelog },
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
        querystring: UpdateHistoryQuery,
        response: { 200: UpdateHistory },
      },
    },
    async (req) => updates.history(req.query.limit ?? 100),
  );
  app.get(
    '/version/update/status',
    {
      config: { auth },
      schema: {
        tags,
        summary: 'State of the current or last update (survives restarts)',
        response: { 200: UpdateStatus },
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
        response: { 202: UpdateAccepted },
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
        response: { 200: UpdateStatus },
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
        response: { 202: UpdateAccepted },
      },
    },
    async (req, reply) => {
      const body = req.body;
      const job = await updates.startUpdate({
        version: body.version.trim(),
        allowDowngrade: body.allow_downgrade === true,
        source: 'api',
      });
      return reply.code(202).send(accepted(job));
    },
  );
};
