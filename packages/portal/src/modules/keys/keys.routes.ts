import type { App } from '@wispanel/kit';
import type { PortalServices } from '../../context';

/** `GET /api/v1/keys`: public keys, current and retired, in the PublicKeySet shape a panel is configured with. */
export function keysRoutes(app: App, services: PortalServices): void {
  app.get(
    '/api/v1/keys',
    { schema: { tags: ['keys'], summary: 'Public signing keys (current and retired)' } },
    async () => services.signing.publicKeySet(),
  );
  app.get(
    '/api/v1/health',
    { schema: { tags: ['health'], summary: 'Liveness and database check' } },
    async () => {
      await services.db.selectFrom('tiers').select('name').limit(1).execute();
      return { status: 'ok', database: services.database.dialect, time: services.clock().toISOString() };
    },
  );
}
