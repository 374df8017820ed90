import { createServer } from 'node:net';
import { DEFAULT_SERVER_LIMITS, parseTrustProxy, type ServerLimits, type TrustProxy } from './server-limits';

/** A configuration problem list: a service refuses to start and names every bad value at once. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Commander gives flags in camelCase (`maxArtifactBytes`); people type them in kebab-case. */
const kebab = (flag: string) => flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** Collects problems while reading settings from flags and environment. */
export class ConfigReader {
  readonly problems: string[] = [];

  constructor(
    private readonly flags: Record<string, unknown>,
    private readonly env: Record<string, string | undefined>,
  ) {}

  /** First defined of: flag, environment variable. */
  raw(flag: string, envName: string): string | undefined {
    const f = this.flags[flag];
    if (f !== undefined && f !== null && f !== false) return String(f);
    const e = this.env[envName];
    return e === undefined || e === '' ? undefined : e;
  }

  string(flag: string, envName: string, fallback: string): string;
  string(flag: string, envName: string): string | undefined;
  string(flag: string, envName: string, fallback?: string): string | undefined {
    return this.raw(flag, envName) ?? fallback;
  }

  int(flag: string, envName: string, fallback: number, min: number, max: number): number {
    const v = this.raw(flag, envName);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      this.problems.push(
        `${envName} (--${kebab(flag)}) must be a whole number from ${min} to ${max}, got "${v}"`,
      );
      return fallback;
    }
    return n;
  }

  bool(flag: string, envName: string, fallback: boolean): boolean {
    const v = this.raw(flag, envName);
    if (v === undefined) return fallback;
    if (['1', 'true', 'yes', 'on'].includes(v.toLowerCase())) return true;
    if (['0', 'false', 'no', 'off'].includes(v.toLowerCase())) return false;
    this.problems.push(`${envName} (--${kebab(flag)}) must be true or false, got "${v}"`);
    return fallback;
  }

  oneOf<T extends string>(flag: string, envName: string, fallback: T, allowed: readonly T[]): T {
    const v = this.raw(flag, envName);
    if (v === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(v)) {
      this.problems.push(`${envName} (--${kebab(flag)}) must be one of ${allowed.join(', ')}, got "${v}"`);
      return fallback;
    }
    return v as T;
  }

  /** A trust-proxy setting (see parseTrustProxy): false, a hop count, or proxy addresses/CIDRs. */
  trustProxy(flag: string, envName: string): TrustProxy {
    const parsed = parseTrustProxy(this.raw(flag, envName));
    if (typeof parsed === 'object' && parsed !== null && 'problem' in parsed) {
      this.problems.push(`${envName} (--${kebab(flag)}): ${parsed.problem}`);
      return false;
    }
    return parsed;
  }

  /** Header/body deadlines and the per-address connection cap, from `<prefix>_HEADERS_TIMEOUT_MS` etc. */
  serverLimits(prefix: string): ServerLimits {
    const d = DEFAULT_SERVER_LIMITS;
    return {
      headersTimeoutMs: this.int(
        'headersTimeoutMs',
        `${prefix}_HEADERS_TIMEOUT_MS`,
        d.headersTimeoutMs,
        500,
        600_000,
      ),
      bodyTimeoutMs: this.int('bodyTimeoutMs', `${prefix}_BODY_TIMEOUT_MS`, d.bodyTimeoutMs, 500, 3_600_000),
      keepAliveTimeoutMs: this.int(
        'keepAliveTimeoutMs',
        `${prefix}_KEEP_ALIVE_TIMEOUT_MS`,
        d.keepAliveTimeoutMs,
        1000,
        600_000,
      ),
      maxConnectionsPerIp: this.int(
        'maxConnectionsPerIp',
        `${prefix}_MAX_CONNECTIONS_PER_IP`,
        d.maxConnectionsPerIp,
        0,
        1_000_000,
      ),
    };
  }

  problem(text: string): void {
    this.problems.push(text);
  }

  /** Throws ConfigError listing every problem, if any. */
  done(): void {
    if (this.problems.length > 0) throw new ConfigError(this.problems);
  }
}

/** A URL as it may appear in a message or log line: without user name and password. */
export function withoutCredentials(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
}

/**
 * `wispanel start` and `wispanel-portal start` check the listen address before anything else: on a busy (or forbidden) port it fails
 * naming it, before a data dir or database is initialised and before any secret is printed. Port 0 is always free.
 * (Another process may still take the port between this check and the listen; then start fails there.)
 * `waitMs`: keep asking that long while the port is in use — a supervised panel started by a restarted
 * supervisor may find the panel of the killed one still stopping (it exits when the IPC channel closes).
 */
export async function assertPortFree(
  host: string,
  port: number,
  options: { waitMs?: number } = {},
): Promise<void> {
  if (port === 0) return;
  const deadline = Date.now() + (options.waitMs ?? 0);
  for (;;) {
    const err = await new Promise<NodeJS.ErrnoException | null>((resolvePromise) => {
      const probe = createServer();
      probe.once('error', (e: NodeJS.ErrnoException) => resolvePromise(e));
      probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolvePromise(null)));
    });
    if (!err) return;
    // A busy port may be a predecessor still stopping (waitMs): ask again until the deadline.
    if (err.code === 'EADDRINUSE' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    const why =
      err.code === 'EADDRINUSE'
        ? 'is in use (another process listens there)'
        : err.code === 'EACCES'
          ? 'needs more privileges'
          : `cannot be used (${err.code ?? err.message})`;
    throw new ConfigError([`port ${port} on ${host} ${why}: nothing was initialised or started`]);
  }
}
