import { createHmac, randomUUID } from 'node:crypto';
import type { Dialect } from '@wispanel/kit';
import type { Kysely, Selectable } from 'kysely';
import type { EventInput } from '../events/event-log';

/**
 * The vendor webhook (`release.halted`), delivered from a durable outbox.
 *
 * Whoever takes a decision that the vendor must hear about — the portal's automatic halt, an admin's halt over the
 * API, `wispanel-portal release rollout halt` on the command line — inserts one row here **in the same
 * transaction** as the decision, so a decision is never recorded without its notification or the other way round.
 * Every running portal with a webhook configured polls the table (every 2 s, and at once after its own
 * decisions), claims a due row with a conditional update (a lease, so two instances never send the same row at
 * the same time), POSTs it, and records the outcome. Rows survive restarts: a portal that was down, or a receiver
 * that was down, only delays the delivery.
 *
 * At least once: a portal that dies after the receiver answered but before it recorded the answer sends the row
 * again when the lease runs out (60 s) — with the same `X-WisPanel-Delivery` id, which is the row's id, so the
 * receiver de-duplicates on it.
 */

export interface WebhookOutboxTable {
  /** UUID: the `delivery` field and the `X-WisPanel-Delivery` header, the same on every attempt. */
  id: string;
  event: string;
  /** What the event is about (`release.halted`: the version): the release health shows its delivery. */
  subject: string;
  /** JSON of the event's fields (the body adds `event`, `delivery` and `sent_at`). */
  payload: string;
  state: 'pending' | 'delivered' | 'failed';
  attempts: number;
  created_at: string;
  next_attempt_at: string;
  /** A sender's claim on the row (ISO time it lapses); null = free. */
  locked_until: string | null;
  delivered_at: string | null;
  last_error: string | null;
}

export interface WebhookOutboxTables {
  webhook_outbox: WebhookOutboxTable;
}

export type OutboxRow = Selectable<WebhookOutboxTable>;

/** `sha256=<hex>`: HMAC-SHA256 of the exact body bytes (the panel's license webhook scheme). */
export function releaseWebhookSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Delays after failed attempts 1, 2, 3…: the last one repeats until the row is too old. */
export const DEFAULT_RETRY_DELAYS_MS = [10_000, 60_000, 300_000, 900_000, 3_600_000];
/** A row not delivered within this is given up (`failed`, event `webhook.failed`). */
export const DEFAULT_MAX_AGE_MS = 3 * 86_400_000;

export interface WebhookOutboxOptions {
  db: Kysely<WebhookOutboxTables>;
  dialect: Dialect;
  now: () => Date;
  /** Where to send and the HMAC secret (config); null = this instance only queues (e.g. the CLI or no webhook). */
  target: { url: string; secret: string } | null;
  version: string;
  retryDelaysMs?: number[];
  maxAgeMs?: number;
  pollMs?: number;
  timeoutMs?: number;
  leaseMs?: number;
  /** Outcomes for the event log (`webhook.delivered`, `webhook.failed`). */
  recordEvent?: (event: EventInput) => Promise<void>;
  warn?: (message: string, fields: Record<string, unknown>) => void;
}

/**
 * Whether another attempt could succeed: a 5xx or 408/429 can; any other 4xx cannot, nor can a 3xx (redirects
 * are never followed, so the signed body only goes to the configured URL: a redirect means that URL is wrong).
 */
const retryable = (status: number) =>
  status >= 500 || status === 408 || status === 429 || (status >= 200 && status < 300);
const systemActor = { kind: 'system' as const, id: 'portal', ip: null };

export class WebhookOutbox {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | null = null;
  private again = false;
  private stopped = false;
  private readonly inFlight = new Set<AbortController>();

  constructor(private readonly o: WebhookOutboxOptions) {}

