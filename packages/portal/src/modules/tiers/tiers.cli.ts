import { TierCreateBody, TierUpdateBody } from '@wispanel/contract';
import { AppError } from '@wispanel/kit';
import {
  type CliRegistration,
  type CommonOptions,
  defined,
  intArg,
  output,
  validated,
  withCommonOptions,
  withServices,
} from '../../cli-kit';
import { cliActor } from '../events/event-log';

/** `wispanel-portal tiers list|set`: validated by the admin API's schemas (TierCreateBody, TierUpdateBody). */
export const tierCommands: CliRegistration = (program) => {
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
    .option('--lease-days <n>', 'lease length in days (1-365)', intArg)
    .option('--grace-days <n>', 'grace days after lease or term (0-365)', intArg)
    .action(async (name: string, opts: CommonOptions & Record<string, unknown>) => {
      const fields: Record<string, unknown> = {
        max_users: opts.maxUsers,
        max_domains: opts.maxDomains,
        max_databases: opts.maxDatabases,
        features:
          opts.features === undefined
            ? undefined
            : String(opts.features)
                .split(',')
                .map((f) => f.trim())
                .filter(Boolean),
        lease_days: opts.leaseDays,
        grace_days: opts.graceDays,
      };
      const patch = defined(fields);
      const tier = await withServices(opts, async (s) => {
        const exists = (await s.tiers.list()).some((t) => t.name === name);
        if (exists) {
          if (Object.keys(patch).length === 0)
            throw new AppError('VALIDATION_ERROR', 'nothing to change: give at least one option');
          return s.tiers.update(cliActor, name, validated(TierUpdateBody, patch));
        }
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
        // A new tier: everything else as the API's create body checks it.
        const body = validated(TierCreateBody, { name, ...patch });
        return s.tiers.create(cliActor, {
          ...body,
          features: body.features ?? [],
          lease_days: body.lease_days ?? 14,
          grace_days: body.grace_days ?? 7,
        });
      });
      output(opts, { tier }, `tier ${tier.name} saved`);
    });
};
