import { Type } from 'typebox';
import { ALL_ROLES, MANAGER_ROLES, type PanelPlugin } from '../../http/plugin';
import { OkMessage, PageQuery, Pagination, ResourceState } from '../../http/schemas';
import { DB_NAME_PATTERN } from './databases.service';

export const DatabaseSchema = Type.Object({
  id: Type.Integer(),
  name: Type.String({ description: '<owner>_<name>' }),
  owner: Type.String(),
  user: Type.String({ description: 'Database user, <owner>_<user>' }),
  domain: Type.Union([Type.String(), Type.Null()]),
  ...ResourceState,
  created_at: Type.String(),
  updated_at: Type.String(),
});

const Name = Type.String({ minLength: 1, maxLength: 64, pattern: DB_NAME_PATTERN });
const CreateDatabase = Type.Object(
  {
    name: Type.String({ ...Name, description: 'Letters, digits, _; stored as <owner>_<name>' }),
    user: Type.Optional(
      Type.String({
        ...Name,
        description: 'Database user (default: the database name), stored as <owner>_<user>',
      }),
    ),
    password: Type.Optional(
      Type.String({ minLength: 8, maxLength: 256, description: 'Handed to the provisioner, never stored' }),
    ),
    domain: Type.Optional(
      Type.String({
        maxLength: 253,
        description: "Attach to a domain; the database then belongs to the domain's owner",
      }),
    ),
  },
  { additionalProperties: false },
);
const UpdateDatabase = Type.Object(
  {
    password: Type.Optional(Type.String({ minLength: 8, maxLength: 256 })),
    domain: Type.Optional(Type.Union([Type.String({ maxLength: 253 }), Type.Null()])),
  },
  { additionalProperties: false },
);
const NameParams = Type.Object({ name: Type.String() });
const DatabaseMessage = Type.Object({
  success: Type.Literal(true),
  message: Type.String(),
  database: DatabaseSchema,
});

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
        body: CreateDatabase,
        response: { 201: DatabaseMessage },
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
        summary: 'List databases you can see (paginated)',
        querystring: PageQuery,
        response: {
          200: Type.Object({
            success: Type.Literal(true),
            databases: Type.Array(DatabaseSchema),
            pagination: Pagination,
          }),
        },
      },
    },
    async (req) => ({
      success: true as const,
      ...(await databases.list(req.actor, { page: req.query.page ?? 1, per_page: req.query.per_page ?? 20 })),
    }),
  );

  app.get(
    '/databases/:name',
    {
      config: { auth },
      schema: {
        tags,
        summary: 'Get a database',
        params: NameParams,
        response: { 200: Type.Object({ success: Type.Literal(true), database: DatabaseSchema }) },
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
        params: NameParams,
        body: UpdateDatabase,
        response: { 200: DatabaseMessage },
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
          params: NameParams,
          response: { 200: DatabaseMessage },
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
      schema: { tags, summary: 'Delete a database', params: NameParams, response: { 200: OkMessage } },
    },
    async (req) => {
      await databases.delete(req.actor, req.params.name);
      return { success: true as const, message: `Database '${req.params.name}' deleted` };
    },
  );
};
