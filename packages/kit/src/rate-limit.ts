export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Unix time in seconds when the current window resets. */
  resetAt: number;
  /** Seconds until a retry can succeed (0 when allowed). */
  retryAfter: number;
}

export interface RateLimiter {
  hit(key: string, now?: number): RateLimitDecision | Promise<RateLimitDecision>;
}

/**
 * Fixed one-minute (configurable) windows aligned to the clock, counted in memory. The check and the increment
 * happen in one synchronous step, so it is exact under any concurrency within one process.
 */
export class MemoryRateLimiter implements RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();
  private lastSweep = 0;

  constructor(
    readonly limit: number,
    readonly windowMs = 60_000,
  ) {}

  hit(key: string, now = Date.now()): RateLimitDecision {
    const start = now - (now % this.windowMs);
    if (now - this.lastSweep > this.windowMs) this.sweep(start);
    let w = this.windows.get(key);
    if (!w || w.start !== start) {
      w = { start, count: 0 };
      this.windows.set(key, w);
    }
    const resetMs = start + this.windowMs;
    const resetAt = Math.ceil(resetMs / 1000);
    if (w.count >= this.limit) {
      return {
        allowed: false,
        limit: this.limit,
        remaining: 0,
        resetAt,
        retryAfter: Math.max(1, Math.ceil((resetMs - now) / 1000)),
      };
    }
    w.count += 1;
    return { allowed: true, limit: this.limit, remaining: this.limit - w.count, resetAt, retryAfter: 0 };
  }

  private sweep(currentStart: number): void {
    this.lastSweep = currentStart;
    for (const [key, w] of this.windows) if (w.start < currentStart) this.windows.delete(key);
  }
}

export function rateLimitHeaders(d: RateLimitDecision): Record<string, string> {
  const h: Record<string, string> = {
    'x-ratelimit-limit': String(d.limit),
    'x-ratelimit-remaining': String(d.remaining),
    'x-ratelimit-reset': String(d.resetAt),
  };
  if (!d.allowed) h['retry-after'] = String(d.retryAfter);
  return h;
}
