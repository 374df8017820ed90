import type { PanelPlugin } from '../../http/plugin';

/**
 * The OpenAPI document (generated from the route schemas), public. Its human page, /api/v1/docs (Swagger UI
 * served from the console build), is registered with the console: modules/console/console.routes.ts.
 */
export const openapiRoutes: PanelPlugin = async (app) => {
  app.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());
};
