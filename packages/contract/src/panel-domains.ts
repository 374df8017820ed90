import { type Static, Type } from 'typebox';
import { panelListQuery, ResourceState } from './panel-api';
import { Pagination } from './wire';

/** Wire shapes of the panel's domains (`/api/v1/domains/*`). Prose: docs/panel-api.md. */

export const PanelDomain = Type.Object({
  id: Type.Integer(),
  domain: Type.String(),
  owner: Type.String(),
  ...ResourceState,
  created_at: Type.String(),
  updated_at: Type.String(),
});
export type PanelDomain = Static<typeof PanelDomain>;

/** `POST /domains` body. `domain` is checked by the service so a missing one reads "Domain is required". */
export const DomainCreateBody = Type.Object(
  {
    domain: Type.Optional(
      Type.String({ maxLength: 253, description: 'Hostname, e.g. example.com (required)' }),
    ),
    owner: Type.Optional(Type.String({ maxLength: 64, description: 'Owner username (default: you)' })),
  },
  { additionalProperties: false },
);
export type DomainCreateBody = Static<typeof DomainCreateBody>;

/** `PATCH /domains/:domain` body. */
export const DomainUpdateBody = Type.Object(
  { owner: Type.Optional(Type.String({ maxLength: 64 })) },
  { additionalProperties: false },
);
export type DomainUpdateBody = Static<typeof DomainUpdateBody>;

export const DomainParam = Type.Object({ domain: Type.String() });

export const DomainAnswer = Type.Object({ success: Type.Literal(true), domain: PanelDomain });
export type DomainAnswer = Static<typeof DomainAnswer>;
export const DomainMessageAnswer = Type.Object({
  success: Type.Literal(true),
  message: Type.String(),
  domain: PanelDomain,
});
export type DomainMessageAnswer = Static<typeof DomainMessageAnswer>;
export const DomainListAnswer = Type.Object({
  success: Type.Literal(true),
  domains: Type.Array(PanelDomain),
  pagination: Pagination,
});
export type DomainListAnswer = Static<typeof DomainListAnswer>;

/** `GET /domains` query: page, `q` (domain name), `status`, `owner`. */
export const DomainListQuery = panelListQuery('domain name', {
  owner: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Exact owner username' })),
});
export type DomainListQuery = Static<typeof DomainListQuery>;
