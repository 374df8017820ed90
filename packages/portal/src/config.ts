import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import {
  ConfigReader,
  isPostgresUrl,
  type ServerLimits,
  type TrustProxy,
  withoutCredentials,
} from '@wispanel/kit';

/** Everything the portal reads from flags and `WISPANEL_PORTAL_*` variables, validated once at start. */
export interface PortalConfig {
  dataDir: string;
  /** SQLite file path or `postgres://…` URL. Default `<dataDir>/portal.db`. */
  databaseUrl: string;
  host: string;
  /** 0 = any free port. */
  port: number;
  /** Both set: serve HTTPS. Neither: plain HTTP (the usual setup behind a TLS terminator). */
  tls: { certPath: string; keyPath: string } | null;
  /** Requests per minute per client IP on the public API (`/api/v1/license/*`, `/api/v1/download/*`). */
  publicRateLimit: number;
  /** Optional Redis URL for a rate limit shared across instances (not implemented yet: see docs/portal-api.md). */
  redisUrl: string | null;
  /** Where release artifacts live. Default `<dataDir>/artifacts`. */
  artifactDir: string;
  /** Largest release artifact an upload may store, in bytes (default 2 GiB). */
  maxArtifactBytes: number;
  /** Signing keys and the license-key pepper. Always `<dataDir>/keys`. */
  keysDir: string;
  /** Trust X-Forwarded-For from a proxy in front (needed for per-IP limits behind a load balancer). */
  /** Proxies allowed to set the client address (X-Forwarded-For): false, a hop count or addresses/CIDRs. */
  trustProxy: TrustProxy;
  /** Header/body deadlines and the per-address connection cap. */
  limits: ServerLimits;
  /** Web console: a session ends after this many minutes without a request (default 30). */
  sessionIdleMinutes: number;
  logLevel: string;
  /**
   * Threads that sign the license check's answers off the event loop (0 = sign on the event loop). Default: 1
   * when the machine has more than one core, else 0.
   */
  signingThreads: number;
  /** Vendor webhook for release events (`release.halted`), HMAC-signed with `releaseWebhookSecret`. */
  releaseWebhookUrl: string | null;
  releaseWebhookSecret: string | null;
}

export interface PortalFlags {
  dataDir?: string;
  databaseUrl?: string;
  host?: string;
  port?: string | number;
  tlsCert?: string;
  tlsKey?: string;
  rateLimit?: string | number;
  redisUrl?: string;
  artifactDir?: string;
  maxArtifactBytes?: string | number;
  trustProxy?: boolean | string;
  headersTimeoutMs?: string | number;
  bodyTimeoutMs?: string | number;
  keepAliveTimeoutMs?: string | number;
  maxConnectionsPerIp?: string | number;
  sessionIdleMinutes?: string | number;
  logLevel?: string;
  signingThreads?: string | number;
  releaseWebhookUrl?: string;
  releaseWebhookSecret?: string;
}

