/**
 * Every request and answer shape the console uses, in one place. Account, domain, database, key, session and
 * version shapes are the contract's (`Static<>` of the schemas the panel validates and documents with); license
 * shapes too (panel-license.ts). Types only: nothing of those packages reaches the bundle.
 */
import type {
  ApiKeyIssuedAnswer,
  DisabledResourcesAnswer,
  LicenseAuditAnswer,
  OkMessage,
  PanelLoginAnswer,
  VersionChangelog,
  VersionCheck,
} from '@wispanel/contract';

export type {
  PanelApiKey,
  PanelDatabase,
  PanelDomain,
  PanelMe,
  PanelPagination,
  PanelRole,
  PanelUser,
  UpdateAccepted,
  UpdateHistory,
  UpdateStatus,
  VersionInfo,
} from '@wispanel/contract';

export type IssuedApiKey = ApiKeyIssuedAnswer;
export type LoginAnswer = PanelLoginAnswer;
export type ChangelogAnswer = VersionChangelog;
export type { UpdateSettings, VersionCheck } from '@wispanel/contract';
/** `GET /version/check`: why a newer release is not offered, and what the update policy does now. */
export type HeldBackRelease = NonNullable<VersionCheck['held_back']>[number];
export type AutoUpdateExplanation = NonNullable<VersionCheck['auto_update']>;

export type { LicenseLimits, LicenseOverview, LicenseSummary } from '@wispanel/contract';
export type DisabledResources = DisabledResourcesAnswer;
export type AuditEntry = LicenseAuditAnswer['entries'][number];

export type {
  DatabaseListQuery,
  DomainListQuery,
  LicenseActivateAnswer,
  LicenseAuditQuery,
  UserListQuery,
} from '@wispanel/contract';
export type { LicenseAuditAnswer };
/** What every license action answers besides its own fields (verify, refresh, enforce, re-enable). */
export type ActionAnswer = OkMessage;
