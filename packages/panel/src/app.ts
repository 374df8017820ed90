import swagger from '@fastify/swagger';
import { PanelError } from '@wispanel/contract';
import { type App, createApp } from '@wispanel/kit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { composePanel } from './compose';
import type { PanelContext, PanelDeps } from './context';
import { installIdempotency } from './http/idempotency';
import { installNulGuard } from './http/nul-guard';
import type { PanelPlugin } from './http/plugin';
import { DOCUMENTED_BODY } from './http/schemas';
import { apiKeyRoutes } from './modules/api-keys/api-keys.routes';
import { installAuth, type RouteEntry } from './modules/auth/auth.hook';
import { authRoutes } from './modules/auth/auth.routes';
import { consoleRoutes } from './modules/console/console.routes';
import { databaseRoutes } from './modules/databases/databases.routes';
import { domainRoutes } from './modules/domains/domains.routes';
import { healthRoutes } from './modules/health/health.routes';
import { licenseRoutes } from './modules/license/license.routes';
import { installPanelMetrics } from './modules/metrics/metrics.routes';
import { openapiRoutes } from './modules/openapi/openapi.routes';
import { updatePolicyRoutes } from './modules/updates/update-policy.routes';
import { updateRoutes } from './modules/updates/updates.routes';
import { installWriteGate } from './modules/updates/write-gate';
import { userRoutes } from './modules/users/users.routes';
import { buildInfo } from './version';

/**
 * Feature modules, registered under /api/v1 in this order. Each is a PanelPlugin `(app, { ctx })` whose
 * routes follow the auth convention in modules/auth/auth.hook.ts. Add yours with one line.
 */
export const PANEL_MODULES: PanelPlugin[] = [
  healthRoutes,
  authRoutes,
  userRoutes,
  apiKeyRoutes,
  domainRoutes,
  databaseRoutes,
  licenseRoutes,
  updateRoutes,
  updatePolicyRoutes,
  openapiRoutes,
];

declare module 'fastify' {
  interface FastifyInstance {
    /** The panel's route table (every method + URL with its auth declaration) and shared context. */
    panel: { routes: RouteEntry[]; ctx: PanelContext };
  }
}

export interface BuildOptions {
  /** HTTPS key/cert; null or absent = plain HTTP (tests use inject(), benchmarks measure both). */
  tls?: { key: string | Buffer; cert: string | Buffer } | null;
  /** The built web console (index.html + assets/); default: found by findConsoleDir(); null = none. */
  consoleDir?: string | null;
}

/**
 * OpenAPI for one route: the body a handler checks itself (documentedBody), the error envelope for every status
 * the route can answer by its declaration (400 with input, 401/403/429 when authenticated, 404 with a path
 * parameter), and no security requirement on public routes.
 */
function documentPanelRoute({
  schema,
  url,
  route,
}: {
  schema: unknown;
  url: string;
  route: { config?: unknown };
}) {
  const s = { ...((schema ?? {}) as Record<string, unknown>) };
  if (s.hide) return { schema: s as never, url };
  if (s[DOCUMENTED_BODY]) {
    s.body = s[DOCUMENTED_BODY];
    delete s[DOCUMENTED_BODY];
  }
  const response = { ...((s.response ?? {}) as Record<number, unknown>) };
  const add = (status: number, description: string) => {
    const prev = response[status] as { description?: string } | undefined;
    if (!prev) response[status] = { ...PanelError, description };
    else if (prev.description && !prev.description.includes(description))
      response[status] = { ...prev, description: `${prev.description}; or ${description}` };
  };
  if (!Object.keys(response).some((status) => status.startsWith('2'))) {
    // A route that answers something other than JSON (e.g. /metrics): documented as text.
    response[200] = { description: 'OK', content: { 'text/plain': { schema: { type: 'string' } } } };
  }
  if (s.body || s.querystring || s.params) add(400, 'VALIDATION_ERROR: every problem per field in details');
  const config = (route.config ?? {}) as { auth?: unknown };
  if (config.auth) {
    add(401, 'UNAUTHORIZED: missing, unknown, expired or revoked token');
    add(403, 'FORBIDDEN: role, scope or IP whitelist does not allow this');
    add(429, 'RATE_LIMITED: too many requests for this token (Retry-After header)');
  } else {
    s.security = [];
  }
  if (s.params) add(404, 'NOT_FOUND');
  s.response = response;
  return { schema: s as never, url };
}

/** Builds the panel app without listening (tests use it in-process with inject()). */
export async function buildPanelApp(deps: PanelDeps, options: BuildOptions = {}): Promise<App> {
  const composed = await composePanel(deps);
  const { ctx, limiter } = composed;
  const { config, logger } = ctx;
  const { auth } = ctx.services;

  // The console's SPA fallback (set once its routes are registered, below).
  let consoleFallback: (request: FastifyRequest, reply: FastifyReply) => boolean = () => false;
  const app = createApp({
    notFoundFallback: (request, reply) => consoleFallback(request, reply),
    logger,
    https: options.tls ?? null,
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    limits: config.limits,
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'WisPanel API',
        version: buildInfo().version,
        description: [
          'Hosting control panel API.',
          '',
          'Authenticate with `Authorization: Bearer wsp_<48 hex>` (an API key) or a console session. Every error',
          'is `{ success: false, code, error, message, status, details? }`; `details` names every problem per field.',
        ].join('\n'),
      },
      servers: [{ url: 'https://localhost:2083' }],
      components: {
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            description: 'wsp_<48 hex> API key or wss_ UI session token',
          },
        },
      },
      security: [{ bearerAuth: [] }],
    },
    transform: documentPanelRoute,
  });

  const routes = installAuth(app, { auth, limiter });
  installNulGuard(app);
  installWriteGate(app);
  installIdempotency(app, ctx.services.idempotency);
  app.decorate('panel', { routes, ctx });

  installPanelMetrics(app, ctx);
  await app.register(
    async (api) => {
      for (const plugin of PANEL_MODULES) await api.register(plugin as never, { ctx });
    },
    { prefix: '/api/v1' },
  );

  consoleFallback = consoleRoutes(app, { dir: options.consoleDir });

  composed.start();
  app.addHook('onClose', async () => {
    await composed.stop();
  });
  await app.ready();
  return app;
}
