import {
  DomainAnswer,
  DomainCreateBody,
  DomainListAnswer,
  DomainListQuery,
  DomainMessageAnswer,
  DomainParam,
  DomainUpdateBody,
} from '@wispanel/contract';
import { ALL_ROLES, MANAGER_ROLES, type PanelPlugin } from '../../http/plugin';
import { OkMessage } from '../../http/schemas';

export const domainRoutes: PanelPlugin = async (app, { ctx }) => {
  const domains = ctx.services.domains;
  const tags = ['domains'];
  const auth = { resource: 'domains', roles: ALL_ROLES } as const;

  app.post(
    '/domains',
    {
      config: { auth },
      schema: {
        tags,
        summary: 'Create a domain',
        body: DomainCreateBody,
        response: { 201: DomainMessageAnswer },
      },
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
        summary: 'List domains you can see (paginated; search with q, filter by status and owner)',
        description:
          '`q`: case-insensitive substring of the domain name (`%` and `_` match themselves). `status`: active, suspended or disabled (by the license). `owner`: exact. Filters combine with AND; `pagination.total` counts what they match across pages. Without them the list is unchanged. A bad value answers 400 VALIDATION_ERROR naming the field.',
        querystring: DomainListQuery,
        response: {
          200: DomainListAnswer,
        },
      },
    },
    async (req) => ({
      success: true as const,
      ...(await domains.list(
        req.actor,
        { page: req.query.page ?? 1, per_page: req.query.per_page ?? 20 },
        { q: req.query.q, status: req.query.status, owner: req.query.owner },
      )),
    }),
  );

  app.get(
    '/domains/:domain',
    {
      config: { auth },
      schema: {
        tags,
        summary: 'Get a domain',
        params: DomainParam,
        response: { 200: DomainAnswer },
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
        params: DomainParam,
        body: DomainUpdateBody,
        response: { 200: DomainMessageAnswer },
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
          params: DomainParam,
          response: { 200: DomainMessageAnswer },
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
      schema: { tags, summary: 'Delete a domain', params: DomainParam, response: { 200: OkMessage } },
    },
    async (req) => {
      await domains.delete(req.actor, req.params.domain);
      return { success: true as const, message: `Domain '${req.params.domain.toLowerCase()}' deleted` };
    },
  );
};
