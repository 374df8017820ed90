import { type App, validationError } from '@wispanel/kit';

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

/**
 * No stored name, address or secret may contain a NUL character, and PostgreSQL refuses one in any text
 * parameter (which surfaced as a 500 on `GET /users/%00`, a login with "\u0000" as username, ...). One check,
 * after authentication and schema validation and before any handler: 400 VALIDATION_ERROR naming the field.
 */
export function installNulGuard(app: App): void {
  app.addHook('preHandler', async (request) => {
    for (const [part, value] of [
      ['params', request.params],
      ['query', request.query],
      ['body', request.body],
    ] as const) {
      const field = nulField(value, part);
      if (field) {
        const name = field.slice(part.length + 1);
        throw validationError(`${name}: must not contain a NUL character`, {
          [name]: ['Must not contain a NUL character'],
        });
      }
    }
  });
}
