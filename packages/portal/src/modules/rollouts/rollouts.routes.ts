import {
  CanaryAnswer,
  CanaryBodySchema,
  CanaryLicenseParam,
  CanaryListAnswer,
  FleetAnswer,
  FleetQuerySchema,
  InstallReportAnswer,
  InstallReportBodySchema,
  ReleaseHealthAnswer,
  RolloutAnswer,
  RolloutEmptyBody,
  RolloutListAnswer,
  RolloutPlanBodySchema,
  RolloutPromoteBody,
  RolloutReasonBody,
  RolloutTimelineAnswer,
  RolloutTimelineQuerySchema,
  RolloutVersionParam,
} from '@wispanel/contract';
import type { App } from '@wispanel/kit';
import type { PortalServices } from '../../context';
import { adminResponses, downloadResponses } from '../../http/responses';
import type { RolloutsService } from './rollouts.service';
import type { WebhookOutbox } from './webhook-outbox';

/** Runs `fn` after every rollout change of this portal's services (metrics refresh). */
export function onRolloutChange(s: PortalServices, fn: () => void): void {
  s.onRolloutChange(fn);
}

/** The rollouts service (built once, in context.ts, shared by the admin routes, check-update and reports). */
export function rolloutsServiceOf(s: PortalServices): RolloutsService {
  return s.rollouts;
}

/** The vendor webhook outbox of this portal (tests drain it). */
export function releaseWebhookOf(s: PortalServices): WebhookOutbox {
  return s.webhooks;
}

/**
 * Rollouts: `/api/v1/admin/versions/{version}/rollout…`, `…/health`, `/api/v1/admin/fleet`,
 * `/api/v1/admin/licenses/{id}/canary` (X-Admin-Key) and the panels' `POST /api/v1/download/report`.
 */
