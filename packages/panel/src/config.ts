import { resolve } from 'node:path';
import { ConfigReader, type ServerLimits, type TrustProxy, withoutCredentials } from '@wispanel/kit';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const CHANNELS = ['stable', 'beta', 'alpha'] as const;
export type Channel = (typeof CHANNELS)[number];

/**
 * Everything the panel reads from its flags and environment, parsed and validated once at start.
 * Nothing else in the panel reads `process.env`. Other modules add their fields here (small additive edits):
 * add the field to the interface and read it in `loadPanelConfig` with the same ConfigReader.
 */
export interface PanelConfig {
  /** Directory holding the database, TLS pair, hardware id and other state. */
  dataDir: string;
  /** Database URL: a SQLite path (default `<dataDir>/panel.db`) or `postgres://…`. */
  databaseUrl: string;
  host: string;
  /** 0 = any free port. */
  port: number;
  /** Serve plain HTTP instead of HTTPS (benchmarks and reverse proxies only). */
  tlsDisabled: boolean;
  /** Configured certificate pair; when both are absent a self-signed pair lives in `<dataDir>/tls`. */
  tlsCertPath: string | undefined;
  tlsKeyPath: string | undefined;
  /** Requests per minute per API token. */
  rateLimitPerMinute: number;
  /** Login attempts per minute per client IP. */
  loginRateLimitPerMinute: number;
  /** Lifetime of a UI session token, in hours. */
  sessionTtlHours: number;
  /** A UI session unused this long ends (idle expiry), in minutes; never past sessionTtlHours. */
  sessionIdleMinutes: number;
  /** Largest accepted request body, bytes. */
  bodyLimitBytes: number;
  logLevel: LogLevel;
  /** Release channel this panel follows. */
  channel: Channel;
  /** Trust X-Forwarded-For from a reverse proxy (client IP for whitelists and login rate limits). */
  /** Proxies allowed to set the client address (X-Forwarded-For): false, a hop count or addresses/CIDRs. */
  trustProxy: TrustProxy;
  /** Header/body deadlines and the per-address connection cap. */
  limits: ServerLimits;
  // ---- license (docs/license.md) ----
  /** Portal base URL (`https://portal.example.com`); undefined = no portal (unlicensed allowance only). */
  portalUrl: string | undefined;
  /** The JSON of the portal's `GET /api/v1/keys`: the only keys license files are trusted from. */
  portalKeysPath: string | undefined;
  /** Extra CA (PEM) for the portal's TLS certificate. */
  portalCaPath: string | undefined;
  /** Explicit local development portal: trust the keys it serves (loopback URLs only). */
  portalDev: boolean;
  /** Grace after the lease or term ends, in days; undefined = the grace the license file carries. */
  licenseGraceDays: number | undefined;
  /** How long usage may stay over a limit before the scheduler disables the excess, in hours. */
  licenseEnforceAfterHours: number;
  /** Longest time between two portal checks while all is well, in seconds. */
  licenseCheckIntervalSeconds: number;
  /** Scheduler step interval in seconds; 0 = no background job (tests). */
  licenseTickSeconds: number;
  /** Outbound webhook for license audit entries (http/https URL); undefined = none. */
  licenseWebhookUrl: string | undefined;
  /** HMAC-SHA256 key signing each webhook body; required with the URL. Never logged or echoed. */
  licenseWebhookSecret: string | undefined;
  /** What a panel without a valid license may hold (-1 = unlimited). */
  unlicensedLimits: { max_users: number; max_domains: number; max_databases: number };
  // ---- updates (docs/updates.md) ----
  /** Install dir of releases (`releases/<version>`, `current`, state); undefined = running from source. */
  installDir: string | undefined;
  /** Started by `wispanel run` (the supervisor): only then can the panel switch releases and restart. */
  supervised: boolean;
  /** Test hook `pause@<step>` / `kill@<step>` for crash-safety tests (never set in production). */
  updateHook: string | undefined;
}

export type PanelFlags = Record<string, unknown>;

/**
 * Reads flags (commander's camelCase option names: `dataDir`, `port`, …) and `WISPANEL_*` variables.
 * Flags win over the environment. Throws ConfigError naming every bad value.
 */
