import type { PanelPlugin } from '../../http/plugin';
import { renderDocsPage } from './docs-page';

/** The OpenAPI document (generated from the route schemas) and a human page rendering it, both public. */
export const openapiRoutes: PanelPlugin = async (app) => {
  let html: string | undefined;
  app.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());
  app.get('/docs', { config: { public: true }, schema: { hide: true } }, async (_req, reply) => {
    html ??= renderDocsPage(app.swagger() as never);
    return reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
      .send(html);
  });
};
