import { LicenseExtendBody, LicenseIssueBody, LicenseListQuery } from '@wispanel/contract';
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
import type { PortalServices } from '../../context';
import { cliActor } from '../events/event-log';

/** `wispanel-portal license …` and `activation reset`: input validated by the admin API's schemas. */
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

export const licenseCommands: CliRegistration = (program) => {
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
      const body = validated(
        LicenseIssueBody,
        defined({
          tier: opts.tier,
          term_days: opts.termDays,
          expires_at: opts.expiresAt,
          max_activations: opts.maxActivations,
          customer_name: opts.customerName,
          customer_email: opts.customerEmail,
          notes: opts.notes,
        }),
      );
      const r = await withServices(opts, (s) => s.licenses.issue(cliActor, body));
      output(opts, { license_key: r.key, license: r.license }, `${r.key}\n${licenseLine(r.license)}`);
    });
  withCommonOptions(license.command('list').description('list licenses'))
    .option('--status <status>', 'active | suspended | revoked | expired')
    .option('--tier <tier>', 'tier name')
    .option('--q <text>', 'customer name/email substring, key last 4, or id')
    .option('--page <n>', 'page (from 1)', intArg)
    .option('--per-page <n>', 'page size (max 100)', intArg)
    .action(async (opts: CommonOptions & Record<string, string | number | undefined>) => {
      const query = validated(
        LicenseListQuery,
        defined({ status: opts.status, tier: opts.tier, q: opts.q, page: opts.page, per_page: opts.perPage }),
      );
      const r = await withServices(opts, (s) =>
        s.licenses.list({ ...query, page: query.page ?? 1, per_page: query.per_page ?? 25 }),
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
      const body = validated(LicenseExtendBody, defined({ days: opts.days, expires_at: opts.expiresAt }));
      const l = await withServices(opts, (s) => s.licenses.extend(cliActor, id, body));
      output(opts, { license: l }, licenseLine(l));
    });
  withCommonOptions(
    license.command('tier <license> <tier>').description('change the tier of a license'),
  ).action(async (id: string, tier: string, opts: CommonOptions) => {
    const l = await withServices(opts, (s) => s.licenses.changeTier(cliActor, id, tier));
    output(opts, { license: l }, licenseLine(l));
  });
};

/** `wispanel-portal activation …`. */
export const activationCommands: CliRegistration = (program) => {
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
