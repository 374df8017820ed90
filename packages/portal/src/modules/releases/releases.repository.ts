import type { ReleaseChannel } from '@wispanel/contract';
import { isUniqueViolation } from '@wispanel/kit';
import type { Kysely, Selectable } from 'kysely';
import type { ReleaseStatus } from './release-eligibility';

export interface ReleasesTable {
  id: string;
  version: string;
  /** Zero-padded `major.minor.patch` (see `versionKey`), for range filters in SQL. */
  version_key: string;
  channel: ReleaseChannel;
  status: ReleaseStatus;
  changelog: string;
  notes: string;
  critical: number;
  min_version: string | null;
  filename: string | null;
  size: number | null;
  sha256: string | null;
  artifact_path: string | null;
  signed_release: string | null;
  uploaded_at: string | null;
  created_at: string;
  updated_at: string;
  published_at: string | null;
  yanked_at: string | null;
  yank_reason: string | null;
}

export interface ReleaseTables {
  releases: ReleasesTable;
}

export type ReleaseRow = Selectable<ReleasesTable>;

/** `1.4.2-beta.1` → `0000000000000001.0000000000000004.0000000000000002`: sorts as text like the version core. */
export function versionKey(version: string): string {
  const core = version.split('-')[0]!.split('.');
  return core.map((n) => n.padStart(16, '0')).join('.');
}

export class DuplicateVersionError extends Error {
  constructor(readonly version: string) {
    super(`version ${version} already exists`);
    this.name = 'DuplicateVersionError';
  }
}

/** SQL for releases; no rules here (the service decides what may change when). */
export class ReleasesRepository {
  constructor(private readonly db: Kysely<ReleaseTables>) {}

  async insert(row: ReleaseRow): Promise<void> {
    try {
      await this.db.insertInto('releases').values(row).execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new DuplicateVersionError(row.version);
      throw err;
    }
  }

  async findByVersion(version: string): Promise<ReleaseRow | undefined> {
    return this.db.selectFrom('releases').selectAll().where('version', '=', version).executeTakeFirst();
  }

  async list(filter: { channel?: ReleaseChannel; status?: ReleaseStatus } = {}): Promise<ReleaseRow[]> {
    let q = this.db.selectFrom('releases').selectAll();
    if (filter.channel) q = q.where('channel', '=', filter.channel);
    if (filter.status) q = q.where('status', '=', filter.status);
    return q.orderBy('created_at', 'desc').execute();
  }

  /**
   * What a check-update needs: published releases in the channel set whose major.minor.patch is not below the
   * running version's, plus the running release itself (for its changelog). Older releases are never read.
   */
  async listForUpdateCheck(
    currentVersion: string,
    channels: readonly ReleaseChannel[],
  ): Promise<ReleaseRow[]> {
    return this.db
      .selectFrom('releases')
      .selectAll()
      .where((eb) =>
        eb.or([
          eb.and([
            eb('status', '=', 'published'),
            eb('channel', 'in', [...channels]),
            eb('version_key', '>=', versionKey(currentVersion)),
          ]),
          eb('version', '=', currentVersion),
        ]),
      )
      .execute();
  }

  /** Updates when the row still has `expectedStatus` (guards against a concurrent publish or yank). */
  async update(
    version: string,
    expectedStatus: ReleaseStatus | null,
    changes: Partial<Omit<ReleaseRow, 'id' | 'version'>>,
  ): Promise<boolean> {
    let q = this.db.updateTable('releases').set(changes).where('version', '=', version);
    if (expectedStatus) q = q.where('status', '=', expectedStatus);
    const res = await q.executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  async delete(version: string, expectedStatus: ReleaseStatus): Promise<boolean> {
    const res = await this.db
      .deleteFrom('releases')
      .where('version', '=', version)
      .where('status', '=', expectedStatus)
      .executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }
}
