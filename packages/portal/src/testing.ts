import { type App, openDatabase } from '@wispanel/kit';
import { createTestPostgresDatabase, tempDir } from '@wispanel/kit/testing';
import { buildPortalApp } from './app';
import { loadPortalConfig, type PortalConfig } from './config';
import type { PortalServices } from './context';
import type { PortalDatabase, PortalTables } from './db';
import { initPortal } from './init';
import { FileSigningService } from './modules/signing/signing-keys';
import { openPortalDatabase } from './store';

/** Test helper (never imported by production code): a portal app over a throwaway SQLite or PostgreSQL. */
export interface TestPortal {
  app: App;
  services: PortalServices;
  config: PortalConfig;
  adminKey: string;
  /** Another app instance over its own pool on the same database and keys (a second portal instance). */
  secondInstance(): Promise<App>;
  close(): Promise<void>;
}

export type TestDialect = 'sqlite' | 'postgres';

export async function createTestPortal(
  dialect: TestDialect,
  options: {
    clock?: () => Date;
    rateLimit?: number;
    redisUrl?: string;
    releaseWebhookUrl?: string;
    releaseWebhookSecret?: string;
    /** More settings, as CLI flags (`trustProxy`, `bodyTimeoutMs`…). */
    flags?: Record<string, unknown>;
  } = {},
): Promise<TestPortal> {
  const dir = tempDir('wispanel-portal-');
  const pg = dialect === 'postgres' ? await createTestPostgresDatabase() : null;
  const config = loadPortalConfig(
    {
      dataDir: dir.path,
      ...(pg ? { databaseUrl: pg.url } : {}),
      ...(options.redisUrl ? { redisUrl: options.redisUrl } : {}),
      ...(options.releaseWebhookUrl
        ? { releaseWebhookUrl: options.releaseWebhookUrl, releaseWebhookSecret: options.releaseWebhookSecret }
        : {}),
      rateLimit: options.rateLimit ?? 100_000,
      ...options.flags,
    },
    {},
  );
  const init = await initPortal(config);
  const opened: Array<{ app: App; close: () => Promise<void> }> = [];
  const build = async (database: PortalDatabase) => {
    const app = await buildPortalApp({
      config,
      database,
      clock: options.clock,
      signing: new FileSigningService(config.keysDir, 0),
    });
    opened.push({ app, close: () => database.close() });
    return app;
  };
  const app = await build(await openPortalDatabase(config));
  return {
    app,
    services: app.portal,
    config,
    adminKey: init.admin_key!,
    secondInstance: () => build(openDatabase<PortalTables>(config.databaseUrl)),
    close: async () => {
      for (const o of opened.reverse()) {
        await o.app.close();
        await o.close();
      }
      await pg?.drop();
      dir.remove();
    },
  };
}
