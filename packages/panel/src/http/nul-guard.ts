import { type App, validationError } from '@wispanel/kit';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** The first path (e.g. `params.username`, `body.email`) holding a string with a NUL character, if any. */
export function nulField(value: unknown, path: string, depth = 0): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined;
  if (depth > 8 || value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return undefined;
  for (const [k, v] of Object.entries(value)) {
    const found = nulField(v, Array.isArray(value) ? `${path}[${k}]` : `${path}.${k}`, depth + 1);
    if (found) return found;
  }
  return undefined;
}

/** The check: 400 VALIDATION_ERROR naming the first field holding a NUL character. */
function rejectNul(request: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void): void {
  for (const [part, value] of [
    ['params', request.params],
    ['query', request.query],
    ['body', request.body],
  ] as const) {
    const field = nulField(value, part);
    if (field) {
      const name = field.slice(part.length + 1);
      done(
        validationError(`${name}: must not contain a NUL character`, {
          [name]: ['Must not contain a NUL character'],
        }),
      );
      return;
    }
  }
  done();
}

/**
 * No stored name, address or secret may contain a NUL character, and PostgreSQL refuses one in any text
 * parameter (which surfaced as a 500 on `GET /users/%00`, a login with "\u0000" as username, ...). One check,
 * after authentication and schema validation and before any handler: 400 VALIDATION_ERROR naming the field.
 * It is attached to every route that reads input (a method with a body, path parameters, a query or body
 * schema); a route without any (GET /auth/me) reads none and skips it.
 */
export function installNulGuard(app: App): void {
  app.addHook('onRoute', (route) => {
    const schema = route.schema as { params?: unknown; querystring?: unknown; body?: unknown } | undefined;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const readsInput =
      // Any method but GET/HEAD may carry a body, which a handler may read without a schema (license activate
      // and the license actions take theirs that way).
      methods.some((m) => m.toUpperCase() !== 'GET' && m.toUpperCase() !== 'HEAD') ||
      route.url.includes(':') ||
      route.url.includes('*') ||
      schema?.params !== undefined ||
      schema?.querystring !== undefined ||
      schema?.body !== undefined;
    if (!readsInput) return;
    const existing = route.preHandler;
    route.preHandler = existing
      ? [rejectNul, ...(Array.isArray(existing) ? existing : [existing])]
      : [rejectNul];
  });
}
