import {
  type RolloutTimeline,
  type RolloutTimelinePoint,
  type RolloutTimelineQuery,
  TIMELINE_MAX_POINTS,
  type TimelineBucket,
} from '@wispanel/contract';
import { validationError } from '@wispanel/kit';
import { type Kysely, sql } from 'kysely';
import type { RolloutTables } from './rollouts.repository';

/**
 * A release's rollout over time (docs/releases.md "Timeline"): per UTC hour or day, the servers first offered
 * the release, those that first started it (download token or report), and those whose install report in
 * that bucket said succeeded / failed / rolled_back (a server counts once per bucket and outcome, however many
 * attempts it sent). Timestamps are ISO 8601 UTC text in both dialects, so a bucket is a prefix of the text:
 * the same `substr` works on SQLite and PostgreSQL and the indexes on the columns still apply to the range.
 */

/** The first and the end of the last instant whose ISO form has a four-digit year. */
const FIRST_PRINTABLE_MS = Date.parse('0000-01-01T00:00:00.000Z');
const LAST_PRINTABLE_MS = Date.parse('9999-12-31T23:59:59.999Z');

/** A default window is never shorter than this many buckets (a chart of one point says nothing). */
const TIMELINE_MIN_DEFAULT_POINTS = 24;
const BUCKET_MS: Record<TimelineBucket, number> = { hour: 3_600_000, day: 86_400_000 };
/** Characters of `2026-11-30T06:…` that name the bucket. */
const PREFIX: Record<TimelineBucket, number> = { hour: 13, day: 10 };

type Outcome = 'succeeded' | 'failed' | 'rolled_back';
const OUTCOMES: readonly Outcome[] = ['succeeded', 'failed', 'rolled_back'];

const floorTo = (ms: number, bucket: TimelineBucket) =>
  Math.floor(ms / BUCKET_MS[bucket]) * BUCKET_MS[bucket];
const ceilTo = (ms: number, bucket: TimelineBucket) => Math.ceil(ms / BUCKET_MS[bucket]) * BUCKET_MS[bucket];

/** Rows per bucket key, from the three sources. */
async function counts(
  db: Kysely<RolloutTables>,
  version: string,
  bucket: TimelineBucket,
  since: string,
  until: string,
) {
  // A literal (not a parameter), so the SELECT and GROUP BY expressions are identical for PostgreSQL.
  const key = (column: string) => sql<string>`substr(${sql.ref(column)}, 1, ${sql.lit(PREFIX[bucket])})`;
  const firstSeen = async (column: 'offered_at' | 'started_at') => {
    const rows = await db
      .selectFrom('rollout_servers')
      .select([key(column).as('k'), (eb) => eb.fn.countAll<string | number>().as('n')])
      .where('version', '=', version)
      .where(column, '>=', since)
      .where(column, '<', until)
      .groupBy(key(column))
      .execute();
    return new Map(rows.map((r) => [r.k, Number(r.n)]));
  };
  const offered = await firstSeen('offered_at');
  const started = await firstSeen('started_at');
  const reports = await db
    .selectFrom('install_reports')
    .select([
      key('received_at').as('k'),
      'outcome',
      (eb) => eb.fn.count<string | number>('hardware_id').distinct().as('n'),
    ])
    .where('to_version', '=', version)
    .where('received_at', '>=', since)
    .where('received_at', '<', until)
    .groupBy([key('received_at'), 'outcome'])
    .execute();
  return { offered, started, reports };
}

/** The earliest activity recorded for the release (null: none yet). */
async function firstActivity(db: Kysely<RolloutTables>, version: string): Promise<string | null> {
  const servers = await db
    .selectFrom('rollout_servers')
    .select((eb) => [eb.fn.min('offered_at').as('o'), eb.fn.min('started_at').as('s')])
    .where('version', '=', version)
    .executeTakeFirst();
  const reports = await db
    .selectFrom('install_reports')
    .select((eb) => eb.fn.min('received_at').as('r'))
    .where('to_version', '=', version)
    .executeTakeFirst();
  const all = [servers?.o, servers?.s, reports?.r].filter((v): v is string => typeof v === 'string');
  return all.length ? all.sort()[0]! : null;
}

/**
 * The window: explicit `since`/`until` are rounded out to whole buckets (422 when since is not before until
 * or the window has more than TIMELINE_MAX_POINTS buckets); by default from the first activity (or the
 * publication) to now, at least the last 24 buckets and the most recent TIMELINE_MAX_POINTS at most.
 */
export async function rolloutTimeline(
  db: Kysely<RolloutTables>,
  release: { version: string; created_at: string; published_at: string | null },
  query: RolloutTimelineQuery,
  now: Date,
): Promise<RolloutTimeline> {
  const bucket: TimelineBucket = query.bucket ?? 'hour';
  const width = BUCKET_MS[bucket];
  const problems: Record<string, string[]> = {};
  const untilMs = query.until ? Date.parse(query.until) : now.getTime();
  const end = ceilTo(untilMs + (query.until ? 0 : 1), bucket);
  let start: number;
  if (query.since) {
    const sinceMs = Date.parse(query.since);
    start = floorTo(sinceMs, bucket);
    if (sinceMs >= untilMs) problems.since = ['The since field must be before until.'];
    else if ((end - start) / width > TIMELINE_MAX_POINTS)
      problems.since = [
        `The window may span at most ${TIMELINE_MAX_POINTS} ${bucket}s; ask for bucket=day or a shorter window.`,
      ];
  } else {
    const first = (await firstActivity(db, release.version)) ?? release.published_at ?? release.created_at;
    const fromFirst = floorTo(Math.min(Date.parse(first), untilMs), bucket);
    start = Math.max(
      Math.min(fromFirst, end - TIMELINE_MIN_DEFAULT_POINTS * width),
      end - TIMELINE_MAX_POINTS * width,
    );
  }
  if (start >= end) start = end - width;
  // Every bound the answer prints must stay an RFC 3339 date-time (four-digit year): toISOString writes
  // "+010000-…" or "-000001-…" outside years 0000-9999, which no client of the contract can parse.
  if (!problems.since && (start < FIRST_PRINTABLE_MS || end > LAST_PRINTABLE_MS)) {
    const field = query.since && start < FIRST_PRINTABLE_MS ? 'since' : 'until';
    problems[field] = [`The window must lie within the years 0000 to 9999 (whole ${bucket}s).`];
  }
  if (Object.keys(problems).length) throw validationError('Validation failed', problems);

  const since = new Date(start).toISOString();
  const until = new Date(end).toISOString();
  const c = await counts(db, release.version, bucket, since, until);
  const points: RolloutTimelinePoint[] = [];
  const byKey = new Map<string, RolloutTimelinePoint>();
  for (let t = start; t < end; t += width) {
    const at = new Date(t).toISOString();
    const k = at.slice(0, PREFIX[bucket]);
    const point = {
      at,
      offered: c.offered.get(k) ?? 0,
      started: c.started.get(k) ?? 0,
      succeeded: 0,
      failed: 0,
      rolled_back: 0,
    };
    points.push(point);
    byKey.set(k, point);
  }
  for (const r of c.reports) {
    const point = byKey.get(r.k);
    if (point && (OUTCOMES as readonly string[]).includes(r.outcome))
      point[r.outcome as Outcome] += Number(r.n);
  }
  const totals = { offered: 0, started: 0, succeeded: 0, failed: 0, rolled_back: 0 };
  for (const p of points)
    for (const f of Object.keys(totals) as Array<keyof typeof totals>) totals[f] += p[f];
  return { version: release.version, bucket, since, until, points, totals };
}