  /** Queues an event inside `trx` (the decision's transaction); returns its delivery id. */
  async enqueue(
    event: string,
    subject: string,
    fields: Record<string, unknown>,
    trx: Kysely<WebhookOutboxTables> = this.o.db,
  ): Promise<string> {
    const id = randomUUID();
    const at = this.o.now().toISOString();
    await trx
      .insertInto('webhook_outbox')
      .values({
        id,
        event,
        subject,
        payload: JSON.stringify(fields),
        state: 'pending',
        attempts: 0,
        created_at: at,
        next_attempt_at: at,
        locked_until: null,
        delivered_at: null,
        last_error: null,
      })
      .execute();
    return id;
  }

  /** The newest row of an event about a subject (the release health shows the halt's delivery). */
  latest(event: string, subject: string): Promise<OutboxRow | undefined> {
    return this.o.db
      .selectFrom('webhook_outbox')
      .selectAll()
      .where('event', '=', event)
      .where('subject', '=', subject)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
  }

  /** Rows by state (metrics). */
  async counts(): Promise<Record<OutboxRow['state'], number>> {
    const rows = await this.o.db
      .selectFrom('webhook_outbox')
      .select(['state', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('state')
      .execute();
    const out = { pending: 0, delivered: 0, failed: 0 };
    for (const r of rows) out[r.state] = Number(r.n);
    return out;
  }

  /** Starts sending (the server; never the CLI): at once, then every `pollMs`. */
  start(): void {
    if (!this.o.target || this.timer || this.stopped) return;
    this.timer = setInterval(() => this.kick(), this.o.pollMs ?? 2_000);
    this.timer.unref();
    this.kick();
  }

  /** Sends what is due now (coalesced: a kick during a pass runs one more pass). No-op unless started. */
  kick(): void {
    if (!this.timer || this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.pass()
      .catch((err) => {
        this.o.warn?.('webhook outbox pass failed', { err: (err as Error).message });
        return 0;
      })
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** One pass over the due rows; returns how many were attempted. Public for tests and `drain`. */
  async pass(): Promise<number> {
    const target = this.o.target;
    if (!target) return 0;
    const now = this.o.now().toISOString();
    const due = await this.o.db
      .selectFrom('webhook_outbox')
      .select('id')
      .where('state', '=', 'pending')
      .where('next_attempt_at', '<=', now)
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', now)]))
      .orderBy('created_at')
      .limit(20)
      .execute();
    let attempted = 0;
    for (const { id } of due) {
      if (this.stopped) break;
      const row = await this.claim(id);
      if (!row) continue; // another instance took it
      attempted++;
      await this.attempt(row, target);
    }
    return attempted;
  }

  /** Takes the row for one attempt when it is still free and due (conditional update: one instance wins). */
  private async claim(id: string): Promise<OutboxRow | undefined> {
    const now = this.o.now();
    const iso = now.toISOString();
    const row = await this.o.db
      .selectFrom('webhook_outbox')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    if (row?.state !== 'pending' || row.next_attempt_at > iso) return undefined;
    if (row.locked_until !== null && row.locked_until > iso) return undefined;
    const lease = new Date(now.getTime() + (this.o.leaseMs ?? 60_000)).toISOString();
    let q = this.o.db
      .updateTable('webhook_outbox')
      .set({ locked_until: lease, attempts: row.attempts + 1 })
      .where('id', '=', id)
      .where('state', '=', 'pending')
      .where('attempts', '=', row.attempts);
    q =
      row.locked_until === null
        ? q.where('locked_until', 'is', null)
        : q.where('locked_until', '=', row.locked_until);
    const res = await q.executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) return undefined;
    return { ...row, locked_until: lease, attempts: row.attempts + 1 };
  }

  private async attempt(row: OutboxRow, target: { url: string; secret: string }): Promise<void> {
    const maxAge = this.o.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
    if (this.o.now().getTime() - Date.parse(row.created_at) >= maxAge) {
      // Queued long ago (e.g. while no instance had a webhook configured): news that late is not sent.
      await this.giveUp(row, 'expired before it could be sent', 0);
      return;
    }
    const fields = JSON.parse(row.payload) as Record<string, unknown>;
    const body = JSON.stringify({
      event: row.event,
      delivery: row.id,
      ...fields,
      sent_at: this.o.now().toISOString(),
    });
    let error = '';
    let status = 0;
    const abort = new AbortController();
    this.inFlight.add(abort);
    try {
      const res = await fetch(target.url, {
        method: 'POST',
        redirect: 'manual',
        signal: AbortSignal.any([abort.signal, AbortSignal.timeout(this.o.timeoutMs ?? 5_000)]),
        headers: {
          'content-type': 'application/json',
          'user-agent': `WisPanel-Portal/${this.o.version}`,
          'x-wispanel-event': row.event,
          'x-wispanel-delivery': row.id,
          'x-wispanel-attempt': String(row.attempts),
          'x-wispanel-signature': releaseWebhookSignature(target.secret, body),
        },
        body,
      });
      status = res.status;
      // The answer's body is not needed: never read it (a receiver could send without end).
      await res.body?.cancel().catch(() => undefined);
      if (status >= 300 && status < 400)
        error = `HTTP ${status}: redirects are not followed (set the webhook URL to the final address)`;
      else if (status < 200 || status >= 300) error = `HTTP ${status}`;
    } catch (err) {
      error = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    } finally {
      this.inFlight.delete(abort);
    }
    if (this.stopped && error) return; // shutting down: the lease lapses and a later start retries
    const now = this.o.now();
    const iso = now.toISOString();
    const mine = (q: ReturnType<typeof this.update>) =>
      q.where('id', '=', row.id).where('locked_until', '=', row.locked_until).executeTakeFirst();
    if (!error) {
      await mine(
        this.update({ state: 'delivered', delivered_at: iso, locked_until: null, last_error: null }),
      );
      await this.o.recordEvent?.({
        action: 'webhook.delivered',
        actor: systemActor,
        resultCode: 'OK',
        data: { delivery: row.id, event: row.event, subject: row.subject, attempts: row.attempts, status },
      });
      return;
    }
    const tooOld = now.getTime() - Date.parse(row.created_at) >= maxAge;
    if ((status && !retryable(status)) || tooOld) {
      await this.giveUp(row, error, status);
      return;
    }
    const delays = this.o.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    const base = delays[Math.min(row.attempts - 1, delays.length - 1)] ?? 60_000;
    // ±10 % jitter: instances that restart together do not retry in lockstep.
    const delay = Math.round(base * (0.9 + Math.random() * 0.2));
    await mine(
      this.update({
        next_attempt_at: new Date(now.getTime() + delay).toISOString(),
        locked_until: null,
        last_error: error,
      }),
    );
  }

  private async giveUp(row: OutboxRow, error: string, status: number): Promise<void> {
    await this.update({ state: 'failed', locked_until: null, last_error: error })
      .where('id', '=', row.id)
      .where('locked_until', '=', row.locked_until)
      .executeTakeFirst();
    this.o.warn?.('webhook given up', { delivery: row.id, event: row.event, error, attempts: row.attempts });
    await this.o.recordEvent?.({
      action: 'webhook.failed',
      actor: systemActor,
      resultCode: status ? `HTTP_${status}` : error.startsWith('expired') ? 'EXPIRED' : 'UNREACHABLE',
      data: { delivery: row.id, event: row.event, subject: row.subject, attempts: row.attempts, error },
    });
  }

  private update(changes: Partial<WebhookOutboxTable>) {
    return this.o.db.updateTable('webhook_outbox').set(changes);
  }

  /** Runs passes until nothing is due now (tests); waits for the pass in progress first. */
  async drain(): Promise<void> {
    if (this.running) await this.running;
    while ((await this.pass()) > 0) {
      /* until nothing due */
    }
  }

  /** Stops sending: no new pass, requests in flight aborted (their rows are retried by a later start). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const a of this.inFlight) a.abort();
    if (this.running) await this.running;
  }
}
