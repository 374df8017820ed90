import { connect, type Socket } from 'node:net';
import type { RateLimitDecision, RateLimiter } from '@wispanel/kit';

/**
 * Per-key fixed-window counting in Redis, shared by every portal instance, over a minimal RESP client on
 * node:net (no Redis library is installed). One persistent connection, commands pipelined, each with a
 * timeout. Used through FallbackRateLimiter, so a Redis outage never fails a license check.
 */
type Reply = string | number | null | Error | Reply[];

function parseReply(buf: Buffer, at: number): { value: Reply; next: number } | null {
  const eol = buf.indexOf('\r\n', at);
  if (eol < 0) return null;
  const type = String.fromCharCode(buf[at]!);
  const line = buf.toString('utf8', at + 1, eol);
  switch (type) {
    case '+':
      return { value: line, next: eol + 2 };
    case '-':
      return { value: new Error(line), next: eol + 2 };
    case ':':
      return { value: Number(line), next: eol + 2 };
    case '$': {
      const len = Number(line);
      if (len < 0) return { value: null, next: eol + 2 };
      if (buf.length < eol + 2 + len + 2) return null;
      return { value: buf.toString('utf8', eol + 2, eol + 2 + len), next: eol + 2 + len + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { value: null, next: eol + 2 };
      const items: Reply[] = [];
      let next = eol + 2;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buf, next);
        if (!item) return null;
        items.push(item.value);
        next = item.next;
      }
      return { value: items, next };
    }
    default:
      throw new Error(`unexpected RESP type ${JSON.stringify(type)}`);
  }
}

function encode(args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

export class RespClient {
  private socket: Socket | null = null;
  private ready: Promise<void> | null = null;
  private buffer = Buffer.alloc(0);
  private readonly pending: Array<{ resolve: (r: Reply) => void; reject: (e: Error) => void }> = [];
  private readonly url: URL;

  constructor(
    url: string,
    private readonly timeoutMs = 250,
  ) {
    this.url = new URL(url);
  }

  private failAll(err: Error): void {
    this.socket?.destroy();
    this.socket = null;
    this.ready = null;
    this.buffer = Buffer.alloc(0);
    for (const p of this.pending.splice(0)) p.reject(err);
  }

  private open(): Promise<void> {
    if (this.ready) return this.ready;
    this.ready = new Promise<void>((resolve, reject) => {
      const socket = connect({ host: this.url.hostname || '127.0.0.1', port: Number(this.url.port || 6379) });
      socket.setNoDelay(true);
      this.socket = socket;
      socket.once('connect', () => resolve());
      socket.on('error', (err) => {
        reject(err);
        this.failAll(err);
      });
      socket.on('close', () => this.failAll(new Error('redis connection closed')));
      socket.on('data', (chunk) => {
        this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
        let at = 0;
        for (;;) {
          let parsed: ReturnType<typeof parseReply>;
          try {
            parsed = parseReply(this.buffer, at);
          } catch (err) {
            this.failAll(err as Error);
            return;
          }
          if (!parsed) break;
          at = parsed.next;
          const p = this.pending.shift();
          if (!p) continue;
          if (parsed.value instanceof Error) p.reject(parsed.value);
          else p.resolve(parsed.value);
        }
        this.buffer = this.buffer.subarray(at);
      });
    });
    const setup: Promise<Reply>[] = [];
    if (this.url.password) {
      const user = decodeURIComponent(this.url.username);
      const pass = decodeURIComponent(this.url.password);
      setup.push(this.send(user ? ['AUTH', user, pass] : ['AUTH', pass]));
    }
    const db = this.url.pathname.replace(/^\//, '');
    if (db && db !== '0') setup.push(this.send(['SELECT', db]));
    for (const s of setup) s.catch(() => undefined);
    return this.ready;
  }

  private send(args: string[]): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.socket?.write(encode(args));
    });
  }

  /** Sends one command; rejects on a Redis error, a network error, or after the timeout. */
  async command(args: string[]): Promise<Reply> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new Error(`redis did not answer within ${this.timeoutMs} ms`);
        reject(err);
        this.failAll(err); // replies would now be out of step with requests
      }, this.timeoutMs);
    });
    try {
      return await Promise.race([this.open().then(() => this.send(args)), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.failAll(new Error('redis client closed'));
  }
}

// INCR and set the expiry on first use, atomically.
const INCR_SCRIPT =
  "local c = redis.call('INCR', KEYS[1]) if c == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return c";

export class RedisRateLimiter implements RateLimiter {
  private readonly client: RespClient;

  constructor(
    url: string,
    readonly limit: number,
    readonly windowMs = 60_000,
    options: { timeoutMs?: number; prefix?: string } = {},
  ) {
    this.client = new RespClient(url, options.timeoutMs ?? 250);
    this.prefix = options.prefix ?? 'wispanel:portal:rl:';
  }

  private readonly prefix: string;

  async hit(key: string, now = Date.now()): Promise<RateLimitDecision> {
    const start = now - (now % this.windowMs);
    const reply = await this.client.command([
      'EVAL',
      INCR_SCRIPT,
      '1',
      `${this.prefix}${key}:${start}`,
      String(this.windowMs + 5000),
    ]);
    if (typeof reply !== 'number') throw new Error('unexpected redis reply to the rate-limit script');
    const resetMs = start + this.windowMs;
    const allowed = reply <= this.limit;
    return {
      allowed,
      limit: this.limit,
      remaining: Math.max(0, this.limit - reply),
      resetAt: Math.ceil(resetMs / 1000),
      retryAfter: allowed ? 0 : Math.max(1, Math.ceil((resetMs - now) / 1000)),
    };
  }

  close(): void {
    this.client.close();
  }
}

/**
 * Uses `primary` (Redis) and, when it fails, `fallback` (per-instance memory) for the next `retryMs`, with a
 * warning at most once per outage: a limiter outage never fails a license check, and the limit still holds
 * per instance.
 */
export class FallbackRateLimiter implements RateLimiter {
  private downUntil = 0;

  constructor(
    private readonly primary: RateLimiter & { close?: () => void },
    private readonly fallback: RateLimiter,
    private readonly warn: (message: string, err: unknown) => void,
    private readonly retryMs = 5000,
  ) {}

  async hit(key: string, now = Date.now()): Promise<RateLimitDecision> {
    if (Date.now() < this.downUntil) return this.fallback.hit(key, now);
    try {
      return await this.primary.hit(key, now);
    } catch (err) {
      if (this.downUntil === 0 || Date.now() - this.downUntil > this.retryMs) {
        this.warn(
          'shared rate limiter (Redis) unavailable: counting per instance in memory until it is back',
          err,
        );
      }
      this.downUntil = Date.now() + this.retryMs;
      return this.fallback.hit(key, now);
    }
  }

  close(): void {
    this.primary.close?.();
  }
}
