import { type LazyCommand, registerLazyCommands } from '@wispanel/kit/lazy-cli';
import { Command } from 'commander';
import { buildInfo } from './version';

/**
 * Every `wispanel` sub-command; add yours with one entry (`run`, `update`, `license …`). Only the command that
 * runs is loaded (`--help` and `--version` load none): keep this file's imports to commander and version.
 * `term` and `description` are what the top-level help shows; cli-commands.test.ts checks they match the command.
 */
export const COMMANDS: LazyCommand[] = [
  {
    name: 'init',
    term: 'init [options]',
    description:
      'Create the data dir (database, TLS certificate, hardware id) and an admin with an API key, printed once',
    load: async () => (await import('./commands/init.cli')).initCommand,
  },
  {
    name: 'start',
    term: 'start [options]',
    description:
      'Serve https://HOST:PORT/api/v1 (initialises the data dir on first start and prints the admin key once)',
    load: async () => {
      // Before the server's code is loaded: its evaluation is most of the start-up garbage.
      (await import('./lib/startup-nursery')).smallNurseryWhileStarting();
      return (await import('./commands/start.cli')).startCommand;
    },
  },
  {
    name: 'run',
    term: 'run [options] [start-options...]',
    description:
      'Supervisor: run the current release of <install-dir>, restart it, and switch/health-check/roll back updates',
    load: async () => (await import('./supervisor/supervisor.cli')).runCommand,
  },
  {
    name: 'install-release',
    term: 'install-release [options] <file>',
    description:
      'Unpack a release tarball (from `npm run release`) into <install-dir>/releases/<version>; the first one becomes current',
    load: async () => (await import('./supervisor/supervisor.cli')).installReleaseCommand,
  },
  {
    name: 'update',
    term: 'update [options]',
    description:
      "Download, verify and install a release, then let the supervisor switch to it (progress bar); run it as the install's owner (the service user)",
    load: async () => (await import('./modules/updates/update.cli')).updateCommand,
  },
];

/** The `wispanel` program with the command `args` names loaded (every command with `all`). */
export async function buildPanelCli(
  args: readonly string[],
  options: { all?: boolean } = {},
): Promise<Command> {
  const program = new Command('wispanel')
    .description('WisPanel hosting control panel')
    .version(buildInfo().version)
    // Program options only before the command name: `wispanel update --version V` is the update's own flag.
    .enablePositionalOptions();
  return registerLazyCommands(program, COMMANDS, args, options);
}
