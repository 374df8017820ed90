import type { Migration } from '@wispanel/kit';

const statements = [
  // A signed refusal from the portal (REVOKED, SUSPENDED, EXPIRED) and the signed time it was given.
  'ALTER TABLE license_state ADD COLUMN portal_verdict TEXT NULL',
  'ALTER TABLE license_state ADD COLUMN portal_verdict_at TEXT NULL',
];

export const m021LicenseVerdict: Migration = {
  id: '021_license_verdict',
  sqlite: statements,
  postgres: statements,
};
