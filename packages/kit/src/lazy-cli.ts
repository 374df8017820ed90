import { type Command, Help } from 'commander';

/**
 * Command lines that load only the command they run (`@wispanel/kit/lazy-cli`; imports nothing but commander,
 * so a CLI entry stays small). `wispanel --help` / `--version` load no command module at all; `wispanel start`
 * loads the start command (and what it imports) and nothing of `update` or `run`. With the install-time
 * bundles split into chunks (scripts/cli-bundle.mjs), a command not loaded is not even parsed.
 */
export interface LazyCommand {
  /** The name typed on the command line (`start`, `license`). */
  name: string;
  /** How the command reads in the program's help, exactly as the loaded command shows it (`start [options]`). */
  term: string;
  /** Its one-line description, exactly as the loaded command has it. */
  description: string;
  /** Loads the module and returns the function that registers the real command on the program. */
  load: () => Promise<(program: Command) => void>;
}

/**
 * The command an argument list (without node and the script) names: the first word that is not an option;
 * for `help X`, X. Undefined when there is none (`--help`, `--version`, nothing).
 */
export function commandNamed(args: readonly string[]): string | undefined {
  const words: string[] = [];
  for (const arg of args) {
    if (arg === '--') break;
    if (arg.startsWith('-')) {
      if (words.length === 0) continue; // program options (the CLIs have no program option taking a value)
      break;
    }
    words.push(arg);
    if (words[0] !== 'help' || words.length === 2) break;
  }
  return words[0] === 'help' ? words[1] : words[0];
}

/**
 * Registers `commands` on `program` in order: the one `args` names (every one with `all`) for real, the others
 * as stubs carrying only their name, term and description, so the program's help and "unknown command"
 * suggestions read as with everything loaded.
 */
export async function registerLazyCommands(
  program: Command,
  commands: readonly LazyCommand[],
  args: readonly string[],
  options: { all?: boolean } = {},
): Promise<Command> {
  const named = commandNamed(args);
  const terms = new Map<Command, string>();
  for (const command of commands) {
    if (options.all || command.name === named) (await command.load())(program);
    else terms.set(program.command(command.name).description(command.description), command.term);
  }
  const help = new Help();
  program.configureHelp({ subcommandTerm: (cmd) => terms.get(cmd) ?? help.subcommandTerm(cmd) });
  return program;
}
