import type { App } from '@wispanel/kit';
import { createLogger } from '@wispanel/kit';
import { buildPanelApp } from './app';
import type { PanelConfig } from './config';
import type { PanelDeps } from './context';
import { ensureHardwareId } from './hardware-id';
import { ensureTls, openPanelDatabase } from './setup';

export interface RunningPanel {
  /** Base URL of the API, e.g. https://localhost:2083/api/v1 */
  url: string;
  port: number;
  app: App;
  close(): Promise<void>;
}

/**
 * The composition root: config → database (`<dataDir>/panel.db`) → migrate → build → listen (HTTPS unless
 * disabled). `overrides` lets tests and other modules inject dependencies (clock, license gate, …).
 */
export async function startPanel(
  config: PanelConfig,
  overrides: Partial<PanelDeps> = {},
): Promise<RunningPanel> {
  const logger = overrides.logger ?? createLogger({ level: config.logLevel, name: 'panel' });
  const { database, applied } = await openPanelDatabase(config);
  if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated');
  let app: App | undefined;
  try {
    const { hardwareId } = ensureHardwareId(config.dataDir);
    const tls = await ensureTls(config);
    app = await buildPanelApp(
      {
        config,
        db: database.db,
        dialect: database.dialect,
        sqlite: database.sqlite,
        logger,
        hardwareId,
        ...overrides,
      },
      { tls },
    );
    await app.listen({ host: config.host, port: config.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const host =
      config.host === '0.0.0.0' || config.host === '::'
        ? 'localhost'
        : config.host.includes(':')
          ? `[${config.host}]`
          : config.host;
    const url = `${tls ? 'https' : 'http'}://${host}:${port}/api/v1`;
    logger.info({ url, database: database.describe }, 'panel listening');
    const running = app;
    return {
      url,
      port,
      app: running,
      close: async () => {
        await running.close();
        await database.close();
      },
    };
  } catch (err) {
    await app?.close().catch(() => {});
    await database.close().catch(() => {});
    throw err;
  }
}
