import type { LicenseAnswer, LicenseRequest } from '@wispanel/contract';
import { Agent, type Dispatcher, request } from 'undici';

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

/**
 * The license API over HTTPS with undici. Any JSON answer carrying `valid` and `code` is a license answer
 * (refusals come with a 4xx status and the same body shape); anything else is a bad answer; a network
 * failure or timeout is "unreachable".
 */
export class HttpLicensePortal implements LicensePortal {
  private readonly dispatcher: Dispatcher;

  constructor(
    readonly url: string,
    options: { ca?: string | Buffer; insecureTls?: boolean; timeoutMs?: number } = {},
  ) {
    this.dispatcher = new Agent({
      connect: { ...(options.ca ? { ca: options.ca } : {}), rejectUnauthorized: !options.insecureTls },
      headersTimeout: options.timeoutMs ?? 15_000,
      bodyTimeout: options.timeoutMs ?? 15_000,
      connectTimeout: options.timeoutMs ?? 15_000,
    });
  }

  private async post(action: string, body: LicenseRequest): Promise<LicenseAnswer> {
    const base = this.url.replace(/\/+$/, '');
    let res: Dispatcher.ResponseData;
    try {
      res = await request(`${base}/api/v1/license/${action}`, {
        method: 'POST',
        dispatcher: this.dispatcher,
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(body),
      });
    } catch (err) {
      throw new PortalCallError('unreachable', (err as Error).message, { cause: err });
    }
    let text: string;
    try {
      text = await res.body.text();
    } catch (err) {
      throw new PortalCallError('unreachable', (err as Error).message, { cause: err });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      if (res.statusCode >= 500) throw new PortalCallError('unreachable', `HTTP ${res.statusCode}`);
      throw new PortalCallError('bad_answer', `HTTP ${res.statusCode}, not JSON`);
    }
    const a = json as LicenseAnswer;
    if (typeof a !== 'object' || a === null || typeof a.valid !== 'boolean' || typeof a.code !== 'string') {
      if (res.statusCode >= 500) throw new PortalCallError('unreachable', `HTTP ${res.statusCode}`);
      throw new PortalCallError('bad_answer', `HTTP ${res.statusCode}, not a license answer`);
    }
    return a;
  }

  activate(body: LicenseRequest) {
    return this.post('activate', body);
  }
  verify(body: LicenseRequest) {
    return this.post('verify', body);
  }
  refresh(body: LicenseRequest) {
    return this.post('refresh', body);
  }
}
