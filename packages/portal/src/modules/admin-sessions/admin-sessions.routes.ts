import { AdminSessionAnswer, AdminSessionSignInBody, SignedOutAnswer } from '@wispanel/contract';
import { type App, AppError, sessionCookieHeader } from '@wispanel/kit';
import type { PortalServices } from '../../context';
import { adminResponses } from '../../http/responses';
import { ADMIN_SESSION_COOKIE } from './admin-sessions';

/**
 * The web console's sign-in (docs/portal-console.md): `POST /api/v1/admin/session` exchanges an admin key for
 * a session cookie, `GET` says who is signed in (and gives the CSRF token back after a page reload), `DELETE`
 * signs out. Sign-in attempts count against the per-IP limit of the public API (key guessing).
 */
export function adminSessionRoutes(app: App, s: PortalServices): void {
  const tags = ['admin: console session'];
  const url = '/api/v1/admin/session';
  const idleMinutes = s.adminSessions.options.idleMinutes;

  app.post(
    url,
    {
      onRequest: s.hooks.publicRateLimit,
      schema: {
        tags,
        summary: 'Sign in to the web console with an admin key (sets the session cookie)',
        security: [],
        body: AdminSessionSignInBody,
        response: adminResponses(
          { 200: AdminSessionAnswer },
          { 429: 'RATE_LIMITED: too many sign-in attempts from this IP' },
        ),
      },
    },
    async (req, reply) => {
      const actor = { kind: 'admin' as const, id: 'console', ip: req.ip };
      const created = await s.adminSessions.create(req.body.admin_key, req.ip);
      if (!created) {
        await s.events.append({ action: 'admin_session.refused', actor, resultCode: 'UNAUTHORIZED' });
        throw new AppError('UNAUTHORIZED', 'Invalid or missing API key');
      }
      await s.events.append({
        action: 'admin_session.created',
        actor: { ...actor, id: created.session.key_prefix },
        resultCode: 'OK',
      });
      const maxAge = (Date.parse(created.session.expires_at) - s.clock().getTime()) / 1000;
      reply.header('set-cookie', sessionCookieHeader(ADMIN_SESSION_COOKIE, created.token, maxAge));
      reply.header('cache-control', 'no-store');
      return { success: true as const, ...created.session, idle_minutes: idleMinutes };
    },
  );

  app.get(
    url,
    {
      onRequest: s.hooks.admin,
      schema: {
        tags,
        summary: 'The current console session (401 when signed out or expired)',
        response: adminResponses({ 200: AdminSessionAnswer }),
      },
    },
    async (req, reply) => {
      const current = req.adminSession;
      if (!current) throw new AppError('UNAUTHORIZED', 'No console session: sign in with an admin key');
      reply.header('cache-control', 'no-store');
      return { success: true as const, ...current.session, idle_minutes: idleMinutes };
    },
  );

  app.delete(
    url,
    {
      onRequest: s.hooks.admin,
      schema: {
        tags,
        summary: 'Sign out (ends the session, clears the cookie)',
        response: adminResponses({ 200: SignedOutAnswer }, { 403: 'FORBIDDEN: CSRF token missing or wrong' }),
      },
    },
    async (req, reply) => {
      if (req.adminSession) await s.adminSessions.end(req.adminSession.token);
      reply.header('set-cookie', sessionCookieHeader(ADMIN_SESSION_COOKIE, '', 0));
      return { success: true as const, message: 'Signed out' };
    },
  );
}
