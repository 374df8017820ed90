import swagger from '@fastify/swagger';
import { type App, createApp, createLogger } from '@wispanel/kit';
import type { FastifyBaseLogger } from 'fastify';
import { createPortalServices, type PortalDeps, type PortalServices } from './context';
import { portalErrorStatus, renderPortalError } from './http/errors';
import { rejectNulCharacters } from './http/hooks';
import { OPENAPI_RESPONSES } from './http/openapi-responses';
import { downloadsRoutes } from './modules/downloads/downloads.routes';
import { keysRoutes } from './modules/keys/keys.routes';
import { licenseApiRoutes } from './modules/license-api/license-api.routes';
import { licensesRoutes } from './modules/licenses/licenses.routes';
import { releasesRoutes } from './modules/releases/releases.routes';
import { rolloutsRoutes } from './modules/rollouts/rollouts.routes';
import { tiersRoutes } from './modules/tiers/tiers.routes';
import { PORTAL_VERSION } from './version';

/** A feature module: registers its routes on the app, using only the services it needs. */
export type PortalModule = (app: App, services: PortalServices) => void | Promise<void>;

/**
 * Every feature module, in registration order. Add one line per module (releases, downloads…).
 * Admin routes must use `onRequest: services.hooks.admin`; public ones `onRequest: services.hooks.publicRateLimit`.
 */
export const portalModules: PortalModule[] = [
  keysRoutes,
  tiersRoutes,
  licensesRoutes,
  licenseApiRoutes,
  releasesRoutes,
  downloadsRoutes,
  rolloutsRoutes,
];

declare module 'fastify' {
  interface FastifyInstance {
    portal: PortalServices;
  }
}

export interface BuildPortalAppDeps extends PortalDeps {
  logger?: FastifyBaseLogger;
  https?: { key: string | Buffer; cert: string | Buffer } | null;
}

/** Builds the portal app without listening (tests use `inject()`); `app.portal` holds the services. */
export async function buildPortalApp(deps: BuildPortalAppDeps): Promise<App> {
  const logger = deps.logger ?? createLogger({ level: 'silent' });
  const services = createPortalServices({ ...deps, logger });
  const app = createApp({
    logger,
    renderError: renderPortalError,
    errorStatus: portalErrorStatus,
    https: deps.https ?? null,
    bodyLimit: 64 * 1024,
    trustProxy: deps.config.trustProxy,
  });
  app.decorate('portal', services);
  app.addHook('onClose', async () => services.close());
  // A POST without a body is validated as `{}`, so a missing field is named ("The key field is required.").
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined && ['POST', 'PATCH', 'PUT'].includes(request.method)) request.body = {};
  });
  app.addHook('preValidation', rejectNulCharacters);
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'WisPanel portal API',
        version: PORTAL_VERSION,
        description: 'License, key and admin API of the WisPanel vendor portal. Prose: docs/portal-api.md.',
      },
      components: {
        securitySchemes: { adminKey: { type: 'apiKey', in: 'header', name: 'X-Admin-Key' } },
      },
    },
    transform: ({ schema, url, route }) => {
      const s = { ...(schema as Record<string, unknown>) };
      const documented = OPENAPI_RESPONSES[`${String(route.method)} ${url}`];
      if (documented && !s.response) s.response = documented;
      if (url.startsWith('/api/v1/admin/')) s.security = [{ adminKey: [] }];
      return { schema: s as never, url };
    },
  });
  for (const register of portalModules) await register(app, services);
  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}
