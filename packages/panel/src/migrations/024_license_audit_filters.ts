import type { Migration } from '@wispanel/kit';

// `GET /license/audit?action=&outcome=&actor=` walks newest first (id desc) under an equality filter: each
// (column, id) index serves the filter, the order and the `before` cursor at once. `since`/`until` use the
// existing index on `at`.
const statements = [
  'CREATE INDEX license_audit_action_idx ON license_audit (action, id)',
  'CREATE INDEX license_audit_outcome_idx ON license_audit (outcome, id)',
  'CREATE INDEX license_audit_actor_idx ON license_audit (actor, id)',
];

export const m024LicenseAuditFilters: Migration = {
  id: '024_license_audit_filters',
  sqlite: statements,
  postgres: statements,
};
