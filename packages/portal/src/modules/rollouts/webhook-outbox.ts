import { createHmac, randomUUID } from 'node:crypto';
import type { WebhookDeliveryListQuery, WebhookDeliveryRecord } from '@wispanel/contract';
import { AppError, type Dialect, writeTransaction } from '@wispanel/kit';
import type { Kysely, Selectable } from 'kysely';
import type { Actor, EventInput } from '../events/event-log';

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
  /** HTTP status of the last attempt (null: none yet, or no answer). Migration 047. */
  last_status: number | null;
  /** When the last attempt started. */
  last_attempt_at: string | null;
  /** When an admin last sent a given-up row again: its 3-day window counts from here (else from created_at). */
  redelivered_at: string | null;
  redeliveries: number;
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
  /**
   * Outcomes for the event log (`webhook.delivered`, `webhook.failed`, `webhook.redelivered`); `trx` when the
   * event must commit with the change it records.
   */
  recordEvent?: (event: EventInput, trx?: Kysely<WebhookOutboxTables>) => Promise<void>;
  warn?: (message: string, fields: Record<string, unknown>) => void;
}

/**
 * Whether another attempt could succeed: a 5xx or 408/429 can; any other 4xx cannot, nor can a 3xx (redirects
 * are never followed, so the signed body only goes to the configured URL: a redirect means that URL is wrong).
 */
const retryable = (status: number) =>
  status >= 500 || status === 408 || status === 429 || (status >= 200 && status < 300);
