import { PortalApiError, PortalLicenseClient } from '@wispanel/client';
import type { LicenseAction, LicenseAnswer, LicenseRequest, PublicKeySet } from '@wispanel/contract';

/** The portal's license API as the license service uses it (the only side effect it has on the network). */
export interface LicensePortal {
  readonly url: string;
  activate(request: LicenseRequest): Promise<LicenseAnswer>;
  verify(request: LicenseRequest): Promise<LicenseAnswer>;
  refresh(request: LicenseRequest): Promise<LicenseAnswer>;
  /** Frees this hardware id's activation of the key (a replaced key; idempotent on the portal). */
  deactivate(request: LicenseRequest): Promise<LicenseAnswer>;
}

/** The portal could not be reached, or answered something that is not a license answer. */
export class PortalCallError extends Error {
  constructor(
    readonly kind: 'unreachable' | 'bad_answer',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PortalCallError';
  }
}

/**
 * The license API through the typed client (@wispanel/client PortalLicenseClient). Refusals (4xx with
 * `valid:false`) are answers; the portal not reached or answering 5xx is "unreachable"; any other answer that
 * is not a license answer is a bad answer.
 */
export class HttpLicensePortal implements LicensePortal {
  private readonly client: PortalLicenseClient;

  constructor(
    readonly url: string,
    options: { ca?: string | Buffer; timeoutMs?: number } = {},
  ) {
    this.client = new PortalLicenseClient({
      baseUrl: url,
      ca: options.ca,
      timeoutMs: options.timeoutMs ?? 15_000,
    });
  }

  private async run(action: LicenseAction, body: LicenseRequest): Promise<LicenseAnswer> {
    try {
      return (await this.client.call(action, body)).answer;
    } catch (err) {
      if (err instanceof PortalApiError && err.status !== 0 && err.status < 500) {
        throw new PortalCallError('bad_answer', err.message, { cause: err });
      }
      throw new PortalCallError('unreachable', (err as Error).message, { cause: err });
    }
  }

  activate(body: LicenseRequest) {
    return this.run('activate', body);
  }
  verify(body: LicenseRequest) {
    return this.run('verify', body);
  }
  refresh(body: LicenseRequest) {
    return this.run('refresh', body);
  }
  deactivate(body: LicenseRequest) {
    return this.run('deactivate', body);
  }

  /** The keys the portal serves: trusted only for an explicit development portal. */
  async publicKeys(): Promise<PublicKeySet> {
    return this.client.publicKeys();
  }
}
