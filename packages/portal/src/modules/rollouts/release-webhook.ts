import { createHmac, randomUUID } from 'node:crypto';

/** `sha256=<hex>`: HMAC-SHA256 of the exact body bytes (the panel's license webhook scheme). */
export function releaseWebhookSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export interface ReleaseWebhookOptions {
  url: string;
  secret: string;
  version: string;
  /** Delays between attempts (default 10 s, 60 s, 5 min). */
  retryDelaysMs?: number[];
  timeoutMs?: number;
  onFinalFailure?: (event: string, error: string) => void;
}

const retryable = (status: number) => !(status >= 400 && status < 500) || status === 408 || status === 429;

/**
 * Vendor webhook for release events (`release.halted`): POST JSON with `X-WisPanel-Event`,
 * `X-WisPanel-Delivery` (a UUID, the same across retries) and `X-WisPanel-Signature: sha256=<HMAC of the body>`.
 * Sent in the background by the instance that took the decision, retried on network errors, 5xx, 408 and 429.
 * The event log keeps the decision whatever happens to the delivery.
 */
export class ReleaseWebhook {
  private readonly pending = new Set<Promise<void>>();
  private stopped = false;

  constructor(private readonly o: ReleaseWebhookOptions) {}

  send(event: string, fields: Record<string, unknown>): void {
    const delivery = randomUUID();
    const p = this.deliver(event, delivery, fields).finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  private async deliver(event: string, delivery: string, fields: Record<string, unknown>): Promise<void> {
    const delays = this.o.retryDelaysMs ?? [10_000, 60_000, 300_000];
    let lastError = '';
    for (let attempt = 0; attempt <= delays.length && !this.stopped; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, delays[attempt - 1]).unref());
      const body = JSON.stringify({ event, delivery, ...fields, sent_at: new Date().toISOString() });
      try {
        const res = await fetch(this.o.url, {
          method: 'POST',
          redirect: 'manual',
          signal: AbortSignal.timeout(this.o.timeoutMs ?? 5_000),
          headers: {
            'content-type': 'application/json',
            'user-agent': `WisPanel-Portal/${this.o.version}`,
            'x-wispanel-event': event,
            'x-wispanel-delivery': delivery,
            'x-wispanel-signature': releaseWebhookSignature(this.o.secret, body),
          },
          body,
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.status >= 200 && res.status < 300) return;
        lastError = `HTTP ${res.status}`;
        if (!retryable(res.status)) break;
      } catch (err) {
        lastError = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      }
    }
    this.o.onFinalFailure?.(event, lastError);
  }

  /** Waits for deliveries in flight (tests); stops retrying. */
  async drain(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  close(): void {
    this.stopped = true;
  }
}
