import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { InstallOutcome, InstallReportRequest } from '@wispanel/contract';
import { Agent, type Dispatcher, request } from 'undici';
import { writeFileAtomic } from '../../lib/atomic-file';
import type { UpdateStatus } from './update-state';

/**
 * Install reports: after every update attempt (API, CLI, automatic) the panel tells the portal how it ended
 * (`POST /api/v1/download/report`), so a staged rollout can halt when a release breaks servers. Reports are
 * derived from the persisted update status (the one file every source of updates writes), queued in a JSON file
 * next to it, and sent in the background: a report never blocks or fails an update, and one that cannot be sent
 * is retried with backoff, across restarts. docs/updates.md "Install reports".
 */

export type ReportBody = Omit<InstallReportRequest, 'key' | 'hardware_id' | 'nonce'>;

interface QueuedReport {
  report: ReportBody;
  attempts: number;
  next_at: string;
  last_error: string | null;
}

interface QueueFile {
  v: 1;
  queue: QueuedReport[];
  /** Attempt ids already queued or sent (newest last, bounded): a job is reported once. */
  seen: string[];
}

export type SendResult = { ok: true } | { ok: false; retry: boolean; error: string };
export type ReportSender = (report: ReportBody) => Promise<SendResult>;

export interface ReportQueueOptions {
  file: string;
  send: ReportSender;
  clock?: () => Date;
  /** Retry delays, the last one repeats (default 30 s, 2 min, 10 min, 1 h). */
  backoffMs?: number[];
  /** Reports kept at most (oldest dropped; default 200). */
  maxQueued?: number;
  /** Attempts before a report is dropped (default 200: about a week at the 1 h cap). */
  maxAttempts?: number;
  warn?: (message: string) => void;
}

const SEEN_KEEP = 500;

/** Which step an attempt stopped at, from its persisted status. */
export function stepOf(s: UpdateStatus): string | null {
  if (s.state === 'completed') return null;
  // The switched release exited before it was healthy, or its supervisor never came up (the launcher fell back):
  // it failed to start, which an integrator must be able to tell from a release that started but never answered
  // its health check (all of these happen under state health_check).
  if (s.error?.code === 'UPDATE_START_FAILED' || s.error?.code === 'UPDATE_SUPERVISOR_FAILED')
    return 'starting';
  if (s.state === 'rolled_back') return 'health_check';
  const during = /during step ([a-z_]+)/.exec(s.error?.message ?? '');
  if (during) return during[1]!;
  for (let i = s.log.length - 1; i >= 0; i--) {
    const m = /\b(checking|downloading|verifying|installing|restarting|health_check)\b/.exec(s.log[i]!);
    if (m) return m[1]!;
  }
  const code = s.error?.code ?? '';
  if (/DOWNLOAD|PORTAL/.test(code)) return 'downloading';
  if (/SIGNATURE|CHECKSUM|SHA|SIZE|KEY|STALE|REPLAY/.test(code)) return 'verifying';
  if (/SPACE|UNPACK|ARCHIVE|ENGINE|PREFLIGHT/.test(code)) return 'installing';
  return 'unknown';
}

/** The report of a finished attempt, or null when there is nothing to report (no job, still running, no target). */
export function reportOf(s: UpdateStatus): ReportBody | null {
  if (!s.job_id || !s.to_version || !s.from_version) return null;
  if (s.state !== 'completed' && s.state !== 'failed' && s.state !== 'rolled_back') return null;
  const outcome: InstallOutcome = s.state === 'completed' ? 'succeeded' : s.state;
  const started = s.started_at ? Date.parse(s.started_at) : Number.NaN;
  const finished = s.finished_at ? Date.parse(s.finished_at) : Number.NaN;
  const duration =
    Number.isFinite(started) && Number.isFinite(finished) ? Math.max(0, finished - started) : undefined;
  return {
    attempt_id: s.job_id.replace(/[^A-Za-z0-9._:-]/g, '_').slice(0, 64),
    from_version: s.from_version,
    to_version: s.to_version,
    outcome,
    step: stepOf(s),
    error_code: outcome === 'succeeded' ? null : (s.error?.code ?? null),
    ...(duration !== undefined ? { duration_ms: Math.min(duration, 7 * 86_400_000) } : {}),
  };
}

/** The persisted report queue. All methods are safe to call concurrently (one flush at a time). */
export class UpdateReportQueue {
  private readonly clock: () => Date;
  private flushing: Promise<void> | null = null;

  constructor(private readonly o: ReportQueueOptions) {
    this.clock = o.clock ?? (() => new Date());
  }

  private read(): QueueFile {
    try {
      const parsed = JSON.parse(readFileSync(this.o.file, 'utf8')) as Partial<QueueFile>;
      return {
        v: 1,
        queue: Array.isArray(parsed.queue) ? parsed.queue : [],
        seen: Array.isArray(parsed.seen) ? parsed.seen : [],
      };
    } catch {
      return { v: 1, queue: [], seen: [] };
    }
  }

  private write(data: QueueFile): void {
    mkdirSync(dirname(this.o.file), { recursive: true });
    writeFileAtomic(this.o.file, `${JSON.stringify(data, null, 2)}\n`);
  }