export function loadPanelConfig(
  flags: PanelFlags = {},
  env: Record<string, string | undefined> = process.env,
): PanelConfig {
  const r = new ConfigReader(flags, env);
  const dataDir = resolve(r.string('dataDir', 'WISPANEL_DATA_DIR', './data'));
  const databaseUrl = r.string('databaseUrl', 'WISPANEL_DATABASE_URL', resolve(dataDir, 'panel.db'));
  const host = r.string('host', 'WISPANEL_HOST', '0.0.0.0');
  if (!/^[A-Za-z0-9.:[\]-]+$/.test(host))
    r.problem(`WISPANEL_HOST (--host) is not a valid host, got "${host}"`);
  const tlsCertPath = r.string('tlsCert', 'WISPANEL_TLS_CERT');
  const tlsKeyPath = r.string('tlsKey', 'WISPANEL_TLS_KEY');
  if ((tlsCertPath === undefined) !== (tlsKeyPath === undefined)) {
    r.problem('WISPANEL_TLS_CERT and WISPANEL_TLS_KEY (--tls-cert, --tls-key) must be given together');
  }
  const config: PanelConfig = {
    dataDir,
    databaseUrl,
    host,
    port: r.int('port', 'WISPANEL_PORT', 2083, 0, 65535),
    tlsDisabled: r.bool('noTls', 'WISPANEL_TLS_DISABLED', false),
    tlsCertPath: tlsCertPath ? resolve(tlsCertPath) : undefined,
    tlsKeyPath: tlsKeyPath ? resolve(tlsKeyPath) : undefined,
    rateLimitPerMinute: r.int('rateLimit', 'WISPANEL_RATE_LIMIT', 60, 1, 10_000_000),
    loginRateLimitPerMinute: r.int('loginRateLimit', 'WISPANEL_LOGIN_RATE_LIMIT', 10, 1, 1_000_000),
    sessionTtlHours: r.int('sessionTtlHours', 'WISPANEL_SESSION_TTL_HOURS', 12, 1, 24 * 30),
    sessionIdleMinutes: r.int('sessionIdleMinutes', 'WISPANEL_SESSION_IDLE_MINUTES', 30, 1, 24 * 60 * 30),
    bodyLimitBytes: r.int('bodyLimit', 'WISPANEL_BODY_LIMIT', 1024 * 1024, 1024, 64 * 1024 * 1024),
    logLevel: r.oneOf('logLevel', 'WISPANEL_LOG_LEVEL', 'info', LOG_LEVELS),
    channel: r.oneOf('channel', 'WISPANEL_CHANNEL', 'stable', CHANNELS),
    trustProxy: r.trustProxy('trustProxy', 'WISPANEL_TRUST_PROXY'),
    limits: r.serverLimits('WISPANEL'),
    ...readLicenseConfig(r),
    ...readUpdateConfig(r),
  };
  r.done();
  return config;
}

/** Update settings (docs/updates.md). */
function readUpdateConfig(r: ConfigReader) {
  const installDir = r.string('installDir', 'WISPANEL_INSTALL_DIR');
  return {
    installDir: installDir ? resolve(installDir) : undefined,
    supervised: r.bool('supervised', 'WISPANEL_SUPERVISED', false),
    updateHook: r.string('updateHook', 'WISPANEL_UPDATE_HOOK'),
  };
}

/**
 * The license webhook (docs/license.md, "Webhook"). The secret is never part of a message; the URL appears
 * only without its user name and password.
 */