/** Reads flags first, then `WISPANEL_PORTAL_*`, then defaults; throws ConfigError naming every bad value. */
export function loadPortalConfig(
  flags: PortalFlags = {},
  env: Record<string, string | undefined> = process.env,
): PortalConfig {
  const r = new ConfigReader(flags as Record<string, unknown>, env);
  const dataDir = resolve(r.string('dataDir', 'WISPANEL_PORTAL_DATA_DIR', './data/portal'));
  const rawDb = r.string('databaseUrl', 'WISPANEL_PORTAL_DATABASE_URL');
  const databaseUrl = rawDb
    ? isPostgresUrl(rawDb)
      ? rawDb
      : resolve(rawDb.replace(/^sqlite:(\/\/)?/, ''))
    : resolve(dataDir, 'portal.db');
  if (rawDb && /^[a-z]+:\/\//i.test(rawDb) && !isPostgresUrl(rawDb) && !rawDb.startsWith('sqlite:')) {
    r.problem(
      `WISPANEL_PORTAL_DATABASE_URL (--database-url) must be postgres://… or a SQLite file, got "${withoutCredentials(rawDb)}"`,
    );
  }
  const host = r.string('host', 'WISPANEL_PORTAL_HOST', '127.0.0.1');
  const port = r.int('port', 'WISPANEL_PORTAL_PORT', 3090, 0, 65535);
  const certPath = r.string('tlsCert', 'WISPANEL_PORTAL_TLS_CERT');
  const keyPath = r.string('tlsKey', 'WISPANEL_PORTAL_TLS_KEY');
  if (Boolean(certPath) !== Boolean(keyPath)) {
    r.problem('WISPANEL_PORTAL_TLS_CERT and WISPANEL_PORTAL_TLS_KEY (--tls-cert/--tls-key) go together');
  }
  const publicRateLimit = r.int('rateLimit', 'WISPANEL_PORTAL_RATE_LIMIT', 120, 1, 1_000_000);
  const signingThreads = r.int(
    'signingThreads',
    'WISPANEL_PORTAL_SIGNING_THREADS',
    availableParallelism() > 1 ? 1 : 0,
    0,
    16,
  );
  const redisUrl = r.string('redisUrl', 'WISPANEL_PORTAL_REDIS_URL') ?? null;
  if (redisUrl && !/^redis:\/\//.test(redisUrl)) {
    r.problem(
      `WISPANEL_PORTAL_REDIS_URL (--redis-url) must start with redis:// (rediss:// is not supported: use a local TLS tunnel), got "${withoutCredentials(redisUrl)}"`,
    );
  }
  const maxArtifactBytes = r.int(
    'maxArtifactBytes',
    'WISPANEL_PORTAL_MAX_ARTIFACT_BYTES',
    2 * 1024 ** 3,
    1,
    Number.MAX_SAFE_INTEGER,
  );
  const artifactDir = resolve(
    r.string('artifactDir', 'WISPANEL_PORTAL_ARTIFACT_DIR', resolve(dataDir, 'artifacts')),
  );
  const trustProxy = r.trustProxy('trustProxy', 'WISPANEL_PORTAL_TRUST_PROXY');
  const limits = r.serverLimits('WISPANEL_PORTAL');
  const sessionIdleMinutes = r.int(
    'sessionIdleMinutes',
    'WISPANEL_PORTAL_SESSION_IDLE_MINUTES',
    30,
    1,
    24 * 60,
  );
  const logLevel = r.oneOf('logLevel', 'WISPANEL_PORTAL_LOG_LEVEL', 'info', [
    'silent',
    'fatal',
    'error',
    'warn',
    'info',
    'debug',
    'trace',
  ]);
  const releaseWebhookUrl = r.string('releaseWebhookUrl', 'WISPANEL_PORTAL_RELEASE_WEBHOOK_URL') ?? null;
  const releaseWebhookSecret =
    r.string('releaseWebhookSecret', 'WISPANEL_PORTAL_RELEASE_WEBHOOK_SECRET') ?? null;
  if (releaseWebhookUrl) {
    let ok = false;
    try {
      const u = new URL(releaseWebhookUrl);
      ok = (u.protocol === 'http:' || u.protocol === 'https:') && !u.username && !u.password;
    } catch {
      ok = false;
    }
    if (!ok) {
      r.problem(
        `WISPANEL_PORTAL_RELEASE_WEBHOOK_URL (--release-webhook-url) must be an http(s) URL without user or password, got "${withoutCredentials(releaseWebhookUrl)}"`,
      );
    }
    if (!releaseWebhookSecret) {
      r.problem(
        'WISPANEL_PORTAL_RELEASE_WEBHOOK_SECRET (--release-webhook-secret) is required with the webhook URL',
      );
    }
  }
  r.done();
  return {
    dataDir,
    databaseUrl,
    host,
    port,
    tls: certPath && keyPath ? { certPath: resolve(certPath), keyPath: resolve(keyPath) } : null,
    publicRateLimit,
    redisUrl,
    artifactDir,
    maxArtifactBytes,
    keysDir: resolve(dataDir, 'keys'),
    trustProxy,
    limits,
    sessionIdleMinutes,
    logLevel,
    signingThreads,
    releaseWebhookUrl,
    releaseWebhookSecret,
  };
}
