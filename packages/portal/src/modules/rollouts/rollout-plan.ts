import { createHash } from 'node:crypto';
import {
  DEFAULT_HALT_POLICY,
  type HaltPolicy,
  type HeldBackReason,
  type RolloutStage,
  type RolloutState,
} from '@wispanel/contract';

/**
 * The pure rules of staged rollouts: where a server falls in a release's fleet order, which stage a plan is in
 * at a given time, and when the halt policy trips. No I/O here (tested alone, used by the service and the
 * fleet simulation).
 */

/**
 * A server's place in a release's rollout, in [0, 100): SHA-256 of `version` and `hardware id`. Stable (the
 * same inputs always give the same place) and independent per release (the first 1 % differ from release to
 * release, so the same servers are not always first).
 */
export function rolloutBucket(version: string, hardwareId: string): number {
  const digest = createHash('sha256').update(`${version}\n${hardwareId}`).digest();
  return (digest.readUInt32BE(0) / 2 ** 32) * 100;
}

/** In the stage when its place is below the percent: raising the percent only adds servers. */
export function inRollout(version: string, hardwareId: string, percent: number): boolean {
  if (percent >= 100) return true;
  if (percent <= 0) return false;
  return rolloutBucket(version, hardwareId) < percent;
}

/** Plan problems, per field, in the documented wording (an empty object = valid). */
export function planProblems(stages: RolloutStage[]): Record<string, string[]> {
  const problems: Record<string, string[]> = {};
  const add = (field: string, message: string) => {
    problems[field] = [...(problems[field] ?? []), message];
  };
  if (stages.length === 0) add('stages', 'The stages field must have at least one stage.');
  stages.forEach((s, i) => {
    if (!Number.isFinite(s.percent) || s.percent < 0 || s.percent > 100) {
      add(`stages.${i}.percent`, `The stages ${i} percent field must be between 0 and 100.`);
    }
    if (!Number.isFinite(s.after_hours) || s.after_hours < 0 || s.after_hours > 8760) {
      add(`stages.${i}.after_hours`, `The stages ${i} after hours field must be between 0 and 8760.`);
    }
    const prev = stages[i - 1];
    if (prev && !(s.percent > prev.percent)) {
      add(
        `stages.${i}.percent`,
        `The stages ${i} percent field must be greater than the previous stage's (${prev.percent}).`,
      );
    }
  });
  return problems;
}

/** The plan's stored state, as the rules need it. */
export interface PlanState {
  stages: RolloutStage[];
  state: RolloutState;
  stage: number;
  stageStartedAt: string;
}

/**
 * Where a staging plan is at `now`: stages whose `after_hours` have passed since the previous one started are
 * entered on their own (several at once after a long gap). Paused, halted and complete plans do not move.
 */
export function advance(plan: PlanState, now: Date): PlanState {
  if (plan.state !== 'staging') return plan;
  let stage = plan.stage;
  let startedAt = Date.parse(plan.stageStartedAt);
  for (;;) {
    const next = plan.stages[stage + 1];
    if (!next) break;
    const at = startedAt + next.after_hours * 3_600_000;
    if (at > now.getTime()) break;
    stage += 1;
    startedAt = at;
  }
  const last = stage === plan.stages.length - 1 && (plan.stages[stage]?.percent ?? 0) >= 100;
  return {
    ...plan,
    stage,
    stageStartedAt: new Date(startedAt).toISOString(),
    state: last ? 'complete' : 'staging',
  };
}

export function nextStageAt(plan: PlanState): string | null {
  if (plan.state !== 'staging') return null;
  const next = plan.stages[plan.stage + 1];
  if (!next) return null;
  return new Date(Date.parse(plan.stageStartedAt) + next.after_hours * 3_600_000).toISOString();
}

export function percentOf(plan: PlanState): number {
  return plan.stages[plan.stage]?.percent ?? 100;
}

export interface Offer {
  offered: boolean;
  reason: HeldBackReason | null;
}

/**
 * Is this server offered the release now? Halted and paused: nobody new. Canary licenses: from stage 0, whatever
 * its percent. Everyone else: by the stable hash against the current percent.
 */
export function offerFor(plan: PlanState, version: string, hardwareId: string, canary: boolean): Offer {
  if (plan.state === 'halted') return { offered: false, reason: 'halted' };
  if (plan.state === 'paused') return { offered: false, reason: 'paused' };
  if (canary || inRollout(version, hardwareId, percentOf(plan))) return { offered: true, reason: null };
  return { offered: false, reason: 'not_in_stage' };
}

export interface StageCounts {
  /** Servers whose last report in the current stage is `succeeded`. */
  succeeded: number;
  /** Servers whose last report in the current stage is `failed` or `rolled_back`. */
  failed: number;
}

/** True when the policy says halt: at least `min_failures` failed servers and failed/finished ≥ `failure_rate`. */
export function shouldHalt(counts: StageCounts, policy: HaltPolicy = DEFAULT_HALT_POLICY): boolean {
  const finished = counts.succeeded + counts.failed;
  if (finished === 0 || counts.failed < policy.min_failures) return false;
  return counts.failed / finished >= policy.failure_rate;
}

export function haltReason(counts: StageCounts, policy: HaltPolicy): string {
  const finished = counts.succeeded + counts.failed;
  const rate = finished === 0 ? 0 : counts.failed / finished;
  return (
    `${counts.failed} of ${finished} servers failed in this stage (${(rate * 100).toFixed(1)} %), ` +
    `policy: at least ${policy.min_failures} failures and ${(policy.failure_rate * 100).toFixed(1)} %`
  );
}
