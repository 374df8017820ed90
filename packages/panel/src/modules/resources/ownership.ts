import { conflict, type Dialect, isUniqueViolation } from '@wispanel/kit';
import type { Expression, ExpressionBuilder, Kysely, SqlBool } from 'kysely';
import { sql } from 'kysely';
import type { PanelDB } from '../../db/schema';
import type { Actor } from '../auth/actor';
import type { LicenseGate } from './license-gate';

/**
 * Ownership (SPEC B1): an admin sees everything, a reseller their own things and their users' things, a user
 * only their own. What an actor may not see is answered 404 by the services, never 403.
 */
export function ownedBy(actor: Actor, table: 'domains' | 'databases') {
  // biome-ignore lint/suspicious/noExplicitAny: one filter shared by two tables with the same owner column
  return (eb: ExpressionBuilder<any, any>) => {
    const owner = `${table}.owner_id`;
    if (actor.role === 'admin') return eb.lit(true);
    if (actor.role === 'reseller') {
      return eb.or([
        eb(owner, '=', actor.userId),
        eb(
          owner,
          'in',
          eb.selectFrom('users').select('users.id').where('users.creator_id', '=', actor.userId),
        ),
      ]);
    }
    return eb(owner, '=', actor.userId);
  };
}

/** Users an actor may see: admin all, reseller itself and its users, user itself. */
export function visibleUsers(actor: Actor) {
  return (eb: ExpressionBuilder<PanelDB, 'users'>) => {
    if (actor.role === 'admin') return eb.lit(true);
    if (actor.role === 'reseller') {
      return eb.or([eb('users.id', '=', actor.userId), eb('users.creator_id', '=', actor.userId)]);
    }
    return eb('users.id', '=', actor.userId);
  };
}

/** May `actor` act on things owned by this account? */
export function canManageOwner(actor: Actor, owner: { id: number; creator_id: number | null }): boolean {
  if (actor.role === 'admin') return true;
  if (owner.id === actor.userId) return true;
  return actor.role === 'reseller' && owner.creator_id === actor.userId;
}

/**
 * Serialises resource creation so "count, check the license, insert" is race-free. On SQLite the single
 * connection already serialises transactions; PostgreSQL takes a transaction-scoped advisory lock.
 */
export async function lockForCreate(tx: Kysely<PanelDB>, dialect: Dialect): Promise<void> {
  if (dialect === 'postgres') await sql`SELECT pg_advisory_xact_lock(7305120)`.execute(tx);
}

export interface Page {
  page: number;
  per_page: number;
}

/** Optional list filters (`GET /users|/domains|/databases?q=&status=&owner=&role=`), all combined with AND. */
export interface ListFilter {
  /** Substring, case-insensitive; `%`, `_` and `\` match themselves. Empty = no filter. */
  q?: string;
  /** `active` (not suspended, not disabled by the license), `suspended` (by an admin), `disabled` (by the license). */
  status?: 'active' | 'suspended' | 'disabled';
  /** Exact owner username (domains, databases). */
  owner?: string;
  /** Exact role (accounts). */
  role?: string;
}

// biome-ignore lint/suspicious/noExplicitAny: filters shared by the three resource tables and their joins
export type Where = (eb: ExpressionBuilder<any, any>) => Expression<SqlBool>;

