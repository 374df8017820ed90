import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { type App, AppError, isUniqueViolation } from '@wispanel/kit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { PanelDB } from '../db/schema';

/**
 * Idempotency-Key (WisPanel convention, documented in docs/panel-api.md): on an authenticated write
 * (POST/PUT/PATCH/DELETE), a key seen before from the same account within 24 h returns the first successful
 * answer again (with `Idempotent-Replayed: true`) without doing the work twice. The same key with another
 * method, path or body → 422 IDEMPOTENCY_KEY_REUSED; while the first request still runs → 409 CONFLICT.
 * Only successful (2xx) answers are remembered: after a failure the retry runs again. A secret in an answer
 * (an issued API key) is never stored: such a route's `config.idempotentReplay` gives the stored form.
 * The body is remembered only as an HMAC-SHA-256 keyed with `<data dir>/idempotency.key` (32 random bytes,
 * mode 0600, outside the database): a body can hold a password, and a copy of the database (a backup) must
 * not let anyone confirm a guessed one.
 */
export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;
const STALE_PENDING_MS = 5 * 60_000;
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export type Begin =
  | { kind: 'new' }
  | { kind: 'replay'; status: number; body: string }
  | { kind: 'mismatch' }
  | { kind: 'in_progress' };

/** Reads the body-digest key at `file`, creating it (32 random bytes, mode 0600) on first use. */
export function loadIdempotencyKey(file: string): Buffer {
  try {
    writeFileSync(file, randomBytes(32), { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  chmodSync(file, 0o600);
  const key = readFileSync(file);
  if (key.length !== 32)
    throw new Error(`${file} must hold exactly 32 bytes (found ${key.length}); delete it to make a new one`);
  return key;
}

export class IdempotencyStore {
  private lastSweep = 0;

  constructor(
    private readonly db: Kysely<PanelDB>,
    private readonly clock: () => Date,
    private readonly bodyKey: Buffer,
  ) {}

  /** The stored form of a request body: keyed, so the database alone reveals nothing of it. */
  digest(body: unknown): string {
    return createHmac('sha256', this.bodyKey)
      .update(canonical(body ?? null))
      .digest('hex');
  }

  async begin(
    principal: string,
    key: string,
    method: string,
    path: string,
    bodyHash: string,
  ): Promise<Begin> {
    const now = this.clock();
    if (now.getTime() - this.lastSweep > 600_000) {
      this.lastSweep = now.getTime();
      await this.db
        .deleteFrom('idempotency_keys')
        .where('created_at', '<', new Date(now.getTime() - IDEMPOTENCY_TTL_MS).toISOString())
        .execute();
    }
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await this.db
          .insertInto('idempotency_keys')
          .values({
            principal,
            idem_key: key,
            method,
            path,
            body_hash: bodyHash,
            status_code: 0,
            response_body: null,
            created_at: now.toISOString(),
          })
          .execute();
        return { kind: 'new' };
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
      }
      const row = await this.db
        .selectFrom('idempotency_keys')
        .selectAll()
        .where('principal', '=', principal)
        .where('idem_key', '=', key)
        .executeTakeFirst();
      if (!row) continue;
      if (Date.parse(row.created_at) < now.getTime() - IDEMPOTENCY_TTL_MS) {
        await this.db
          .deleteFrom('idempotency_keys')
          .where('principal', '=', principal)
          .where('idem_key', '=', key)
          .execute();
        continue;
      }
      if (row.method !== method || row.path !== path || row.body_hash !== bodyHash)
        return { kind: 'mismatch' };
      if (row.status_code === 0) {
        // A first attempt that never finished (process killed mid-request) does not block retries forever.
        if (Date.parse(row.created_at) > now.getTime() - STALE_PENDING_MS) return { kind: 'in_progress' };
        await this.abandon(principal, key);
        continue;
      }
      return { kind: 'replay', status: row.status_code, body: row.response_body ?? '' };
    }
    return { kind: 'in_progress' };
  }

  async complete(principal: string, key: string, status: number, body: string): Promise<void> {
    await this.db
      .updateTable('idempotency_keys')
      .set({ status_code: status, response_body: body })
      .where('principal', '=', principal)
      .where('idem_key', '=', key)
      .execute();
  }

  async abandon(principal: string, key: string): Promise<void> {
    await this.db
      .deleteFrom('idempotency_keys')
      .where('principal', '=', principal)
      .where('idem_key', '=', key)
      .where('status_code', '=', 0)
      .execute();
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    idempotency: { principal: string; key: string } | null;
  }
  interface FastifyContextConfig {
    /**
     * A route whose answer carries a secret (an API key issue) names how its answer is stored for replays:
     * the stored (and replayed) body is this function's result, never the secret. Without it the answer is
     * stored as sent.
     */
    idempotentReplay?: (answer: Record<string, unknown>) => Record<string, unknown>;
  }
}

export function installIdempotency(app: App, store: IdempotencyStore): void {
  app.decorateRequest('idempotency', null);

  const preHandler = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!request.actor) return;
    const header = request.headers['idempotency-key'];
    if (header === undefined) return;
    if (typeof header !== 'string' || !KEY_PATTERN.test(header)) {
      throw new AppError('VALIDATION_ERROR', 'Idempotency-Key must be 1 to 255 visible ASCII characters', {
        details: { 'Idempotency-Key': ['must be 1 to 255 visible ASCII characters'] },
      });
    }
    const principal = `user:${request.actor.userId}`;
    const bodyHash = store.digest(request.body);
    const outcome = await store.begin(principal, header, request.method, request.url, bodyHash);
    switch (outcome.kind) {
      case 'new':
        request.idempotency = { principal, key: header };
        return;
      case 'mismatch':
        throw new AppError(
          'IDEMPOTENCY_KEY_REUSED',
          'Idempotency-Key was already used for a different request (method, path or body differ)',
        );
      case 'in_progress':
        throw new AppError(
          'CONFLICT',
          'A request with this Idempotency-Key is still in progress; retry later',
        );
      case 'replay':
        reply
          .code(outcome.status)
          .header('idempotent-replayed', 'true')
          .type('application/json; charset=utf-8');
        return reply.send(outcome.body);
    }
  };

  const onSend = async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const pending = request.idempotency;
    if (!pending) return payload;
    request.idempotency = null;
    if (reply.statusCode >= 200 && reply.statusCode < 300 && typeof payload === 'string') {
      const redact = (
        request.routeOptions.config as {
          idempotentReplay?: (a: Record<string, unknown>) => Record<string, unknown>;
        }
      ).idempotentReplay;
      const stored = redact
        ? JSON.stringify(redact(JSON.parse(payload) as Record<string, unknown>))
        : payload;
      await store.complete(pending.principal, pending.key, reply.statusCode, stored);
    } else {
      await store.abandon(pending.principal, pending.key);
    }
    return payload;
  };

  // Attached only to authenticated write routes, so reads pay nothing for it.
  app.addHook('onRoute', (route) => {
    const methods = (Array.isArray(route.method) ? route.method : [route.method]).map((m) => m.toUpperCase());
    const config = (route.config ?? {}) as { public?: boolean };
    if (config.public === true || !methods.some((m) => WRITES.has(m))) return;
    const asList = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
    route.preHandler = [...asList(route.preHandler), preHandler] as never;
    route.onSend = [...asList(route.onSend), onSend] as never;
  });
}
