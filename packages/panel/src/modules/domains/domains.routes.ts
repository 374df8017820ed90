import { Type } from 'typebox';
import { ALL_ROLES, MANAGER_ROLES, type PanelPlugin } from '../../http/plugin';
import { OkMessage, PageQuery, Pagination, ResourceState } from '../../http/schemas';

export const DomainSchema = Type.Object({
  id: Type.Integer(),
  domain: Type.String(),
  owner: Type.String(),
  ...ResourceState,
  created_at: Type.String(),
  updated_at: Type.String(),
});

// `domain` is checked by the service so a missing one reads "Domain is required".
const CreateDomain = Type.Object(
  {
    domain: Type.Optional(
      Type.String({ maxLength: 253, description: 'Hostname, e.g. example.com (required)' }),
    ),
    owner: Type.Optional(Type.String({ maxLength: 64, description: 'Owner username (default: you)' })),
  },
  { additionalProperties: false },
);
const UpdateDomain = Type.Object(
  { owner: Type.Optional(Type.String({ maxLength: 64 })) },
  { additionalProperties: false },
);
const DomainParams = Type.Object({ domain: Type.String() });
const DomainMessage = Type.Object({
  success: Type.Literal(true),
  message: Type.String(),
  domain: DomainSchema,
});

export const domainRoutes: PanelPlugin = async (app, { ctx }) => {
  const domains = ctx.services.domains;
  const tags = ['domains'];
  const auth = { resource: 'domains', roles: ALL_ROLES } as const;

  app.post(
    '/domains',
    {
      config: { auth },
      schema: { tags, summary: 'Create a domain', body: CreateDomain, response: { 201: DomainMessage } },
    },
    async (req, reply) => {
      const domain = await domains.create(req.actor, req.body ?? {});
      return reply.code(201).send({ success: true, message: `Domain '${domain.domain}' created`, domain });
    },
  );

  app.get(
    '/domains',
    {
      config: { auth },
      schema: {
        tags,
        summary: 'List domains you can see (paginated)',
        querystring: PageQuery,
        response: {
          200: Type.Object({
            success: Type.Literal(true),
            domains: Type.Array(DomainSchema),
            pagination: Pagination,
          }),
        },
      },
    },
    async (req) => ({
      success: true as const,
      ...(await domains.list(req.actor, { page: req.query.page ?? 1, per_page: req.query.per_page ?? 20 })),
    }),
  );

  app.get(
    '/domains/:domain',
    {
      config: { auth },
      schema: {
        tags,
        summary: 'Get a domain',
        params: DomainParams,
        response: { 200: Type.Object({ success: Type.Literal(true), domain: DomainSchema }) },
      },
    },
    async (req) => ({ success: true as const, domain: await domains.get(req.actor, req.params.domain) }),
  );

  app.patch(
    '/domains/:domain',
    {
      config: { auth },
      schema: {
        tags,
        summary: 'Update a domain (move to another owner)',
        params: DomainParams,
        body: UpdateDomain,
        response: { 200: DomainMessage },
      },
    },
    async (req) => {
      const domain = await domains.update(req.actor, req.params.domain, req.body ?? {});
      return { success: true as const, message: `Domain '${domain.domain}' updated`, domain };
    },
  );

  for (const [action, suspended] of [
    ['suspend', true],
    ['unsuspend', false],
  ] as const) {
    app.post(
      `/domains/:domain/${action}`,
      {
        config: { auth: { resource: 'domains', roles: MANAGER_ROLES } },
        schema: {
          tags,
          summary: `${action === 'suspend' ? 'Suspend' : 'Unsuspend'} a domain`,
          params: DomainParams,
          response: { 200: DomainMessage },
        },
      },
      async (req) => {
        const domain = await domains.setSuspended(req.actor, req.params.domain, suspended);
        return { success: true as const, message: `Domain '${domain.domain}' ${action}ed`, domain };
      },
    );
  }

  app.delete(
    '/domains/:domain',
    {
      config: { auth },
      schema: { tags, summary: 'Delete a domain', params: DomainParams, response: { 200: OkMessage } },
    },
    async (req) => {
      await domains.delete(req.actor, req.params.domain);
      return { success: true as const, message: `Domain '${req.params.domain.toLowerCase()}' deleted` };
    },
  );
};