/** The LIKE pattern of "contains `q`", with LIKE's wildcards and the escape character taken literally. */
export function containsPattern(q: string): string {
  return `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * `column` contains `q`, case-insensitively: `LIKE` on SQLite (case-insensitive for ASCII), `ILIKE` on
 * PostgreSQL (which a pg_trgm GIN index on the column serves), the pattern bound as a parameter, never spliced.
 */
export function contains(dialect: Dialect, column: string, q: string): Where {
  const op = dialect === 'postgres' ? sql`ILIKE` : sql`LIKE`;
  return () => sql<SqlBool>`${sql.ref(column)} ${op} ${containsPattern(q)} ESCAPE '\\'`;
}

/** The `status` filter on a resource table (the license mark has its own index). */
export function stateFilter(
  table: 'users' | 'domains' | 'databases',
  status: ListFilter['status'],
): Where | null {
  switch (status) {
    case 'active':
      return (eb) =>
        eb.and([eb(`${table}.status`, '=', 'active'), eb(`${table}.license_disabled_at`, 'is', null)]);
    case 'suspended':
      return (eb) => eb(`${table}.status`, '=', 'suspended');
    case 'disabled':
      return (eb) => eb(`${table}.license_disabled_at`, 'is not', null);
    default:
      return null;
  }
}

/**
 * One page of `base` under `filters` (and the actor's visibility, already in `filters`), in id order, and the
 * total under exactly the same WHERE: the count is the same query with its select list replaced.
 */
export async function listPage<Row>(
  // biome-ignore lint/suspicious/noExplicitAny: the joined select each service builds on its own table
  base: any,
  table: 'users' | 'domains' | 'databases',
  filters: Where[],
  page: Page,
): Promise<{ rows: Row[]; pagination: ReturnType<typeof pagination> }> {
  let q = base;
  for (const f of filters) q = q.where(f);
  const [rows, total] = await Promise.all([
    q
      .orderBy(`${table}.id`)
      .limit(page.per_page)
      .offset((page.page - 1) * page.per_page)
      .execute() as Promise<Row[]>,
    q
      .clearSelect()
      .select((eb: ExpressionBuilder<PanelDB, typeof table>) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow() as Promise<{ n: number | string }>,
  ]);
  return { rows, pagination: pagination(page, Number(total.n)) };
}

export function pagination(page: Page, total: number) {
  return {
    page: page.page,
    per_page: page.per_page,
    total,
    total_pages: Math.max(1, Math.ceil(total / page.per_page)),
  };
}

/** Admin state and license mark, as every resource shows them. */
export function stateFields(row: {
  status: string;
  license_disabled_at: string | null;
  license_disabled_reason: string | null;
}) {
  return {
    status: row.status,
    disabled_by_license: row.license_disabled_at !== null,
    license_disabled_at: row.license_disabled_at,
    license_disabled_reason: row.license_disabled_reason,
  };
}

/**
 * One page of an owner-scoped table (domains or databases): the rows of `base` the actor may see and that match
 * `filter`, in id order, and the total count under the same filter. `base` joins the owner as `users`.
 */
export async function listOwned<Row>(
  dialect: Dialect,
  table: 'domains' | 'databases',
  // biome-ignore lint/suspicious/noExplicitAny: the joined select each service builds on its own table
  base: any,
  actor: Actor,
  page: Page,
  filter: ListFilter,
  searchColumn: string,
): Promise<{ rows: Row[]; pagination: ReturnType<typeof pagination> }> {
  const filters: Where[] = [ownedBy(actor, table)];
  if (filter.q) filters.push(contains(dialect, searchColumn, filter.q));
  const state = stateFilter(table, filter.status);
  if (state) filters.push(state);
  if (filter.owner) {
    const owner = filter.owner;
    filters.push((eb) => eb('users.username', '=', owner));
  }
  return listPage<Row>(base, table, filters, page);
}

/** Sets the admin suspension state of one row of a resource table. */
export async function setStatus(
  db: Kysely<PanelDB>,
  table: 'users' | 'domains' | 'databases',
  id: number,
  suspended: boolean,
  now: Date,
): Promise<void> {
  await db
    .updateTable(table)
    .set({ status: suspended ? 'suspended' : 'active', updated_at: now.toISOString() })
    .where('id', '=', id)
    .execute();
}

/**
 * Creates one owned resource row race-free: under the create lock, 409 if `unique` is taken, the license
 * gate, then the insert with the fresh state every resource starts in (active, no license mark). A unique
 * violation from a concurrent writer is the same 409.
 */
export async function insertOwned(
  db: Kysely<PanelDB>,
  dialect: Dialect,
  gate: LicenseGate,
  actor: Actor,
  what: { kind: 'domain' | 'database'; table: 'domains' | 'databases'; label: string },
  unique: { column: 'domain' | 'name'; value: string },
  values: Record<string, unknown>,
  now: string,
): Promise<void> {
  const taken = () => conflict(`${what.label} '${unique.value}' already exists`);
  try {
    await db.transaction().execute(async (tx) => {
      await lockForCreate(tx, dialect);
      const clash = await tx
        .selectFrom(what.table)
        // biome-ignore lint/suspicious/noExplicitAny: the unique column of either table
        .select('id' as any)
        // biome-ignore lint/suspicious/noExplicitAny: the unique column of either table
        .where(unique.column as any, '=', unique.value)
        .executeTakeFirst();
      if (clash) throw taken();
      await gate.assertCanCreate(what.kind, actor, tx);
      await tx
        .insertInto(what.table)
        .values({
          ...values,
          status: 'active',
          license_disabled_at: null,
          license_disabled_reason: null,
          created_at: now,
          updated_at: now,
        } as never)
        .execute();
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw taken();
    throw err;
  }
}
