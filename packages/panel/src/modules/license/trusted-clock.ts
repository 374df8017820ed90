/**
 * The trusted-time floor (SPEC B2 clock tampering). Two sources: the latest signed portal time the panel
 * accepted, and the latest system time the panel itself observed since then. A new signed time replaces
 * both, so a clock that was once set into the future is corrected by the next successful portal check.
 */
export interface ClockRecord {
  /** Latest signed `server_time` accepted from the portal (ISO), or null. */
  signed_time: string | null;
  /** Latest system time observed by the panel since that signed time (ISO), or null. */
  observed_time: string | null;
}

export function trustedFloor(
  record: ClockRecord,
  extra: Array<string | null | undefined> = [],
): number | null {
  let floor: number | null = null;
  for (const t of [record.signed_time, record.observed_time, ...extra]) {
    if (!t) continue;
    const ms = Date.parse(t);
    if (Number.isFinite(ms) && (floor === null || ms > floor)) floor = ms;
  }
  return floor;
}

/**
 * Records the system time as observed, unless it is behind the floor (a clock turned back is never
 * recorded) or within `minStepMs` of the last record (to avoid a write per request). Returns the new
 * record, or null when nothing changes.
 */
export function observeSystemTime(
  record: ClockRecord,
  systemNow: number,
  minStepMs: number,
): ClockRecord | null {
  const floor = trustedFloor(record);
  if (floor !== null && systemNow < floor + minStepMs) return null;
  return { ...record, observed_time: new Date(systemNow).toISOString() };
}

/** A signed portal time was accepted: it becomes the floor, replacing the panel's own observations. */
export function acceptSignedTime(record: ClockRecord, serverTime: string): ClockRecord {
  const ms = Date.parse(serverTime);
  if (!Number.isFinite(ms)) return record;
  return { signed_time: new Date(ms).toISOString(), observed_time: null };
}
