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
import {
  assertCsrf as assertCsrfFor,
  csrfTokenFor as csrfTokenUnder,
  readCookie,
  sessionCookieHeader,
} from '@wispanel/kit';
import type { FastifyRequest } from 'fastify';
import { SESSION_TOKEN_PATTERN } from './tokens';

// The cookie syntax, CSRF derivation and same-origin rule are kit's (shared with the portal console);
// this file names the panel's cookie and CSRF label.
export const SESSION_COOKIE = '__Host-wispanel_session';
export { assertSameOrigin, CSRF_HEADER } from '@wispanel/kit';

const CSRF_LABEL = 'wispanel-csrf';

/** The session token from the Cookie header, or undefined (no cookie, or not a well-formed token). */
export function sessionFromCookie(header: string | undefined): string | undefined {
  return readCookie(header, SESSION_COOKIE, SESSION_TOKEN_PATTERN);
}

export function csrfTokenFor(sessionToken: string): string {
  return csrfTokenUnder(sessionToken, CSRF_LABEL);
}

export function sessionCookie(token: string, maxAgeSeconds: number): string {
  return sessionCookieHeader(SESSION_COOKIE, token, maxAgeSeconds);
}

export const CLEARED_SESSION_COOKIE = sessionCookieHeader(SESSION_COOKIE, '', 0);

/** The CSRF rule for a request authenticated by the session cookie. Throws 403 FORBIDDEN. */
export function assertCsrf(request: FastifyRequest, sessionToken: string): void {
  assertCsrfFor(request, sessionToken, CSRF_LABEL);
}
