import {
  UserAnswer,
  UserCreateBody,
  UserListAnswer,
  UserListQuery,
  UserMessageAnswer,
  UsernameParam,
  UserUpdateBody,
} from '@wispanel/contract';
import { ALL_ROLES, MANAGER_ROLES, type PanelPlugin } from '../../http/plugin';
import { OkMessage } from '../../http/schemas';

export const userRoutes: PanelPlugin = async (app, { ctx }) => {
  const users = ctx.services.users;
  const tags = ['users'];

  app.post(
    '/users',
    {
      config: { auth: { resource: 'users', roles: MANAGER_ROLES } },
      schema: {
        tags,
        summary: 'Create an account',
        body: UserCreateBody,
        response: { 201: UserMessageAnswer },
      },
    },
    async (req, reply) => {
      const user = await users.create(req.actor, req.body);
      return reply.code(201).send({ success: true, message: `User '${user.username}' created`, user });
    },
  );

  app.get(
    '/users',
    {
      config: { auth: { resource: 'users', roles: ALL_ROLES } },
      schema: {
        tags,
        summary: 'List accounts you can see (paginated; search with q, filter by status and role)',
        description:
          '`q`: case-insensitive substring of the username or e-mail (`%` and `_` match themselves). `status`: active, suspended or disabled (by the license). `role`: exact. Filters combine with AND; `pagination.total` counts what they match across pages. Without them the list is unchanged. A bad value answers 400 VALIDATION_ERROR naming the field.',
        querystring: UserListQuery,
        response: {
          200: UserListAnswer,
        },
      },
    },
    async (req) => ({
      success: true as const,
      ...(await users.list(
        req.actor,
        { page: req.query.page ?? 1, per_page: req.query.per_page ?? 20 },
        { q: req.query.q, status: req.query.status, role: req.query.role },
      )),
    }),
  );

  app.get(
    '/users/:username',
    {
      config: { auth: { resource: 'users', roles: ALL_ROLES } },
      schema: { tags, summary: 'Get an account', params: UsernameParam, response: { 200: UserAnswer } },
    },
    async (req) => ({ success: true as const, user: await users.get(req.actor, req.params.username) }),
  );

  app.patch(
    '/users/:username',
    {
      config: { auth: { resource: 'users', roles: ALL_ROLES } },
      schema: {
        tags,
        summary: 'Update an account',
        params: UsernameParam,
        body: UserUpdateBody,
        response: { 200: UserMessageAnswer },
      },
    },
    async (req) => {
      const user = await users.update(req.actor, req.params.username, req.body ?? {});
      return { success: true as const, message: `User '${user.username}' updated`, user };
    },
  );

  for (const [action, suspended] of [
    ['suspend', true],
    ['unsuspend', false],
  ] as const) {
    app.post(
      `/users/:username/${action}`,
      {
        config: { auth: { resource: 'users', roles: MANAGER_ROLES } },
        schema: {
          tags,
          summary: `${action === 'suspend' ? 'Suspend' : 'Unsuspend'} an account`,
          params: UsernameParam,
          response: { 200: UserMessageAnswer },
        },
      },
      async (req) => {
        const user = await users.setSuspended(req.actor, req.params.username, suspended);
        return { success: true as const, message: `User '${user.username}' ${action}ed`, user };
      },
    );
  }

  app.delete(
    '/users/:username',
    {
      config: { auth: { resource: 'users', roles: MANAGER_ROLES } },
      schema: {
        tags,
        summary: 'Delete an account (refused while it owns anything)',
        params: UsernameParam,
        response: { 200: OkMessage },
      },
    },
    async (req) => {
      await users.delete(req.actor, req.params.username);
      return { success: true as const, message: `User '${req.params.username}' deleted` };
    },
  );
};
