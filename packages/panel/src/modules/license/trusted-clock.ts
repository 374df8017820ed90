/**
 * The trusted-time floor (SPEC B2 clock tampering). Two sources: the latest signed portal time the panel
 * accepted, and the latest trusted time (TrustedTime below) the panel recorded since then. A new signed time
 * replaces both, so a clock that was once set into the future is corrected by the next successful check.
 */
export interface ClockRecord {
  /** Latest signed `server_time` accepted from the portal (ISO), or null. */
  signed_time: string | null;
  /** Latest trusted time the panel recorded since that signed time (ISO), or null. */
  observed_time: string | null;
}

export function trustedFloor(
  record: ClockRecord,
  extra: Array<string | null | undefined> = [],
): number | null {
  let floor: number | null = null;
  for (const t of [record.signed_time, record.observed_time, ...extra]) {
    if (!t) continue;
    const ms = Date.parse(t);
    if (Number.isFinite(ms) && (floor === null || ms > floor)) floor = ms;
  }
  return floor;
}

/** A signed portal time was accepted: it becomes the floor, replacing the panel's own observations. */
export function acceptSignedTime(record: ClockRecord, serverTime: string): ClockRecord {
  const ms = Date.parse(serverTime);
  if (!Number.isFinite(ms)) return record;
  return { signed_time: new Date(ms).toISOString(), observed_time: null };
}

export interface TrustedTimeSources {
  /** The system clock, ms since epoch (can be set back or forward by anyone with root). */
  system: () => number;
  /** A monotonic clock, ms (only differences count; cannot be set by anyone). */
  monotonic: () => number;
  /** The system clock may run this far ahead of the trusted time and still be followed at once. */
  toleranceMs: number;
  /** A system clock further ahead is followed only after it stayed ahead (same offset) this long. */
  settleMs: number;
}

/**
 * The time every license decision uses (docs/license.md, "Trusted clock"). It starts at max(system clock,
 * persisted floor), then advances with the monotonic clock, so:
 * - a system clock turned back (before or after a start) never moves it back, and it keeps advancing (due
 *   times keep coming, the panel keeps refreshing);
 * - a system clock jumped forward is not followed until it has stayed ahead by the same offset for
 *   `settleMs` and only while no signed portal time was accepted in this process (a correction, e.g. NTP
 *   after boot, is adopted; a brief jump is ignored and never persisted; after a portal check the portal's
 *   time plus the monotonic clock is the better source);
 * - a signed portal time replaces it (a clock that ran ahead is corrected by the next portal check).
 */
export class TrustedTime {
  private t: number;
  private mono: number;
  private ahead: { since: number; offset: number } | null = null;
  private signedSeen = false;

  constructor(
    private readonly src: TrustedTimeSources,
    floor: number | null,
  ) {
    this.t = Math.max(src.system(), floor ?? Number.NEGATIVE_INFINITY);
    this.mono = src.monotonic();
  }

  now(): number {
    const mono = this.src.monotonic();
    if (mono > this.mono) {
      this.t += mono - this.mono;
      this.mono = mono;
    }
    const offset = this.src.system() - this.t;
    if (offset >= 0 && offset <= this.src.toleranceMs) {
      this.t += offset;
      this.ahead = null;
    } else if (offset > this.src.toleranceMs) {
      if (!this.ahead || Math.abs(offset - this.ahead.offset) > this.src.toleranceMs) {
        this.ahead = { since: this.t, offset };
      } else if (!this.signedSeen && this.t - this.ahead.since >= this.src.settleMs) {
        this.t += offset;
        this.ahead = null;
      }
    } else {
      this.ahead = null;
    }
    return this.t;
  }

  /** The system clock is ahead of the trusted time and not followed (yet). */
  get systemAheadMs(): number {
    return this.ahead ? this.ahead.offset : 0;
  }

  /** A signed portal time was accepted: it becomes the trusted time. */
  acceptSigned(ms: number): void {
    if (!Number.isFinite(ms)) return;
    this.now();
    this.t = ms;
    this.mono = this.src.monotonic();
    this.ahead = null;
    this.signedSeen = true;
  }
}
