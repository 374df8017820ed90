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

/**
 * The trust for this panel: given keys (tests), else --portal-keys, else (only --portal-dev) the keys the
 * development portal serves, else none (every portal answer is then refused as UNKNOWN_KEY).
 */
export async function resolvePortalTrust(
  config: PanelConfig,
  logger: Logger,
  given?: TrustedKeys,
): Promise<PortalTrust> {
  if (given) return trustFromKeys(given);
  const fromFile = portalTrustFromFile(config);
  if (fromFile) return fromFile;
  if (config.portalDev && config.portalUrl) {
    try {
      const served = await new HttpLicensePortal(config.portalUrl, { timeoutMs: 5000 }).publicKeys();
      const trust = trustFromKeySet(served);
      logger.warn(
        { portal: config.portalUrl, kids: [...trust.keys.keys()] },
        'trusting the keys of a DEVELOPMENT portal',
      );
      return trust;
    } catch (err) {
      logger.warn({ err }, 'development portal keys could not be fetched');
    }
  }
  return trustFromKeys(new Map());
}