export function rolloutsRoutes(app: App, s: PortalServices): void {
  const rollouts = rolloutsServiceOf(s);
  const onRequest = s.hooks.admin;
  const tags = ['admin: rollouts'];
  const base = '/api/v1/admin/versions/:version';

  app.get(
    '/api/v1/admin/rollouts',
    {
      onRequest,
      schema: {
        tags,
        summary: 'Every release with a rollout, with its state and stage',
        response: adminResponses({ 200: RolloutListAnswer }),
      },
    },
    async () => ({ success: true, rollouts: await rollouts.list() }),
  );
  app.get(
    `${base}/rollout`,
    {
      onRequest,
      schema: {
        tags,
        summary: 'The rollout of a release',
        params: RolloutVersionParam,
        response: adminResponses({ 200: RolloutAnswer }, { 404: 'NOT_FOUND: no such version' }),
      },
    },
    async (req) => ({ success: true, rollout: await rollouts.get(req.params.version) }),
  );
  app.put(
    `${base}/rollout`,
    {
      onRequest,
      schema: {
        tags,
        summary: 'Set the rollout plan (stages, halt policy); restarts at stage 0',
        description:
          'Without `stages` the default plan applies: 1 % → 10 % (+24 h) → 50 % (+24 h) → 100 % (+24 h). ' +
          '`stages` may also be a plain percent. Default halt policy: 3 failures and 5 %.',
        params: RolloutVersionParam,
        body: RolloutPlanBodySchema,
        response: adminResponses(
          { 200: RolloutAnswer },
          { 404: 'NOT_FOUND: no such version', 409: 'CONFLICT: the version was yanked' },
        ),
      },
    },
    async (req) => ({
      success: true,
      rollout: await rollouts.setPlan(req.adminActor!, req.params.version, req.body),
    }),
  );
  app.post(
    `${base}/rollout/pause`,
    {
      onRequest,
      schema: {
        tags,
        summary: 'Stop offering the release to new servers',
        params: RolloutVersionParam,
        body: RolloutReasonBody,
        response: adminResponses(
          { 200: RolloutAnswer },
          {
            404: 'NOT_FOUND: no such version',
            409: 'CONFLICT: yanked, halted (pause), or changed meanwhile',
          },
        ),
      },
    },
    async (req) => ({
      success: true,
      rollout: await rollouts.pause(req.adminActor!, req.params.version, req.body?.reason),
    }),
  );
  app.post(
    `${base}/rollout/resume`,
    {
      onRequest,
      schema: {
        tags,
        summary: 'Resume a paused or halted rollout (counters start afresh)',
        params: RolloutVersionParam,
        body: RolloutEmptyBody,
        response: adminResponses(
          { 200: RolloutAnswer },
          { 404: 'NOT_FOUND: no such version', 409: 'CONFLICT: yanked, or changed meanwhile' },
        ),
      },
    },
    async (req) => ({ success: true, rollout: await rollouts.resume(req.adminActor!, req.params.version) }),
  );
  app.post(
    `${base}/rollout/halt`,
    {
      onRequest,
      schema: {
        tags,
        summary: 'Halt the rollout now (webhook release.halted)',
        params: RolloutVersionParam,
        body: RolloutReasonBody,
        response: adminResponses(
          { 200: RolloutAnswer },
          {
            404: 'NOT_FOUND: no such version',
            409: 'CONFLICT: yanked, halted (pause), or changed meanwhile',
          },
        ),
      },
    },
    async (req) => ({
      success: true,
      rollout: await rollouts.halt(req.adminActor!, req.params.version, req.body?.reason),
    }),
  );
  app.post(
    `${base}/rollout/promote`,
    {
      onRequest,
      schema: {
        tags,
        summary: 'Go to the next stage (or to_stage) now',
        params: RolloutVersionParam,
        body: RolloutPromoteBody,
        response: adminResponses(
          { 200: RolloutAnswer },
          {
            404: 'NOT_FOUND: no such version',
            409: 'CONFLICT: paused or halted (resume first), yanked, or changed meanwhile',
          },
        ),
      },
    },
    async (req) => ({
      success: true,
      rollout: await rollouts.promote(req.adminActor!, req.params.version, req.body?.to_stage),
    }),
  );
  app.get(
    `${base}/health`,
    {
      onRequest,
      schema: {
        tags,
        summary:
          'Offered, started, succeeded, failed by step, rolled back, median install time, rollout state, last halt',
        description:
          '`rollout.state` with `rollout.reason`, `rollout.halted_at` and `rollout.halted_by` say whether and why ' +
          'it is halted; `halt` is the last halt (also after a resume) with the delivery of its `release.halted` ' +
          'webhook (pending, delivered or failed, attempts, last error).',
        params: RolloutVersionParam,
        response: adminResponses({ 200: ReleaseHealthAnswer }, { 404: 'NOT_FOUND: no such version' }),
      },
    },
    async (req) => ({ success: true, health: await rollouts.health(req.params.version) }),
  );
  app.get(
    `${base}/timeline`,
    {
      onRequest,
      schema: {
        tags,
        summary: 'Offered, started, succeeded, failed and rolled back per hour or day (UTC buckets)',
        description:
          'Every bucket from `since` to `until` (rounded out to whole buckets), zeros included, at most 744. ' +
          'Outcomes count servers whose report arrived in the bucket (once per bucket and outcome).',
        params: RolloutVersionParam,
        querystring: RolloutTimelineQuerySchema,
        response: adminResponses({ 200: RolloutTimelineAnswer }, { 404: 'Unknown version (NOT_FOUND)' }),
      },
    },
    async (req) => ({ success: true, timeline: await rollouts.timeline(req.params.version, req.query) }),
  );
  app.get(
    '/api/v1/admin/fleet',
    {
      onRequest,
      schema: {
        tags,
        summary: 'Active servers by version and channel, last seen, licenses by tier',
        querystring: FleetQuerySchema,
        response: adminResponses({ 200: FleetAnswer }),
      },
    },
    async (req) => ({ success: true, fleet: await rollouts.fleet(req.query.active_days ?? 7) }),
  );
  app.get(
    '/api/v1/admin/canaries',
    {
      onRequest,
      schema: {
        tags,
        summary: 'Licenses marked as canaries',
        response: adminResponses({ 200: CanaryListAnswer }),
      },
    },
    async () => ({ success: true, license_ids: await rollouts.listCanaries() }),
  );
  app.put(
    '/api/v1/admin/licenses/:id/canary',
    {
      onRequest,
      schema: {
        tags,
        summary: 'Mark a license as a canary (offered staged releases from stage 0) or clear it',
        params: CanaryLicenseParam,
        body: CanaryBodySchema,
        response: adminResponses({ 200: CanaryAnswer }, { 404: 'NOT_FOUND: no such license' }),
      },
    },
    async (req) => {
      const license = await s.licenses.get(req.params.id);
      return { success: true, ...(await rollouts.setCanary(req.adminActor!, license.id, req.body.canary)) };
    },
  );

  app.post(
    '/api/v1/download/report',
    {
      onRequest: s.hooks.publicRateLimit,
      schema: {
        tags: ['download'],
        summary: 'Report how an update attempt ended (idempotent per hardware id + attempt id)',
        body: InstallReportBodySchema,
        response: downloadResponses(
          { 200: InstallReportAnswer },
          { 404: 'NOT_FOUND: no such published version' },
        ),
      },
    },
    async (req) => {
      const { halted: _h, ...answer } = await rollouts.report(req.body, req.ip);
      return answer;
    },
  );
}
