import {
  DEFAULT_HALT_POLICY,
  DEFAULT_ROLLOUT_STAGES,
  type FleetView,
  type HaltPolicy,
  type HeldBackRelease,
  type InstallReportRequest,
  type InstallReportResponse,
  type ReleaseHalt,
  type ReleaseHealth,
  type RolloutPlanBody,
  type RolloutStage,
  type RolloutTimeline,
  type RolloutTimelineQuery,
  type RolloutView,
} from '@wispanel/contract';
import { AppError, conflict, notFound, validationError, writeTransaction } from '@wispanel/kit';
import type { Kysely } from 'kysely';
import type { Actor, EventInput } from '../events/event-log';
import { isReleaseVersion } from '../releases/release-eligibility';
import type { ReleaseRow, ReleasesRepository } from '../releases/releases.repository';
import {
  advance,
  haltReason,
  nextStageAt,
  offerFor,
  type PlanState,
  percentOf,
  planProblems,
  shouldHalt,
} from './rollout-plan';
import { rolloutTimeline } from './rollout-timeline';
import type { RolloutRow, RolloutsRepository, RolloutTables } from './rollouts.repository';
import type { WebhookOutbox, WebhookOutboxTables } from './webhook-outbox';

export interface RolloutsServiceDeps {
  repository: RolloutsRepository;
  releases: ReleasesRepository;
  /** Appends an event, inside `trx` when given (atomic with the change it records). */
  recordEvent: (event: EventInput, trx?: Kysely<RolloutTables>) => Promise<void>;
  now: () => Date;
  /**
   * The vendor webhook's durable outbox: `release.halted` is queued in the halt's own transaction (whoever halts:
   * the policy, the admin API or the CLI) and sent by the running portal(s) with a webhook configured.
   */
  outbox: WebhookOutbox;
  /** The download API's license check: null = 401 `Invalid license`. */
  authorize: (key: string, hardwareId: string) => Promise<{ licenseId: string } | null>;
  /** Called after each state change (metrics). */
  onChange?: () => void;
}

const INVALID_LICENSE = 'Invalid license';
const systemActor: Actor = { kind: 'system', id: 'portal', ip: null };

/** The plan's clock starts when the release is published (a plan set on a draft waits for it). */
function stateOf(row: RolloutRow, publishedAt: string | null): PlanState {
  let stageStartedAt = row.stage_started_at;
  if (row.stage_index === 0 && publishedAt && publishedAt > stageStartedAt) stageStartedAt = publishedAt;
  return {
    stages: JSON.parse(row.stages) as RolloutStage[],
    state: row.state,
    stage: row.stage_index,
    stageStartedAt,
  };
}

function policyOf(row: RolloutRow): HaltPolicy {
  return { min_failures: row.min_failures, failure_rate: Number(row.failure_rate) };
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : Math.round((s[mid - 1]! + s[mid]!) / 2);
}

/** Staged rollouts: plans and their admin actions, the check-update gate, install reports and the halt. */
/** What a server outside the current stage is told: the stage's percent and when the next one starts. */
function notInStage(plan: Parameters<typeof percentOf>[0]): { percent: number; next_stage_at?: string } {
  const next = nextStageAt(plan);
  return { percent: percentOf(plan), ...(next ? { next_stage_at: next } : {}) };
}

export class RolloutsService {
  constructor(private readonly deps: RolloutsServiceDeps) {}

  private get repo(): RolloutsRepository {
    return this.deps.repository;
  }

  /** The row a release without a plan behaves as: everyone at once, halt policy on. */
  private unplannedRow(version: string, at: string): RolloutRow {
    return {
      version,
      planned: 0,
      stages: JSON.stringify([{ percent: 100, after_hours: 0 }]),
      min_failures: DEFAULT_HALT_POLICY.min_failures,
      failure_rate: DEFAULT_HALT_POLICY.failure_rate,
      critical_skips_stages: 0,
      state: 'complete',
      stage_index: 0,
      stage_started_at: at,
      epoch: 1,
      reason: null,
      halted_at: null,
      halted_by: null,
      created_at: at,
      updated_at: at,
    };
  }

  private async release(version: string): Promise<ReleaseRow> {
    const row = isReleaseVersion(version) ? await this.deps.releases.findByVersion(version) : undefined;
    if (!row) throw notFound('Version');
    return row;
  }

