/**
 * The update policy and maintenance window: pure rules (no I/O), tested with a fake clock across midnight, DST
 * changes and time zones. docs/updates.md "Update policy".
 */

import { AUTO_UPDATE_MODES, RELEASE_CHANNELS, type ReleaseChannel, WEEKDAYS } from '@wispanel/contract';

export { AUTO_UPDATE_MODES, WEEKDAYS };
export type AutoUpdateMode = (typeof AUTO_UPDATE_MODES)[number];

export type Weekday = (typeof WEEKDAYS)[number];

export interface MaintenanceWindow {
  days: Weekday[];
  /** Local wall-clock time in `timezone`, HH:MM. `end` before `start` means the window runs past midnight. */
  start: string;
  end: string;
  timezone: string;
}

export interface UpdatePolicy {
  auto_update: AutoUpdateMode;
  channel: ReleaseChannel;
  /** Null: automatic updates may start at any time. */
  window: MaintenanceWindow | null;
}

export const DEFAULT_WINDOW: MaintenanceWindow = {
  days: [...WEEKDAYS],
  start: '02:00',
  end: '05:00',
  timezone: 'UTC',
};

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;

export function isTimeZone(tz: string): boolean {
  if (tz.length === 0 || tz.length > 64) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Every problem of a settings body, per field, in the panel's wording (empty = valid). */
export function policyProblems(input: Partial<UpdatePolicy>): Record<string, string[]> {
  const p: Record<string, string[]> = {};
  if (
    input.auto_update !== undefined &&
    !(AUTO_UPDATE_MODES as readonly string[]).includes(input.auto_update)
  ) {
    p.auto_update = [`auto_update must be one of ${AUTO_UPDATE_MODES.join(', ')}`];
  }
  if (input.channel !== undefined && !(RELEASE_CHANNELS as readonly string[]).includes(input.channel)) {
    p.channel = [`channel must be one of ${RELEASE_CHANNELS.join(', ')}`];
  }
  const w = input.window;
  if (w) {
    if (!Array.isArray(w.days) || w.days.length === 0)
      p['window.days'] = ['window.days must list at least one day'];
    else {
      const bad = w.days.filter((d) => !(WEEKDAYS as readonly string[]).includes(d));
      if (bad.length) p['window.days'] = [`unknown day(s) ${bad.join(', ')}: use ${WEEKDAYS.join(', ')}`];
    }
    if (typeof w.start !== 'string' || !HHMM.test(w.start))
      p['window.start'] = ['window.start must be HH:MM (00:00–23:59)'];
    if (typeof w.end !== 'string' || !HHMM.test(w.end))
      p['window.end'] = ['window.end must be HH:MM (00:00–23:59)'];
    if (typeof w.timezone !== 'string' || !isTimeZone(w.timezone)) {
      p['window.timezone'] = [
        `unknown time zone "${String(w.timezone).slice(0, 64)}": use an IANA name such as Europe/Berlin`,
      ];
    }
  }
  return p;
}

const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** Weekday and minute of the day of `at` on the wall clock of `timezone`. */
const formatters = new Map<string, Intl.DateTimeFormat>();

export function localTime(at: Date, timezone: string): { day: Weekday; minute: number } {
  let f = formatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    if (formatters.size < 64) formatters.set(timezone, f);
  }
  const parts = f.formatToParts(at);
  const get = (t: string) => parts.find((x) => x.type === t)?.value ?? '';
  const day = get('weekday').toLowerCase().slice(0, 3) as Weekday;
  return { day, minute: Number(get('hour')) * 60 + Number(get('minute')) };
}

/**
 * Is `at` inside the window? The window is wall-clock time in its time zone, so it follows DST: a 02:00–05:00
 * window is three local hours except on the night the clocks change (two or four real hours; a window wholly
 * inside a skipped hour does not occur that night). `days` are the days the window *starts*: a Friday 23:00–02:00
 * window covers Saturday 00:00–02:00. `start` = `end` means the whole day.
 */
export function inWindow(window: MaintenanceWindow | null, at: Date): boolean {
  if (!window) return true;
  const { day, minute } = localTime(at, window.timezone);
  const start = minutesOf(window.start);
  const end = minutesOf(window.end);
  const days = new Set(window.days);
  if (start === end) return days.has(day);
  if (start < end) return days.has(day) && minute >= start && minute < end;
  const previous = WEEKDAYS[(WEEKDAYS.indexOf(day) + 6) % 7]!;
  return (days.has(day) && minute >= start) || (days.has(previous) && minute < end);
}

/** The next instant (minute resolution, within 8 days) the window opens, or null when never / no window. */
export function nextWindowStart(window: MaintenanceWindow | null, from: Date): Date | null {
  if (!window) return null;
  const step = 60_000;
  let t = Math.ceil(from.getTime() / step) * step;
  let wasIn = inWindow(window, new Date(t - step));
  for (let i = 0; i < 8 * 24 * 60; i++, t += step) {
    const isIn = inWindow(window, new Date(t));
    if (isIn && !wasIn) return new Date(t);
    wasIn = isIn;
  }
  return null;
}

export type PolicyReason =
  | 'no_update'
  | 'policy_off'
  | 'notify_only'
  | 'not_critical'
  | 'outside_window'
  | 'will_install';

export interface PolicyDecision {
  action: 'none' | 'notify' | 'install';
  reason: PolicyReason;
}

/**
 * What the scheduler does with an available update. `off`: nothing. `notify`: tell (audit log + webhook), never
 * install. `critical`: install critical releases (at any time), tell about the others. `all`: install anything
 * inside the window; a critical release also outside it.
 */
export function decide(
  policy: Pick<UpdatePolicy, 'auto_update' | 'window'>,
  update: { available: boolean; critical: boolean },
  now: Date,
): PolicyDecision {
  if (!update.available) return { action: 'none', reason: 'no_update' };
  switch (policy.auto_update) {
    case 'off':
      return { action: 'none', reason: 'policy_off' };
    case 'notify':
      return { action: 'notify', reason: 'notify_only' };
    case 'critical':
      return update.critical
        ? { action: 'install', reason: 'will_install' }
        : { action: 'notify', reason: 'not_critical' };
    case 'all':
      if (update.critical || inWindow(policy.window, now))
        return { action: 'install', reason: 'will_install' };
      return { action: 'notify', reason: 'outside_window' };
  }
}

/** Next check: `intervalMs` ± `jitter` (a fraction), so a fleet never checks on the same wall-clock marks. */
export function nextCheckDelay(
  intervalMs: number,
  random: () => number = Math.random,
  jitter = 0.25,
): number {
  return Math.max(1, Math.round(intervalMs * (1 - jitter + 2 * jitter * random())));
}
