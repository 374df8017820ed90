import {
  PORTAL_ANSWER_MAX_BYTES,
  PORTAL_CALL_DEADLINE_MS,
  PortalApiError,
  PortalLicenseClient,
} from '@wispanel/client';
import type { LicenseAction, LicenseAnswer, LicenseRequest, PublicKeySet } from '@wispanel/contract';
import { AppError } from '@wispanel/kit';

/** The portal's license API as the license service uses it (the only side effect it has on the network). */
export interface LicensePortal {
  readonly url: string;
  activate(request: LicenseRequest): Promise<LicenseAnswer>;
  verify(request: LicenseRequest): Promise<LicenseAnswer>;
  refresh(request: LicenseRequest): Promise<LicenseAnswer>;
  /** Frees this hardware id's activation of the key (a replaced key; idempotent on the portal). */
  deactivate(request: LicenseRequest): Promise<LicenseAnswer>;
}

/**
 * The portal could not be reached (or gave no complete answer within the call's deadline), answered something
 * that is not a license answer, or answered more than the answer cap (PORTAL_ANSWER_MAX_BYTES).
 */
export class PortalCallError extends Error {
  constructor(
    readonly kind: 'unreachable' | 'bad_answer' | 'too_large',
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
    options: { ca?: string | Buffer; timeoutMs?: number; maxAnswerBytes?: number } = {},
  ) {
    // Every call has an overall deadline (connect + headers + whole body) and a capped answer body.
    this.client = new PortalLicenseClient({
      baseUrl: url,
      ca: options.ca,
      timeoutMs: options.timeoutMs ?? PORTAL_CALL_DEADLINE_MS,
      maxAnswerBytes: options.maxAnswerBytes ?? PORTAL_ANSWER_MAX_BYTES,
    });
  }

  private async run(action: LicenseAction, body: LicenseRequest): Promise<LicenseAnswer> {
    try {
      return (await this.client.call(action, body)).answer;
    } catch (err) {
      if (err instanceof PortalApiError && err.code === 'PORTAL_ANSWER_TOO_LARGE') {
        throw new PortalCallError('too_large', err.message, { cause: err });
      }
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

/** Where a license call is sent (the exchange's only side effect). */
export type LicenseOperation = 'activate' | 'verify' | 'refresh' | 'deactivate';

/**
 * One license call, its failures as the panel's errors: not reached or no complete answer within the deadline
 * → PORTAL_UNREACHABLE; an answer over the cap → PORTAL_ANSWER_TOO_LARGE; anything else unusable →
 * PORTAL_ERROR. Refusals are answers (returned).
 */
export async function callLicensePortal(
  portal: LicensePortal,
  op: LicenseOperation,
  body: LicenseRequest,
): Promise<LicenseAnswer> {
  try {
    return await portal[op](body);
  } catch (err) {
    if (err instanceof PortalCallError && err.kind === 'too_large') {
      throw new AppError(
        'PORTAL_ANSWER_TOO_LARGE',
        `The license portal at ${portal.url} sent too much: ${err.message}`,
      );
    }
    if (err instanceof PortalCallError && err.kind === 'bad_answer') {
      throw new AppError('PORTAL_ERROR', `The license portal gave an unusable answer: ${err.message}`);
    }
    throw new AppError(
      'PORTAL_UNREACHABLE',
      `The license portal at ${portal.url} is unreachable: ${(err as Error).message}`,
    );
  }
}