  /** The stored row moved to `now` (stages due by time are entered; recorded once across instances). */
  private async current(release: ReleaseRow): Promise<RolloutRow> {
    const at = this.deps.now().toISOString();
    let row = await this.repo.find(release.version);
    if (!row) {
      await this.repo.insertIfMissing(this.unplannedRow(release.version, at));
      row = (await this.repo.find(release.version))!;
    }
    return this.advanceStored(row, release.published_at);
  }

  private async advanceStored(row: RolloutRow, publishedAt: string | null): Promise<RolloutRow> {
    if (row.state !== 'staging' || !publishedAt) return row;
    const before = stateOf(row, publishedAt);
    const after = advance(before, this.deps.now());
    if (after.stage === row.stage_index && after.state === row.state) return row;
    const changes = {
      stage_index: after.stage,
      state: after.state,
      stage_started_at: after.stageStartedAt,
      epoch: row.epoch + 1,
      updated_at: this.deps.now().toISOString(),
    };
    if (await this.repo.updateIf(row.version, row, changes)) {
      await this.deps.recordEvent({
        action: 'release.rollout_advanced',
        actor: systemActor,
        resultCode: 'OK',
        data: { version: row.version, stage: after.stage, percent: percentOf(after), state: after.state },
      });
      this.deps.onChange?.();
      return { ...row, ...changes };
    }
    return (await this.repo.find(row.version)) ?? row;
  }

  view(row: RolloutRow, publishedAt: string | null): RolloutView {
    const plan = stateOf(row, publishedAt);
    return {
      version: row.version,
      planned: Boolean(row.planned),
      stages: plan.stages,
      halt_policy: policyOf(row),
      critical_skips_stages: Boolean(row.critical_skips_stages),
      state: row.state,
      stage: row.stage_index,
      percent: percentOf(plan),
      stage_started_at: plan.stageStartedAt,
      next_stage_at: publishedAt ? nextStageAt(plan) : null,
      reason: row.reason,
      halted_at: row.halted_at,
      halted_by: row.halted_by,
      updated_at: row.updated_at,
    };
  }

  async get(version: string): Promise<RolloutView> {
    const release = await this.release(version);
    return this.view(await this.current(release), release.published_at);
  }

  /** Reports received, by outcome (every instance's, from the database). */
  reportCounts(): Promise<Array<{ outcome: string; n: number }>> {
    return this.repo.reportCountsByOutcome();
  }

  async list(): Promise<RolloutView[]> {
    const rows = await this.repo.list();
    const out: RolloutView[] = [];
    for (const row of rows) {
      const release = await this.deps.releases.findByVersion(row.version);
      if (release)
        out.push(this.view(await this.advanceStored(row, release.published_at), release.published_at));
    }
    return out;
  }

  /** `PUT …/rollout`: sets (or replaces) the plan; the rollout restarts at stage 0 unless the release is critical and skips. */
  async setPlan(actor: Actor, version: string, body: RolloutPlanBody): Promise<RolloutView> {
    const release = await this.release(version);
    if (release.status === 'yanked') throw conflict(`Version ${version} was yanked: it has no rollout`);
    const stages: RolloutStage[] =
      body.stages === undefined
        ? [...DEFAULT_ROLLOUT_STAGES]
        : typeof body.stages === 'number'
          ? [{ percent: body.stages, after_hours: 0 }]
          : body.stages;
    const problems =
      typeof body.stages === 'number' && !(body.stages >= 0 && body.stages <= 100)
        ? { stages: ['The stages field must be a percent between 0 and 100.'] }
        : planProblems(stages);
    if (Object.keys(problems).length > 0) throw validationError('Validation failed', problems);
    const policy = body.halt_policy ?? DEFAULT_HALT_POLICY;
    const skip = body.critical_skips_stages === true && Boolean(release.critical);
    const at = this.deps.now().toISOString();
    const existing = await this.repo.find(version);
    const stage = skip ? stages.length - 1 : 0;
    const complete = stage === stages.length - 1 && stages[stage]!.percent >= 100;
    const row: RolloutRow = {
      version,
      planned: 1,
      stages: JSON.stringify(stages),
      min_failures: policy.min_failures,
      failure_rate: policy.failure_rate,
      critical_skips_stages: body.critical_skips_stages ? 1 : 0,
      // A halted or paused release stays so: a new plan does not resume it.
      state:
        existing && (existing.state === 'halted' || existing.state === 'paused')
          ? existing.state
          : complete
            ? 'complete'
            : 'staging',
      stage_index: stage,
      stage_started_at: at,
      epoch: (existing?.epoch ?? 0) + 1,
      reason: existing?.reason ?? null,
      halted_at: existing?.halted_at ?? null,
      halted_by: existing?.halted_by ?? null,
      created_at: existing?.created_at ?? at,
      updated_at: at,
    };
    await this.repo.replace(row);
    await this.deps.recordEvent({
      action: 'release.rollout_planned',
      actor,
      resultCode: 'OK',
      data: { version, stages, halt_policy: policy, skipped_to_stage: skip ? stage : null },
    });
    this.deps.onChange?.();
    return this.view(row, release.published_at);
  }

