import { type Static, Type } from 'typebox';
import { panelListQuery, ResourceState } from './panel-api';
import { Pagination } from './wire';

/** Wire shapes of the panel's databases (`/api/v1/databases/*`). Prose: docs/panel-api.md. */

/** Database and database-user names (before the `<owner>_` prefix). */
export const DB_NAME_PATTERN = '^[a-zA-Z0-9_]+$';

export const PanelDatabase = Type.Object({
  id: Type.Integer(),
  name: Type.String({ description: '<owner>_<name>' }),
  owner: Type.String(),
  user: Type.String({ description: 'Database user, <owner>_<user>' }),
  domain: Type.Union([Type.String(), Type.Null()]),
  ...ResourceState,
  created_at: Type.String(),
  updated_at: Type.String(),
});
export type PanelDatabase = Static<typeof PanelDatabase>;

const Name = Type.String({ minLength: 1, maxLength: 64, pattern: DB_NAME_PATTERN });

/** `POST /databases` body. */
export const DatabaseCreateBody = Type.Object(
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
export type DatabaseCreateBody = Static<typeof DatabaseCreateBody>;

/** `PATCH /databases/:name` body. */
export const DatabaseUpdateBody = Type.Object(
  {
    password: Type.Optional(Type.String({ minLength: 8, maxLength: 256 })),
    domain: Type.Optional(Type.Union([Type.String({ maxLength: 253 }), Type.Null()])),
  },
  { additionalProperties: false },
);
export type DatabaseUpdateBody = Static<typeof DatabaseUpdateBody>;

export const DatabaseParam = Type.Object({ name: Type.String() });

export const DatabaseAnswer = Type.Object({ success: Type.Literal(true), database: PanelDatabase });
export type DatabaseAnswer = Static<typeof DatabaseAnswer>;
export const DatabaseMessageAnswer = Type.Object({
  success: Type.Literal(true),
  message: Type.String(),
  database: PanelDatabase,
});
export type DatabaseMessageAnswer = Static<typeof DatabaseMessageAnswer>;
export const DatabaseListAnswer = Type.Object({
  success: Type.Literal(true),
  databases: Type.Array(PanelDatabase),
  pagination: Pagination,
});
export type DatabaseListAnswer = Static<typeof DatabaseListAnswer>;

/** `GET /databases` query: page, `q` (database name), `status`, `owner`. */
export const DatabaseListQuery = panelListQuery('database name', {
  owner: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Exact owner username' })),
});
export type DatabaseListQuery = Static<typeof DatabaseListQuery>;
