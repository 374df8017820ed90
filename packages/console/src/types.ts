/**
 * Every request and answer shape the console uses, in one place. Account, domain, database and key shapes
 * come from @wispanel/client (the typed client integrators use); license and update shapes from
 * @wispanel/contract where it has them. Types only: nothing of those packages reaches the bundle.
 * TODO(issue 10): point the rest at the contract's TypeBox schemas (`Static<…>`) as they land there.
 */
export type {
  IssuedApiKey,
  PanelApiKey,
  PanelDatabase,
  PanelDomain,
  PanelMe,
  PanelPagination,
  PanelRole,
  PanelUser,
} from '@wispanel/client';

export interface LoginAnswer {
  success: true;
  csrf_token?: string;
  expires_at: string;
  user: { username: string; role: string };
}

type Kinds<T> = { accounts: T; domains: T; databases: T };

export interface LicenseSummary {
  tier: string;
  status: string;
  is_valid: boolean;
  reason: string | null;
  message: string;
  key: string | null;
  days_left: number | null;
  lease_days_left: number | null;
  expires_at: string | null;
  valid_until: string | null;
  grace_ends_at: string | null;
  needs_refresh: boolean;
  over_limit: Kinds<boolean>;
  any_over_limit: boolean;
  creation_frozen: Kinds<boolean>;
  enforcement: { over_limit_since: string | null; enforce_after: string | null; disabled: Kinds<number> };
  clock: { behind: boolean; behind_seconds: number; system_time: string; trusted_time: string | null };
  portal: {
    configured: boolean;
    development: boolean;
    url: string | null;
    last_checked: string | null;
    last_error: { code: string; message: string; at: string } | null;
    consecutive_failures: number;
    next_check_at: string | null;
  };
  pending_deactivations: Array<{
    key: string;
    since: string;
    attempts: number;
    next_attempt_at: string | null;
  }>;
}

export interface LimitRow {
  limit: number;
  usage: number;
  remaining: number;
  over_limit: boolean;
  at_limit: boolean;
  disabled: number;
}
export interface LicenseLimits {
  tier: string;
  source: string;
  limits: Kinds<LimitRow>;
}

export interface LicenseOverview {
  license: {
    key: string | null;
    tier: string;
    is_valid: boolean;
    has_license_file: boolean;
    needs_refresh: boolean;
    max_users: number;
    max_domains: number;
    max_databases: number;
    expires_at: string | null;
    valid_until: string | null;
    last_checked: string | null;
  };
  usage: Kinds<number>;
}

export interface DisabledResources {
  total: number;
  limit: number;
  offset: number;
  resources: Array<{
    type: string;
    id: number;
    name: string;
    owner: string;
    disabled_at: string;
    reason: string;
  }>;
}

export interface AuditEntry {
  id: number;
  at: string;
  action: string;
  actor: string;
  outcome: string;
  code: string | null;
  message: string;
  detail: unknown;
}

export interface ActionAnswer {
  success: boolean;
  message: string;
}

export interface VersionInfo {
  version: string;
  channel: string;
  build_time: string;
  git_commit: string;
  info: string;
}

export interface ChangelogAnswer {
  current_version: string;
  latest_version: string;
  update_available: boolean;
  critical: boolean;
  channel: string;
  changelog: string;
  releases: Array<{
    version: string;
    channel: string;
    changelog: string;
    critical: boolean;
    published_at: string;
  }>;
}

export interface UpdateStatus {
  job_id: string | null;
  state: string;
  from_version: string | null;
  to_version: string | null;
  progress: { bytes: number; total: number | null; percent: number | null };
  started_at: string | null;
  updated_at: string | null;
  finished_at: string | null;
  error: { code: string; message: string } | null;
  log: string[];
  supervised: boolean;
}

export interface UpdateAccepted {
  success: boolean;
  message: string;
  job_id: string;
  to_version: string;
}

export interface UpdateHistory {
  updates: Array<{
    job_id: string | null;
    state: string;
    from_version: string | null;
    to_version: string | null;
    started_at: string | null;
    finished_at: string | null;
    error: { code: string; message: string } | null;
    source: string | null;
  }>;
}
