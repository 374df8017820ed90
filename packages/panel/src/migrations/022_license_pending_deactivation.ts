import type { Migration } from '@wispanel/kit';

const statements = [
  // Keys this panel replaced whose activation on the portal is not freed yet (JSON list; retried by the job).
  'ALTER TABLE license_state ADD COLUMN pending_deactivations TEXT NULL',
];

export const m022LicensePendingDeactivation: Migration = {
  id: '022_license_pending_deactivation',
  sqlite: statements,
  postgres: statements,
};