function readLicenseWebhook(r: ConfigReader) {
  const url = r.string('licenseWebhookUrl', 'WISPANEL_LICENSE_WEBHOOK_URL');
  const secret = r.string('licenseWebhookSecret', 'WISPANEL_LICENSE_WEBHOOK_SECRET');
  if (url !== undefined) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      r.problem(
        `WISPANEL_LICENSE_WEBHOOK_URL (--license-webhook-url) is not a URL, got "${withoutCredentials(url)}"`,
      );
    }
    if (parsed && parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
      r.problem(
        `WISPANEL_LICENSE_WEBHOOK_URL (--license-webhook-url) must be http:// or https://, got "${withoutCredentials(url)}"`,
      );
    } else if (parsed && (parsed.username !== '' || parsed.password !== '')) {
      // fetch() refuses such a URL, so every delivery would fail; receivers authenticate by the signature.
      r.problem(
        `WISPANEL_LICENSE_WEBHOOK_URL (--license-webhook-url) must not contain a user name or password (deliveries are signed with the secret instead), got "${withoutCredentials(url)}"`,
      );
    }
    if (secret === undefined) {
      r.problem(
        'WISPANEL_LICENSE_WEBHOOK_SECRET (--license-webhook-secret) is required with a license webhook URL: receivers verify X-WisPanel-Signature with it',
      );
    } else if (secret.length < 16) {
      r.problem(
        `WISPANEL_LICENSE_WEBHOOK_SECRET (--license-webhook-secret) must be at least 16 characters (value not shown), got ${secret.length}`,
      );
    }
  } else if (secret !== undefined) {
    r.problem(
      'WISPANEL_LICENSE_WEBHOOK_SECRET (--license-webhook-secret) is set but WISPANEL_LICENSE_WEBHOOK_URL (--license-webhook-url) is not',
    );
  }
  return { licenseWebhookUrl: url, licenseWebhookSecret: url === undefined ? undefined : secret };
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** License settings (docs/license.md). */
function readLicenseConfig(r: ConfigReader) {
  const portalUrl = r.string('portalUrl', 'WISPANEL_PORTAL_URL');
  const portalKeys = r.string('portalKeys', 'WISPANEL_PORTAL_KEYS');
  const portalCa = r.string('portalCa', 'WISPANEL_PORTAL_CA');
  const portalDev = r.bool('portalDev', 'WISPANEL_PORTAL_DEV', false);
  let loopback = false;
  if (portalUrl !== undefined) {
    try {
      const u = new URL(portalUrl);
      loopback = LOOPBACK_HOSTS.has(u.hostname);
      if (u.protocol !== 'https:' && !(u.protocol === 'http:' && loopback)) {
        r.problem(
          `WISPANEL_PORTAL_URL (--portal-url) must be https:// (http:// only on loopback), got "${portalUrl}"`,
        );
      }
    } catch {
      r.problem(`WISPANEL_PORTAL_URL (--portal-url) is not a URL, got "${portalUrl}"`);
    }
    if (!portalKeys && !portalDev) {
      r.problem(
        "WISPANEL_PORTAL_KEYS (--portal-keys) is required with a portal URL: the JSON of the portal's GET /api/v1/keys",
      );
    }
  }
  if (portalDev && portalUrl !== undefined && !loopback) {
    r.problem(
      'WISPANEL_PORTAL_DEV (--portal-dev) trusts the keys a portal serves and is allowed for loopback portal URLs only',
    );
  }
  const webhook = readLicenseWebhook(r);
  const grace = r.raw('licenseGraceDays', 'WISPANEL_LICENSE_GRACE_DAYS');
  return {
    portalUrl,
    portalKeysPath: portalKeys ? resolve(portalKeys) : undefined,
    portalCaPath: portalCa ? resolve(portalCa) : undefined,
    portalDev,
    licenseGraceDays:
      grace === undefined ? undefined : r.int('licenseGraceDays', 'WISPANEL_LICENSE_GRACE_DAYS', 0, 0, 365),
    licenseEnforceAfterHours: r.int(
      'licenseEnforceAfterHours',
      'WISPANEL_LICENSE_ENFORCE_AFTER_HOURS',
      168,
      0,
      24 * 365,
    ),
    licenseCheckIntervalSeconds: r.int(
      'licenseCheckInterval',
      'WISPANEL_LICENSE_CHECK_INTERVAL',
      86_400,
      10,
      30 * 86_400,
    ),
    licenseTickSeconds: r.int('licenseTick', 'WISPANEL_LICENSE_TICK', 60, 0, 86_400),
    ...webhook,
    unlicensedLimits: {
      max_users: r.int('unlicensedMaxUsers', 'WISPANEL_UNLICENSED_MAX_USERS', 10, -1, 1_000_000_000),
      max_domains: r.int('unlicensedMaxDomains', 'WISPANEL_UNLICENSED_MAX_DOMAINS', 10, -1, 1_000_000_000),
      max_databases: r.int(
        'unlicensedMaxDatabases',
        'WISPANEL_UNLICENSED_MAX_DATABASES',
        10,
        -1,
        1_000_000_000,
      ),
    },
  };
}
