import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ReleaseChannel } from '@wispanel/contract';
import { writeFileAtomic } from '../../lib/atomic-file';
import {
  DEFAULT_WINDOW,
  decide,
  nextCheckDelay,
  nextWindowStart,
  type PolicyDecision,
  type UpdatePolicy,
} from './update-policy';

/** The stored policy (JSON next to the update state) and which version was last notified. */
export class UpdatePolicyStore {
  constructor(
    readonly file: string,
    private readonly defaultChannel: ReleaseChannel,
  ) {}

  private raw(): Partial<UpdatePolicy> & { notified_version?: string | null } {
    try {
      return JSON.parse(readFileSync(this.file, 'utf8'));
    } catch {
      return {};
    }
  }

  read(): UpdatePolicy {
    const r = this.raw();
    return {
      auto_update: r.auto_update ?? 'off',
      channel: r.channel ?? this.defaultChannel,
      window: r.window === undefined ? { ...DEFAULT_WINDOW } : r.window,
    };
  }

  write(policy: UpdatePolicy): void {
    this.save({ ...this.raw(), ...policy });
  }

  notifiedVersion(): string | null {
    return this.raw().notified_version ?? null;
  }

  setNotified(version: string): void {
    this.save({ ...this.raw(), notified_version: version });
  }

  private save(data: object): void {
    mkdirSync(dirname(this.file), { recursive: true });
    writeFileAtomic(this.file, `${JSON.stringify(data, null, 2)}\n`);
  }
}

export interface AvailableUpdate {
  available: boolean;
  critical: boolean;
  latest: string;
}

export interface SchedulerDeps {
  policy: () => UpdatePolicy;
  check: () => Promise<AvailableUpdate>;
  install: () => Promise<void>;
  /** Tells the operator once per version (audit log + webhook). */
  notify: (update: AvailableUpdate, decision: PolicyDecision) => Promise<void>;
  notifiedVersion: () => string | null;
  setNotified: (version: string) => void;
  clock?: () => Date;
  random?: () => number;
  /** Base interval between checks (jittered ±25 %). */
  intervalMs: number;
  log?: (message: string, error?: unknown) => void;
}

export interface TickResult {
  decision: PolicyDecision;
  update: AvailableUpdate | null;
  /** Milliseconds until the next tick. */
  nextInMs: number;
}

/**
 * Automatic updates. Every interval (±25 % jitter, so a fleet never checks on the same wall-clock marks) it asks
 * the portal, applies the policy, and installs, notifies or does nothing. When an update waits for the window,
 * the next check is at the window's opening plus a random delay of up to ten minutes. A failing check or install
 * is logged and retried at the next tick; it never stops the scheduler.
 */
export class UpdateScheduler {
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private readonly clock: () => Date;
  private readonly random: () => number;

  constructor(private readonly deps: SchedulerDeps) {
    this.clock = deps.clock ?? (() => new Date());
    this.random = deps.random ?? Math.random;
  }

  async tick(): Promise<TickResult> {
    const policy = this.deps.policy();
    const base = nextCheckDelay(this.deps.intervalMs, this.random);
    if (policy.auto_update === 'off') {
      return { decision: { action: 'none', reason: 'policy_off' }, update: null, nextInMs: base };
    }
    let update: AvailableUpdate;
    try {
      update = await this.deps.check();
    } catch (err) {
      this.deps.log?.('automatic update check failed', err);
      return { decision: { action: 'none', reason: 'no_update' }, update: null, nextInMs: base };
    }
    const now = this.clock();
    const decision = decide(policy, update, now);
    let nextInMs = base;
    if (decision.action === 'install') {
      try {
        await this.deps.install();
      } catch (err) {
        this.deps.log?.(`automatic update to ${update.latest} did not start`, err);
      }
    } else if (decision.action === 'notify') {
      if (this.deps.notifiedVersion() !== update.latest) {
        try {
          await this.deps.notify(update, decision);
          this.deps.setNotified(update.latest);
        } catch (err) {
          this.deps.log?.('update notification failed', err);
        }
      }
      if (decision.reason === 'outside_window') {
        const opens = nextWindowStart(policy.window, now);
        if (opens) {
          const wait = opens.getTime() - now.getTime() + Math.round(this.random() * 10 * 60_000);
          nextInMs = Math.min(base, Math.max(1_000, wait));
        }
      }
    }
    return { decision, update, nextInMs };
  }

  start(firstDelayMs?: number): void {
    this.stopped = false;
    const schedule = (ms: number) => {
      if (this.stopped) return;
      this.timer = setTimeout(() => {
        this.tick().then(
          (r) => schedule(r.nextInMs),
          () => schedule(nextCheckDelay(this.deps.intervalMs, this.random)),
        );
      }, ms);
      this.timer.unref();
    };
    schedule(firstDelayMs ?? nextCheckDelay(Math.min(this.deps.intervalMs, 300_000), this.random));
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
