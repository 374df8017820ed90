import { type TSchema, Type } from 'typebox';

/** Shared wire schemas of the panel API. */
export const PageQuery = Type.Object(
  {
    page: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 })),
    per_page: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  },
  { additionalProperties: false },
);

export const Pagination = Type.Object({
  page: Type.Integer(),
  per_page: Type.Integer(),
  total: Type.Integer(),
  total_pages: Type.Integer(),
});

export const ResourceState = {
  status: Type.String({ description: "Admin state: 'active' or 'suspended'" }),
  disabled_by_license: Type.Boolean({
    description: 'Disabled by license enforcement (separate from status)',
  }),
  license_disabled_at: Type.Union([Type.String(), Type.Null()]),
  license_disabled_reason: Type.Union([Type.String(), Type.Null()]),
};

export const ErrorBody = Type.Object({
  success: Type.Literal(false),
  code: Type.String(),
  error: Type.String(),
  message: Type.String(),
  status: Type.Integer(),
  details: Type.Optional(Type.Record(Type.String(), Type.Array(Type.String()))),
});

export const OkMessage = Type.Object({ success: Type.Literal(true), message: Type.String() });

/** A success schema map for `schema.response` (errors are documented once, as ErrorBody). */
export function ok(status: number, schema: TSchema): Record<number, TSchema> {
  return { [status]: schema };
}
