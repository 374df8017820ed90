import { withRecordedExamples } from '@wispanel/kit';
import EXAMPLES from '../../../openapi-examples.json' with { type: 'json' };
import type { PanelPlugin } from '../../http/plugin';

/**
 * The OpenAPI document (generated from the route schemas, with the recorded example answers), public. Its human page, /api/v1/docs (Swagger UI
 * served from the console build), is registered with the console: modules/console/console.routes.ts.
 */
export const openapiRoutes: PanelPlugin = async (app) => {
  let served: Record<string, unknown> | undefined;
  app.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => {
    served ??= withRecordedExamples(
      structuredClone(app.swagger()) as Record<string, unknown>,
      EXAMPLES,
      'panel',
    );
    return served;
  });
};
