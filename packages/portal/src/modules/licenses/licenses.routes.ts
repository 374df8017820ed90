import type { App } from '@wispanel/kit';
import { Type } from 'typebox';
import type { PortalServices } from '../../context';
import { HardwareId } from '../../http/schemas';

const IdParam = Type.Object({ id: Type.String({ maxLength: 64 }) });
const Reason = Type.Object(
  { reason: Type.Optional(Type.String({ maxLength: 500 })) },
  { additionalProperties: false },
);
const DateTime = Type.String({ format: 'date-time', 'x-format-message': 'must be a valid date (ISO 8601).' });

export const IssueBody = Type.Object(
  {
    tier: Type.String({ minLength: 1, maxLength: 32 }),
    term_days: Type.Optional(Type.Integer({ minimum: 1, maximum: 36_500 })),
    expires_at: Type.Optional(DateTime),
    max_activations: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
    customer_name: Type.Optional(Type.String({ maxLength: 200 })),
    customer_email: Type.Optional(
      Type.String({ maxLength: 254, format: 'email', 'x-format-message': 'must be a valid email address.' }),
    ),
    notes: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false },
);

const ListQuery = Type.Object(
  {
    status: Type.Optional(
      Type.Union([
        Type.Literal('active'),
        Type.Literal('suspended'),
        Type.Literal('revoked'),
        Type.Literal('expired'),
      ]),
    ),
    tier: Type.Optional(Type.String({ maxLength: 32 })),
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    hardware_id: Type.Optional(HardwareId),
    page: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    per_page: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  },
  { additionalProperties: false },
);

const UpdateBody = Type.Object(
  {
    tier: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
    max_activations: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
  },
  { additionalProperties: false, minProperties: 1 },
);

const ExtendBody = Type.Object(
  {
    days: Type.Optional(Type.Integer({ minimum: 1, maximum: 36_500 })),
    expires_at: Type.Optional(DateTime),
  },
  { additionalProperties: false },
);

const EventsQuery = Type.Object(
  {
    license_id: Type.Optional(Type.String({ maxLength: 64 })),
    action: Type.Optional(Type.String({ maxLength: 64 })),
    before: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
  },
  { additionalProperties: false },
);

export function licensesRoutes(app: App, s: PortalServices): void {
  const onRequest = s.hooks.admin;
  const tags = ['admin: licenses'];
  const base = '/api/v1/admin/licenses';

  app.get(
    base,
    { onRequest, schema: { tags, summary: 'List licenses (filters, pagination)', querystring: ListQuery } },
    async (req) => ({
      success: true,
      ...(await s.licenses.list(req.query)),
    }),
  );

  app.post(
    base,
    { onRequest, schema: { tags, summary: 'Issue a license (the key is shown once)', body: IssueBody } },
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
      schema: { tags, summary: 'Get a license with activations and recent events', params: IdParam },
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
      schema: { tags, summary: 'Change tier or activation count', params: IdParam, body: UpdateBody },
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
    { onRequest, schema: { tags, summary: 'Suspend', params: IdParam, body: Reason } },
    async (req) => ({
      success: true,
      license: await s.licenses.suspend(req.adminActor!, req.params.id, req.body.reason),
    }),
  );
  app.post(
    `${base}/:id/reinstate`,
    { onRequest, schema: { tags, summary: 'Reinstate a suspended license', params: IdParam, body: Reason } },
    async (req) => ({
      success: true,
      license: await s.licenses.reinstate(req.adminActor!, req.params.id),
    }),
  );
  app.post(
    `${base}/:id/revoke`,
    { onRequest, schema: { tags, summary: 'Revoke (final)', params: IdParam, body: Reason } },
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
        params: IdParam,
        body: ExtendBody,
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
        params: Type.Object({
          id: Type.String({ maxLength: 64 }),
          activation: Type.String({ maxLength: 64 }),
        }),
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
      schema: { tags: ['admin: events'], summary: 'Event log, newest first', querystring: EventsQuery },
    },
    async (req) => {
      const limit = req.query.limit ?? 50;
      const events = await s.events.list({
        licenseId: req.query.license_id,
        action: req.query.action,
        before: req.query.before,
        limit,
      });
      const last = events.at(-1);
      return { success: true, events, next_before: events.length === limit && last ? last.id : null };
    },
  );
}
