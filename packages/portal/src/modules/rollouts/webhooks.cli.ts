import {
  WebhookDeliveryListQuery,
  WebhookDeliveryParam,
  type WebhookDeliveryRecord,
} from '@wispanel/contract';
import type { Command } from 'commander';
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
import { releaseWebhookOf } from './rollouts.routes';
import { REDELIVERED_MESSAGE } from './webhook-deliveries.routes';

const HEADER = ['DELIVERY', 'STATE', 'EVENT', 'SUBJECT', 'ATTEMPTS', 'LAST ATTEMPT', 'STATUS', 'ERROR'];

/** One line per delivery, columns padded to the widest cell (the error last, unpadded). */
function table(rows: WebhookDeliveryRecord[]): string {
  const cells = [
    HEADER,
    ...rows.map((d) => [
      d.id,
      d.state,
      d.event,
      d.subject,
      String(d.attempts),
      d.last_attempt_at ?? '-',
      d.last_status === null ? '-' : String(d.last_status),
      d.last_error ?? '-',
    ]),
  ];
  const widths = HEADER.map((_, i) => Math.max(...cells.map((c) => c[i]!.length)));
  return cells
    .map((c) => c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i]!))).join('  '))
    .join('\n');
}

function describe(d: WebhookDeliveryRecord): string {
  return [
    `${d.id}  ${d.event} ${d.subject}  ${d.state}`,
    `  queued ${d.created_at}  attempts ${d.attempts}  last attempt ${d.last_attempt_at ?? '-'} (status ${d.last_status ?? '-'}${d.last_error ? `, ${d.last_error}` : ''})`,
    ...(d.state === 'pending' ? [`  next attempt ${d.next_attempt_at}  given up at ${d.expires_at}`] : []),
    ...(d.delivered_at ? [`  delivered ${d.delivered_at}`] : []),
    ...(d.redeliveries ? [`  redelivered ${d.redeliveries} time(s), last ${d.redelivered_at}`] : []),
  ].join('\n');
}

/**
 * `wispanel-portal webhooks …`: the vendor webhook's deliveries, directly on the database (like the admin API's
 * `/api/v1/admin/webhooks/deliveries`). `redeliver` only queues: the running portal's sender picks it up.
 */
export const webhookCommands: CliRegistration = (program: Command) => {
  const webhooks = program
    .command('webhooks')
    .description('vendor webhook deliveries: list, show, redeliver a given-up one');

  withCommonOptions(webhooks.command('list').description('deliveries, newest first'))
    .option('--state <state>', 'pending | delivered | failed (given up)')
    .option('--event <event>', 'e.g. release.halted')
    .option('--subject <subject>', 'what it is about (release.halted: the version)')
    .option('--page <n>', 'page (from 1)', intArg)
    .option('--per-page <n>', 'page size (max 100)', intArg)
    .action(async (opts: CommonOptions & Record<string, string | number | undefined>) => {
      const query = validated(
        WebhookDeliveryListQuery,
        defined({
          state: opts.state,
          event: opts.event,
          subject: opts.subject,
          page: opts.page,
          per_page: opts.perPage,
        }),
      );
      const r = await withServices(opts, (s) => releaseWebhookOf(s).list(query));
      const { page, total_pages, total } = r.pagination;
      output(
        opts,
        { success: true, ...r },
        total ? `${table(r.deliveries)}\npage ${page}/${total_pages}, ${total} total` : 'no deliveries',
      );
    });

  withCommonOptions(webhooks.command('show <id>').description('one delivery')).action(
    async (id: string, opts: CommonOptions) => {
      const { id: valid } = validated(WebhookDeliveryParam, { id });
      const d = await withServices(opts, (s) => releaseWebhookOf(s).get(valid));
      output(opts, { success: true, delivery: d }, describe(d));
    },
  );

  withCommonOptions(
    webhooks
      .command('redeliver <id>')
      .description('send a given-up (failed) delivery again, same delivery id, fresh 3-day window'),
  ).action(async (id: string, opts: CommonOptions) => {
    const { id: valid } = validated(WebhookDeliveryParam, { id });
    const d = await withServices(opts, (s) => releaseWebhookOf(s).redeliver(cliActor, valid));
    output(
      opts,
      { success: true, message: REDELIVERED_MESSAGE, delivery: d },
      `${describe(d)}\n${REDELIVERED_MESSAGE}`,
    );
  });
};
