import { writeFileSync } from 'node:fs';
import { AppError, ConfigError } from '@wispanel/kit';
import { Command, InvalidArgumentError } from 'commander';
import { loadPortalConfig, type PortalConfig, type PortalFlags } from './config';
import { createPortalServices, type PortalServices } from './context';
import { initPortal } from './init';
import { startPortal } from './main';
import { ADMIN_KEY_CACHE_MS } from './modules/admin-keys/admin-keys';
import { cliActor } from './modules/events/event-log';
import { releaseCommands } from './modules/releases/releases.cli';
import { rolloutCommands } from './modules/rollouts/rollouts.cli';
import { FileSigningService, rotateSigningKey } from './modules/signing/signing-keys';
import type { TierPatch } from './modules/tiers/tiers.service';
import { openPortalDatabase } from './store';
import { PORTAL_VERSION } from './version';

/** Options every command shares. */
export interface CommonOptions extends PortalFlags {
  json?: boolean;
}

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
  try {
    return await fn(createPortalServices({ config, database }), config);
  } finally {
    await database.close();
  }
}

/** A command group registration. Add one per feature (e.g. `release …`) to `portalCliCommands`. */
export type CliRegistration = (program: Command) => void;

const initCommand: CliRegistration = (program) => {
  withCommonOptions(
    program
      .command('init')
      .description('create signing keys, database schema, default tiers and an admin key'),
  ).action(async (opts: CommonOptions) => {
    const r = await initPortal(loadPortalConfig(opts));
    output(
      opts,
      r,
      [
        r.created ? 'Portal initialised.' : 'Portal already initialised; nothing was replaced.',
        `data dir:     ${r.data_dir}`,
        `database:     ${r.database}`,
        `signing key:  ${r.kid}`,
        `public keys:  ${r.public_keys_file}  (give this file to panels: --portal-keys)`,
        r.admin_key
          ? `admin key:    ${r.admin_key}\n              (shown once; send it as X-Admin-Key)`
          : 'admin key:    (exists; create another with "wispanel-portal admin-key create")',
      ].join('\n'),
    );
  });
};

