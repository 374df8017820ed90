import type { LicenseAnswer, LicenseRequest } from '@wispanel/contract';

/** The portal's license API as the license service uses it (the only side effect it has on the network). */
export interface LicensePortal {
  readonly url: string;
  activate(request: LicenseRequest): Promise<LicenseAnswer>;
  verify(request: LicenseRequest): Promise<LicenseAnswer>;
  refresh(request: LicenseRequest): Promise<LicenseAnswer>;
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
