import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { PortalTables } from '../../db';

/** Admin keys look like `wpa_<64 hex>`; only SHA-256 of the key is stored, the key is shown once. */
export const ADMIN_KEY_PATTERN = /^wpa_[0-9a-f]{64}$/;

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest();

export interface AdminKeyRecord {
  id: string;
  key_prefix: string;
  name: string;
  created_at: string;
  revoked_at: string | null;
}

export class AdminKeys {
  private cache: { at: number; keys: Array<{ prefix: string; hash: Buffer }> } | null = null;

  constructor(
    private readonly db: Kysely<PortalTables>,
    private readonly clock: () => Date = () => new Date(),
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

  /**
   * Returns the matching key's prefix, or null. Compares SHA-256 digests in constant time against every
   * active key (a handful), so neither the key nor how much of it matched leaks through timing.
   * Active keys are cached for 5 s so a request costs no query; a revocation takes effect within 5 s.
   */
  async check(given: string | undefined): Promise<string | null> {
    if (typeof given !== 'string' || given.length > 200) return null;
    const now = Date.now();
    if (!this.cache || now - this.cache.at > 5000) {
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
