import type { App } from '@wispanel/kit';
import { Type } from 'typebox';
import type { PortalServices } from '../../context';

const Limit = Type.Integer({ minimum: -1, maximum: 1_000_000_000, description: '-1 = unlimited' });
const Features = Type.Array(Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z0-9][a-z0-9._-]*$' }), {
  maxItems: 100,
});
const TierFields = {
  max_users: Limit,
  max_domains: Limit,
  max_databases: Limit,
  features: Features,
  lease_days: Type.Integer({ minimum: 1, maximum: 365 }),
  grace_days: Type.Integer({ minimum: 0, maximum: 365 }),
};
export const TierCreateBody = Type.Object(
  {
    name: Type.String({
      minLength: 1,
      maxLength: 32,
      pattern: '^[a-z][a-z0-9-]*$',
      'x-format-message': 'must be lowercase letters, digits and dashes.',
    }),
    max_users: TierFields.max_users,
    max_domains: TierFields.max_domains,
    max_databases: TierFields.max_databases,
    features: Type.Optional(TierFields.features),
    lease_days: Type.Optional(TierFields.lease_days),
    grace_days: Type.Optional(TierFields.grace_days),
  },
  { additionalProperties: false },
);
export const TierUpdateBody = Type.Object(
  {
    max_users: Type.Optional(TierFields.max_users),
    max_domains: Type.Optional(TierFields.max_domains),
    max_databases: Type.Optional(TierFields.max_databases),
    features: Type.Optional(TierFields.features),
    lease_days: Type.Optional(TierFields.lease_days),
    grace_days: Type.Optional(TierFields.grace_days),
  },
  { additionalProperties: false, minProperties: 1 },
);
const NameParam = Type.Object({ name: Type.String({ maxLength: 32 }) });

export function tiersRoutes(app: App, s: PortalServices): void {
  const onRequest = s.hooks.admin;
  const tags = ['admin: tiers'];
  app.get('/api/v1/admin/tiers', { onRequest, schema: { tags, summary: 'List tiers' } }, async () => ({
    success: true,
    tiers: await s.tiers.list(),
  }));
  app.get(
    '/api/v1/admin/tiers/:name',
    { onRequest, schema: { tags, summary: 'Get a tier', params: NameParam } },
    async (req) => ({ success: true, tier: await s.tiers.get(req.params.name) }),
  );
  app.post(
    '/api/v1/admin/tiers',
    { onRequest, schema: { tags, summary: 'Create a tier', body: TierCreateBody } },
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
    { onRequest, schema: { tags, summary: 'Update a tier', params: NameParam, body: TierUpdateBody } },
    async (req) => ({
      success: true,
      tier: await s.tiers.update(req.adminActor!, req.params.name, req.body),
    }),
  );
}
