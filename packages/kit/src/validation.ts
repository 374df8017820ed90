import Ajv, { type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import type { Static, TSchema } from 'typebox';
import { AppError, type ValidationIssue } from './errors';

/**
 * Bodies are validated strictly: no type coercion, unknown fields rejected (not silently dropped).
 * Query strings, params and headers arrive as strings, so they are coerced.
 */
function makeAjv(coerce: boolean): Ajv {
  const ajv = new Ajv({
    coerceTypes: coerce ? 'array' : false,
    useDefaults: true,
    removeAdditional: false,
    allErrors: true,
    strict: false,
  });
  addFormats(ajv);
  return ajv;
}

const bodyAjv = makeAjv(false);
const otherAjv = makeAjv(true);

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  const ajv = httpPart === 'body' ? bodyAjv : otherAjv;
  return ajv.compile(schema as object) as ReturnType<FastifySchemaCompiler<unknown>>;
};

function fieldOf(err: ErrorObject, part: string): string {
  const path = err.instancePath
    .split('/')
    .filter(Boolean)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
  if (err.keyword === 'required') {
    const missing = (err.params as { missingProperty: string }).missingProperty;
    return path ? `${path}.${missing}` : missing;
  }
  if (err.keyword === 'additionalProperties') {
    const extra = (err.params as { additionalProperty: string }).additionalProperty;
    return path ? `${path}.${extra}` : extra;
  }
  return path || part;
}

function describe(err: ErrorObject, field: string): string {
  const p = err.params as Record<string, unknown>;
  switch (err.keyword) {
    case 'required':
      return `${field} is required`;
    case 'additionalProperties':
      return `${field} is not a known field`;
    case 'type':
      return `${field} must be of type ${String(p.type)}`;
    case 'enum':
      return `${field} must be one of: ${(p.allowedValues as unknown[]).join(', ')}`;
    case 'const':
      return `${field} must be ${JSON.stringify(p.allowedValue)}`;
    case 'minLength':
      return `${field} must be at least ${String(p.limit)} characters`;
    case 'maxLength':
      return `${field} must be at most ${String(p.limit)} characters`;
    case 'pattern':
      return `${field} has an invalid format`;
    case 'format':
      return `${field} must be a valid ${String(p.format)}`;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `${field} must be ${String(p.comparison)} ${String(p.limit)}`;
    case 'maxItems':
      return `${field} must have at most ${String(p.limit)} items`;
    case 'minItems':
      return `${field} must have at least ${String(p.limit)} items`;
    default:
      return `${field} ${err.message ?? 'is invalid'}`;
  }
}

/** Turns ajv errors into one VALIDATION_ERROR naming the first field, with every problem in details. */
export function validationAppError(errors: ErrorObject[], part: string): AppError {
  // No prototype: a field named `constructor` or `__proto__` must be a plain key, not an inherited member.
  const details: Record<string, string[]> = Object.create(null);
  const issues: ValidationIssue[] = [];
  let first = '';
  for (const e of errors) {
    if (e.keyword === 'if' || e.keyword === 'anyOf' || e.keyword === 'oneOf') continue;
    const field = fieldOf(e, part);
    issues.push({ field, keyword: e.keyword, params: e.params as Record<string, unknown> });
    const text = describe(e, field);
    details[field] ??= [];
    if (!details[field].includes(text)) details[field].push(text);
    first ||= text;
  }
  if (!first) first = `${part} is invalid`;
  if (part === 'body' && errors.some((e) => e.instancePath === '' && e.keyword === 'type')) {
    first = 'Request body must be a JSON object';
  }
  return new AppError('VALIDATION_ERROR', first, { details, issues });
}

const compiledBodies = new WeakMap<object, ReturnType<Ajv['compile']>>();

/**
 * Validates a value the way a route validates its JSON body (same ajv settings: no coercion, unknown fields
 * refused), for callers that are not routes — the command-line tools — so they refuse exactly what the API
 * refuses. Throws the same VALIDATION_ERROR a route would; returns the value typed by the schema.
 */
export function validateBody<S extends TSchema>(schema: S, value: unknown): Static<S> {
  let check = compiledBodies.get(schema);
  if (!check) {
    check = bodyAjv.compile(schema);
    compiledBodies.set(schema, check);
  }
  if (!check(value)) throw validationAppError(check.errors ?? [], 'body');
  return value as Static<S>;
}
