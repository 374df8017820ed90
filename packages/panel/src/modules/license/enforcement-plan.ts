/**
 * Which resources enforcement disables and re-enable restores (SPEC B2 graduated enforcement), pure.
 * Resources of one kind are ranked by id (ids only grow, so oldest first). The oldest `limit` ones are
 * never disabled; of the rest (the excess), the ones an admin has not suspended are disabled. Re-enable
 * lifts the license mark from disabled resources that are back within the oldest `limit`. An admin's
 * suspension is never read as a license mark and never changed.
 */
export interface RankedResource {
  id: number;
  status: string;
  license_disabled_at: string | null;
}

export interface EnforcementPlan {
  /** Ids to mark as disabled by the license, newest first. */
  disable: number[];
  /** Ids whose license mark is lifted, oldest first. */
  reenable: number[];
  /** How many resources are over the limit (0 when within it or unlimited). */
  excess: number;
}

export const SUSPENDED = 'suspended';

/** `rows` sorted by id ascending; `limit` -1 = unlimited. */
export function planEnforcement(rows: readonly RankedResource[], limit: number): EnforcementPlan {
  const keep = limit < 0 ? rows.length : Math.min(limit, rows.length);
  const disable: number[] = [];
  for (let i = rows.length - 1; i >= keep; i--) {
    const r = rows[i] as RankedResource;
    if (r.status !== SUSPENDED && r.license_disabled_at === null) disable.push(r.id);
  }
  const reenable: number[] = [];
  for (let i = 0; i < keep; i++) {
    const r = rows[i] as RankedResource;
    if (r.license_disabled_at !== null) reenable.push(r.id);
  }
  return { disable, reenable, excess: rows.length - keep };
}
