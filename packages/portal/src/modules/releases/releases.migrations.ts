import type { Migration } from '@wispanel/kit';

/**
 * Portal migrations 040–059 belong to releases and downloads. Timestamps are ISO-8601 UTC text.
 * `version_key` is the zero-padded `major.minor.patch` so SQL can skip releases older than a panel's version
 * (prerelease order is then settled in code).
 */
export const releaseMigrations: Migration[] = [
  {
    id: '040_releases',
    sqlite: [
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
        size INTEGER,
        sha256 TEXT,
        artifact_path TEXT,
        signed_release TEXT,
        uploaded_at TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        published_at TEXT,
        yanked_at TEXT,
        yank_reason TEXT
      )`,
      'CREATE INDEX releases_status_channel ON releases (status, channel, version_key)',
    ],
    postgres: [
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
        size BIGINT,
        sha256 TEXT,
        artifact_path TEXT,
        signed_release TEXT,
        uploaded_at TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        published_at TEXT,
        yanked_at TEXT,
        yank_reason TEXT
      )`,
      'CREATE INDEX releases_status_channel ON releases (status, channel, version_key)',
    ],
  },
];
