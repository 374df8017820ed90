import {
  DEFAULT_HALT_POLICY,
  type ReleaseHealth,
  type RolloutPlanBody,
  type RolloutStage,
  type RolloutView,
} from '@wispanel/contract';
import { AppError, validationError } from '@wispanel/kit';
import type { Command } from 'commander';
import {
  type CliRegistration,
  type CommonOptions,
  output,
  withCommonOptions,
  withServices,
} from '../../cli-kit';
import { cliActor } from '../events/event-log';
import { rolloutsServiceOf } from './rollouts.routes';

/** `1,10@24,50@24,100@24` (percent@hours after the previous stage), `100` (a plain percent) or `default`. */
export function parseStages(spec: string): RolloutPlanBody['stages'] {
  if (spec === 'default') return undefined;
  if (/^\d+(\.\d+)?$/.test(spec)) return Number(spec);
  const stages: RolloutStage[] = [];
  for (const part of spec.split(',')) {
    const m = /^\s*(\d+(?:\.\d+)?)(?:@(\d+(?:\.\d+)?))?\s*$/.exec(part);
    if (!m) {
      throw validationError('Validation failed', {
        stages: [`"${part}" is not percent or percent@hours (e.g. 1,10@24,100@48)`],
      });
    }
    stages.push({ percent: Number(m[1]), after_hours: m[2] === undefined ? 0 : Number(m[2]) });
  }
  return stages;
}

function describe(r: RolloutView): string {
  const stages = r.stages.map(
    (s, i) => `${i === r.stage ? '[' : ''}${s.percent}%@${s.after_hours}h${i === r.stage ? ']' : ''}`,
  );
  return [
    `${r.version}  ${r.state}${r.reason ? ` (${r.reason})` : ''}  stage ${r.stage} = ${r.percent} %`,
    `  plan ${r.planned ? stages.join(' → ') : 'none (everyone at once)'}  next stage ${r.next_stage_at ?? '-'}`,
    `  halt when ≥ ${r.halt_policy.min_failures} failures and ≥ ${(r.halt_policy.failure_rate * 100).toFixed(1)} %`,
  ].join('\n');
}

function describeHealth(h: ReleaseHealth): string {
  return [
    describe(h.rollout),
    `  offered ${h.offered}  started ${h.started}  succeeded ${h.succeeded}  failed ${h.failed}  rolled back ${h.rolled_back}  reports ${h.reports}`,
    `  median install ${h.median_install_ms ?? '-'} ms  failed by step ${JSON.stringify(h.failed_by_step)}`,
    `  this stage: ${h.current_stage.succeeded} ok, ${h.current_stage.failed} failed`,
    ...(h.halt
      ? [
          `  last halt ${h.halt.at} by ${h.halt.by ?? '-'} (${h.halt.trigger ?? '-'}${h.halt.active ? '' : ', resumed since'}): ${h.halt.reason ?? '-'}`,
          `  webhook release.halted: ${
            h.halt.webhook
              ? `${h.halt.webhook.state}, ${h.halt.webhook.attempts} attempt(s)${h.halt.webhook.last_error ? `, last error ${h.halt.webhook.last_error}` : ''} (delivery ${h.halt.webhook.delivery})`
              : 'none'
          }`,
        ]
      : []),
  ].join('\n');
}

interface SetOptions extends CommonOptions {
  stages?: string;
  minFailures?: string;
  failureRate?: string;
  criticalSkipsStages?: boolean;
}

