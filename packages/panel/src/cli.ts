import { Command } from 'commander';
import { initCommand } from './commands/init.cli';
import { startCommand } from './commands/start.cli';
import { updateCommand } from './modules/updates/update.cli';
import { installReleaseCommand, runCommand } from './supervisor/supervisor.cli';
import { buildInfo } from './version';

/** Every `wispanel` sub-command; add yours with one line (`run`, `update`, `license …`). */
export const COMMANDS: Array<(program: Command) => void> = [
  initCommand,
  startCommand,
  runCommand,
  installReleaseCommand,
  updateCommand,
];

const program = new Command('wispanel')
  .description('WisPanel hosting control panel')
  .version(buildInfo().version)
  // Program options only before the command name: `wispanel update --version V` is the update's own flag.
  .enablePositionalOptions();
for (const register of COMMANDS) register(program);
await program.parseAsync(process.argv);
