import { type Dialect, writeTransaction } from '@wispanel/kit';
import type { Kysely } from 'kysely';
import type { LicensesTable, PortalTables } from '../../db';

/**
 * Runs `fn` in a transaction that owns the license row: `SELECT … FOR UPDATE` on PostgreSQL (other portal
 * instances sharing the database wait on that row), `BEGIN IMMEDIATE` on SQLite (one writer at a time across
 * processes, taken before the first read so a read-then-write cannot interleave).
 */
export async function withLicenseLock<T>(
  db: Kysely<PortalTables>,
  dialect: Dialect,
  where: { id: string } | { keyHash: string },
  fn: (trx: Kysely<PortalTables>, license: LicensesTable | undefined) => Promise<T>,
): Promise<T> {
  const select = (trx: Kysely<PortalTables>) => {
    let q = trx.selectFrom('licenses').selectAll();
    q = 'id' in where ? q.where('id', '=', where.id) : q.where('key_hash', '=', where.keyHash);
    return q;
  };
  if (dialect === 'postgres') {
    return db.transaction().execute(async (trx) => fn(trx, await select(trx).forUpdate().executeTakeFirst()));
  }
  return writeTransaction(db, dialect, async (conn) => fn(conn, await select(conn).executeTakeFirst()));
}

/** The status a license effectively has now: a term that ended reads as `expired`. */
export function effectiveStatus(
  row: Pick<LicensesTable, 'status' | 'expires_at'>,
  now: Date,
): 'active' | 'suspended' | 'revoked' | 'expired' {
  if (row.status === 'revoked') return 'revoked';
  if (row.status === 'suspended') return 'suspended';
  if (row.expires_at !== null && row.expires_at <= now.toISOString()) return 'expired';
  return 'active';
}
