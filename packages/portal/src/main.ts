import { readFileSync } from 'node:fs';
import type { App } from '@wispanel/kit';
import { createLogger } from '@wispanel/kit';
import { buildPortalApp } from './app';
import type { PortalConfig } from './config';
import { openPortalDatabase } from './store';

export interface RunningPortal {
  /** `http://127.0.0.1:PORT` (or https). */
  url: string;
  app: App;
  close(): Promise<void>;
}

/** Composition root: open + migrate the database, build the app, listen. The keys must exist (`init`). */
export async function startPortal(
  config: PortalConfig,
  options: { logLevel?: string } = {},
): Promise<RunningPortal> {
  const logger = createLogger({ level: options.logLevel ?? config.logLevel, name: 'portal' });
  const database = await openPortalDatabase(config);
  let app: App;
  try {
    const https = config.tls
      ? { cert: readFileSync(config.tls.certPath), key: readFileSync(config.tls.keyPath) }
      : null;
    app = await buildPortalApp({ config, database, logger, https });
  } catch (err) {
    await database.close();
    throw err;
  }
  await app.listen({ host: config.host, port: config.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':')
    ? `[${config.host}]`
    : config.host === '0.0.0.0'
      ? '127.0.0.1'
      : config.host;
  const url = `${config.tls ? 'https' : 'http'}://${host}:${port}`;
  return {
    url,
    app,
    close: async () => {
      await app.close();
      await database.close();
    },
  };
}
