import { readFileSync } from 'node:fs';
import { type PublicKeySet, parsePublicKeySet, type TrustedKeys } from '@wispanel/contract';
import type { Logger } from 'pino';
import type { PanelConfig } from '../../config';
import { HttpLicensePortal } from './license-portal';

/**
 * The one place the panel assembles "which portal, and which of its keys to trust" (license service, update
 * service, `wispanel update`). Keys come from --portal-keys (the portal's GET /api/v1/keys), or for an
 * explicit development portal (--portal-dev, loopback only) from the keys that portal serves.
 */
export interface PortalTrust {
  /** Every listed key (current and retired): a stored license file or a release may be signed by any. */
  keys: TrustedKeys;
  /** Keys a new portal answer may be signed by: those listed `current` (a retired key signs nothing new). */
  answerKeys: TrustedKeys;
}

export interface PortalEndpoint {
  url: string;
  /** Extra CA for the portal's TLS certificate (--portal-ca). */
  ca: Buffer | undefined;
  development: boolean;
}

/** A PublicKeySet (object or JSON text) as trust: all keys, and the current ones for new answers. */
export function trustFromKeySet(input: unknown): PortalTrust {
  const keys = parsePublicKeySet(input);
  const set = (typeof input === 'string' ? JSON.parse(input) : input) as PublicKeySet;
  const retired = new Set(set.keys.filter((k) => k.status === 'retired').map((k) => k.kid));
  const answerKeys = new Map([...keys].filter(([kid]) => !retired.has(kid)));
  return { keys, answerKeys };
}

/** Trust given as a plain key map (tests, callers that know no statuses): every key signs answers. */
export function trustFromKeys(keys: TrustedKeys): PortalTrust {
  return { keys, answerKeys: keys };
}

/** The configured portal (URL, CA), or null when none is configured. */
export function portalEndpointFrom(config: PanelConfig): PortalEndpoint | null {
  if (!config.portalUrl) return null;
  return {
    url: config.portalUrl,
    ca: config.portalCaPath ? readFileSync(config.portalCaPath) : undefined,
    development: config.portalDev === true,
  };
}

/** The trust of --portal-keys, read synchronously; null when no key file is configured. */
export function portalTrustFromFile(config: PanelConfig): PortalTrust | null {
  return config.portalKeysPath ? trustFromKeySet(readFileSync(config.portalKeysPath, 'utf8')) : null;
}

/** A development portal's keys could not be fetched (the caller answers PORTAL_UNREACHABLE naming the URL). */
export class PortalKeysUnavailable extends Error {
  constructor(
    readonly url: string,
    cause: unknown,
  ) {
    super(`portal keys from ${url}: ${(cause as Error)?.message ?? String(cause)}`);
    this.name = 'PortalKeysUnavailable';
  }
}

const NO_KEYS: TrustedKeys = new Map();

/**
 * The panel's portal trust, resolved once by the composition root and shared by the license service and the
 * update service (so both trust exactly the same keys): given keys (tests), else --portal-keys, else (only
 * --portal-dev) the keys the development portal serves, else none (every portal answer is then refused as
 * UNKNOWN_KEY, and updates say PORTAL_NOT_CONFIGURED). A development portal that is down at start is asked
 * again by `ensure()` (the update check calls it) until it answers.
 */
export class PortalTrustSource {
  private constructor(
    private readonly config: PanelConfig,
    private readonly logger: Logger,
    private trust: PortalTrust | null,
  ) {}

  static async resolve(config: PanelConfig, logger: Logger, given?: TrustedKeys): Promise<PortalTrustSource> {
    if (given) return new PortalTrustSource(config, logger, trustFromKeys(given));
    const fromFile = portalTrustFromFile(config);
    if (fromFile) return new PortalTrustSource(config, logger, fromFile);
    const source = new PortalTrustSource(config, logger, null);
    if (source.development) {
      try {
        await source.fetchDevelopmentKeys();
      } catch (err) {
        logger.warn({ err }, 'development portal keys could not be fetched');
      }
    }
    return source;
  }

  private get development(): boolean {
    return this.config.portalDev === true && Boolean(this.config.portalUrl);
  }

  /** Every listed key (current and retired); empty while none is known. */
  get keys(): TrustedKeys {
    return this.trust?.keys ?? NO_KEYS;
  }

  /** Keys a new portal answer may be signed by (those listed `current`); empty while none is known. */
  get answerKeys(): TrustedKeys {
    return this.trust?.answerKeys ?? NO_KEYS;
  }

  /**
   * The trust, asking a development portal for its keys while they are not known yet; null when no keys are
   * configured at all. Throws PortalKeysUnavailable when the development portal does not answer with a key set.
   */
  async ensure(): Promise<PortalTrust | null> {
    if (!this.trust && this.development) await this.fetchDevelopmentKeys();
    return this.trust;
  }

  private async fetchDevelopmentKeys(): Promise<void> {
    const base = (this.config.portalUrl as string).replace(/\/+$/, '');
    let trust: PortalTrust;
    try {
      const served = await new HttpLicensePortal(base, { timeoutMs: 5000 }).publicKeys();
      trust = trustFromKeySet(served);
    } catch (err) {
      throw new PortalKeysUnavailable(`${base}/api/v1/keys`, err);
    }
    this.logger.warn(
      { portal: base, kids: [...trust.keys.keys()] },
      'trusting the keys of a DEVELOPMENT portal',
    );
    this.trust = trust;
  }
}
