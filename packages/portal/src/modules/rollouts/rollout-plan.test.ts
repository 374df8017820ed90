import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  advance,
  inRollout,
  offerFor,
  type PlanState,
  planProblems,
  rolloutBucket,
  shouldHalt,
} from './rollout-plan';

const ids = Array.from({ length: 10_000 }, () => randomBytes(32).toString('hex'));

describe('rollout eligibility', () => {
  it('is monotonic in the percent and close to it on 10,000 ids', () => {
    const percents = [0, 0.5, 1, 2, 5, 10, 25, 50, 75, 99, 100];
    let previous = new Set<string>();
    for (const p of percents) {
      const inStage = new Set(ids.filter((id) => inRollout('1.5.0', id, p)));
      // Raising the percent only adds servers: everyone in the smaller stage is in the larger one.
      for (const id of previous) expect(inStage.has(id)).toBe(true);
      const share = (inStage.size / ids.length) * 100;
      // Binomial spread at n = 10,000: 4 standard deviations (1.0 percentage point at 50 %).
      const sd = Math.sqrt((p * (100 - p)) / ids.length);
      expect(Math.abs(share - p)).toBeLessThanOrEqual(4 * sd + 0.01);
      previous = inStage;
    }
    expect(previous.size).toBe(ids.length);
  });

  it('is stable for a server and differs between releases', () => {
    const id = ids[0]!;
    expect(rolloutBucket('1.5.0', id)).toBe(rolloutBucket('1.5.0', id));
    const first = ids.filter((x) => inRollout('1.5.0', x, 10));
    const other = ids.filter((x) => inRollout('1.6.0', x, 10));
    const overlap = first.filter((x) => other.includes(x)).length;
    // Independent orders: about 10 % of the first 10 % are also in the other release's first 10 %.
    expect(overlap / first.length).toBeLessThan(0.2);
  });

  it('halted and paused plans offer nothing, canaries get stage 0', () => {
    const plan: PlanState = {
      stages: [
        { percent: 0, after_hours: 0 },
        { percent: 100, after_hours: 24 },
      ],
      state: 'staging',
      stage: 0,
      stageStartedAt: '2026-03-01T00:00:00.000Z',
    };
    expect(offerFor(plan, '1.5.0', ids[0]!, false)).toEqual({ offered: false, reason: 'not_in_stage' });
    expect(offerFor(plan, '1.5.0', ids[0]!, true)).toEqual({ offered: true, reason: null });
    expect(offerFor({ ...plan, state: 'paused' }, '1.5.0', ids[0]!, true).reason).toBe('paused');
    expect(offerFor({ ...plan, state: 'halted', stage: 1 }, '1.5.0', ids[0]!, true).reason).toBe('halted');
  });
});

describe('rollout stages', () => {
  const plan: PlanState = {
    stages: [
      { percent: 1, after_hours: 0 },
      { percent: 10, after_hours: 24 },
      { percent: 100, after_hours: 48 },
    ],
    state: 'staging',
    stage: 0,
    stageStartedAt: '2026-03-01T00:00:00.000Z',
  };
  it('enters stages by time, several at once after a gap, and completes at 100 %', () => {
    expect(advance(plan, new Date('2026-03-01T23:59:59Z')).stage).toBe(0);
    const day1 = advance(plan, new Date('2026-03-02T00:00:00Z'));
    expect([day1.stage, day1.state, day1.stageStartedAt]).toEqual([1, 'staging', '2026-03-02T00:00:00.000Z']);
    const later = advance(plan, new Date('2026-03-10T00:00:00Z'));
    expect([later.stage, later.state, later.stageStartedAt]).toEqual([
      2,
      'complete',
      '2026-03-04T00:00:00.000Z',
    ]);
    expect(advance({ ...plan, state: 'paused' }, new Date('2026-03-10T00:00:00Z')).stage).toBe(0);
  });
  it('names every bad stage', () => {
    expect(
      planProblems([
        { percent: 10, after_hours: 0 },
        { percent: 10, after_hours: 1 },
      ]),
    ).toEqual({
      'stages.1.percent': ["The stages 1 percent field must be greater than the previous stage's (10)."],
    });
    expect(Object.keys(planProblems([{ percent: 101, after_hours: -1 }]))).toEqual([
      'stages.0.percent',
      'stages.0.after_hours',
    ]);
  });
});

describe('halt policy', () => {
  it('trips exactly at the threshold (failures and rate)', () => {
    const policy = { min_failures: 3, failure_rate: 0.05 };
    expect(shouldHalt({ succeeded: 0, failed: 2 }, policy)).toBe(false);
    expect(shouldHalt({ succeeded: 0, failed: 3 }, policy)).toBe(true);
    expect(shouldHalt({ succeeded: 57, failed: 3 }, policy)).toBe(true); // 3/60 = 5 %
    expect(shouldHalt({ succeeded: 58, failed: 3 }, policy)).toBe(false); // 3/61 < 5 %
    expect(shouldHalt({ succeeded: 0, failed: 0 }, policy)).toBe(false);
  });
});
