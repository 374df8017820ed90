import type { Migration } from '@wispanel/kit';

const statements = [
  // server_time of the last license file this panel accepted: a stored file older than it (a copy restored
  // after a downgrade) is refused. Kept outside the file so that restoring the file cannot lower it.
  'ALTER TABLE license_state ADD COLUMN license_file_time TEXT NULL',
];

export const m023LicenseFileFloor: Migration = {
  id: '023_license_file_floor',
  sqlite: statements,
  postgres: statements,
};