  private async transition(
    actor: Actor,
    version: string,
    action: 'pause' | 'resume' | 'halt' | 'promote',
    options: { reason?: string; toStage?: number } = {},
  ): Promise<RolloutView> {
    const release = await this.release(version);
    if (release.status === 'yanked') throw conflict(`Version ${version} was yanked: it has no rollout`);
    const row = await this.current(release);
    const plan = stateOf(row, release.published_at);
    const at = this.deps.now().toISOString();
    let changes: Partial<RolloutRow>;
    const lastStage = plan.stages.length - 1;
    const completeAt = (stage: number) => stage === lastStage && (plan.stages[stage]?.percent ?? 0) >= 100;
    switch (action) {
      case 'pause':
        if (row.state === 'paused') return this.view(row, release.published_at);
        if (row.state === 'halted') throw conflict(`Version ${version} is halted: resume it first`);
        changes = { state: 'paused', reason: options.reason ?? null };
        break;
      case 'resume':
        if (row.state === 'staging' || row.state === 'complete') return this.view(row, release.published_at);
        changes = {
          state: completeAt(row.stage_index) ? 'complete' : 'staging',
          stage_started_at: at,
          epoch: row.epoch + 1,
          reason: null,
        };
        break;
      case 'halt':
        if (row.state === 'halted') return this.view(row, release.published_at);
        changes = {
          state: 'halted',
          reason: options.reason ?? `halted by ${actor.kind}:${actor.id}`,
          halted_at: at,
          halted_by: `${actor.kind}:${actor.id}`,
        };
        break;
      case 'promote': {
        if (row.state === 'paused' || row.state === 'halted') {
          throw conflict(`Version ${version} is ${row.state}: resume it before promoting`);
        }
        const to = options.toStage ?? row.stage_index + 1;
        if (to > lastStage || to <= row.stage_index) {
          throw validationError('Validation failed', {
            to_stage: [
              row.stage_index >= lastStage
                ? `The rollout is already at its last stage (${lastStage}).`
                : `The to stage field must be between ${row.stage_index + 1} and ${lastStage}.`,
            ],
          });
        }
        changes = {
          stage_index: to,
          stage_started_at: at,
          epoch: row.epoch + 1,
          state: completeAt(to) ? 'complete' : 'staging',
        };
        break;
      }
    }
    changes.updated_at = at;
    const next = { ...row, ...changes } as RolloutRow;
    const actionName = { pause: 'paused', resume: 'resumed', halt: 'halted', promote: 'promoted' }[action];
    // The change, its event and (for a halt) the vendor webhook commit together or not at all.
    await writeTransaction(this.repo.db, this.repo.dialect, async (trx) => {
      if (!(await this.repo.updateIf(version, row, changes, trx))) {
        throw conflict(`The rollout of ${version} changed meanwhile; try again`);
      }
      await this.deps.recordEvent(
        {
          action: action === 'halt' ? 'release.halted' : `release.rollout_${actionName}`,
          actor,
          resultCode: 'OK',
          data: {
            version,
            stage: next.stage_index,
            state: next.state,
            reason: next.reason,
            automatic: false,
          },
        },
        trx,
      );
      if (action === 'halt') await this.queueHalt(next, 'manual', null, trx);
    });
    if (action === 'halt') this.deps.outbox.kick();
    this.deps.onChange?.();
    return this.view(next, release.published_at);
  }

  pause = (actor: Actor, version: string, reason?: string) =>
    this.transition(actor, version, 'pause', { reason });
  resume = (actor: Actor, version: string) => this.transition(actor, version, 'resume');
  halt = (actor: Actor, version: string, reason?: string) =>
    this.transition(actor, version, 'halt', { reason });
  promote = (actor: Actor, version: string, toStage?: number) =>
    this.transition(actor, version, 'promote', { toStage });

