/**
 * THE PANEL ROUTE CONVENTION (every module follows it; the shared security suite enforces it).
 *
 * Every route declares what it needs in its route `config`, and nothing else does auth:
 *
 *   app.get('/license/summary', { config: { auth: { resource: 'license', roles: ['admin'] } }, schema }, handler)
 *   app.get('/health', { config: { public: true } }, handler)   // only /health, /auth/login, openapi, docs
 *
 * - `auth.resource`: the API-key scope the route belongs to (`users`, `api-keys`, `domains`, `databases`,
 *   `license`, `version` — RESOURCE_SCOPES in @wispanel/contract), or `null` for "any valid key"
 *   (only /auth/me and /auth/logout). Keys with `all` or that resource pass; `read` passes GET/HEAD only.
 * - `auth.roles`: the account roles allowed at all (`['admin']` for license and version routes).
 * - A route with neither `auth` nor `public: true` throws at registration (fails closed).
 *
 * Each authenticated route then gets one onRequest hook (added here at registration, with its declaration
 * bound — public routes get none), which runs, in order:
 *   1. rate limit per token (X-RateLimit-Limit/Remaining/Reset on every response to a token; 429 RATE_LIMITED
 *      + Retry-After over the limit)
 *   2. authentication: `Authorization: Bearer wsp_<48 hex>` API key or `wss_<64 hex>` UI session token,
 *      or (no Authorization header) the web console's session cookie, whose state-changing requests must
 *      carry the CSRF token (session-cookie.ts)
 *      → 401 UNAUTHORIZED (`Missing authorization`, `Invalid credentials`, expired, disabled)
 *   3. the key's IP whitelist → 403 FORBIDDEN
 *   4. role → 403 FORBIDDEN
 *   5. scope → 403 FORBIDDEN `API key is not scoped for '<resource>' on this request`
 * and the handler reads `request.actor` (see actor.ts). Ownership is the service's job: another owner's
 * resource is answered 404 NOT_FOUND, as if it did not exist.
 */
import { type ResourceScope, type Role, scopeAllows } from '@wispanel/contract';
import {
  type App,
  AppError,
  type RateLimitDecision,
  type RateLimiter,
  rateLimitHeaders,
  unauthorized,
} from '@wispanel/kit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Actor } from './actor';
import type { AccountProfile, Authenticated, AuthService } from './auth.service';
import { ipAllowed } from './ip-whitelist';
import { assertCsrf, sessionFromCookie } from './session-cookie';
import { API_KEY_PATTERN, SESSION_TOKEN_PATTERN, sha256Hex } from './tokens';

export interface RouteAuth {
  resource: ResourceScope | null;
  roles: readonly Role[];
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Authenticated route: who may call it. */
    auth?: RouteAuth;
    /** Route open without authentication (health, login, API docs). */
    public?: boolean;
  }
  interface FastifyRequest {
    /** The authenticated caller; set on every route with `config.auth`. */
    actor: Actor;
    /** The caller's account row, read with the token (status, package, creator…). */
    profile: AccountProfile | null;
  }
}