  /** Reports waiting to be sent. */
  pending(): QueuedReport[] {
    return this.read().queue;
  }

  /** Queues a report unless this attempt was already queued or sent. Returns true when it was added. */
  enqueue(report: ReportBody): boolean {
    const data = this.read();
    if (data.seen.includes(report.attempt_id)) return false;
    data.seen = [...data.seen, report.attempt_id].slice(-SEEN_KEEP);
    data.queue.push({ report, attempts: 0, next_at: this.clock().toISOString(), last_error: null });
    const max = this.o.maxQueued ?? 200;
    if (data.queue.length > max) {
      this.o.warn?.(`update reports: queue full, dropping ${data.queue.length - max} oldest`);
      data.queue = data.queue.slice(-max);
    }
    this.write(data);
    return true;
  }

  /** Sends every due report once; failures are rescheduled. Never throws. */
  flush(): Promise<void> {
    if (!this.flushing) {
      this.flushing = this.flushOnce()
        .catch((err) => this.o.warn?.(`update reports: ${(err as Error).message}`))
        .finally(() => {
          this.flushing = null;
        });
    }
    return this.flushing;
  }

  private async flushOnce(): Promise<void> {
    const now = this.clock().getTime();
    const due = this.read().queue.filter((q) => Date.parse(q.next_at) <= now);
    for (const item of due) {
      let result: SendResult;
      try {
        result = await this.o.send(item.report);
      } catch (err) {
        result = { ok: false, retry: true, error: (err as Error).message };
      }
      const data = this.read();
      const idx = data.queue.findIndex((q) => q.report.attempt_id === item.report.attempt_id);
      if (idx < 0) continue;
      const entry = data.queue[idx]!;
      const attempts = entry.attempts + 1;
      const maxAttempts = this.o.maxAttempts ?? 200;
      if (result.ok || !result.retry || attempts >= maxAttempts) {
        if (!result.ok) {
          this.o.warn?.(
            `update reports: giving up on ${entry.report.attempt_id} after ${attempts} attempt(s): ${result.error}`,
          );
        }
        data.queue.splice(idx, 1);
      } else {
        const backoff = this.o.backoffMs ?? [30_000, 120_000, 600_000, 3_600_000];
        const delay = backoff[Math.min(attempts - 1, backoff.length - 1)]!;
        data.queue[idx] = {
          ...entry,
          attempts,
          last_error: result.error,
          next_at: new Date(this.clock().getTime() + delay).toISOString(),
        };
      }
      this.write(data);
    }
  }
}

export interface HttpSenderOptions {
  baseUrl: string;
  ca?: string | Buffer;
  credentials: () => { key: string; hardwareId: string } | null;
  timeoutMs?: number;
  nonce: () => string;
  dispatcher?: Dispatcher;
}

/** Sends a report to the portal: 2xx done; 4xx other than 408/429 final; network errors, 5xx, 408, 429 retried. */
export function httpReportSender(o: HttpSenderOptions): ReportSender {
  const origin = o.baseUrl.replace(/\/+$/, '').replace(/\/api\/v1$/, '');
  const dispatcher = o.dispatcher ?? (o.ca ? new Agent({ connect: { ca: o.ca } }) : undefined);
  return async (report) => {
    const creds = o.credentials();
    if (!creds) return { ok: false, retry: true, error: 'no license activated' };
    const body: InstallReportRequest = {
      key: creds.key,
      hardware_id: creds.hardwareId,
      nonce: o.nonce(),
      ...report,
    };
    try {
      const res = await request(`${origin}/api/v1/download/report`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(body),
        headersTimeout: o.timeoutMs ?? 15_000,
        bodyTimeout: o.timeoutMs ?? 15_000,
        signal: AbortSignal.timeout(o.timeoutMs ?? 15_000),
        ...(dispatcher ? { dispatcher } : {}),
      });
      const text = await res.body.text().catch(() => '');
      if (res.statusCode >= 200 && res.statusCode < 300) return { ok: true };
      const retry =
        !(res.statusCode >= 400 && res.statusCode < 500) || res.statusCode === 408 || res.statusCode === 429;
      return { ok: false, retry, error: `HTTP ${res.statusCode} ${text.slice(0, 200)}` };
    } catch (err) {
      return { ok: false, retry: true, error: (err as Error).message };
    }
  };
}

/**
 * Watches the update status and queues a report for each finished attempt, then flushes the queue: at start
 * (an update that ended with the supervisor restarting us, or while we were down) and every `intervalMs`.
 */
export class UpdateReporter {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly queue: UpdateReportQueue,
    private readonly status: () => UpdateStatus,
    private readonly onReport?: (report: ReportBody) => void,
  ) {}

  /** Queues the last attempt's report when it is finished and new; then sends what is due. */
  async tick(): Promise<void> {
    try {
      const report = reportOf(this.status());
      if (report && this.queue.enqueue(report)) this.onReport?.(report);
    } catch {
      // An unreadable status file is the updater's problem; reporting must not add to it.
    }
    await this.queue.flush();
  }

  start(intervalMs = 15_000): void {
    void this.tick();
    this.timer = setInterval(() => void this.tick(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