  /** Queues `release.halted` in the halt's transaction (sent by the outbox, see webhook-outbox.ts). */
  private queueHalt(
    row: RolloutRow,
    trigger: 'automatic' | 'manual',
    counts: { succeeded: number; failed: number } | null,
    trx: Kysely<RolloutTables>,
  ): Promise<string> {
    return this.deps.outbox.enqueue(
      'release.halted',
      row.version,
      {
        version: row.version,
        trigger,
        reason: row.reason,
        stage: row.stage_index,
        halted_at: row.halted_at,
        halted_by: row.halted_by,
        counts,
      },
      trx as unknown as Kysely<WebhookOutboxTables>,
    );
  }

  /** The last halt (when, who, why) and whether its `release.halted` webhook reached the vendor. */
  private async lastHalt(row: RolloutRow): Promise<ReleaseHalt | null> {
    if (!row.halted_at) return null;
    const out = await this.deps.outbox.latest('release.halted', row.version);
    const sent = out ? (JSON.parse(out.payload) as { trigger?: string; reason?: string | null }) : null;
    const trigger = sent?.trigger === 'automatic' || sent?.trigger === 'manual' ? sent.trigger : null;
    return {
      active: row.state === 'halted',
      at: row.halted_at,
      by: row.halted_by,
      trigger: trigger ?? (row.halted_by === 'policy' ? 'automatic' : row.halted_by ? 'manual' : null),
      // The reason is cleared on resume; the queued webhook keeps the one given at the halt.
      reason: row.state === 'halted' ? row.reason : (sent?.reason ?? null),
      webhook: out
        ? {
            delivery: out.id,
            state: out.state,
            attempts: Number(out.attempts),
            created_at: out.created_at,
            next_attempt_at: out.state === 'pending' ? out.next_attempt_at : null,
            delivered_at: out.delivered_at,
            last_error: out.last_error,
          }
        : null,
    };
  }

  async health(version: string): Promise<ReleaseHealth> {
    const release = await this.release(version);
    const row = await this.current(release);
    const servers = await this.repo.servers(version);
    const failedByStep: Record<string, number> = {};
    const failures = new Map<string, { step: string; error_code: string | null; servers: number }>();
    let offered = 0;
    let started = 0;
    let succeeded = 0;
    let failed = 0;
    let rolledBack = 0;
    let stageOk = 0;
    let stageFailed = 0;
    const durations: number[] = [];
    for (const s of servers) {
      if (s.offered_at) offered++;
      if (s.started_at) started++;
      if (s.outcome === 'succeeded') {
        succeeded++;
        if (s.duration_ms !== null) durations.push(Number(s.duration_ms));
      } else if (s.outcome === 'failed' || s.outcome === 'rolled_back') {
        if (s.outcome === 'failed') failed++;
        else rolledBack++;
        const step = s.step ?? 'unknown';
        failedByStep[step] = (failedByStep[step] ?? 0) + 1;
        const code = s.error_code ?? null;
        const k = JSON.stringify([step, code]);
        const f = failures.get(k) ?? { step, error_code: code, servers: 0 };
        f.servers++;
        failures.set(k, f);
      }
      if (s.outcome && Number(s.epoch) === row.epoch) {
        if (s.outcome === 'succeeded') stageOk++;
        else stageFailed++;
      }
    }
    const finished = stageOk + stageFailed;
    return {
      version,
      rollout: this.view(row, release.published_at),
      halt: await this.lastHalt(row),
      offered,
      started,
      succeeded,
      failed,
      rolled_back: rolledBack,
      failed_by_step: failedByStep,
      failures: [...failures.values()].sort((a, b) => b.servers - a.servers || a.step.localeCompare(b.step)),
      median_install_ms: median(durations),
      current_stage: {
        succeeded: stageOk,
        failed: stageFailed,
        failure_rate: finished === 0 ? null : stageFailed / finished,
      },
      reports: await this.repo.reportCount(version),
    };
  }

  /** Offered / started / succeeded / failed / rolled back per hour or day (rollout-timeline.ts). */
  async timeline(version: string, query: RolloutTimelineQuery): Promise<RolloutTimeline> {
    const release = await this.release(version);
    return rolloutTimeline(this.repo.db, release, query, this.deps.now());
  }

