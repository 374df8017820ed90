import {
  channelIncludes,
  RELEASE_STATUSES,
  type ReleaseChannel,
  type ReleaseStatus,
  type ReleaseSummary,
} from '@wispanel/contract';
import semver from 'semver';

export { RELEASE_STATUSES, type ReleaseStatus };

/** The fields eligibility needs; a release row satisfies it. */
export interface ReleaseFacts {
  version: string;
  channel: ReleaseChannel;
  status: ReleaseStatus;
  changelog: string;
  critical: boolean;
  min_version: string | null;
  published_at: string | null;
}

/**
 * A version string we accept: strict semver (1.4.2, 1.5.0-beta.1), no leading `v`, no build metadata
 * (build metadata does not order, so two releases could not be told apart).
 */
export function isReleaseVersion(value: string): boolean {
  return value.length <= 64 && semver.valid(value) === value && !value.includes('+');
}

export function compareVersions(a: string, b: string): number {
  return semver.compare(a, b);
}

export interface EligibilityQuery {
  currentVersion: string;
  channel: ReleaseChannel;
  /**
   * Lapsed license: only releases published strictly before this instant (the end of the license term).
   * Null for a license in its term.
   */
  publishedBefore: string | null;
}

/** Published, not yanked, in the channel set, and (for a lapsed license) published before its term ended. */
export function isOffered(r: ReleaseFacts, channel: ReleaseChannel, publishedBefore: string | null): boolean {
  if (r.status !== 'published' || r.published_at === null) return false;
  if (!channelIncludes(channel, r.channel)) return false;
  if (publishedBefore !== null && Date.parse(r.published_at) >= Date.parse(publishedBefore)) return false;
  return true;
}

export interface UpdateDecision<R extends ReleaseFacts> {
  /** Newest offered release newer than current whose min_version the current version satisfies. */
  latest: R | null;
  /** Offered releases in (current, latest], newest first: what the update brings. */
  between: R[];
  /** The running version's own release when the portal knows it (not a draft), for the changelog. */
  current: R | null;
  /** True when any release in `between` is critical. */
  critical: boolean;
}

/**
 * Decides which release a panel should move to. `min_version` is the lowest version a release can be
 * installed over; the newest release the panel can reach directly wins. Intermediate releases it skips
 * still count for the changelog and the critical flag.
 */
export function decideUpdate<R extends ReleaseFacts>(releases: R[], q: EligibilityQuery): UpdateDecision<R> {
  const offered = releases
    .filter((r) => isOffered(r, q.channel, q.publishedBefore))
    .sort((a, b) => semver.rcompare(a.version, b.version));
  const latest =
    offered.find(
      (r) =>
        semver.gt(r.version, q.currentVersion) &&
        (r.min_version === null || semver.lte(r.min_version, q.currentVersion)),
    ) ?? null;
  const between =
    latest === null
      ? []
      : offered.filter(
          (r) => semver.gt(r.version, q.currentVersion) && semver.lte(r.version, latest.version),
        );
  const current =
    releases.find((r) => r.status !== 'draft' && semver.eq(r.version, q.currentVersion)) ?? null;
  return { latest, between, current, critical: between.some((r) => r.critical) };
}

function dateOf(iso: string | null): string {
  return iso ? iso.slice(0, 10) : 'unreleased';
}

function section(r: ReleaseFacts, running: boolean): string {
  const tags = [
    r.channel !== 'stable' ? r.channel : null,
    r.critical ? 'critical' : null,
    r.status === 'yanked' ? 'yanked' : null,
    running ? 'installed' : null,
  ].filter(Boolean);
  const head = `## WisPanel ${r.version}${tags.length ? ` (${tags.join(', ')})` : ''}`;
  const body = r.changelog.trim() || '_No changes listed._';
  return `${head}\n\n_Released ${dateOf(r.published_at)}_\n\n${body}\n`;
}

/** Markdown changelog: the releases an update brings, newest first, then the running one. */
export function changelogMarkdown<R extends ReleaseFacts>(decision: UpdateDecision<R>): string {
  const parts = decision.between.map((r) => section(r, false));
  if (decision.current) parts.push(section(decision.current, true));
  return parts.join('\n');
}

export function summaryOf(r: ReleaseFacts): ReleaseSummary {
  return {
    version: r.version,
    channel: r.channel,
    changelog: r.changelog,
    critical: r.critical,
    published_at: r.published_at ?? '',
  };
}
