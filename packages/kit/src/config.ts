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
