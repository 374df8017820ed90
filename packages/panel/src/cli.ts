import { Command } from 'commander';
import { initCommand } from './commands/init.command';
import { startCommand } from './commands/start.command';
import { buildInfo } from './version';

/** Every `wispanel` sub-command; add yours with one line (`run`, `update`, `license …`). */
export const COMMANDS: Array<(program: Command) => void> = [initCommand, startCommand];

const program = new Command('wispanel')
  .description('WisPanel hosting control panel')
  .version(buildInfo().version);
for (const register of COMMANDS) register(program);
await program.parseAsync(process.argv);
