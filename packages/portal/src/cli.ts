import { type LazyCommand, registerLazyCommands } from '@wispanel/kit/lazy-cli';
import { Command } from 'commander';
import { PORTAL_VERSION } from './version';

/**
 * Every command group, in help order. Append one entry per feature. Only the group that runs is loaded
 * (`--help` and `--version` load none): keep this file's imports to commander and version. `term` and
 * `description` are what the top-level help shows; cli.test.ts checks they match the loaded group.
 */
export const portalCliCommands: LazyCommand[] = [
  {
    name: 'init',
    term: 'init [options]',
    description: 'create signing keys, database schema, default tiers and an admin key',
    load: async () => (await import('./server.cli')).initCommand,
  },
  {
    name: 'start',
    term: 'start [options]',
    description: 'serve the portal API',
    load: async () => (await import('./server.cli')).startCommand,
  },
  {
    name: 'tiers',
    term: 'tiers',
    description: 'license tiers',
    load: async () => (await import('./modules/tiers/tiers.cli')).tierCommands,
  },
  {
    name: 'license',
    term: 'license',
    description: 'licenses',
    load: async () => (await import('./modules/licenses/licenses.cli')).licenseCommands,
  },
  {
    name: 'activation',
    term: 'activation',
    description: 'activations (license ↔ server bindings)',
    load: async () => (await import('./modules/licenses/licenses.cli')).activationCommands,
  },
  {
    name: 'keys',
    term: 'keys',
    description: 'signing keys',
    load: async () => (await import('./modules/signing/signing.cli')).keyCommands,
  },
  {
    name: 'admin-key',
    term: 'admin-key',
    description: 'admin API keys',
    load: async () => (await import('./modules/admin-keys/admin-keys.cli')).adminKeyCommands,
  },
  {
    name: 'release',
    term: 'release',
    description: 'releases: publish, list, yank',
    // `release rollout …` is registered into the release group.
    load: async () => {
      const [{ releaseCommands }, { rolloutCommands }] = await Promise.all([
        import('./modules/releases/releases.cli'),
        import('./modules/rollouts/rollouts.cli'),
      ]);
      return (program) => {
        releaseCommands(program);
        rolloutCommands(program);
      };
    },
  },
  {
    name: 'webhooks',
    term: 'webhooks',
    description: 'vendor webhook deliveries: list, show, redeliver a given-up one',
    load: async () => (await import('./modules/rollouts/webhooks.cli')).webhookCommands,
  },
  {
    name: 'openapi',
    term: 'openapi [options]',
    description: 'print the OpenAPI document (or --write FILE)',
    load: async () => (await import('./server.cli')).openapiCommand,
  },
];

/** The `wispanel-portal` program with the group `args` names loaded (every group with `all`: tests). */
export async function buildPortalCli(
  args: readonly string[] = [],
  options: { all?: boolean } = {},
): Promise<Command> {
  const program = new Command('wispanel-portal')
    .version(PORTAL_VERSION)
    .description('WisPanel vendor portal');
  program.showHelpAfterError();
  return registerLazyCommands(program, portalCliCommands, args, options);
}

async function fail(opts: { json: boolean }, err: unknown): Promise<never> {
  // Loaded only on a failure: the kit is not part of what `--help` loads.
  const { AppError, ConfigError } = await import('@wispanel/kit');
  if (err instanceof ConfigError) {
    if (opts.json)
      process.stdout.write(
        `${JSON.stringify({ success: false, code: 'CONFIG_ERROR', error: err.message, details: { config: err.problems } }, null, 2)}\n`,
      );
    else process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  if (err instanceof AppError) {
    if (opts.json)
      process.stdout.write(
        `${JSON.stringify({ success: false, code: err.code, error: err.message, ...(err.details ? { details: err.details } : {}) }, null, 2)}\n`,
      );
    else process.stderr.write(`error: ${err.message}\n`);
    process.exit(1);
  }
  const message = err instanceof Error ? err.message : String(err);
  if (opts.json)
    process.stdout.write(
      `${JSON.stringify({ success: false, code: 'INTERNAL_ERROR', error: message }, null, 2)}\n`,
    );
  else process.stderr.write(`error: ${message}\n`);
  process.exit(1);
}

const isMain = process.argv[1] && /wispanel-portal(\.mjs)?$|cli\.(ts|mjs)$/.test(process.argv[1]);
if (isMain) {
  const json = process.argv.includes('--json');
  buildPortalCli(process.argv.slice(2))
    .then((program) => program.parseAsync(process.argv))
    .catch((err) => fail({ json }, err));
}
