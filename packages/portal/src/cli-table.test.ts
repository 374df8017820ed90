import { describe, expect, it } from 'vitest';
import { buildPortalCli, portalCliCommands } from './cli';

describe('wispanel-portal command table (groups load one at a time)', () => {
  it('the help without loading any group reads exactly as with every group loaded', async () => {
    const lazy = (await buildPortalCli(['--help'])).helpInformation();
    const eager = (await buildPortalCli([], { all: true })).helpInformation();
    expect(lazy).toBe(eager);
  });

  it('each entry registers exactly its own group, and every group has an entry', async () => {
    const eager = await buildPortalCli([], { all: true });
    expect(eager.commands.map((c) => c.name())).toEqual(portalCliCommands.map((c) => c.name));
    for (const c of portalCliCommands) {
      const one = await buildPortalCli([c.name]);
      const real = one.commands.find((cmd) => cmd.name() === c.name);
      expect(real?.options.length || real?.commands.length, c.name).toBeGreaterThan(0); // loaded, not a stub
      expect(real?.description()).toBe(c.description);
    }
  });
});
