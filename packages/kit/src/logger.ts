import { closeSync, openSync, writeSync } from 'node:fs';
import { type Logger, type LoggerOptions, pino } from 'pino';

/** Header and field names that may carry secrets: never written to logs. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-admin-key"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers["x-admin-key"]',
  '*.password',
  '*.secret_key',
  '*.api_key',
  '*.admin_key',
  '*.key',
  '*.token',
];

/** Lines held in memory while the log reader does not keep up; beyond it lines are dropped and counted. */
export const LOG_BUFFER_LIMIT_BYTES = 8 * 1024 * 1024;

const liveSinks = new Set<LogSink>();
let exitHookInstalled = false;

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * The log destination: lines are collected during one turn of the event loop and written together with one
 * write(2) at the next (setImmediate), so a busy server pays one syscall per batch instead of one per line.
 * Never blocks a request on a slow reader: a full pipe (EAGAIN) keeps the rest for a later retry, and past
 * LOG_BUFFER_LIMIT_BYTES new lines are dropped and counted (a warning line says how many once writing
 * resumes). Whatever is pending is written synchronously on `flush()` and at process exit.
 *
 * (pino's own destination, sonic-boom 4, measures the whole pending buffer with Buffer.byteLength on every
 * write, which cost ~5 µs per line under load — more than the rest of the line.)
 */
export class LogSink {
  private readonly fd: number;
  private readonly ownsFd: boolean;
  private chunks: string[] = [];
  private pendingBytes = 0;
  /** Bytes of an earlier batch the destination did not take yet (EAGAIN). */
  private blocked: Buffer | null = null;
  private scheduled = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private dropped = 0;
  private failed = false;

  /** `service`: written on the sink's own lines (the dropped-lines warning), as pino writes it on the others. */
  constructor(
    destination: number | string = 1,
    private readonly service?: string,
  ) {
    if (typeof destination === 'number') {
      this.fd = destination;
      this.ownsFd = false;
      // Opening Node's own stream for fd 1/2 makes a pipe non-blocking (libuv), so a stalled reader answers
      // EAGAIN (retried later) instead of blocking the event loop inside writeSync.
      if (destination === 1) void process.stdout;
      else if (destination === 2) void process.stderr;
    } else {
      this.fd = openSync(destination, 'a');
      this.ownsFd = true;
    }
    liveSinks.add(this);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on('exit', () => {
        for (const sink of liveSinks) sink.flushSync();
      });
    }
  }

  write(line: string): boolean {
    if (this.failed) return true;
    if (this.pendingBytes > LOG_BUFFER_LIMIT_BYTES) {
      this.dropped++;
      return true;
    }
    this.chunks.push(line);
    this.pendingBytes += line.length;
    if (!this.scheduled && this.retryTimer === null) {
      this.scheduled = true;
      setImmediate(this.flushSoon);
    }
    return true;
  }

  private readonly flushSoon = (): void => {
    this.scheduled = false;
    this.writeOut(false);
  };

  /**
   * Writes what is pending; `wait` retries a full pipe until it drains (up to 2 s) before deferring the rest.
   * Whatever the destination does not take stays pending, whole and in order, for a retry on a timer.
   */
  private writeOut(wait: boolean): void {
    if (this.failed) return;
    if (this.dropped > 0) {
      // Lines are dropped only while over the bound, which ends only here: the dropped ones came after every line
      // pending now and before any later one, so the warning goes exactly where they are missing.
      this.chunks.push(
        `${JSON.stringify({ level: 40, time: new Date().toISOString(), ...(this.service ? { service: this.service } : {}), msg: 'log lines dropped: the log reader did not keep up', dropped: this.dropped })}\n`,
      );
      this.dropped = 0;
    }
    let buf = this.blocked;
    if (this.chunks.length > 0) {
      const fresh = Buffer.from(this.chunks.join(''));
      buf = buf ? Buffer.concat([buf, fresh]) : fresh;
      this.chunks = [];
    }
    this.blocked = null;
    this.pendingBytes = 0;
    if (!buf) return;
    let offset = 0;
    const deadline = Date.now() + 2_000;
    while (offset < buf.length) {
      try {
        offset += writeSync(this.fd, buf, offset);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') {
          if (wait && Date.now() < deadline) {
            sleepMs(1);
            continue;
          }
          // Keep the rest (a line may be half written: dropping it would corrupt the next one) and retry later;
          // a flush() that gave up on a stuck reader loses nothing (at exit the timer never fires).
          this.blocked = buf.subarray(offset);
          this.pendingBytes = this.blocked.length;
          if (this.retryTimer) clearTimeout(this.retryTimer);
          this.retryTimer = setTimeout(() => {
            this.retryTimer = null;
            this.writeOut(false);
          }, 5);
          this.retryTimer.unref();
          return;
        }
        // EPIPE, EBADF, ...: the destination is gone; stop trying (a server must not die of its log reader).
        this.failed = true;
        return;
      }
    }
  }

  /** Writes everything pending now (pino calls it from logger.flush()). */
  flushSync(): void {
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
    this.writeOut(true);
  }

  flush(cb?: (err?: Error) => void): void {
    this.flushSync();
    cb?.();
  }

  end(): void {
    this.flushSync();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    liveSinks.delete(this);
    if (this.ownsFd) closeSync(this.fd);
  }
}

/**
 * (reqId, method, url, status, ms) → one `request` log line at info level, as `request.log.info` would write it.
 * `reqId` must match [A-Za-z0-9._:-] and `method` be an HTTP token (both are written without escaping).
 */
export type RequestLogWriter = (
  reqId: string,
  method: string,
  url: string,
  status: number,
  ms: number,
) => void;

const requestLogWriters = new WeakMap<object, RequestLogWriter>();

// The ISO time of the current millisecond: a busy server logs several requests per millisecond.
let isoMs = -1;
let isoText = '';
function isoNow(): string {
  const ms = Date.now();
  if (ms !== isoMs) {
    isoMs = ms;
    isoText = new Date(ms).toISOString();
  }
  return isoText;
}

/**
 * The fast request-line writer of a logger made by createLogger (undefined for any other logger: callers then
 * use `log.info`). It writes the line pino would write for
 * `logger.child({ reqId }).info({ method, url, status, ms }, 'request')` — same keys, same order — without
 * creating a child logger or running the redaction pass (none of these fields can carry a secret: `url` is the
 * route pattern or the path without its query string).
 */
export function requestLogWriterOf(logger: object): RequestLogWriter | undefined {
  return requestLogWriters.get(logger);
}

export function createLogger(
  options: { level?: string; name?: string; destination?: number | string } = {},
): Logger {
  if (options.level === 'silent') return pino({ level: 'silent' });
  const opts: LoggerOptions = {
    level: options.level ?? 'info',
    base: options.name ? { service: options.name } : {},
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  const sink = new LogSink(options.destination ?? 1, options.name);
  const logger = pino(opts, sink);
  const base = options.name ? `,"service":${JSON.stringify(options.name)}` : '';
  const INFO = 30;
  requestLogWriters.set(logger, (reqId, method, url, status, ms) => {
    if (logger.levelVal > INFO) return;
    sink.write(
      `{"level":30,"time":"${isoNow()}"${base},"reqId":"${reqId}","method":"${method}","url":${JSON.stringify(url)},"status":${status},"ms":${ms},"msg":"request"}\n`,
    );
  });
  return logger;
}
