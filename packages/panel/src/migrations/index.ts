import type { Migration } from '@wispanel/kit';
import { m001Core } from './001_core';
import { m020License } from './020_license';
import { m021LicenseVerdict } from './021_license_verdict';
import { m022LicensePendingDeactivation } from './022_license_pending_deactivation';
import { m023LicenseFileFloor } from './023_license_file_floor';
import { m024LicenseAuditFilters } from './024_license_audit_filters';

/**
 * Every panel migration, one numbered file each. Id ranges per owner so parallel work never collides:
 * 001–019 core (accounts, domains, databases, keys), 020–039 license, 040–059 updates.
 * Add yours with one import and one line below.
 */
export const migrations: Migration[] = [
  m001Core,
  m020License,
  m021LicenseVerdict,
  m022LicensePendingDeactivation,
  m023LicenseFileFloor,
  m024LicenseAuditFilters,
];
