import { type Static, type TSchema, Type } from 'typebox';
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

const PageFields = {
  page: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 })),
  per_page: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
};

export const PanelPageQuery = Type.Object(PageFields, { additionalProperties: false });

/** `status` filter of the resource lists: admin state and license mark (docs/panel-api.md "Searching lists"). */
export const RESOURCE_STATUS_FILTERS = ['active', 'suspended', 'disabled'] as const;

/**
 * The query of `GET /users|/domains|/databases`: a page, and optional filters (Part B; SPEC A is unchanged:
 * without them the list is what it was). `q` is a case-insensitive substring of `searched`; `%`, `_` and `\`
 * match themselves. The total counts what the filters match, across pages.
 */
export function panelListQuery<E extends Record<string, TSchema>>(searched: string, extra: E) {
  return Type.Object(
    {
      ...PageFields,
      q: Type.Optional(
        Type.String({
          maxLength: 100,
          description: `Case-insensitive substring of the ${searched}; % and _ match themselves; empty = no filter`,
        }),
      ),
      status: Type.Optional(
        Type.Enum([...RESOURCE_STATUS_FILTERS], {
          description:
            'active: not suspended and not disabled by the license; suspended: by an admin; disabled: by license enforcement',
        }),
      ),
      ...extra,
    },
    { additionalProperties: false },
  );
}

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

/** `GET /health` (no auth): 200 when the database answers, 503 with the same shape when it does not. */
export const PanelHealth = Type.Object({
  status: Type.String(),
  version: Type.String(),
  uptime_seconds: Type.Integer(),
  database: Type.String(),
});
export type PanelHealth = Static<typeof PanelHealth>;

/** An account's role, as every answer carries it (admin, reseller, user). */
export const PanelRole = Type.Unsafe<Role>(Type.String({ enum: [...ROLES] }));
export type PanelRole = Static<typeof PanelRole>;

/** `page` / `per_page` of a list request, as the client sends them. */
export type PanelPageQuery = Static<typeof PanelPageQuery>;
export type PanelPagination = Static<typeof Pagination>;
export type OkMessage = Static<typeof OkMessage>;