const startCommand: CliRegistration = (program) => {
  withCommonOptions(program.command('start').description('serve the portal API'))
    .option('--host <host>', 'listen address (WISPANEL_PORTAL_HOST, default 127.0.0.1)')
    .option('--port <port>', 'port, 0 = any free port (WISPANEL_PORTAL_PORT, default 3090)')
    .option('--tls-cert <file>', 'serve HTTPS with this certificate (WISPANEL_PORTAL_TLS_CERT)')
    .option('--tls-key <file>', 'private key for --tls-cert (WISPANEL_PORTAL_TLS_KEY)')
    .option(
      '--rate-limit <n>',
      'public API requests per minute per IP (WISPANEL_PORTAL_RATE_LIMIT, default 120)',
    )
    .option('--trust-proxy', 'take client IPs from X-Forwarded-For (WISPANEL_PORTAL_TRUST_PROXY)')
    .option('--redis-url <url>', 'share the rate limit across instances (WISPANEL_PORTAL_REDIS_URL)')
    .option(
      '--artifact-dir <dir>',
      'release artifacts (WISPANEL_PORTAL_ARTIFACT_DIR, default <data-dir>/artifacts)',
    )
    .option(
      '--max-artifact-bytes <n>',
      'artifact upload cap (WISPANEL_PORTAL_MAX_ARTIFACT_BYTES, default 2 GiB)',
    )
    .option(
      '--release-webhook-url <url>',
      'vendor webhook for release.halted (WISPANEL_PORTAL_RELEASE_WEBHOOK_URL)',
    )
    .option(
      '--release-webhook-secret <secret>',
      'HMAC-SHA256 key for X-WisPanel-Signature (WISPANEL_PORTAL_RELEASE_WEBHOOK_SECRET)',
    )
    .action(async (opts: CommonOptions) => {
      const config = loadPortalConfig(opts);
      const portal = await startPortal(config, opts.json ? { logLevel: 'warn' } : {});
      output(
        opts,
        { url: portal.url, pid: process.pid, database: portal.app.portal.database.describe },
        `WisPanel portal listening on ${portal.url}`,
      );
      const stop = () => {
        portal.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
};

const tierCommands: CliRegistration = (program) => {
  const tiers = program.command('tiers').description('license tiers');
  withCommonOptions(tiers.command('list').description('list tiers')).action(async (opts: CommonOptions) => {
    const list = await withServices(opts, (s) => s.tiers.list());
    output(
      opts,
      { tiers: list },
      list
        .map(
          (t) =>
            `${t.name.padEnd(12)} users ${t.max_users}  domains ${t.max_domains}  databases ${t.max_databases}  lease ${t.lease_days}d  grace ${t.grace_days}d  features ${t.features.join(',') || '-'}`,
        )
        .join('\n'),
    );
  });
  withCommonOptions(
    tiers.command('set <name>').description('create a tier or change its limits (-1 = unlimited)'),
  )
    .option('--max-users <n>', 'accounts', intArg)
    .option('--max-domains <n>', 'domains', intArg)
    .option('--max-databases <n>', 'databases', intArg)
    .option('--features <list>', 'comma-separated feature names')
    .option('--lease-days <n>', 'lease length in days', intArg)
    .option('--grace-days <n>', 'grace days after lease or term', intArg)
    .action(async (name: string, opts: CommonOptions & Record<string, unknown>) => {
      const patch: TierPatch = {};
      if (opts.maxUsers !== undefined) patch.max_users = opts.maxUsers as number;
      if (opts.maxDomains !== undefined) patch.max_domains = opts.maxDomains as number;
      if (opts.maxDatabases !== undefined) patch.max_databases = opts.maxDatabases as number;
      if (opts.features !== undefined)
        patch.features = String(opts.features)
          .split(',')
          .map((f) => f.trim())
          .filter(Boolean);
      if (opts.leaseDays !== undefined) patch.lease_days = opts.leaseDays as number;
      if (opts.graceDays !== undefined) patch.grace_days = opts.graceDays as number;
      for (const [k, v] of Object.entries(patch)) {
        if (typeof v === 'number' && (v < (k.endsWith('_days') ? 0 : -1) || (k === 'lease_days' && v < 1))) {
          throw new AppError('VALIDATION_ERROR', `--${k.replace('_', '-')} is out of range`);
        }
      }
      const tier = await withServices(opts, async (s) => {
        const exists = (await s.tiers.list()).some((t) => t.name === name);
        if (exists) {
          if (Object.keys(patch).length === 0)
            throw new AppError('VALIDATION_ERROR', 'nothing to change: give at least one option');
          return s.tiers.update(cliActor, name, patch);
        }
        if (!/^[a-z][a-z0-9-]{0,31}$/.test(name))
          throw new AppError('VALIDATION_ERROR', 'tier name must be lowercase letters, digits and dashes');
        if (
          patch.max_users === undefined ||
          patch.max_domains === undefined ||
          patch.max_databases === undefined
        ) {
          throw new AppError(
            'VALIDATION_ERROR',
            'a new tier needs --max-users, --max-domains and --max-databases',
          );
        }
        return s.tiers.create(cliActor, {
          name,
          max_users: patch.max_users,
          max_domains: patch.max_domains,
          max_databases: patch.max_databases,
          features: patch.features ?? [],
          lease_days: patch.lease_days ?? 14,
          grace_days: patch.grace_days ?? 7,
        });
      });
      output(opts, { tier }, `tier ${tier.name} saved`);
    });
};

function licenseLine(l: {
  id: string;
  key_masked: string;
  tier: string;
  status: string;
  expires_at: string | null;
  activations_used: number;
  max_activations: number;
  customer_name: string;
}): string {
  return `${l.id}  ${l.key_masked}  ${l.tier.padEnd(10)} ${l.status.padEnd(9)} expires ${l.expires_at ?? 'never'}  activations ${l.activations_used}/${l.max_activations}  ${l.customer_name}`;
}

const licenseCommands: CliRegistration = (program) => {
  const license = program.command('license').description('licenses');
  withCommonOptions(license.command('issue').description('issue a license (prints the key once)'))
    .requiredOption('--tier <tier>', 'tier name')
    .option('--term-days <n>', 'term in days (default: perpetual)', intArg)
    .option('--expires-at <date>', 'end of term (ISO 8601)')
    .option('--max-activations <n>', 'servers it may be activated on (default 1)', intArg)
    .option('--customer-name <name>', 'customer name')
    .option('--customer-email <email>', 'customer email')
    .option('--notes <text>', 'notes')
    .action(async (opts: CommonOptions & Record<string, string | number | undefined>) => {
      const r = await withServices(opts, (s) =>
        s.licenses.issue(cliActor, {
          tier: String(opts.tier),
          term_days: opts.termDays as number | undefined,
          expires_at: opts.expiresAt as string | undefined,
          max_activations: opts.maxActivations as number | undefined,
          customer_name: opts.customerName as string | undefined,
          customer_email: opts.customerEmail as string | undefined,
          notes: opts.notes as string | undefined,
        }),
      );
      output(opts, { license_key: r.key, license: r.license }, `${r.key}\n${licenseLine(r.license)}`);
    });
  withCommonOptions(license.command('list').description('list licenses'))
    .option('--status <status>', 'active | suspended | revoked | expired')
    .option('--tier <tier>', 'tier name')
    .option('--q <text>', 'customer name/email substring, key last 4, or id')
    .option('--page <n>', 'page (from 1)', intArg)
    .option('--per-page <n>', 'page size (max 100)', intArg)
    .action(async (opts: CommonOptions & Record<string, string | number | undefined>) => {
      const status = opts.status as string | undefined;
      if (status && !['active', 'suspended', 'revoked', 'expired'].includes(status)) {
        throw new AppError('VALIDATION_ERROR', '--status must be active, suspended, revoked or expired');
      }
      const r = await withServices(opts, (s) =>
        s.licenses.list({
          status: status as never,
          tier: opts.tier as string | undefined,
          q: opts.q as string | undefined,
          page: Math.max(1, (opts.page as number | undefined) ?? 1),
          per_page: Math.min(100, Math.max(1, (opts.perPage as number | undefined) ?? 25)),
        }),
      );
      output(
        opts,
        r,
        [
          ...r.licenses.map(licenseLine),
          `page ${r.pagination.page}/${r.pagination.total_pages}, ${r.pagination.total} total`,
        ].join('\n'),
      );
    });
  withCommonOptions(
    license
      .command('show <license>')
      .description('show a license (id or key) with activations and recent events'),
  ).action(async (id: string, opts: CommonOptions) => {
    const l = await withServices(opts, (s) => s.licenses.get(id));
    output(
      opts,
      { license: l },
      [
        licenseLine(l),
        ...l.activations.map(
          (a) =>
            `  activation ${a.hardware_id} ${a.hostname} v${a.panel_version} since ${a.activated_at}, seen ${a.last_seen_at}`,
        ),
        ...l.recent_events.map((e) => `  ${e.at} ${e.action} ${e.result_code} by ${e.actor}`),
      ].join('\n'),
    );
  });
  const simple = (
    name: string,
    description: string,
    run: (s: PortalServices, id: string, reason?: string) => Promise<unknown>,
    withReason = false,
  ) => {
    const cmd = withCommonOptions(license.command(`${name} <license>`).description(description));
    if (withReason) cmd.option('--reason <text>', 'why (kept in the event log)');
    cmd.action(async (id: string, opts: CommonOptions & { reason?: string }) => {
      const l = (await withServices(opts, (s) => run(s, id, opts.reason))) as Parameters<
        typeof licenseLine
      >[0];
      output(opts, { license: l }, licenseLine(l));
    });
  };
  simple('suspend', 'suspend a license', (s, id, reason) => s.licenses.suspend(cliActor, id, reason), true);
  simple('reinstate', 'reinstate a suspended license', (s, id) => s.licenses.reinstate(cliActor, id));
  simple(
    'revoke',
    'revoke a license (final)',
    (s, id, reason) => s.licenses.revoke(cliActor, id, reason),
    true,
  );
  withCommonOptions(license.command('extend <license>').description('extend the term by days or to a date'))
    .option('--days <n>', 'days to add (from the end of the term, or from now if it ended)', intArg)
    .option('--expires-at <date>', 'new end of term (ISO 8601)')
    .action(async (id: string, opts: CommonOptions & { days?: number; expiresAt?: string }) => {
      const l = await withServices(opts, (s) =>
        s.licenses.extend(cliActor, id, { days: opts.days, expires_at: opts.expiresAt }),
      );
      output(opts, { license: l }, licenseLine(l));
    });
  withCommonOptions(
    license.command('tier <license> <tier>').description('change the tier of a license'),
  ).action(async (id: string, tier: string, opts: CommonOptions) => {
    const l = await withServices(opts, (s) => s.licenses.changeTier(cliActor, id, tier));
    output(opts, { license: l }, licenseLine(l));
  });
  const activation = program.command('activation').description('activations (license ↔ server bindings)');
  withCommonOptions(
    activation
      .command('reset <license> <hardware-id>')
      .description('free an activation slot (hardware id or activation id)'),
  ).action(async (id: string, hw: string, opts: CommonOptions) => {
    const l = await withServices(opts, (s) => s.licenses.resetActivation(cliActor, id, hw));
    output(opts, { license: l }, licenseLine(l));
  });
};

const keyCommands: CliRegistration = (program) => {
  const keys = program.command('keys').description('signing keys');
  withCommonOptions(
    keys.command('list').description('list public keys (what GET /api/v1/keys answers)'),
  ).action(async (opts: CommonOptions) => {
    const set = new FileSigningService(loadPortalConfig(opts).keysDir).publicKeySet();
    output(opts, set, set.keys.map((k) => `${k.kid}  ${k.status.padEnd(8)} ${k.created_at}`).join('\n'));
  });
  withCommonOptions(
    keys.command('rotate').description('add a new current signing key; old ones stay verifiable'),
  ).action(async (opts: CommonOptions) => {
    const config = loadPortalConfig(opts);
    const r = rotateSigningKey(config.keysDir);
    await withServices(opts, (s) =>
      s.events.append({ action: 'signing_key.rotated', actor: cliActor, resultCode: 'OK', data: r }),
    );
    const set = new FileSigningService(config.keysDir).publicKeySet();
    const file = `${config.dataDir}/public-keys.json`;
    writeFileSync(file, `${JSON.stringify(set, null, 2)}\n`);
    output(
      opts,
      { ...r, public_keys_file: file, keys: set.keys },
      `new current key ${r.kid}; ${r.retired} retired (still verifiable)\npublic keys written to ${file}`,
    );
  });
  const admin = program.command('admin-key').description('admin API keys');
  withCommonOptions(admin.command('create').description('create another admin key (printed once)'))
    .option('--name <name>', 'label', 'cli')
    .action(async (opts: CommonOptions & { name: string }) => {
      const r = await withServices(opts, async (s) => {
        const created = await s.adminKeys.create(opts.name);
        await s.events.append({
          action: 'admin_key.created',
          actor: cliActor,
          resultCode: 'OK',
          data: { prefix: created.record.key_prefix },
        });
        return created;
      });
      output(opts, { admin_key: r.key, ...r.record }, `${r.key}\n(shown once; send it as X-Admin-Key)`);
    });
  withCommonOptions(
    admin.command('list').description('list admin keys, revoked ones included (never the keys themselves)'),
  ).action(async (opts: CommonOptions) => {
    const keys = await withServices(opts, (s) => s.adminKeys.list());
    output(
      opts,
      { admin_keys: keys },
      keys.length === 0
        ? 'no admin keys (create one with "wispanel-portal admin-key create")'
        : keys
            .map(
              (k) =>
                `${k.id}  ${k.key_prefix}  ${(k.revoked_at ? 'revoked' : 'active').padEnd(7)}  created ${k.created_at}${k.revoked_at ? `  revoked ${k.revoked_at}` : ''}  ${k.name}`,
            )
            .join('\n'),
    );
  });
  withCommonOptions(
    admin
      .command('revoke <id-or-prefix>')
      .description('revoke an admin key by id or key prefix (as "admin-key list" shows them)'),
  )
    .option('--force', 'revoke even the last active key (locks the admin API until another is created)')
    .action(async (target: string, opts: CommonOptions & { force?: boolean }) => {
      const r = await withServices(opts, (s) => s.adminKeys.revoke(cliActor, target, { force: opts.force }));
      const seconds = ADMIN_KEY_CACHE_MS / 1000;
      output(
        opts,
        { ...r.record, already_revoked: r.already_revoked, effective_within_seconds: seconds },
        r.already_revoked
          ? `admin key ${r.record.key_prefix} (${r.record.name}) was already revoked at ${r.record.revoked_at}; nothing changed`
          : `admin key ${r.record.key_prefix} (${r.record.name}) revoked at ${r.record.revoked_at}\n` +
              `a running portal stops accepting it within ${seconds} seconds (it caches active keys that long)`,
      );
    });
};

const openapiCommand: CliRegistration = (program) => {
  program
    .command('openapi')
    .description('print the OpenAPI document (or --write FILE)')
    .option('--write <file>', 'write it to a file (the committed copy is packages/portal/openapi.json)')
    .action(async (opts: { write?: string }) => {
      const text = await renderOpenApi();
      if (opts.write) writeFileSync(opts.write, text);
      else process.stdout.write(text);
    });
};

/** The OpenAPI document as committed (built from the route schemas, no database or keys needed). */
export async function renderOpenApi(): Promise<string> {
  const { openApiDocument } = await import('./openapi');
  return `${JSON.stringify(await openApiDocument(), null, 2)}\n`;
}

/** Every command group. Append one line per feature. */
export const portalCliCommands: CliRegistration[] = [
  initCommand,
  startCommand,
  tierCommands,
  licenseCommands,
  keyCommands,
  releaseCommands,
  rolloutCommands,
  openapiCommand,
];

export function buildPortalCli(): Command {
  const program = new Command('wispanel-portal')
    .version(PORTAL_VERSION)
    .description('WisPanel vendor portal');
  program.showHelpAfterError();
  for (const register of portalCliCommands) register(program);
  return program;
}

function fail(opts: { json: boolean }, err: unknown): never {
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

const isMain = process.argv[1] && /wispanel-portal(\.mjs)?$|cli\.ts$/.test(process.argv[1]);
if (isMain) {
  const json = process.argv.includes('--json');
  buildPortalCli()
    .parseAsync(process.argv)
    .catch((err) => fail({ json }, err));
}
