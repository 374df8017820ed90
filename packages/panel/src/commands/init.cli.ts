import type { Command } from 'commander';
import { loadPanelConfig } from '../config';
import { initializeDataDir } from '../setup';
import { fail, printInit } from './output';

export function initCommand(program: Command): void {
  program
    .command('init')
    .description(
      'Create the data dir (database, TLS certificate, hardware id) and an admin with an API key, printed once',
    )
    .option('--data-dir <dir>', 'data directory (env WISPANEL_DATA_DIR, default ./data)')
    .option('--admin-user <name>', 'admin username (default admin)')
    .option('--admin-email <email>', 'admin email')
    .option('--new-admin-key', 'on an initialised data dir, issue (and print) a new admin API key')
    .option('--json', 'print one JSON object (with api_key when one was issued)')
    .action(async (opts: Record<string, unknown>) => {
      try {
        const config = loadPanelConfig({ dataDir: opts.dataDir });
        const result = await initializeDataDir(config, {
          adminUser: opts.adminUser as string | undefined,
          adminEmail: opts.adminEmail as string | undefined,
          newAdminKey: opts.newAdminKey === true,
        });
        printInit(result, opts.json === true);
      } catch (err) {
        fail(err);
      }
    });
}
