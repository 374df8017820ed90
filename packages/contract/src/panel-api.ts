import { type Static, Type } from 'typebox';
import { ROLES, type Role } from './scopes';
import { Details, type Pagination } from './wire';

/** Shapes shared by every route family of the panel API (`/api/v1`). */

/** Every panel error: `{ success:false, code, error, message, status, details? }`. */
export const PanelError = Type.Object({
  success: Type.Literal(false),
  code: Type.String({ examples: ['VALIDATION_ERROR'] }),
  error: Type.String({ description: 'Same text as message (kept for older clients)' }),
  message: Type.String({ examples: ['username is required'] }),
  status: Type.Integer({ examples: [400] }),
  details: Type.Optional(Details),
});

export const PanelPageQuery = Type.Object(
  {
    page: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 })),
    per_page: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  },
  { additionalProperties: false },
);

export const OkMessage = Type.Object({ success: Type.Literal(true), message: Type.String() });

/** Admin state and license-enforcement state of an account, domain or database. */
export const ResourceState = {
  status: Type.String({ description: "Admin state: 'active' or 'suspended'" }),
  disabled_by_license: Type.Boolean({
    description: 'Disabled by license enforcement (separate from status)',
  }),
  license_disabled_at: Type.Union([Type.String(), Type.Null()]),
  license_disabled_reason: Type.Union([Type.String(), Type.Null()]),
};

/** An account's role, as every answer carries it (admin, reseller, user). */
export const PanelRole = Type.Unsafe<Role>(Type.String({ enum: [...ROLES] }));
export type PanelRole = Static<typeof PanelRole>;

/** `page` / `per_page` of a list request, as the client sends them. */
export type PanelPageQuery = Static<typeof PanelPageQuery>;
export type PanelPagination = Static<typeof Pagination>;
export type OkMessage = Static<typeof OkMessage>;