export interface RouteEntry {
  method: string;
  url: string;
  public: boolean;
  auth: RouteAuth | null;
  hasBody: boolean;
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/**
 * Installs the convention on the root app: registration check (fail closed), the route table, and the one
 * auth hook. Call before registering any route.
 */
export function installAuth(app: App, options: { auth: AuthService; limiter: RateLimiter }): RouteEntry[] {
  const table: RouteEntry[] = [];

  app.decorateRequest('actor', null as unknown as Actor);
  app.decorateRequest('profile', null);

  app.addHook('onRoute', (route) => {
    const config = (route.config ?? {}) as { auth?: RouteAuth; public?: boolean };
    const methods = (Array.isArray(route.method) ? route.method : [route.method]).map((m) => m.toUpperCase());
    if (config.public === true && config.auth) {
      throw new Error(`Route ${methods.join(',')} ${route.url} declares both public and auth`);
    }
    if (config.public !== true) {
      const a = config.auth;
      if (!a || !Array.isArray(a.roles) || a.roles.length === 0 || a.resource === undefined) {
        throw new Error(
          `Route ${methods.join(',')} ${route.url} has no auth declaration: set config.auth { resource, roles } or config.public`,
        );
      }
    }
    const schema = route.schema as Record<string, unknown> | undefined;
    if (schema && !schema.hide) {
      if (config.public === true) schema.security ??= [];
      else if (config.auth) {
        const note = `Roles: ${config.auth.roles.join(', ')}. API key scope: ${config.auth.resource ?? 'any'}.`;
        // The HEAD twin of a GET shares its schema object: add the note once.
        if (typeof schema.description !== 'string') schema.description = note;
        else if (!schema.description.includes(note)) schema.description = `${schema.description}\n\n${note}`;
      }
    }
    if (config.public !== true && config.auth) {
      // A new array: fastify's automatic HEAD twin copies the options before onRoute and gets its own hook.
      const existing = route.onRequest;
      const hook = authHook(config.auth);
      route.onRequest = existing ? [...(Array.isArray(existing) ? existing : [existing]), hook] : [hook];
    }
    for (const method of methods) {
      if (
        method === 'HEAD' &&
        methods.length === 1 &&
        table.some((r) => r.method === 'GET' && r.url === route.url)
      ) {
        continue; // fastify's automatic HEAD twin of a GET route
      }
      table.push({
        method,
        url: route.url,
        public: config.public === true,
        auth: config.auth ?? null,
        hasBody: Boolean(route.schema?.body),
      });
    }
  });

  /**
   * Callback-style and synchronous on the common path (in-memory rate limiter, SQLite lookup): an async hook
   * costs a promise and a microtask turn per request. A limiter or lookup that answers with a promise (Redis,
   * PostgreSQL, an open transaction) continues asynchronously.
   */
  function authHook(need: RouteAuth) {
    return function authenticate(request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) {
      let granted: Authenticated | Promise<Authenticated>;
      try {
        const header = request.headers.authorization;
        let token: string | undefined;
        if (header) {
          token = BEARER.exec(header)?.[1];
          if (!token || !(API_KEY_PATTERN.test(token) || SESSION_TOKEN_PATTERN.test(token))) {
            throw unauthorized('Invalid credentials');
          }
        } else {
          // The web console's cookie (session-cookie.ts): only when no Authorization header is sent.
          token = sessionFromCookie(request.headers.cookie);
          if (!token) throw unauthorized('Missing authorization');
          assertCsrf(request, token);
        }
        const tokenHash = sha256Hex(token);
        const decision = options.limiter.hit(tokenHash);
        granted =
          decision instanceof Promise
            ? decision.then((d) => admit(d, token, tokenHash, reply))
            : admit(decision, token, tokenHash, reply);
      } catch (err) {
        done(err as Error);
        return;
      }
      // finish() calls done() outside the try: fastify runs the handler from there, and an error of the
      // handler must not come back here as a second done().
      if (granted instanceof Promise) granted.then((g) => finish(g, need, request, done), done);
      else finish(granted, need, request, done);
    };
  }

  /** Rate-limit headers (every response to a token), 429 over the limit, then the token's grant. */
  function admit(
    decision: RateLimitDecision,
    token: string,
    tokenHash: string,
    reply: FastifyReply,
  ): Authenticated | Promise<Authenticated> {
    if (!decision.allowed) {
      const headers = rateLimitHeaders(decision);
      reply.headers(headers);
      throw new AppError('RATE_LIMITED', `Rate limit exceeded: ${decision.limit} requests per minute`, {
        headers,
      });
    }
    // The same three headers rateLimitHeaders() gives, set one by one (no intermediate object per request).
    reply.header('x-ratelimit-limit', decision.limit);
    reply.header('x-ratelimit-remaining', decision.remaining);
    reply.header('x-ratelimit-reset', decision.resetAt);
    return options.auth.authenticate(token, tokenHash);
  }

  function finish(
    granted: Authenticated,
    need: RouteAuth,
    request: FastifyRequest,
    done: (err?: Error) => void,
  ): void {
    const { actor, ipWhitelist, profile } = granted;
    let refused: AppError | undefined;
    if (ipWhitelist.length > 0 && !ipAllowed(ipWhitelist, request.ip)) {
      refused = new AppError('FORBIDDEN', `API key is not allowed from IP address ${request.ip}`);
    } else if (!need.roles.includes(actor.role)) {
      refused = new AppError('FORBIDDEN', `This action requires role ${need.roles.join(' or ')}`);
    } else if (need.resource && !scopeAllows(actor.permissions, need.resource, request.method)) {
      refused = new AppError('FORBIDDEN', `API key is not scoped for '${need.resource}' on this request`);
    }
    if (refused) {
      done(refused);
      return;
    }
    request.actor = actor;
    request.profile = profile;
    done();
  }

  return table;
}
