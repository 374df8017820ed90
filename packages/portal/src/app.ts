import swagger from '@fastify/swagger';
import { type App, createApp, createLogger, withRecordedExamples } from '@wispanel/kit';
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import { createPortalServices, type PortalDeps, type PortalServices } from './context';
import { DOCUMENTED_BODY } from './http/responses';

type OptionalBody = { required?: boolean; content?: Record<string, { schema?: Record<string, unknown> }> };

import EXAMPLES from '../openapi-examples.json' with { type: 'json' };
import { portalErrorStatus, renderPortalError } from './http/errors';
import { rejectNulCharacters } from './http/hooks';
import { adminKeysRoutes } from './modules/admin-keys/admin-keys.routes';
import { adminSessionRoutes } from './modules/admin-sessions/admin-sessions.routes';
import { portalConsoleRoutes } from './modules/console/console.routes';
import { downloadsRoutes } from './modules/downloads/downloads.routes';
import { keysRoutes } from './modules/keys/keys.routes';
import { licenseApiRoutes } from './modules/license-api/license-api.routes';
import { licensesRoutes } from './modules/licenses/licenses.routes';
import { metricsRoutes } from './modules/metrics/metrics.routes';
import { releasesRoutes } from './modules/releases/releases.routes';
import { rolloutsRoutes } from './modules/rollouts/rollouts.routes';
import { webhookDeliveriesRoutes } from './modules/rollouts/webhook-deliveries.routes';
import { tiersRoutes } from './modules/tiers/tiers.routes';
import { PORTAL_VERSION } from './version';

const PORTAL_API_DESCRIPTION = [
  'License, update and admin API of the WisPanel vendor portal.',
  '',
  'Errors come in one envelope per route family:',
  '- admin `/api/v1/admin/*`: `{ success: false, error, code, details? }`; validation is 422 "Validation failed" with `details` per field;',
  '- license `/api/v1/license/*`: `{ valid: false, error, code, details? }`; refusals are signed for the panel that asked;',
  '- download `/api/v1/download/*`: `{ error, code, details? }`, and exactly `{ "error": "Invalid license" }` for a 401.',
].join('\n');

/** A feature module: registers its routes on the app, using only the services it needs. */
export type PortalModule = (app: App, services: PortalServices) => void | Promise<void>;

/**
 * Every feature module, in registration order. Add one line per module (releases, downloads…).
 * Admin routes must use `onRequest: services.hooks.admin`; public ones `onRequest: services.hooks.publicRateLimit`.
 */
export const portalModules: PortalModule[] = [
  metricsRoutes,
  keysRoutes,
  tiersRoutes,
  licensesRoutes,
  licenseApiRoutes,
  releasesRoutes,
  downloadsRoutes,
  rolloutsRoutes,
  webhookDeliveriesRoutes,
  adminSessionRoutes,
  adminKeysRoutes,
];

declare module 'fastify' {
  interface FastifyInstance {
    portal: PortalServices;
  }
}

export interface BuildPortalAppDeps extends PortalDeps {
  logger?: FastifyBaseLogger;
  https?: { key: string | Buffer; cert: string | Buffer } | null;
  /** The built web console (default: found beside the code; null = none, `/` answers "not built"). */
  consoleDir?: string | null;
}

