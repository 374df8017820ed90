import { PanelLoginAnswer, PanelLoginBody, PanelMe } from '@wispanel/contract';
import { AppError, MemoryRateLimiter, rateLimitHeaders, validationError } from '@wispanel/kit';
import { ALL_ROLES, type PanelPlugin } from '../../http/plugin';
import { OkMessage } from '../../http/schemas';
import type { Actor } from './actor';
import type { AccountProfile } from './auth.service';
import {
  assertSameOrigin,
  CLEARED_SESSION_COOKIE,
  csrfTokenFor,
  sessionCookie,
  sessionFromCookie,
} from './session-cookie';

export const authRoutes: PanelPlugin = async (app, { ctx }) => {
  const auth = ctx.services.auth;
  const tags = ['auth'];
  const perIp = new MemoryRateLimiter(ctx.config.loginRateLimitPerMinute);

  app.post(
    '/auth/login',
    {
      config: { public: true },
      schema: {
        tags,
        summary: 'UI login: username or email + password → session token (rate limited per IP)',
        body: PanelLoginBody,
        response: {
          200: PanelLoginAnswer,
        },
        security: [],
      },
    },
    async (req, reply) => {
      if (req.body.cookie) assertSameOrigin(req);
      const decision = perIp.hit(req.ip);
      if (!decision.allowed) {
        throw new AppError('RATE_LIMITED', 'Too many login attempts; try again later', {
          headers: rateLimitHeaders(decision),
        });
      }
      const login = req.body.username ?? req.body.email;
      if (!login)
        throw validationError('username or email is required', {
          username: ['username or email is required'],
        });
      const session = await auth.login(login, req.body.password, req.ip);
      if (!req.body.cookie) return { success: true as const, ...session };
      reply.header('set-cookie', sessionCookie(session.token, ctx.config.sessionTtlHours * 3600));
      return {
        success: true as const,
        csrf_token: csrfTokenFor(session.token),
        expires_at: session.expires_at,
        user: session.user,
      };
    },
  );

  app.post(
    '/auth/logout',
    {
      config: { auth: { resource: null, roles: ALL_ROLES } },
      schema: { tags, summary: 'End the UI session of this token', response: { 200: OkMessage } },
    },
    async (req, reply) => {
      await auth.logout(req.actor);
      if (!req.headers.authorization) reply.header('set-cookie', CLEARED_SESSION_COOKIE);
      return { success: true as const, message: 'Logged out' };
    },
  );

  app.get(
    '/auth/me',
    {
      config: { auth: { resource: null, roles: ALL_ROLES } },
      schema: { tags, summary: 'Who am I', response: { 200: PanelMe } },
    },
    // Not async: the profile read with the token answers it synchronously (no promise per request).
    (req) => {
      const a = req.actor;
      // A console reload: the page cannot read the cookie, so it learns its CSRF token here.
      const cookie = req.headers.authorization ? undefined : sessionFromCookie(req.headers.cookie);
      const csrf = cookie ? csrfTokenFor(cookie) : undefined;
      if (req.profile) return me(a, req.profile, csrf);
      return ctx.services.users.profile(a).then((user) => me(a, user, csrf));
    },
  );
};

function me(a: Actor, user: AccountProfile, csrf: string | undefined) {
  return {
    success: true as const,
    id: user.id,
    username: user.username,
    email: user.email,
    role: user.role,
    status: user.status,
    package: user.package,
    creator: user.creator,
    disabled_by_license: user.license_disabled_at !== null,
    created_at: user.created_at,
    auth: {
      method: a.via,
      ...(a.keyId ? { key_id: a.keyId } : {}),
      permissions: a.permissions,
      ...(csrf ? { csrf_token: csrf } : {}),
    },
  };
}
