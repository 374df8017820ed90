import type { AppError, ValidationIssue } from '@wispanel/kit';
import type { FastifyRequest } from 'fastify';

/**
 * The portal answers errors in one envelope per route family (SPEC A4):
 * - admin `/api/v1/admin/*` and everything else: `{ success:false, error, code, details? }`, validation 422
 *   "Validation failed" with `details` per field;
 * - license `/api/v1/license/*`: `{ valid:false, error, code, details? }`, validation 422 "Invalid request data";
 * - download `/api/v1/download/*`: `{ error, code, details? }`, and exactly `{ "error": "Invalid license" }`
 *   for a 401.
 */
export type RouteFamily = 'admin' | 'license' | 'download' | 'other';

export function familyOf(url: string): RouteFamily {
  if (url.startsWith('/api/v1/license/') || url === '/api/v1/license') return 'license';
  if (url.startsWith('/api/v1/download/') || url === '/api/v1/download') return 'download';
  if (url.startsWith('/api/v1/admin/') || url === '/api/v1/admin') return 'admin';
  return 'other';
}

/** `hardware_id` → `hardware id`, `usage.accounts` → `usage accounts` (the documented wording style). */
export function humanField(field: string): string {
  return field.replace(/[._]/g, ' ');
}

type SchemaNode = {
  properties?: Record<string, SchemaNode>;
  minLength?: number;
  maxLength?: number;
} & Record<string, unknown>;

function schemaAt(root: unknown, field: string): SchemaNode | undefined {
  let node = root as SchemaNode | undefined;
  for (const part of field.split('.')) node = node?.properties?.[part];
  return node;
}

/** One schema problem in the documented style: `The hardware id field must be 64 characters.` */
export function issueMessage(issue: ValidationIssue, schema: unknown): string {
  const name = humanField(issue.field);
  const the = `The ${name} field`;
  const node = schemaAt(schema, issue.field);
  const p = issue.params;
  switch (issue.keyword) {
    case 'required':
      return `${the} is required.`;
    case 'additionalProperties':
      return `${the} is not allowed.`;
    case 'type': {
      const t = String(p.type);
      if (t === 'integer') return `${the} must be an integer.`;
      if (t === 'array') return `${the} must be an array.`;
      if (t === 'object')
        return issue.field === 'body'
          ? 'The request body must be a JSON object.'
          : `${the} must be an object.`;
      if (t === 'boolean') return `${the} must be true or false.`;
      return `${the} must be a ${t}.`;
    }
    case 'minLength':
    case 'maxLength':
      if (node && node.minLength !== undefined && node.minLength === node.maxLength) {
        return `${the} must be ${node.minLength} characters.`;
      }
      return issue.keyword === 'minLength'
        ? `${the} must be at least ${String(p.limit)} characters.`
        : `${the} must not be greater than ${String(p.limit)} characters.`;
    case 'pattern':
    case 'format': {
      const hint = node?.['x-format-message'];
      return typeof hint === 'string' ? `${the} ${hint}` : `${the} format is invalid.`;
    }
    case 'enum':
      return `The selected ${name} is invalid.`;
    case 'minimum':
      return `${the} must be at least ${String(p.limit)}.`;
    case 'maximum':
      return `${the} must not be greater than ${String(p.limit)}.`;
    case 'minItems':
      return `${the} must have at least ${String(p.limit)} items.`;
    case 'maxItems':
      return `${the} must not have more than ${String(p.limit)} items.`;
    default:
      return `${the} is invalid.`;
  }
}

/** Field → messages in the documented style; falls back to the kit's details for non-schema problems. */
export function documentedDetails(err: AppError, request: FastifyRequest): Record<string, string[]> {
  if (!err.issues) {
    if (err.details) return err.details;
    return { body: [err.message.endsWith('.') ? err.message : `${err.message}.`] };
  }
  const schema =
    (request.routeOptions?.schema as
      | { body?: unknown; querystring?: unknown; params?: unknown }
      | undefined) ?? {};
  const out: Record<string, string[]> = Object.create(null);
  for (const issue of err.issues) {
    const main = request.method === 'GET' ? schema.querystring : schema.body;
    // A path parameter (e.g. a malformed id) is worded from the params schema.
    const root =
      schemaAt(main, issue.field) === undefined && schemaAt(schema.params, issue.field)
        ? schema.params
        : main;
    const text = issueMessage(issue, root);
    out[issue.field] ??= [];
    if (!out[issue.field]!.includes(text)) out[issue.field]!.push(text);
  }
  return out;
}

export function portalErrorStatus(err: AppError): number {
  return err.code === 'VALIDATION_ERROR' ? 422 : err.status;
}

export function renderPortalError(err: AppError, request: FastifyRequest): unknown {
  const family = familyOf(request.url.split('?')[0] ?? '/');
  const validation = err.code === 'VALIDATION_ERROR';
  const details = validation ? documentedDetails(err, request) : err.details;
  switch (family) {
    case 'license':
      return {
        valid: false,
        error: validation ? 'Invalid request data' : err.message,
        code: err.code,
        ...(details ? { details } : {}),
        ...(err.extra ?? {}),
      };
    case 'download':
      if (err.status === 401) return { error: err.message };
      return { error: err.message, code: err.code, ...(details ? { details } : {}), ...(err.extra ?? {}) };
    default:
      return {
        success: false,
        error: validation ? 'Validation failed' : err.message,
        code: err.code,
        ...(details ? { details } : {}),
        ...(err.extra ?? {}),
      };
  }
}
