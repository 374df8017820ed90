import { PortalHealthSchema, PublicKeySet } from '@wispanel/contract';
import type { App } from '@wispanel/kit';
import type { PortalServices } from '../../context';

/**
 * The portal's public, unauthenticated routes that are not a feature API: `GET /api/v1/keys` (public keys,
 * current and retired, in the PublicKeySet shape a panel is configured with) and `GET /api/v1/health`.
 */
export function keysRoutes(app: App, services: PortalServices): void {
  app.get(
    '/api/v1/keys',
    {
      schema: {
        tags: ['keys'],
        summary: 'Public signing keys (current and retired)',
        response: { 200: PublicKeySet },
      },
    },
    async () => services.signing.publicKeySet(),
  );
  app.get(
    '/api/v1/health',
    {
      schema: {
        tags: ['health'],
        summary: 'Liveness and database check',
        response: { 200: PortalHealthSchema },
      },
    },
    async () => {
      await services.db.selectFrom('tiers').select('name').limit(1).execute();
      return {
        status: 'ok' as const,
        database: services.database.dialect,
        time: services.clock().toISOString(),
      };
    },
  );
}