const systemActor = { kind: 'system' as const, id: 'portal', ip: null };
/** A row's 3-day window starts when it was queued, or when an admin last redelivered it. */
const windowStartOf = (row: Pick<OutboxRow, 'created_at' | 'redelivered_at'>) =>
  row.redelivered_at ?? row.created_at;

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
        last_status: null,
        last_attempt_at: null,
        redelivered_at: null,
        redeliveries: 0,
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

  /** Every delivery, newest first, filtered and paged (admin list, `webhooks list`; 25 a page by default). */
  async list(query: WebhookDeliveryListQuery): Promise<{
    deliveries: WebhookDeliveryRecord[];
    pagination: { page: number; per_page: number; total: number; total_pages: number };
  }> {
    const page = query.page ?? 1;
    const perPage = query.per_page ?? 25;
    let q = this.o.db.selectFrom('webhook_outbox');
    if (query.state) q = q.where('state', '=', query.state);
    if (query.event) q = q.where('event', '=', query.event);
    if (query.subject) q = q.where('subject', '=', query.subject);
    const [rows, count] = await Promise.all([
      q
        .selectAll()
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(perPage)
        .offset((page - 1) * perPage)
        .execute(),
      q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    ]);
    const total = Number(count.n);
    return {
      deliveries: rows.map((r) => this.view(r)),
      pagination: { page, per_page: perPage, total, total_pages: Math.ceil(total / perPage) },
    };
  }

  /** One delivery by its id (the `X-WisPanel-Delivery` value); 404 when there is none. */
  async get(id: string): Promise<WebhookDeliveryRecord> {
    return this.view(await this.find(this.o.db, id));
  }

  /**
   * Sends a given-up (`failed`) delivery again: back to `pending`, due now, attempts and last outcome cleared,
   * with the same id (receivers de-duplicate on it) and a fresh 3-day window counted from now — counted from
   * `created_at` it would be given up again at once when the original window is over. One conditional update
   * (`WHERE state = 'failed'`): of two redelivers at once, on any instances, exactly one wins; the other gets
   * 409 like a redeliver of a pending or delivered row. `webhook.redelivered` (with the actor and what the last
   * attempt had said) commits with the change.
   */
  async redeliver(actor: Actor, id: string): Promise<WebhookDeliveryRecord> {
    const row = await writeTransaction(this.o.db, this.o.dialect, async (trx) => {
      const before = await this.find(trx, id);
      const at = this.o.now().toISOString();
      const res = await trx
        .updateTable('webhook_outbox')
        .set({
          state: 'pending',
          attempts: 0,
          next_attempt_at: at,
          locked_until: null,
          last_error: null,
          last_status: null,
          last_attempt_at: null,
          redelivered_at: at,
          redeliveries: before.redeliveries + 1,
        })
        .where('id', '=', id)
        .where('state', '=', 'failed')
        .where('redeliveries', '=', before.redeliveries)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) {
        const current = await this.find(trx, id);
        throw new AppError(
          'CONFLICT',
          current.state === 'failed'
            ? `Delivery ${id} changed meanwhile (redelivered and given up again); try again`
            : `Delivery ${id} is ${current.state}, not failed: only a given-up (failed) delivery can be redelivered`,
        );
      }
      await this.o.recordEvent?.(
        {
          action: 'webhook.redelivered',
          actor,
          resultCode: 'OK',
          data: {
            delivery: id,
            event: before.event,
            subject: before.subject,
            previous: {
              attempts: before.attempts,
              last_status: before.last_status,
              last_error: before.last_error,
            },
          },
        },
        trx,
      );
      return this.find(trx, id);
    });
    this.kick();
    return this.view(row);
  }

  private async find(db: Kysely<WebhookOutboxTables>, id: string): Promise<OutboxRow> {
    const row = await db.selectFrom('webhook_outbox').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) {
      throw new AppError(
        'NOT_FOUND',
        `Webhook delivery not found: ${id} (see GET /api/v1/admin/webhooks/deliveries)`,
      );
    }
    return row;
  }

  /** What admins see of a row: never the secret or a signature (neither is stored). */
  private view(row: OutboxRow): WebhookDeliveryRecord {
    const maxAge = this.o.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
    const pending = row.state === 'pending';
    return {
      id: row.id,
      event: row.event,
      subject: row.subject,
      state: row.state,
      attempts: Number(row.attempts),
      created_at: row.created_at,
      next_attempt_at: pending ? row.next_attempt_at : null,
      last_attempt_at: row.last_attempt_at,
      last_status: row.last_status === null ? null : Number(row.last_status),
      last_error: row.last_error,
      delivered_at: row.delivered_at,
      expires_at: pending ? new Date(Date.parse(windowStartOf(row)) + maxAge).toISOString() : null,
      redelivered_at: row.redelivered_at,
      redeliveries: Number(row.redeliveries),
      payload: JSON.parse(row.payload) as Record<string, unknown>,
    };
  }

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
    const windowStart = Date.parse(windowStartOf(row));
    const startedAt = this.o.now().toISOString();
    if (this.o.now().getTime() - windowStart >= maxAge) {
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
    const attempt = { last_attempt_at: startedAt, last_status: status || null };
    if (!error) {
      await mine(
        this.update({
          state: 'delivered',
          delivered_at: iso,
          locked_until: null,
          last_error: null,
          ...attempt,
        }),
      );
      await this.o.recordEvent?.({
        action: 'webhook.delivered',
        actor: systemActor,
        resultCode: 'OK',
        data: { delivery: row.id, event: row.event, subject: row.subject, attempts: row.attempts, status },
      });
      return;
    }
    const tooOld = now.getTime() - windowStart >= maxAge;
    if ((status && !retryable(status)) || tooOld) {
      await this.giveUp(row, error, status, attempt);
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
        ...attempt,
      }),
    );
  }

  /** `attempt`: the time and status of the attempt that ended it (none when it expired before being sent). */
  private async giveUp(
    row: OutboxRow,
    error: string,
    status: number,
    attempt: Pick<OutboxRow, 'last_attempt_at' | 'last_status'> | null = null,
  ): Promise<void> {
    await this.update({ state: 'failed', locked_until: null, last_error: error, ...(attempt ?? {}) })
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