/** `wispanel-portal release rollout …`: the admin API's rollout actions, directly on the database. */
export const rolloutCommands: CliRegistration = (program: Command) => {
  const release = program.commands.find((c) => c.name() === 'release');
  if (!release) throw new Error('release commands must be registered before rollout commands');
  const rollout = release
    .command('rollout')
    .description('staged rollouts: plan, show (state and health), pause, resume, halt, promote, fleet');

  withCommonOptions(
    rollout.command('set <version>').description('set the rollout plan (restarts at stage 0)'),
  )
    .option(
      '--stages <spec>',
      'default | 100 | 1,10@24,50@24,100@24 (percent@hours after the previous stage)',
    )
    .option(
      '--min-failures <n>',
      `failing servers before a halt (default ${DEFAULT_HALT_POLICY.min_failures})`,
    )
    .option('--failure-rate <r>', `failed/finished ratio, 0–1 (default ${DEFAULT_HALT_POLICY.failure_rate})`)
    .option('--critical-skips-stages', 'a critical release goes to its last stage at once')
    .action(async (version: string, opts: SetOptions) => {
      const minFailures =
        opts.minFailures === undefined ? DEFAULT_HALT_POLICY.min_failures : Number(opts.minFailures);
      const failureRate =
        opts.failureRate === undefined ? DEFAULT_HALT_POLICY.failure_rate : Number(opts.failureRate);
      const details: Record<string, string[]> = {};
      if (!Number.isInteger(minFailures) || minFailures < 1)
        details.min_failures = ['--min-failures must be a whole number ≥ 1.'];
      if (!(failureRate > 0 && failureRate <= 1))
        details.failure_rate = ['--failure-rate must be above 0 and at most 1.'];
      if (Object.keys(details).length) throw validationError('Validation failed', details);
      const body: RolloutPlanBody = {
        stages: parseStages(opts.stages ?? 'default'),
        halt_policy: { min_failures: minFailures, failure_rate: failureRate },
        critical_skips_stages: opts.criticalSkipsStages === true,
      };
      const r = await withServices(opts, (s) => rolloutsServiceOf(s).setPlan(cliActor, version, body));
      output(opts, { success: true, rollout: r }, describe(r));
    });

  withCommonOptions(
    rollout.command('show <version>').description('rollout state and health of a release'),
  ).action(async (version: string, opts: CommonOptions) => {
    const h = await withServices(opts, (s) => rolloutsServiceOf(s).health(version));
    output(opts, { success: true, health: h }, describeHealth(h));
  });

  for (const action of ['pause', 'resume', 'halt', 'promote'] as const) {
    const cmd = withCommonOptions(
      rollout.command(`${action} <version>`).description(
        {
          pause: 'stop offering the release to new servers',
          resume: 'resume a paused or halted rollout (counters start afresh)',
          halt: 'halt now: queues release.halted in the outbox (sent by the running portal with a webhook configured)',
          promote: 'go to the next stage now',
        }[action],
      ),
    );
    if (action === 'pause' || action === 'halt') cmd.option('--reason <text>', 'why (event log, webhook)');
    if (action === 'promote') cmd.option('--to-stage <n>', 'stage index to jump to');
    cmd.action(async (version: string, opts: CommonOptions & { reason?: string; toStage?: string }) => {
      const { r, webhook } = await withServices(opts, async (s) => {
        const svc = rolloutsServiceOf(s);
        if (action === 'halt') {
          // Same service path as the admin API: the halt, its event and the queued webhook commit together.
          const halted = await svc.halt(cliActor, version, opts.reason);
          return { r: halted, webhook: (await svc.health(version)).halt?.webhook ?? null };
        }
        if (action === 'pause') return { r: await svc.pause(cliActor, version, opts.reason), webhook: null };
        if (action === 'resume') return { r: await svc.resume(cliActor, version), webhook: null };
        const to = opts.toStage === undefined ? undefined : Number(opts.toStage);
        if (to !== undefined && !Number.isInteger(to))
          throw new AppError('VALIDATION_ERROR', '--to-stage must be a whole number');
        return { r: await svc.promote(cliActor, version, to), webhook: null };
      });
      output(
        opts,
        { success: true, rollout: r, ...(action === 'halt' ? { webhook } : {}) },
        webhook
          ? `${describe(r)}\n  webhook release.halted ${webhook.state} (delivery ${webhook.delivery}): the running portal sends it`
          : describe(r),
      );
    });
  }

  withCommonOptions(rollout.command('list').description('every release with a rollout')).action(
    async (opts: CommonOptions) => {
      const list = await withServices(opts, (s) => rolloutsServiceOf(s).list());
      output(
        opts,
        { success: true, rollouts: list },
        list.length ? list.map(describe).join('\n') : 'no rollouts',
      );
    },
  );

  withCommonOptions(
    rollout.command('fleet').description('active servers by version and channel, licenses by tier'),
  )
    .option('--active-days <n>', 'seen within this many days (default 7)')
    .action(async (opts: CommonOptions & { activeDays?: string }) => {
      const days = opts.activeDays === undefined ? 7 : Number(opts.activeDays);
      if (!Number.isInteger(days) || days < 1 || days > 365) {
        throw new AppError('VALIDATION_ERROR', '--active-days must be a whole number from 1 to 365');
      }
      const f = await withServices(opts, (s) => rolloutsServiceOf(s).fleet(days));
      output(
        opts,
        { success: true, fleet: f },
        [
          `${f.servers} servers seen in the last ${f.active_days} days (last ${f.last_seen_at ?? '-'})`,
          `by version: ${f.by_version.map((v) => `${v.version} ${v.servers}`).join(', ') || '-'}`,
          `by channel: ${f.by_channel.map((v) => `${v.channel} ${v.servers}`).join(', ') || '-'}`,
          `licenses by tier: ${f.licenses_by_tier.map((v) => `${v.tier} ${v.licenses}`).join(', ') || '-'}`,
        ].join('\n'),
      );
    });

  withCommonOptions(
    rollout
      .command('canary <license>')
      .description('mark a license as a canary (gets staged releases at stage 0)'),
  )
    .option('--off', 'clear the mark')
    .action(async (license: string, opts: CommonOptions & { off?: boolean }) => {
      const r = await withServices(opts, async (s) => {
        const l = await s.licenses.get(license);
        return rolloutsServiceOf(s).setCanary(cliActor, l.id, opts.off !== true);
      });
      output(opts, { success: true, ...r }, `${r.license_id} canary: ${r.canary}`);
    });
};
