import {
  ActivationParam,
  EventsAnswer,
  EventsQuery,
  LicenseDetailAnswer,
  LicenseExtendBody,
  LicenseIdParam,
  LicenseIssueBody,
  LicenseIssuedAnswer,
  LicenseListAnswer,
  LicenseListQuery,
  LicenseReasonBody,
  LicenseUpdateBody,
} from '@wispanel/contract';
import type { App } from '@wispanel/kit';
import type { PortalServices } from '../../context';
import { adminResponses } from '../../http/responses';

const NOT_FOUND = { 404: 'NOT_FOUND: no such license' };
const REVOKED = { 409: 'CONFLICT: the license is revoked and cannot change' };
const detail = (errors: Record<number, string> = {}) =>
  adminResponses({ 200: LicenseDetailAnswer }, { ...NOT_FOUND, ...errors });

/** Admin API for licenses and the event log: `/api/v1/admin/{licenses,events}` (X-Admin-Key). */
export function licensesRoutes(app: App, s: PortalServices): void {
  const onRequest = s.hooks.admin;
  const tags = ['admin: licenses'];
  const base = '/api/v1/admin/licenses';

  app.get(
    base,
    {
      onRequest,
      schema: {
        tags,
        summary: 'List licenses (filters, pagination)',
        querystring: LicenseListQuery,
        response: adminResponses({ 200: LicenseListAnswer }),
      },
    },
    async (req) => ({
      success: true,
      ...(await s.licenses.list(req.query)),
    }),
  );

  app.post(
    base,
    {
      onRequest,
      schema: {
        tags,
        summary: 'Issue a license (the key is shown once)',
        body: LicenseIssueBody,
        response: adminResponses({ 201: LicenseIssuedAnswer }),
      },
    },
    async (req, reply) => {
      const { key, license } = await s.licenses.issue(req.adminActor!, req.body);
      return reply.code(201).send({
        success: true,
        message: 'License issued. Store the key now: it is not shown again.',
        license_key: key,
        license,
      });
    },
  );

  app.get(
    `${base}/:id`,
    {
      onRequest,
      schema: {
        tags,
        summary: 'Get a license with activations and recent events',
        params: LicenseIdParam,
        response: detail(),
      },
    },
    async (req) => ({
      success: true,
      license: await s.licenses.get(req.params.id),
    }),
  );

  app.patch(
    `${base}/:id`,
    {
      onRequest,
      schema: {
        tags,
        summary: 'Change tier or activation count',
        params: LicenseIdParam,
        body: LicenseUpdateBody,
        response: detail(REVOKED),
      },
    },
    async (req) => {
      const actor = req.adminActor!;
      let license = await s.licenses.get(req.params.id);
      if (req.body.tier !== undefined)
        license = await s.licenses.changeTier(actor, license.id, req.body.tier);
      if (req.body.max_activations !== undefined) {
        license = await s.licenses.setMaxActivations(actor, license.id, req.body.max_activations);
      }
      return { success: true, license };
    },
  );

  app.post(
    `${base}/:id/suspend`,
    {
      onRequest,
      schema: {
        tags,
        summary: 'Suspend',
        params: LicenseIdParam,
        body: LicenseReasonBody,
        response: detail(REVOKED),
      },
    },
    async (req) => ({
      success: true,
      license: await s.licenses.suspend(req.adminActor!, req.params.id, req.body.reason),
    }),
  );
  app.post(
    `${base}/:id/reinstate`,
    {
      onRequest,
      schema: {
        tags,
        summary: 'Reinstate a suspended license',
        params: LicenseIdParam,
        body: LicenseReasonBody,
        response: detail(REVOKED),
      },
    },
    async (req) => ({
      success: true,
      license: await s.licenses.reinstate(req.adminActor!, req.params.id),
    }),
  );
  app.post(
    `${base}/:id/revoke`,
    {
      onRequest,
      schema: {
        tags,
        summary: 'Revoke (final)',
        params: LicenseIdParam,
        body: LicenseReasonBody,
        response: detail(),
      },
    },
    async (req) => ({
      success: true,
      license: await s.licenses.revoke(req.adminActor!, req.params.id, req.body.reason),
    }),
  );
  app.post(
    `${base}/:id/extend`,
    {
      onRequest,
      schema: {
        tags,
        summary: 'Extend the term by days, or set a new end',
        params: LicenseIdParam,
        body: LicenseExtendBody,
        response: detail({ 409: 'CONFLICT: revoked, or perpetual (set expires_at instead)' }),
      },
    },
    async (req) => ({
      success: true,
      license: await s.licenses.extend(req.adminActor!, req.params.id, req.body),
    }),
  );
  app.delete(
    `${base}/:id/activations/:activation`,
    {
      onRequest,
      schema: {
        tags,
        summary: 'Reset an activation (by hardware id or activation id)',
        params: ActivationParam,
        response: adminResponses(
          { 200: LicenseDetailAnswer },
          { 404: 'NOT_FOUND: no such license or activation' },
        ),
      },
    },
    async (req) => ({
      success: true,
      license: await s.licenses.resetActivation(req.adminActor!, req.params.id, req.params.activation),
    }),
  );

  app.get(
    '/api/v1/admin/events',
    {
      onRequest,
      schema: {
        tags: ['admin: events'],
        summary: 'Event log, newest first',
        querystring: EventsQuery,
        response: adminResponses({ 200: EventsAnswer }),
      },
    },
    async (req) => {
      const limit = req.query.limit ?? 50;
      const events = await s.events.list({
        licenseId: req.query.license_id,
        action: req.query.action,
        actor: req.query.actor,
        resultCode: req.query.result_code,
        since: req.query.since ? new Date(req.query.since).toISOString() : undefined,
        until: req.query.until ? new Date(req.query.until).toISOString() : undefined,
        before: req.query.before,
        limit,
      });
      const last = events.at(-1);
      return { success: true, events, next_before: events.length === limit && last ? last.id : null };
    },
  );
}
