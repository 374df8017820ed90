import type { Migration } from '@wispanel/kit';

/** The same table on both dialects; only the artifact size needs a 64-bit type on PostgreSQL. */
const createReleases = (sizeType: 'INTEGER' | 'BIGINT') =>
  `CREATE TABLE releases (
        id TEXT PRIMARY KEY,
        version TEXT NOT NULL UNIQUE,
        version_key TEXT NOT NULL,
        channel TEXT NOT NULL,
        status TEXT NOT NULL,
        changelog TEXT NOT NULL,
        notes TEXT NOT NULL,
        critical INTEGER NOT NULL,
        min_version TEXT,
        filename TEXT,
        size ${sizeType},
        sha256 TEXT,
        artifact_path TEXT,
        signed_release TEXT,
        uploaded_at TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        published_at TEXT,
        yanked_at TEXT,
        yank_reason TEXT
      )`;
const releasesIndex = 'CREATE INDEX releases_status_channel ON releases (status, channel, version_key)';

/**
 * Portal migrations 040–059 belong to releases and downloads. Timestamps are ISO-8601 UTC text.
 * `version_key` is the zero-padded `major.minor.patch` so SQL can skip releases older than a panel's version
 * (prerelease order is then settled in code).
 */
export const releaseMigrations: Migration[] = [
  {
    id: '040_releases',
    sqlite: [createReleases('INTEGER'), releasesIndex],
    postgres: [createReleases('BIGINT'), releasesIndex],
  },
];
