import { AppError, validateBody } from '@wispanel/kit';
import { type Command, InvalidArgumentError } from 'commander';
import type { Static, TSchema } from 'typebox';
import { loadPortalConfig, type PortalConfig, type PortalFlags } from './config';
import { createPortalServices, type PortalServices } from './context';
import { issueMessage } from './http/errors';
import { openPortalDatabase } from './store';

/**
 * What every `wispanel-portal` command group shares (a leaf: command groups beside their modules import it,
 * cli.ts lists the groups). Commands get their services from `withServices` — the same composition root the
 * server uses — and validate their input through the request schemas of @wispanel/contract, so the CLI
 * refuses exactly what the admin API refuses.
 */

/** Options every command shares. */
export interface CommonOptions extends PortalFlags {
  json?: boolean;
}

/** A command group registration. Add one per feature (e.g. `release …`) to `portalCliCommands` in cli.ts. */
export type CliRegistration = (program: Command) => void;

/** Adds `--data-dir`, `--database-url` and `--json` to a command. */
export function withCommonOptions(cmd: Command): Command {
  return cmd
    .option('--data-dir <dir>', 'data directory (WISPANEL_PORTAL_DATA_DIR, default ./data/portal)')
    .option('--database-url <url>', 'postgres://… or a SQLite file (WISPANEL_PORTAL_DATABASE_URL)')
    .option('--json', 'print machine-readable JSON');
}

export function intArg(value: string): number {
  if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError('must be a whole number');
  return Number(value);
}

/** Prints a result: JSON with `--json`, else the human text (or the JSON when no text is given). */
export function output(opts: CommonOptions, result: unknown, human?: string): void {
  if (opts.json || human === undefined) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else process.stdout.write(`${human}\n`);
}

/** Opens the database and services for one operator command, then closes them. */
export async function withServices<T>(
  opts: CommonOptions,
  fn: (s: PortalServices, config: PortalConfig) => Promise<T>,
): Promise<T> {
  const config = loadPortalConfig(opts);
  const database = await openPortalDatabase(config);
  const services = createPortalServices({ config, database });
  try {
    return await fn(services, config);
  } finally {
    services.close();
    await database.close();
  }
}

/**
 * Validates a command's input against the API's request schema and words every problem as the API does
 * (`The lease days field must not be greater than 365.`), so `--json` prints the API's error envelope.
 */
export function validated<S extends TSchema>(schema: S, value: unknown): Static<S> {
  try {
    return validateBody(schema, value);
  } catch (err) {
    if (!(err instanceof AppError) || !err.issues) throw err;
    const details: Record<string, string[]> = Object.create(null);
    for (const issue of err.issues) {
      const text = issueMessage(issue, schema);
      details[issue.field] ??= [];
      if (!details[issue.field]!.includes(text)) details[issue.field]!.push(text);
    }
    const first = Object.values(details)[0]?.[0] ?? err.message;
    throw new AppError('VALIDATION_ERROR', first, { details });
  }
}

/** The entries of an options object that were given (commander leaves absent options undefined). */
export function defined(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
}
