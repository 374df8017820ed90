import { describe, expect, it } from 'vitest';
import { buildPanelCli, COMMANDS } from './cli-commands';

describe('wispanel command table (commands load one at a time)', () => {
  it('the help without loading any command reads exactly as with every command loaded', async () => {
    const lazy = (await buildPanelCli(['--help'])).helpInformation();
    const eager = (await buildPanelCli([], { all: true })).helpInformation();
    expect(lazy).toBe(eager);
  });

  it('each entry registers exactly its own command, and every command has an entry', async () => {
    const eager = await buildPanelCli([], { all: true });
    expect(eager.commands.map((c) => c.name())).toEqual(COMMANDS.map((c) => c.name));
    for (const c of COMMANDS) {
      const one = await buildPanelCli([c.name]);
      const real = one.commands.find((cmd) => cmd.name() === c.name);
      expect(real?.options.length ?? 0, c.name).toBeGreaterThan(0); // loaded, not a stub
      expect(real?.description()).toBe(c.description);
    }
  });
});
