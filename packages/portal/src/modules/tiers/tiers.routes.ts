import {
  TierAnswer,
  TierCreateBody,
  TierListAnswer,
  TierNameParam,
  TierUpdateBody,
} from '@wispanel/contract';
import type { App } from '@wispanel/kit';
import type { PortalServices } from '../../context';
import { adminResponses } from '../../http/responses';

const NOT_FOUND = { 404: 'NOT_FOUND: no such tier' };

/** Admin API for tiers: `/api/v1/admin/tiers` (X-Admin-Key). Shapes: @wispanel/contract portal-admin.ts. */
export function tiersRoutes(app: App, s: PortalServices): void {
  const onRequest = s.hooks.admin;
  const tags = ['admin: tiers'];
  app.get(
    '/api/v1/admin/tiers',
    { onRequest, schema: { tags, summary: 'List tiers', response: adminResponses({ 200: TierListAnswer }) } },
    async () => ({ success: true, tiers: await s.tiers.list() }),
  );
  app.get(
    '/api/v1/admin/tiers/:name',
    {
      onRequest,
      schema: {
        tags,
        summary: 'Get a tier',
        params: TierNameParam,
        response: adminResponses({ 200: TierAnswer }, NOT_FOUND),
      },
    },
    async (req) => ({ success: true, tier: await s.tiers.get(req.params.name) }),
  );
  app.post(
    '/api/v1/admin/tiers',
    {
      onRequest,
      schema: {
        tags,
        summary: 'Create a tier',
        body: TierCreateBody,
        response: adminResponses({ 201: TierAnswer }, { 409: 'CONFLICT: the tier exists' }),
      },
    },
    async (req, reply) => {
      const b = req.body;
      const tier = await s.tiers.create(req.adminActor!, {
        name: b.name,
        max_users: b.max_users,
        max_domains: b.max_domains,
        max_databases: b.max_databases,
        features: b.features ?? [],
        lease_days: b.lease_days ?? 14,
        grace_days: b.grace_days ?? 7,
      });
      return reply.code(201).send({ success: true, tier });
    },
  );
  app.patch(
    '/api/v1/admin/tiers/:name',
    {
      onRequest,
      schema: {
        tags,
        summary: 'Update a tier',
        params: TierNameParam,
        body: TierUpdateBody,
        response: adminResponses({ 200: TierAnswer }, NOT_FOUND),
      },
    },
    async (req) => ({
      success: true,
      tier: await s.tiers.update(req.adminActor!, req.params.name, req.body),
    }),
  );
}
