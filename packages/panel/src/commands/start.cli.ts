import { assertPortFree } from '@wispanel/kit';
import type { Command } from 'commander';
import { loadPanelConfig } from '../config';
import { nurseryCanGrow } from '../lib/startup-nursery';
import { startPanel } from '../main';
import { addLicenseOptions } from '../modules/license/license.cli';
import { initializeDataDir } from '../setup';
import { isStandby, waitForGo } from '../supervisor/standby';
import { fail, printInit } from './output';

export function startCommand(program: Command): void {
  addLicenseOptions(program.command('start'))
    .description(
      'Serve https://HOST:PORT/api/v1 (initialises the data dir on first start and prints the admin key once)',
    )
    .option('--data-dir <dir>', 'data directory (env WISPANEL_DATA_DIR, default ./data)')
    .option('--host <host>', 'listen address (env WISPANEL_HOST, default 0.0.0.0)')
    .option('--port <port>', 'listen port, 0 = any free port (env WISPANEL_PORT, default 2083)')
    .option(
      '--tls-cert <file>',
      'certificate PEM (env WISPANEL_TLS_CERT); default: self-signed in <data-dir>/tls',
    )
    .option('--tls-key <file>', 'private key PEM (env WISPANEL_TLS_KEY)')
    .option('--rate-limit <n>', 'requests per minute per API token (env WISPANEL_RATE_LIMIT, default 60)')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent (env WISPANEL_LOG_LEVEL)')
    .option('--json', 'print the start-up facts as one JSON line')
    .action(async (opts: Record<string, unknown>) => {
      try {
        // Pre-warmed by a supervisor for an update: code loaded, nothing opened until the switch is done.
        if (isStandby()) await waitForGo();
        const config = loadPanelConfig(opts);
        // Under a supervisor the port may still be held by the panel of a supervisor that was killed: that one
        // exits when its IPC channel closes, so wait for it (bounded) instead of failing the start.
        await assertPortFree(config.host, config.port, { waitMs: config.supervised ? 15_000 : 0 });
        const init = await initializeDataDir(config);
        if (init.created) printInit(init, opts.json === true);
        const panel = await startPanel(config);
        nurseryCanGrow();
        if (opts.json)
          process.stdout.write(
            `${JSON.stringify({ event: 'listening', url: panel.url, port: panel.port })}\n`,
          );
        else
          process.stdout.write(
            `WisPanel listening on ${panel.url}\n  web console: ${panel.url.replace(/\/api\/v1\/?$/, '')}/\n`,
          );
        let closing = false;
        const stop = async () => {
          if (closing) return;
          closing = true;
          await panel.close();
          process.exit(0);
        };
        process.on('SIGINT', () => void stop());
        process.on('SIGTERM', () => void stop());
      } catch (err) {
        fail(err);
      }
    });
}
