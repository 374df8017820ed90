import type { Kysely } from 'kysely';
import type { PanelDB } from '../../db/schema';
import type { Actor } from '../auth/actor';

export type CountedResource = 'account' | 'domain' | 'database';

/**
 * Asked before every account, domain and database creation. It runs INSIDE the creation transaction, after
 * the creation lock is taken, so counting with `tx` and the insert that follows are race-free. Count with
 * `tx` only: on SQLite the outer connection is held by this transaction and waiting on it would deadlock.
 * Throw an AppError (e.g. 403 LICENSE_LIMIT_REACHED) to refuse; return to allow.
 */
export interface LicenseGate {
  assertCanCreate(kind: CountedResource, actor: Actor, tx: Kysely<PanelDB>): Promise<void>;
}

/** Default until the license module replaces it: everything may be created. */
export const allowAllLicenseGate: LicenseGate = {
  async assertCanCreate() {},
};
