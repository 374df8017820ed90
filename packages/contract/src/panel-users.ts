import { type Static, Type } from 'typebox';
import { PanelRole, panelListQuery, ResourceState } from './panel-api';
import { ROLES } from './scopes';
import { Pagination } from './wire';

/** Wire shapes of the panel's accounts (`/api/v1/users/*`). Prose: docs/panel-api.md. */

/** Usernames: a lowercase letter, then 1–31 of a-z 0-9 _ (also the prefix of database names). */
export const USERNAME_PATTERN = '^[a-z][a-z0-9_]{1,31}$';

/** An account as every answer shows it (never the password hash). */
export const PanelUser = Type.Object({
  id: Type.Integer(),
  username: Type.String(),
  email: Type.String(),
  role: PanelRole,
  package: Type.String(),
  creator: Type.Union([Type.String(), Type.Null()]),
  ...ResourceState,
  created_at: Type.String(),
  updated_at: Type.String(),
});
export type PanelUser = Static<typeof PanelUser>;

const RoleInput = Type.Union(ROLES.map((r) => Type.Literal(r)));
const Email = Type.String({ format: 'email', maxLength: 254 });
const Password = Type.String({ minLength: 8, maxLength: 256 });
const PackageName = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$' });

/** `POST /users` body. */
export const UserCreateBody = Type.Object(
  {
    username: Type.String({
      pattern: USERNAME_PATTERN,
      description: 'lowercase letter, then 1–31 of a-z 0-9 _',
    }),
    email: Email,
    password: Password,
    role: Type.Optional(RoleInput),
    package: Type.Optional(PackageName),
  },
  { additionalProperties: false },
);
export type UserCreateBody = Static<typeof UserCreateBody>;

/** `PATCH /users/:username` body. */
export const UserUpdateBody = Type.Object(
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
    role: Type.Optional(RoleInput),
    package: Type.Optional(PackageName),
  },
  { additionalProperties: false },
);
export type UserUpdateBody = Static<typeof UserUpdateBody>;

export const UsernameParam = Type.Object({ username: Type.String() });

export const UserAnswer = Type.Object({ success: Type.Literal(true), user: PanelUser });
export type UserAnswer = Static<typeof UserAnswer>;
export const UserMessageAnswer = Type.Object({
  success: Type.Literal(true),
  message: Type.String(),
  user: PanelUser,
});
export type UserMessageAnswer = Static<typeof UserMessageAnswer>;
export const UserListAnswer = Type.Object({
  success: Type.Literal(true),
  users: Type.Array(PanelUser),
  pagination: Pagination,
});
export type UserListAnswer = Static<typeof UserListAnswer>;

/** `GET /users` query: page, `q` (username or e-mail), `status`, `role`. */
export const UserListQuery = panelListQuery('username or e-mail', {
  role: Type.Optional(Type.Enum([...ROLES], { description: 'Exact role' })),
});
export type UserListQuery = Static<typeof UserListQuery>;
