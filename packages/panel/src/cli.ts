import { buildPanelCli } from './cli-commands';

// The `wispanel` command line (bins, release bundle). Commands are in cli-commands.ts, loaded one at a time.
await (await buildPanelCli(process.argv.slice(2))).parseAsync(process.argv);
