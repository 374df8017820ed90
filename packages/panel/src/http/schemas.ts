import { OkMessage, Pagination, PanelError, PanelPageQuery, ResourceState } from '@wispanel/contract';
import type { TSchema } from 'typebox';

/** Shared wire schemas of the panel API (they live in @wispanel/contract; re-exported for the routes). */
export { OkMessage, Pagination, ResourceState };
export const PageQuery = PanelPageQuery;
export const ErrorBody = PanelError;

/** A success schema map for `schema.response` (errors are added by errorResponses / the OpenAPI transform). */
export function ok(status: number, schema: TSchema): Record<number, TSchema> {
  return { [status]: schema };
}

/** The error envelope for each status, with what it means on this route (OpenAPI). */
export function errorResponses(errors: Record<number, string>): Record<number, TSchema> {
  const out: Record<number, TSchema> = {};
  for (const [status, description] of Object.entries(errors)) {
    out[Number(status)] = { ...PanelError, description } as TSchema;
  }
  return out;
}

/** Route option: the answer is sent as the handler built it (the response schema documents it, never trims it). */
export const sentAsBuilt = () => (data: unknown) => JSON.stringify(data);

/**
 * Documents a request body the handler checks itself (so an empty body answers its own documented message):
 * the OpenAPI document shows it as the body; fastify does not validate it.
 */
export const DOCUMENTED_BODY = 'x-documented-body';
export function documentedBody(schema: TSchema): Record<string, TSchema> {
  return { [DOCUMENTED_BODY]: schema };
}
