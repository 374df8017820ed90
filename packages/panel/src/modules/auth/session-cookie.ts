/**
 * The web console's session cookie and its CSRF token (docs/console.md "Sessions").
 *
 * - `POST /api/v1/auth/login` with `"cookie": true` puts the UI session token in the
 *   `__Host-wispanel_session` cookie (`HttpOnly; Secure; SameSite=Strict; Path=/`) instead of the body, and
 *   answers a `csrf_token`. API clients keep `Authorization: Bearer`, which always wins over the cookie.
 * - A request authenticated by the cookie with a state-changing method (anything but GET/HEAD/OPTIONS) must
 *   carry `X-CSRF-Token: <csrf_token>`; without it, or with another one, it is refused 403 before the
 *   handler. The token is derived from the session token (SHA-256 under a fixed label), so it is bound to
 *   the session, needs no storage, and cannot be computed without the cookie the page cannot read.
 * - A cookie request with an `Origin` header from another origin is refused as well (defence in depth
 *   beside SameSite=Strict).
 */
import { AppError } from '@wispanel/kit';
import type { FastifyRequest } from 'fastify';
import { digestsEqual, SESSION_TOKEN_PATTERN, sha256Hex } from './tokens';

export const SESSION_COOKIE = '__Host-wispanel_session';
export const CSRF_HEADER = 'x-csrf-token';

/** The session token from the Cookie header, or undefined (no cookie, or not a well-formed token). */
export function sessionFromCookie(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    const value = part.slice(eq + 1).trim();
    return SESSION_TOKEN_PATTERN.test(value) ? value : undefined;
  }
  return undefined;
}

export function csrfTokenFor(sessionToken: string): string {
  return sha256Hex(`wispanel-csrf\0${sessionToken}`);
}

export function sessionCookie(token: string, maxAgeSeconds: number): string {
  return `${SESSION_COOKIE}=${token}; Path=/; Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}; HttpOnly; Secure; SameSite=Strict`;
}

export const CLEARED_SESSION_COOKIE = `${SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict`;

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Host of an Origin header value, or null when it cannot be parsed (`null` origins included). */
function originHost(origin: string): string | null {
  try {
    return new URL(origin).host.toLowerCase();
  } catch {
    return null;
  }
}

/** Refuses a cross-origin request (Origin present and not this Host). */
export function assertSameOrigin(request: FastifyRequest): void {
  const origin = request.headers.origin;
  if (origin === undefined) return;
  const host = request.headers.host?.toLowerCase();
  if (!host || originHost(origin) !== host) {
    throw new AppError('FORBIDDEN', 'Cross-origin request refused');
  }
}

/** The CSRF rule for a request authenticated by the session cookie. Throws 403 FORBIDDEN. */
export function assertCsrf(request: FastifyRequest, sessionToken: string): void {
  assertSameOrigin(request);
  if (SAFE_METHODS.has(request.method)) return;
  const sent = request.headers[CSRF_HEADER];
  if (typeof sent !== 'string' || !/^[0-9a-f]{64}$/.test(sent)) {
    throw new AppError('FORBIDDEN', 'CSRF token missing: send the X-CSRF-Token header from the login answer');
  }
  if (!digestsEqual(sent, csrfTokenFor(sessionToken))) {
    throw new AppError('FORBIDDEN', 'CSRF token does not match this session');
  }
}
