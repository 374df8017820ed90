import { ROLES } from '@wispanel/contract';
import { Type } from 'typebox';
import { ALL_ROLES, MANAGER_ROLES, type PanelPlugin } from '../../http/plugin';
import { OkMessage, PageQuery, Pagination, ResourceState } from '../../http/schemas';
import { USERNAME_PATTERN } from './users.service';

export const UserSchema = Type.Object({
  id: Type.Integer(),
  username: Type.String(),
  email: Type.String(),
  role: Type.String(),
  package: Type.String(),
  creator: Type.Union([Type.String(), Type.Null()]),
  ...ResourceState,
  created_at: Type.String(),
  updated_at: Type.String(),
});

const Role = Type.Union(ROLES.map((r) => Type.Literal(r)));
const Email = Type.String({ format: 'email', maxLength: 254 });
const Password = Type.String({ minLength: 8, maxLength: 256 });
const PackageName = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$' });

const CreateUser = Type.Object(
  {
    username: Type.String({
      pattern: USERNAME_PATTERN,
      description: 'lowercase letter, then 1–31 of a-z 0-9 _',
    }),
    email: Email,
    password: Password,
    role: Type.Optional(Role),
    package: Type.Optional(PackageName),
  },
  { additionalProperties: false },
);
const UpdateUser = Type.Object(
  {
    email: Type.Optional(Email),
    password: Type.Optional(Password),
    current_password: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1024,
        description: 'Required with password when changing your own password',
      }),
    ),
    role: Type.Optional(Role),
    package: Type.Optional(PackageName),
  },
  { additionalProperties: false },
);
const UsernameParams = Type.Object({ username: Type.String() });
const UserResponse = Type.Object({ success: Type.Literal(true), user: UserSchema });
const UserMessageResponse = Type.Object({
  success: Type.Literal(true),
  message: Type.String(),
  user: UserSchema,
});

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
        body: CreateUser,
        response: { 201: UserMessageResponse },
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
        summary: 'List accounts you can see (paginated)',
        querystring: PageQuery,
        response: {
          200: Type.Object({
            success: Type.Literal(true),
            users: Type.Array(UserSchema),
            pagination: Pagination,
          }),
        },
      },
    },
    async (req) => ({
      success: true as const,
      ...(await users.list(req.actor, { page: req.query.page ?? 1, per_page: req.query.per_page ?? 20 })),
    }),
  );

  app.get(
    '/users/:username',
    {
      config: { auth: { resource: 'users', roles: ALL_ROLES } },
      schema: { tags, summary: 'Get an account', params: UsernameParams, response: { 200: UserResponse } },
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
        params: UsernameParams,
        body: UpdateUser,
        response: { 200: UserMessageResponse },
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
          params: UsernameParams,
          response: { 200: UserMessageResponse },
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
        params: UsernameParams,
        response: { 200: OkMessage },
      },
    },
    async (req) => {
      await users.delete(req.actor, req.params.username);
      return { success: true as const, message: `User '${req.params.username}' deleted` };
    },
  );
};
