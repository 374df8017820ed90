import {
  DatabaseAnswer,
  DatabaseCreateBody,
  DatabaseListAnswer,
  DatabaseListQuery,
  DatabaseMessageAnswer,
  DatabaseParam,
  DatabaseUpdateBody,
} from '@wispanel/contract';
import { ALL_ROLES, MANAGER_ROLES, type PanelPlugin } from '../../http/plugin';
import { OkMessage } from '../../http/schemas';

export const databaseRoutes: PanelPlugin = async (app, { ctx }) => {
  const databases = ctx.services.databases;
  const tags = ['databases'];
  const auth = { resource: 'databases', roles: ALL_ROLES } as const;

  app.post(
    '/databases',
    {
      config: { auth },
      schema: {
        tags,
        summary: 'Create a database',
        body: DatabaseCreateBody,
        response: { 201: DatabaseMessageAnswer },
      },
    },
    async (req, reply) => {
      const database = await databases.create(req.actor, req.body);
      return reply
        .code(201)
        .send({ success: true, message: `Database '${database.name}' created`, database });
    },
  );

  app.get(
    '/databases',
    {
      config: { auth },
      schema: {
        tags,
        summary: 'List databases you can see (paginated; search with q, filter by status and owner)',
        description:
          '`q`: case-insensitive substring of the database name (`%` and `_` match themselves). `status`: active, suspended or disabled (by the license). `owner`: exact. Filters combine with AND; `pagination.total` counts what they match across pages. Without them the list is unchanged. A bad value answers 400 VALIDATION_ERROR naming the field.',
        querystring: DatabaseListQuery,
        response: {
          200: DatabaseListAnswer,
        },
      },
    },
    async (req) => ({
      success: true as const,
      ...(await databases.list(
        req.actor,
        { page: req.query.page ?? 1, per_page: req.query.per_page ?? 20 },
        { q: req.query.q, status: req.query.status, owner: req.query.owner },
      )),
    }),
  );

  app.get(
    '/databases/:name',
    {
      config: { auth },
      schema: {
        tags,
        summary: 'Get a database',
        params: DatabaseParam,
        response: { 200: DatabaseAnswer },
      },
    },
    async (req) => ({ success: true as const, database: await databases.get(req.actor, req.params.name) }),
  );

  app.patch(
    '/databases/:name',
    {
      config: { auth },
      schema: {
        tags,
        summary: 'Update a database (password, domain)',
        params: DatabaseParam,
        body: DatabaseUpdateBody,
        response: { 200: DatabaseMessageAnswer },
      },
    },
    async (req) => {
      const database = await databases.update(req.actor, req.params.name, req.body ?? {});
      return { success: true as const, message: `Database '${database.name}' updated`, database };
    },
  );

  for (const [action, suspended] of [
    ['suspend', true],
    ['unsuspend', false],
  ] as const) {
    app.post(
      `/databases/:name/${action}`,
      {
        config: { auth: { resource: 'databases', roles: MANAGER_ROLES } },
        schema: {
          tags,
          summary: `${action === 'suspend' ? 'Suspend' : 'Unsuspend'} a database`,
          params: DatabaseParam,
          response: { 200: DatabaseMessageAnswer },
        },
      },
      async (req) => {
        const database = await databases.setSuspended(req.actor, req.params.name, suspended);
        return { success: true as const, message: `Database '${database.name}' ${action}ed`, database };
      },
    );
  }

  app.delete(
    '/databases/:name',
    {
      config: { auth },
      schema: { tags, summary: 'Delete a database', params: DatabaseParam, response: { 200: OkMessage } },
    },
    async (req) => {
      await databases.delete(req.actor, req.params.name);
      return { success: true as const, message: `Database '${req.params.name}' deleted` };
    },
  );
};
