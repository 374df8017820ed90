import { appendFileSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../../lib/atomic-file';

export const UPDATE_STATES = [
  'idle',
  'checking',
  'downloading',
  'verifying',
  'installing',
  'restarting',
  'health_check',
  'completed',
  'failed',
  'rolled_back',
] as const;
export type UpdateStateName = (typeof UPDATE_STATES)[number];

/** Steps run by the panel (or the `update` command) before the switch. */
export const PREPARE_STATES: readonly UpdateStateName[] = [
  'checking',
  'downloading',
  'verifying',
  'installing',
];
/** Steps run by the supervisor: the switch, the restart and the health check. */
export const SWITCH_STATES: readonly UpdateStateName[] = ['restarting', 'health_check'];
export const ACTIVE_STATES: readonly UpdateStateName[] = [...PREPARE_STATES, ...SWITCH_STATES];

/** Where the supervisor is inside the switch; written before each irreversible step (a small journal). */
export interface SwitchJournal {
  phase: 'requested' | 'stopped' | 'backed_up' | 'switched' | 'started';
  /** `current` target before the switch (relative, e.g. `releases/1.4.2`). */
  previous_target: string | null;
  /** SQLite backup taken before the switch (null for PostgreSQL or when there was no database yet). */
  backup: string | null;
  /** The SQLite database file the backup belongs to (null for PostgreSQL). */
  database?: string | null;
  /**
   * Set by the old supervisor when it hands the switched release over to the launcher (which starts the new
   * release's own supervisor for the health gate). Without it, a journal past `stopped` means the supervisor died.
   */
  handover?: boolean;
  /** Written by the launcher when the new release's supervisor could not come up: why the switch is undone. */
  failure?: { code: string; message: string } | null;
}

/** After a commit: crashes of the new release within `until` roll it back (see docs/updates.md, probation). */
export interface Probation {
  version: string;
  until: string;
  previous_target: string | null;
  backup: string | null;
  database: string | null;
  crashes: number;
}

export interface UpdateStatus {
  job_id: string | null;
  state: UpdateStateName;
  from_version: string | null;
  to_version: string | null;
  progress: { bytes: number; total: number | null; percent: number | null };
  started_at: string | null;
  updated_at: string | null;
  finished_at: string | null;
  error: { code: string; message: string } | null;
  log: string[];
  /** Process currently driving the job (a dead owner of an active state means it was interrupted). */
  owner_pid: number | null;
  /** Set when the release is unpacked and verified: the supervisor may switch to it. */
  ready_to_switch: boolean;
  /**
   * Set (before signalling) when the preparing process handed the release to the supervisor. A ready release
   * whose owner died before this is abandoned (`UPDATE_INTERRUPTED`), never applied unannounced later.
   */
  switch_requested: boolean;
  /** Set by a cancel request (API) for a job another process prepares; that process stops itself. */
  cancel_requested: boolean;
  switch: SwitchJournal | null;
  probation: Probation | null;
  /** What started the job: `api`, `cli`. */
  source: string | null;
}

export const MAX_LOG_LINES = 50;

/** The end of a job: what the history records. */
export const FINAL_STATES: readonly UpdateStateName[] = ['completed', 'failed', 'rolled_back'];

/** One finished update (GET /version/update/history). */
export interface UpdateHistoryEntry {
  job_id: string;
  state: UpdateStateName;
  from_version: string | null;
  to_version: string | null;
  started_at: string | null;
  finished_at: string | null;
  error: { code: string; message: string } | null;
  source: string | null;
}

function historyEntry(s: UpdateStatus): UpdateHistoryEntry {
  return {
    job_id: s.job_id as string,
    state: s.state,
    from_version: s.from_version,
    to_version: s.to_version,
    started_at: s.started_at,
    finished_at: s.finished_at ?? s.updated_at,
    error: s.error,
    source: s.source,
  };
}

export function idleStatus(): UpdateStatus {
  return {
    job_id: null,
    state: 'idle',
    from_version: null,
    to_version: null,
    progress: { bytes: 0, total: null, percent: null },
    started_at: null,
    updated_at: null,
    finished_at: null,
    error: null,
    log: [],
    owner_pid: null,
    ready_to_switch: false,
    switch_requested: false,
    cancel_requested: false,
    switch: null,
    probation: null,
    source: null,
  };
}

export function isActive(status: UpdateStatus): boolean {
  return ACTIVE_STATES.includes(status.state);
}

export function processAlive(pid: number | null): boolean {
  if (!pid || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * The persisted update status: one JSON file in the install dir (not in the database, which a rollback
 * restores). Written atomically; read-modify-write cycles from the panel, the `update` command and the
 * supervisor are serialised by a lock directory.
 */
export class UpdateStateStore {
  private readonly lockDir: string;

  constructor(
    readonly file: string,
    private readonly clock: () => Date = () => new Date(),
  ) {
    this.lockDir = `${file}.lock`;
  }

  read(): UpdateStatus {
    try {
      const parsed = JSON.parse(readFileSync(this.file, 'utf8')) as Partial<UpdateStatus>;
      return { ...idleStatus(), ...parsed };
    } catch {
      return idleStatus();
    }
  }

  /** Runs `fn` on the current status under the lock and persists what it returns. */
  update(fn: (s: UpdateStatus) => UpdateStatus): UpdateStatus {
    return this.withLock(() => {
      const previous = this.read();
      const next = fn(previous);
      next.updated_at = this.clock().toISOString();
      if (next.log.length > MAX_LOG_LINES) next.log = next.log.slice(-MAX_LOG_LINES);
      writeFileAtomic(this.file, `${JSON.stringify(next, null, 2)}\n`);
      // A job reaching its end is appended to the history (under the same lock, once per job and outcome).
      if (
        next.job_id &&
        FINAL_STATES.includes(next.state) &&
        (previous.job_id !== next.job_id || previous.state !== next.state)
      ) {
        appendFileSync(this.historyFile, `${JSON.stringify(historyEntry(next))}\n`, { mode: 0o600 });
      }
      return next;
    });
  }

  /** `update-history.jsonl` beside the status file: one line per finished job, oldest first. */
  get historyFile(): string {
    return join(dirname(this.file), 'update-history.jsonl');
  }

  /** Finished jobs, newest first (at most `limit`); unreadable lines are skipped. */
  history(limit = 100): UpdateHistoryEntry[] {
    let text = '';
    try {
      text = readFileSync(this.historyFile, 'utf8');
    } catch {
      return [];
    }
    const out: UpdateHistoryEntry[] = [];
    const lines = text.split('\n');
    for (let i = lines.length - 1; i >= 0 && out.length < limit; i--) {
      const line = lines[i]?.trim();
      if (!line) continue;
      try {
        out.push(JSON.parse(line) as UpdateHistoryEntry);
      } catch {
        /* a torn last line after a crash */
      }
    }
    return out;
  }

  /** Appends a timestamped log line (and applies `patch`). */
  log(line: string, patch: Partial<UpdateStatus> = {}): UpdateStatus {
    return this.update((s) => ({ ...s, ...patch, log: [...s.log, `${this.clock().toISOString()} ${line}`] }));
  }

  withLock<T>(fn: () => T): T {
    mkdirSync(dirname(this.lockDir), { recursive: true });
    for (let attempt = 0; ; attempt++) {
      try {
        mkdirSync(this.lockDir);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        // A holder killed inside the critical section (a few ms of work) leaves a stale lock.
        try {
          if (Date.now() - statSync(this.lockDir).mtimeMs > 5_000)
            rmSync(this.lockDir, { recursive: true, force: true });
        } catch {
          /* removed meanwhile */
        }
        if (attempt > 2_000) throw new Error(`update state lock ${this.lockDir} is held`);
        sleepSync(5);
      }
    }
    try {
      return fn();
    } finally {
      rmSync(this.lockDir, { recursive: true, force: true });
    }
  }
}
