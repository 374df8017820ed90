import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { commandNamed, type LazyCommand, registerLazyCommands } from './lazy-cli';

describe('commandNamed', () => {
  it('is the first word, skipping program options; help X names X; none for --help/--version', () => {
    expect(commandNamed(['start', '--port', '0'])).toBe('start');
    expect(commandNamed(['--no-color', 'update', '--version', '1.2.3'])).toBe('update');
    expect(commandNamed(['help', 'start'])).toBe('start');
    expect(commandNamed(['help'])).toBeUndefined();
    expect(commandNamed(['--help'])).toBeUndefined();
    expect(commandNamed(['-V'])).toBeUndefined();
    expect(commandNamed([])).toBeUndefined();
    expect(commandNamed(['--', 'start'])).toBeUndefined();
    expect(commandNamed(['license', 'issue', '--tier', 'x'])).toBe('license');
  });
});

describe('registerLazyCommands', () => {
  const loaded: string[] = [];
  const real = (name: string, ran: string[]) => async (): Promise<(p: Command) => void> => {
    loaded.push(name);
    return (program) => {
      program
        .command(`${name} <file>`)
        .description(`the ${name} command`)
        .option('--json', 'json')
        .action((file: string) => {
          ran.push(`${name} ${file}`);
        });
    };
  };
  const table = (ran: string[]): LazyCommand[] => [
    {
      name: 'alpha',
      term: 'alpha [options] <file>',
      description: 'the alpha command',
      load: real('alpha', ran),
    },
    { name: 'beta', term: 'beta [options] <file>', description: 'the beta command', load: real('beta', ran) },
  ];
  const program = () => new Command('prog').exitOverride().configureOutput({ writeErr: () => {} });

  it('loads only the command that runs, and runs it', async () => {
    loaded.length = 0;
    const ran: string[] = [];
    const p = await registerLazyCommands(program(), table(ran), ['beta', 'x.tar']);
    await p.parseAsync(['node', 'prog', 'beta', 'x.tar']);
    expect(loaded).toEqual(['beta']);
    expect(ran).toEqual(['beta x.tar']);
  });

  it('loads nothing for the program help, which reads exactly as with every command loaded', async () => {
    loaded.length = 0;
    const lazy = (await registerLazyCommands(program(), table([]), ['--help'])).helpInformation();
    expect(loaded).toEqual([]);
    const eager = (await registerLazyCommands(program(), table([]), [], { all: true })).helpInformation();
    expect(loaded).toEqual(['alpha', 'beta']);
    expect(lazy).toBe(eager);
    expect(lazy).toContain('alpha [options] <file>');
  });

  it('an unknown command is refused with the suggestion of a command not loaded', async () => {
    loaded.length = 0;
    let err = '';
    const p = (await registerLazyCommands(program(), table([]), ['bta'])).configureOutput({
      writeErr: (s) => {
        err += s;
      },
    });
    await expect(p.parseAsync(['node', 'prog', 'bta'])).rejects.toThrow();
    expect(err).toMatch(/unknown command 'bta'[\s\S]*beta/);
    expect(loaded).toEqual([]);
  });
});
