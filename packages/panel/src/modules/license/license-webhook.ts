import { createHmac } from 'node:crypto';
import { withoutCredentials } from '@wispanel/kit';
import type { Logger } from 'pino';
import type { AuditEntry } from './license.repository';

/**
 * Outbound webhook for license audit entries (docs/license.md, "Webhook"). Every entry is queued in memory and
 * POSTed in the background, one delivery at a time in audit order; nothing here ever blocks or fails license
 * work or a request. Retries with backoff; the queue is bounded (oldest dropped, counted in a warning).
 */
export interface LicenseWebhookTuning {
  /** Waits before each retry (the first attempt is immediate): 10 s, 60 s, 5 min. */
  retryDelaysMs: number[];
  /** Per-attempt timeout (connect + answer). */
  timeoutMs: number;
  /** Most deliveries waiting; past it the oldest waiting one is dropped. */
  maxQueue: number;
}

export const DEFAULT_WEBHOOK_TUNING: LicenseWebhookTuning = {
  retryDelaysMs: [10_000, 60_000, 300_000],
  timeoutMs: 5_000,
  maxQueue: 1_000,
};

export interface LicenseWebhookOptions {
  url: string;
  secret: string;
  hardwareId: string;
  version: string;
  logger: Logger;
  clock: () => Date;
  tuning?: Partial<LicenseWebhookTuning>;
}

/** The payload minus `sent_at` (set per attempt, inside the signed body). */
interface Delivery {
  event: string;
  id: number;
  attempts: number;
  fields: Record<string, unknown>;
}

/** `sha256=<hex>`: HMAC-SHA256 of the exact body bytes with the secret. */
export function webhookSignature(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** 4xx other than 408/429 will not get better by retrying. */
const retryable = (status: number) => !(status >= 400 && status < 500) || status === 408 || status === 429;

export class LicenseWebhook {
  private readonly queue: Delivery[] = [];
  private readonly tuning: LicenseWebhookTuning;
  private readonly target: string;
  private running = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private abort: AbortController | undefined;
  private dropped = 0;

  constructor(private readonly o: LicenseWebhookOptions) {
    this.tuning = { ...DEFAULT_WEBHOOK_TUNING, ...o.tuning };
    this.target = withoutCredentials(o.url);
  }

  /** Queues one audit entry; returns at once. */
  enqueue(entry: AuditEntry, at: string | null): void {
    if (this.stopped) return;
    this.queue.push({
      event: `license.${entry.action}`,
      id: entry.id,
      attempts: 0,
      fields: {
        event: `license.${entry.action}`,
        id: entry.id,
        at,
        action: entry.action,
        actor: entry.actor,
        outcome: entry.outcome,
        code: entry.code,
        message: entry.message,
        detail: entry.detail ?? null,
        panel: { hardware_id: this.o.hardwareId, version: this.o.version },
      },
    });
    // The head may be in flight: drop the oldest *waiting* delivery.
    const limit = Math.max(1, this.tuning.maxQueue);
    if (this.queue.length > limit) {
      const from = this.running && this.queue.length > 1 ? 1 : 0;
      const n = this.queue.length - limit;
      this.queue.splice(from, n);
      this.dropped += n;
      this.o.logger.warn(
        { webhook: { url: this.target, dropped: n, dropped_total: this.dropped, queued: this.queue.length } },
        `license webhook queue full: dropped ${n} oldest delivery(ies), ${this.dropped} in total`,
      );
    }
    if (!this.running) {
      this.running = true;
      void this.drain();
    }
  }

  /** Deliveries still queued (including one in flight or waiting to retry). */
  get pending(): number {
    return this.queue.length;
  }

  /** Stops sending: aborts an attempt in flight; whatever is still queued is lost (documented). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
    this.abort?.abort();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(resolve, ms);
      this.timer.unref();
    });
  }

  private async drain(): Promise<void> {
    try {
      while (!this.stopped && this.queue.length > 0) {
        const d = this.queue[0] as Delivery;
        const result = await this.attempt(d);
        if (this.stopped) return;
        if (result.ok) {
          this.queue.shift();
          continue;
        }
        const delay = this.tuning.retryDelaysMs[d.attempts - 1];
        if (!result.retry || delay === undefined) {
          this.queue.shift();
          this.o.logger.warn(
            {
              webhook: {
                url: this.target,
                event: d.event,
                delivery: d.id,
                attempts: d.attempts,
                status: result.status ?? null,
                error: result.error ?? null,
              },
            },
            `license webhook delivery ${d.id} (${d.event}) failed after ${d.attempts} attempt(s): ${result.error ?? `HTTP ${result.status}`}`,
          );
          continue;
        }
        await this.sleep(delay);
      }
    } finally {
      this.running = false;
    }
  }

  private async attempt(
    d: Delivery,
  ): Promise<{ ok: boolean; retry: boolean; status?: number; error?: string }> {
    d.attempts += 1;
    const body = JSON.stringify({ ...d.fields, sent_at: this.o.clock().toISOString() });
    const abort = new AbortController();
    this.abort = abort;
    const timer = setTimeout(() => abort.abort(), this.tuning.timeoutMs);
    timer.unref();
    try {
      const res = await fetch(this.o.url, {
        method: 'POST',
        redirect: 'manual',
        signal: abort.signal,
        headers: {
          'content-type': 'application/json',
          'user-agent': `WisPanel/${this.o.version}`,
          'x-wispanel-event': d.event,
          'x-wispanel-delivery': String(d.id),
          'x-wispanel-signature': webhookSignature(this.o.secret, body),
        },
        body,
      });
      // Read (and discard) the answer within the same timeout so the connection is released.
      await res.arrayBuffer().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) return { ok: true, retry: false };
      return { ok: false, retry: retryable(res.status), status: res.status };
    } catch (err) {
      const error = abort.signal.aborted
        ? `no answer within ${this.tuning.timeoutMs} ms`
        : ((err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message);
      return { ok: false, retry: true, error };
    } finally {
      clearTimeout(timer);
      this.abort = undefined;
    }
  }
}