  async fleet(activeDays = 7): Promise<FleetView> {
    const since = new Date(this.deps.now().getTime() - activeDays * 86_400_000).toISOString();
    const { servers, tiers } = await this.repo.fleet(since);
    const count = (key: (s: (typeof servers)[number]) => string) => {
      const m = new Map<string, number>();
      for (const s of servers) m.set(key(s), (m.get(key(s)) ?? 0) + 1);
      return [...m.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    };
    servers.sort((a, b) => b.last_seen_at.localeCompare(a.last_seen_at));
    return {
      active_days: activeDays,
      servers: servers.length,
      by_version: count((s) => s.version).map(([version, n]) => ({ version, servers: n })),
      by_channel: count((s) => s.channel ?? 'unknown').map(([channel, n]) => ({ channel, servers: n })),
      licenses_by_tier: tiers.sort((a, b) => a.tier.localeCompare(b.tier)),
      last_seen_at: servers[0]?.last_seen_at ?? null,
      recent: servers.slice(0, 50).map((s) => ({
        hardware_id: s.hardware_id,
        license_id: s.license_id,
        version: s.version,
        channel: s.channel,
        last_seen_at: s.last_seen_at,
      })),
    };
  }

  async setCanary(
    actor: Actor,
    licenseId: string,
    canary: boolean,
  ): Promise<{ license_id: string; canary: boolean }> {
    const changed = await this.repo.setCanary(licenseId, canary, this.deps.now().toISOString());
    if (changed) {
      await this.deps.recordEvent({
        action: canary ? 'license.canary_set' : 'license.canary_cleared',
        actor,
        licenseId,
        resultCode: 'OK',
      });
    }
    return { license_id: licenseId, canary };
  }

  listCanaries(): Promise<string[]> {
    return this.repo.listCanaries();
  }

  /**
   * check-update's filter: of the candidate releases (published, in the channel set, newer than the running
   * version), which this server may be offered now, and why the others are held back.
   */
  async gate(
    candidates: Array<{ row: ReleaseRow; lapsed: boolean }>,
    licenseId: string,
    hardwareId: string,
  ): Promise<{ allowed: Set<string>; heldBack: HeldBackRelease[] }> {
    const allowed = new Set<string>();
    const heldBack: HeldBackRelease[] = [];
    const rows = new Map(
      (await this.repo.findMany(candidates.map((c) => c.row.version))).map((r) => [r.version, r]),
    );
    let canary: boolean | null = null;
    for (const { row: release, lapsed } of candidates) {
      if (lapsed) {
        heldBack.push({ version: release.version, reason: 'license_lapsed' });
        continue;
      }
      let row = rows.get(release.version);
      if (!row) {
        allowed.add(release.version);
        continue;
      }
      row = await this.advanceStored(row, release.published_at);
      const plan = stateOf(row, release.published_at);
      if (canary === null && plan.state === 'staging') canary = await this.repo.isCanary(licenseId);
      const offer = offerFor(plan, release.version, hardwareId, canary === true);
      if (offer.offered) allowed.add(release.version);
      else {
        heldBack.push({
          version: release.version,
          reason: offer.reason!,
          ...(offer.reason === 'not_in_stage' ? notInStage(plan) : {}),
        });
      }
    }
    return { allowed, heldBack };
  }

  async offered(version: string, hardwareId: string, licenseId: string, channel: string, current: string) {
    const at = this.deps.now().toISOString();
    await this.repo.seen(hardwareId, licenseId, current, channel, at);
    if (version !== current) await this.repo.markOffered(version, hardwareId, licenseId, at);
  }

  async started(version: string, hardwareId: string, licenseId: string) {
    await this.repo.markStarted(version, hardwareId, licenseId, this.deps.now().toISOString());
  }

  /**
   * `POST /api/v1/download/report`. Serialised per release (row lock on PostgreSQL, the write lock on SQLite), so
   * the halt decision sees every committed report and is taken exactly once however many instances receive them.
   */
  async report(
    input: InstallReportRequest,
    ip: string | null,
  ): Promise<InstallReportResponse & { halted: boolean }> {
    const actor: Actor = { kind: 'panel', id: input.hardware_id.slice(0, 12), ip };
    const license = await this.deps.authorize(input.key, input.hardware_id);
    if (!license) {
      await this.deps.recordEvent({
        action: 'download.report',
        actor,
        hardwareId: input.hardware_id,
        resultCode: 'INVALID_LICENSE',
        data: { to_version: input.to_version, attempt_id: input.attempt_id },
      });
      throw new AppError('UNAUTHORIZED', INVALID_LICENSE);
    }
    const problems: Record<string, string[]> = {};
    if (!isReleaseVersion(input.from_version))
      problems.from_version = ['The from version field must be a semantic version such as 1.4.2.'];
    if (!isReleaseVersion(input.to_version))
      problems.to_version = ['The to version field must be a semantic version such as 1.4.2.'];
    if (Object.keys(problems).length) throw validationError('Invalid request data', problems);
    const release = await this.deps.releases.findByVersion(input.to_version);
    if (!release || release.status === 'draft') {
      await this.deps.recordEvent({
        action: 'download.report',
        actor,
        licenseId: license.licenseId,
        hardwareId: input.hardware_id,
        panelVersion: input.from_version,
        resultCode: 'NOT_FOUND',
        data: { to_version: input.to_version, attempt_id: input.attempt_id },
      });
      throw notFound('Version');
    }
    const at = this.deps.now().toISOString();
    await this.repo.insertIfMissing(this.unplannedRow(release.version, at));
    const repo = this.repo;
    const result = await writeTransaction(repo.db, repo.dialect, async (trx) => {
      let row = (await repo.findForUpdate(release.version, trx))!;
      if (await repo.findReport(input.hardware_id, input.attempt_id, trx)) {
        return { recorded: false, halted: null as null | RolloutRow, counts: null };
      }
      // A stage that is due starts now (inside the lock: counted against the stage the report lands in).
      const moved = advance(stateOf(row, release.published_at), this.deps.now());
      if (row.state === 'staging' && (moved.stage !== row.stage_index || moved.state !== row.state)) {
        const changes = {
          stage_index: moved.stage,
          state: moved.state,
          stage_started_at: moved.stageStartedAt,
          epoch: row.epoch + 1,
          updated_at: at,
        };
        await repo.updateIf(row.version, row, changes, trx);
        row = { ...row, ...changes };
      }
      await repo.insertReport(
        {
          hardware_id: input.hardware_id,
          attempt_id: input.attempt_id,
          license_id: license.licenseId,
          from_version: input.from_version,
          to_version: input.to_version,
          outcome: input.outcome,
          step: input.step ?? null,
          error_code: input.error_code ?? null,
          duration_ms: input.duration_ms ?? null,
          epoch: row.epoch,
          received_at: at,
        },
        trx,
      );
      await repo.recordOutcome(
        {
          version: release.version,
          hardware_id: input.hardware_id,
          license_id: license.licenseId,
          finished_at: at,
          outcome: input.outcome,
          step: input.outcome === 'succeeded' ? null : (input.step ?? null),
          error_code: input.error_code ?? null,
          duration_ms: input.duration_ms ?? null,
          epoch: row.epoch,
        },
        trx,
      );
      await this.deps.recordEvent(
        {
          action: 'download.report',
          actor,
          licenseId: license.licenseId,
          hardwareId: input.hardware_id,
          panelVersion: input.from_version,
          resultCode: 'OK',
          data: {
            attempt_id: input.attempt_id,
            to_version: input.to_version,
            outcome: input.outcome,
            step: input.step ?? null,
            error_code: input.error_code ?? null,
            duration_ms: input.duration_ms ?? null,
          },
        },
        trx,
      );
      if (row.state === 'halted' || input.outcome === 'succeeded')
        return { recorded: true, halted: null, counts: null };
      const counts = await repo.countsInEpoch(release.version, row.epoch, trx);
      const policy = policyOf(row);
      if (!shouldHalt(counts, policy)) return { recorded: true, halted: null, counts };
      const halted: RolloutRow = {
        ...row,
        state: 'halted',
        reason: haltReason(counts, policy),
        halted_at: at,
        halted_by: 'policy',
        updated_at: at,
      };
      if (
        !(await repo.updateIf(
          row.version,
          row,
          { state: 'halted', reason: halted.reason, halted_at: at, halted_by: 'policy', updated_at: at },
          trx,
        ))
      ) {
        return { recorded: true, halted: null, counts };
      }
      await this.deps.recordEvent(
        {
          action: 'release.halted',
          actor: systemActor,
          resultCode: 'OK',
          data: {
            version: row.version,
            stage: row.stage_index,
            reason: halted.reason,
            automatic: true,
            ...counts,
          },
        },
        trx,
      );
      await this.queueHalt(halted, 'automatic', counts, trx);
      return { recorded: true, halted, counts };
    });
    if (result.halted) this.deps.outbox.kick();
    if (result.recorded) this.deps.onChange?.();
    return { accepted: true, recorded: result.recorded, nonce: input.nonce, halted: result.halted !== null };
  }
}
