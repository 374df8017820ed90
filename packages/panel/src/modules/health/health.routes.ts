import { PanelHealth } from '@wispanel/contract';
import { sql } from 'kysely';
import type { PanelPlugin } from '../../http/plugin';
import { buildInfo } from '../../version';

export const healthRoutes: PanelPlugin = async (app, { ctx }) => {
  const started = Date.now();
  app.get(
    '/health',
    {
      config: { public: true },
      schema: {
        tags: ['health'],
        summary: 'Liveness and database check for supervisors and load balancers (no auth)',
        security: [],
        response: { 200: PanelHealth, 503: PanelHealth },
      },
    },
    async (_req, reply) => {
      let database = 'ok';
      try {
        await sql`SELECT 1`.execute(ctx.db);
      } catch {
        database = 'unavailable';
      }
      const body = {
        status: database === 'ok' ? 'ok' : 'degraded',
        version: buildInfo().version,
        uptime_seconds: Math.floor((Date.now() - started) / 1000),
        database,
      };
      return reply.code(database === 'ok' ? 200 : 503).send(body);
    },
  );
};
