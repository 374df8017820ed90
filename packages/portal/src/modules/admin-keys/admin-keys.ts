import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { AppError, type Dialect, writeTransaction } from '@wispanel/kit';
import type { Kysely } from 'kysely';
import type { PortalTables } from '../../db';
import { type Actor, EventLog } from '../events/event-log';

/** Admin keys look like `wpa_<64 hex>`; only SHA-256 of the key is stored, the key is shown once. */
export const ADMIN_KEY_PATTERN = /^wpa_[0-9a-f]{64}$/;

/** How long a running portal may keep accepting a key after it is revoked (the `check` cache). */
export const ADMIN_KEY_CACHE_MS = 5000;

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest();

export interface AdminKeyRecord {
  id: string;
  key_prefix: string;
  name: string;
  created_at: string;
  revoked_at: string | null;
}

export interface RevokeResult {
  record: AdminKeyRecord;
  /** True when the key was already revoked: nothing changed (its `revoked_at` is the earlier date). */
  already_revoked: boolean;
}

const RECORD_COLUMNS = ['id', 'key_prefix', 'name', 'created_at', 'revoked_at'] as const;

export class AdminKeys {
  private cache: { at: number; keys: Array<{ prefix: string; hash: Buffer }> } | null = null;

  constructor(
    private readonly db: Kysely<PortalTables>,
    private readonly dialect: Dialect,
    private readonly clock: () => Date = () => new Date(),
    private readonly events: EventLog = new EventLog(db, clock),
  ) {}

  async create(name: string): Promise<{ key: string; record: AdminKeyRecord }> {
    const key = `wpa_${randomBytes(32).toString('hex')}`;
    const record: AdminKeyRecord = {
      id: randomBytes(8).toString('hex'),
      key_prefix: key.slice(0, 12),
      name,
      created_at: this.clock().toISOString(),
      revoked_at: null,
    };
    await this.db
      .insertInto('admin_keys')
      .values({ ...record, key_hash: sha256(key).toString('hex') })
      .execute();
    this.cache = null;
    return { key, record };
  }

  async count(): Promise<number> {
    const row = await this.db
      .selectFrom('admin_keys')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('revoked_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Every key, revoked ones included, oldest first. Never the key or its hash. */
  async list(): Promise<AdminKeyRecord[]> {
    return this.db
      .selectFrom('admin_keys')
      .select([...RECORD_COLUMNS])
      .orderBy('created_at')
      .orderBy('id')
      .execute();
  }

  /**
   * Revokes the key whose id is `target`, or whose prefix (`wpa_…`, as `list` shows it) starts with `target`
   * (at least `wpa_` and 4 more characters). Idempotent: an already revoked key is returned unchanged with
   * `already_revoked`. Refuses to revoke the last active key unless `force` (the admin API would be locked
   * until `admin-key create` or `init` makes another). Records `admin_key.revoked` in the event log in the
   * same transaction. Other portal processes stop accepting the key within `ADMIN_KEY_CACHE_MS`.
   */
  async revoke(actor: Actor, target: string, options: { force?: boolean } = {}): Promise<RevokeResult> {
    return this.locked(async (trx) => {
      const rows = await trx
        .selectFrom('admin_keys')
        .select([...RECORD_COLUMNS])
        .execute();
      const found = resolveKey(rows, target);
      if (found.revoked_at !== null) return { record: found, already_revoked: true };
      const active = rows.filter((r) => r.revoked_at === null);
      if (active.length <= 1 && !options.force) {
        throw new AppError(
          'CONFLICT',
          `${found.key_prefix} is the last active admin key; revoking it would lock the admin API. ` +
            'Create another first with "wispanel-portal admin-key create", or pass --force',
        );
      }
      const revokedAt = this.clock().toISOString();
      await trx
        .updateTable('admin_keys')
        .set({ revoked_at: revokedAt })
        .where('id', '=', found.id)
        .where('revoked_at', 'is', null)
        .execute();
      await this.events.append(
        {
          action: 'admin_key.revoked',
          actor,
          resultCode: 'OK',
          data: {
            id: found.id,
            prefix: found.key_prefix,
            name: found.name,
            ...(active.length <= 1 ? { last_active_key: true } : {}),
          },
        },
        trx,
      );
      this.cache = null;
      return { record: { ...found, revoked_at: revokedAt }, already_revoked: false };
    });
  }

  /**
   * Runs `fn` holding the admin keys against concurrent revocations (two operators revoking the last two
   * keys at once must not both succeed): `SELECT … FOR UPDATE` on the active keys on PostgreSQL, `BEGIN
   * IMMEDIATE` on SQLite (one writer across processes, taken before the first read).
   */
  private async locked<T>(fn: (trx: Kysely<PortalTables>) => Promise<T>): Promise<T> {
    if (this.dialect === 'postgres') {
      return this.db.transaction().execute(async (trx) => {
        await trx.selectFrom('admin_keys').select('id').where('revoked_at', 'is', null).forUpdate().execute();
        return fn(trx);
      });
    }
    return writeTransaction(this.db, this.dialect, fn);
  }

  /**
   * Returns the matching key's prefix, or null. Compares SHA-256 digests in constant time against every
   * active key (a handful), so neither the key nor how much of it matched leaks through timing.
   * Active keys are cached for 5 s so a request costs no query; a revocation takes effect within 5 s.
   */
  async check(given: string | undefined): Promise<string | null> {
    if (typeof given !== 'string' || given.length > 200) return null;
    const now = Date.now();
    if (!this.cache || now - this.cache.at > ADMIN_KEY_CACHE_MS) {
      const rows = await this.db
        .selectFrom('admin_keys')
        .select(['key_prefix', 'key_hash'])
        .where('revoked_at', 'is', null)
        .execute();
      this.cache = {
        at: now,
        keys: rows.map((r) => ({ prefix: r.key_prefix, hash: Buffer.from(r.key_hash, 'hex') })),
      };
    }
    const digest = sha256(given);
    let found: string | null = null;
    for (const k of this.cache.keys) if (timingSafeEqual(digest, k.hash) && !found) found = k.prefix;
    return found;
  }
}

/** The one key `target` names: its id, or a leading part of its prefix (`wpa_` + at least 4 characters). */
function resolveKey(rows: AdminKeyRecord[], target: string): AdminKeyRecord {
  const byId = rows.find((r) => r.id === target);
  if (byId) return byId;
  const matches = target.length >= 8 ? rows.filter((r) => r.key_prefix.startsWith(target)) : [];
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) {
    throw new AppError(
      'CONFLICT',
      `"${target}" matches ${matches.length} admin keys (${matches.map((m) => m.id).join(', ')}); give the id`,
    );
  }
  const short = target.length < 8 && rows.some((r) => r.key_prefix.startsWith(target));
  throw new AppError(
    'NOT_FOUND',
    short
      ? `"${target}" is too short to name an admin key: give its id or at least wpa_ and 4 more characters`
      : `no admin key with id or prefix "${target}" (see "wispanel-portal admin-key list")`,
  );
}
