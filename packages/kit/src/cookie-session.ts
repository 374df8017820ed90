/**
 * Cookie sessions of the web consoles (panel and portal): cookie syntax, the CSRF token bound to the
 * session, and the same-origin rule. Each service keeps its sessions (hashed) in its own database.
 *
 * - The session token travels only in a `__Host-` cookie: `HttpOnly; Secure; SameSite=Strict; Path=/`.
 * - A state-changing request (anything but GET/HEAD/OPTIONS) authenticated by the cookie must carry
 *   `X-CSRF-Token: <csrf token>`. The token is SHA-256 of the session token under a fixed label: bound to the
 *   session, no storage, and not computable without the cookie the page's scripts cannot read.
 * - A cookie request whose `Origin` names another origin is refused (defence in depth beside SameSite).
 */
import { hash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { AppError } from './errors';

export const CSRF_HEADER = 'x-csrf-token';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The value of cookie `name` from a Cookie header when it matches `pattern`, else undefined. */
export function readCookie(header: string | undefined, name: string, pattern: RegExp): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim();
    return pattern.test(value) ? value : undefined;
  }
  return undefined;
}

/** The Set-Cookie value of a session cookie (`maxAgeSeconds` 0 clears it). */
export function sessionCookieHeader(name: string, token: string, maxAgeSeconds: number): string {
  return `${name}=${token}; Path=/; Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}; HttpOnly; Secure; SameSite=Strict`;
}

export function csrfTokenFor(sessionToken: string, label: string): string {
  return hash('sha256', `${label}\0${sessionToken}`, 'hex');
}

function originHost(origin: string): string | null {
  try {
    return new URL(origin).host.toLowerCase();
  } catch {
    return null;
  }
}

/** Refuses a cross-origin request (Origin present and not this Host): 403 FORBIDDEN. */
export function assertSameOrigin(request: FastifyRequest): void {
  const origin = request.headers.origin;
  if (origin === undefined) return;
  const host = request.headers.host?.toLowerCase();
  if (!host || originHost(origin) !== host) {
    throw new AppError('FORBIDDEN', 'Cross-origin request refused');
  }
}

/** The CSRF rule for a request authenticated by a session cookie. Throws 403 FORBIDDEN. */
export function assertCsrf(request: FastifyRequest, sessionToken: string, label: string): void {
  assertSameOrigin(request);
  if (SAFE_METHODS.has(request.method)) return;
  const sent = request.headers[CSRF_HEADER];
  if (typeof sent !== 'string' || !/^[0-9a-f]{64}$/.test(sent)) {
    throw new AppError('FORBIDDEN', 'CSRF token missing: send the X-CSRF-Token header from the login answer');
  }
  const expected = Buffer.from(csrfTokenFor(sessionToken, label), 'hex');
  const given = Buffer.from(sent, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new AppError('FORBIDDEN', 'CSRF token does not match this session');
  }
}
