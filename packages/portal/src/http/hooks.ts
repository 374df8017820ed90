import { AppError, assertCsrf, type RateLimiter, rateLimitHeaders, readCookie } from '@wispanel/kit';
import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { AdminKeys } from '../modules/admin-keys/admin-keys';
import {
  ADMIN_CSRF_LABEL,
  ADMIN_SESSION_COOKIE,
  ADMIN_SESSION_TOKEN_PATTERN,
  type AdminSession,
  type AdminSessions,
} from '../modules/admin-sessions/admin-sessions';
import type { Actor } from '../modules/events/event-log';
import { humanField } from './errors';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the admin hook: who made this admin request (for the event log). */
    adminActor?: Actor;
    /** Set by the admin hook when the request came with the web console's session cookie. */
    adminSession?: { token: string; session: AdminSession };
  }
}

/**
 * `onRequest` hook for every `/api/v1/admin/*` route: checks `X-Admin-Key` (hashed, constant-time) or, without
 * that header, the web console's session cookie (with its CSRF token on state-changing requests), and sets
 * `request.adminActor`. Missing or wrong key → 401 `Invalid or missing API key`.
 */
export function adminAuthHook(adminKeys: AdminKeys, sessions?: AdminSessions): onRequestHookHandler {
  return async (request: FastifyRequest) => {
    const header = request.headers['x-admin-key'];
    const token =
      header === undefined && sessions
        ? readCookie(request.headers.cookie, ADMIN_SESSION_COOKIE, ADMIN_SESSION_TOKEN_PATTERN)
        : undefined;
    if (token && sessions) {
      const session = await sessions.lookup(token);
      if (!session) throw new AppError('UNAUTHORIZED', 'Session expired or ended: sign in again');
      assertCsrf(request, token, ADMIN_CSRF_LABEL);
      request.adminActor = { kind: 'admin', id: session.key_prefix, ip: request.ip };
      request.adminSession = { token, session };
      return;
    }
    const prefix = await adminKeys.check(Array.isArray(header) ? undefined : header);
    if (!prefix) throw new AppError('UNAUTHORIZED', 'Invalid or missing API key');
    request.adminActor = { kind: 'admin', id: prefix, ip: request.ip };
  };
}

/**
 * `onRequest` hook for the public API (`/api/v1/license/*`, `/api/v1/download/*`): a per-IP limit against key
 * guessing, with `X-RateLimit-*` headers; over the limit → 429 `RATE_LIMITED` with `Retry-After`.
 * The limiter counts in memory per instance; if it throws (a shared store that is down) the request is let
 * through and a warning is logged (fail open: a license check must not fail because of the limiter).
 */
export function publicRateLimitHook(limiter: RateLimiter): onRequestHookHandler {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    let decision: Awaited<ReturnType<RateLimiter['hit']>>;
    try {
      decision = await limiter.hit(`ip:${request.ip}`);
    } catch (err) {
      request.log.warn({ err }, 'rate limiter unavailable, letting the request through');
      return;
    }
    const headers = rateLimitHeaders(decision);
    if (!decision.allowed) {
      throw new AppError('RATE_LIMITED', 'Too many requests, slow down', { headers });
    }
    reply.headers(headers);
  };
}

/** The first string inside `value` (a parsed JSON body, query or params) holding U+0000, as a dotted path. */
function nulPath(value: unknown, path: string, depth = 0): string | null {
  if (typeof value === 'string') return value.includes('\u0000') ? path : null;
  if (value === null || typeof value !== 'object' || depth > 64) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = nulPath(value[i], `${path}.${i}`, depth + 1);
      if (found) return found;
    }
    return null;
  }
  if (Buffer.isBuffer(value) || typeof (value as { pipe?: unknown }).pipe === 'function') return null; // raw body
  for (const k in value) {
    const found = nulPath((value as Record<string, unknown>)[k], path ? `${path}.${k}` : k, depth + 1);
    if (found) return found;
  }
  return null;
}

/**
 * `preValidation` for every portal route: a NUL character (U+0000) anywhere in the body, query or path is a
 * 422 naming the field. PostgreSQL text cannot store it (the driver error would be a 500) and no field of the
 * portal has a use for it, so both databases refuse it the same way.
 */
export async function rejectNulCharacters(request: FastifyRequest): Promise<void> {
  const field =
    nulPath(request.params, '') ??
    nulPath(request.query, '') ??
    (typeof request.body === 'string' ? nulPath(request.body, 'body') : nulPath(request.body, ''));
  if (field) {
    throw new AppError('VALIDATION_ERROR', 'NUL characters are not allowed', {
      details: { [field]: [`The ${humanField(field)} field must not contain NUL characters.`] },
    });
  }
}