/** Builds the portal app without listening (tests use `inject()`); `app.portal` holds the services. */
export async function buildPortalApp(deps: BuildPortalAppDeps): Promise<App> {
  const logger = deps.logger ?? createLogger({ level: 'silent' });
  const services = createPortalServices({ ...deps, logger });
  // The console's SPA fallback (set once its routes are registered, below).
  let consoleFallback: (request: FastifyRequest, reply: FastifyReply) => boolean = () => false;
  const app = createApp({
    notFoundFallback: (request, reply) => consoleFallback(request, reply),
    logger,
    renderError: renderPortalError,
    errorStatus: portalErrorStatus,
    https: deps.https ?? null,
    bodyLimit: 64 * 1024,
    trustProxy: deps.config.trustProxy,
    limits: deps.config.limits,
  });
  // Response schemas (from @wispanel/contract) document the API; answers are serialised as they are, never
  // trimmed to a schema.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.decorate('portal', services);
  // The vendor webhook sender runs in the server (the CLI only queues): started when the app is ready, stopped
  // (requests in flight aborted, their rows retried later) before the database closes.
  app.addHook('onReady', async () => services.webhooks.start());
  app.addHook('onClose', async () => {
    await services.webhooks.stop();
    services.close();
  });
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
        description: PORTAL_API_DESCRIPTION,
      },
      tags: [
        { name: 'license', description: 'Public license API used by panels (per-IP rate limit)' },
        { name: 'download', description: 'Public update API used by panels (per-IP rate limit)' },
        { name: 'keys', description: 'Public signing keys panels trust' },
        { name: 'health', description: 'Liveness' },
        { name: 'admin: tiers', description: 'Vendor admin: license tiers (X-Admin-Key)' },
        { name: 'admin: licenses', description: 'Vendor admin: licenses and activations (X-Admin-Key)' },
        { name: 'admin: events', description: 'Vendor admin: the append-only event log (X-Admin-Key)' },
        { name: 'admin: versions', description: 'Vendor admin: releases and artifacts (X-Admin-Key)' },
        {
          name: 'admin: webhooks',
          description:
            'Vendor admin: deliveries of the vendor webhook, redelivery of given-up ones (X-Admin-Key)',
        },
      ],
      components: {
        securitySchemes: {
          adminKey: {
            type: 'apiKey',
            in: 'header',
            name: 'X-Admin-Key',
            description: 'An admin key (`wispanel-portal admin-key create`); only its hash is stored',
          },
        },
      },
    },
    transform: ({ schema, url }) => {
      const s = { ...(schema as Record<string, unknown>) };
      // A body the route reads itself (a streamed artifact, an action without fields): documented, not validated.
      if (s[DOCUMENTED_BODY]) {
        s.body = s[DOCUMENTED_BODY];
        delete s[DOCUMENTED_BODY];
      }
      // Admin routes need X-Admin-Key; a route elsewhere that does (e.g. /metrics) declares it itself.
      s.security ??= url.startsWith('/api/v1/admin/') ? [{ adminKey: [] }] : [];
      const response = (s.response ?? {}) as Record<string, unknown>;
      if (!s.hide && !Object.keys(response).some((status) => status.startsWith('2'))) {
        // A route that answers something other than JSON (e.g. /metrics): documented as text.
        s.response = {
          ...response,
          200: { description: 'OK', content: { 'text/plain': { schema: { type: 'string' } } } },
        };
      }
      return { schema: s as never, url };
    },
    // fastify-swagger marks every documented body required; a body marked `x-optional` (see documentedBody) is not.
    transformObject: (documents) => {
      const openapiObject = (documents as unknown as { openapiObject: { paths?: Record<string, unknown> } })
        .openapiObject;
      for (const ops of Object.values(openapiObject.paths ?? {}))
        for (const op of Object.values(ops as Record<string, { requestBody?: OptionalBody }>)) {
          const body = op?.requestBody;
          if (body && Object.values(body.content ?? {}).some((m) => m.schema?.['x-optional']))
            body.required = false;
        }
      return openapiObject as never;
    },
  });
  for (const register of portalModules) await register(app, services);
  consoleFallback = portalConsoleRoutes(app, deps.consoleDir === undefined ? undefined : deps.consoleDir);
  // The document with the recorded example answers (scripts/record-examples.ts), made once.
  let served: Record<string, unknown> | undefined;
  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => {
    served ??= withRecordedExamples(
      structuredClone(app.swagger()) as Record<string, unknown>,
      EXAMPLES,
      'portal',
    );
    return served;
  });
  return app;
}
