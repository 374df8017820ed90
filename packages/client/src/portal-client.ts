import type {
  LicenseAction,
  LicenseAnswer,
  LicenseRequest,
  PortalEventRecord,
  PortalLicense,
  PortalLicenseDetail,
  PortalTier,
  PublicKeySet,
} from '@wispanel/contract';
import type { Dispatcher } from 'undici';
import {
  BoundedCallError,
  boundedRequest,
  dispatcherFor,
  originOf,
  PORTAL_ANSWER_MAX_BYTES,
  PORTAL_CALL_DEADLINE_MS,
} from './http';

/**
 * Typed clients for the portal's license API (`/api/v1/license/*`, public) and admin API (`/api/v1/admin/*`,
 * `X-Admin-Key`). Shapes: docs/portal-api.md. Refusals from the license API (4xx with `valid:false`) are
 * answers, returned with their HTTP status; anything else that is not 2xx throws PortalApiError.
 */
export interface PortalClientOptions {
  /** `https://portal.example.com` or `…/api/v1` (both accepted). */
  baseUrl: string;
  /** PEM certificate(s) to trust (private or self-signed portal certificate). */
  ca?: string | Buffer;
  dispatcher?: Dispatcher;
  /** Overall deadline of one call: connect + headers + whole body (default 15 s). */
  timeoutMs?: number;
  /** Largest answer body accepted (default 1 MiB); a larger one fails with PORTAL_ANSWER_TOO_LARGE. */
  maxAnswerBytes?: number;
}

/** `status` 0 = the portal was not reached. `code`/`details` are the portal's when it answered. */
export class PortalApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, string[]>,
    readonly body?: unknown,
  ) {
    super(message);
    this.name = 'PortalApiError';
  }
}

export interface LicenseApiResponse {
  /** HTTP status (200 for valid answers, 4xx for refusals; see LICENSE_ANSWER_STATUS). */
  status: number;
  answer: LicenseAnswer;
}

class PortalHttp {
  readonly origin: string;
  private readonly dispatcher: Dispatcher;
  private readonly deadlineMs: number;
  private readonly maxBytes: number;

  constructor(options: PortalClientOptions) {
    this.origin = originOf(options.baseUrl);
    this.dispatcher = dispatcherFor(options);
    this.deadlineMs = options.timeoutMs ?? PORTAL_CALL_DEADLINE_MS;
    this.maxBytes = options.maxAnswerBytes ?? PORTAL_ANSWER_MAX_BYTES;
  }

  /**
   * One call with an overall deadline (connect + headers + whole body: a portal trickling its answer cannot
   * hold the caller longer) and a capped answer body (refused as it arrives, never buffered whole).
   */
  async call(
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    path: string,
    options: { body?: unknown; headers?: Record<string, string>; query?: Record<string, unknown> } = {},
  ): Promise<{ status: number; json: unknown }> {
    const url = new URL(`${this.origin}/api/v1${path}`);
    for (const [k, v] of Object.entries(options.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, String(v));
    let res: { status: number; text: string };
    try {
      res = await boundedRequest(url, {
        method,
        dispatcher: this.dispatcher,
        deadlineMs: this.deadlineMs,
        maxBytes: this.maxBytes,
        headers: {
          accept: 'application/json',
          ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...options.headers,
        },
        body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
      });
    } catch (err) {
      if (err instanceof BoundedCallError && err.reason === 'too_large') {
        throw new PortalApiError(err.status, 'PORTAL_ANSWER_TOO_LARGE', `portal ${err.message}`);
      }
      if (err instanceof BoundedCallError) {
        throw new PortalApiError(0, 'PORTAL_TIMEOUT', `portal not reached: ${err.message}`);
      }
      throw new PortalApiError(0, 'PORTAL_UNREACHABLE', `portal not reached: ${(err as Error).message}`);
    }
    const { text } = res;
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      throw new PortalApiError(res.status, 'PORTAL_ERROR', `HTTP ${res.status}: not JSON`, undefined, text);
    }
    return { status: res.status, json };
  }
}

function failure(status: number, json: unknown): PortalApiError {
  const b = (json ?? {}) as { code?: string; error?: string; details?: Record<string, string[]> };
  return new PortalApiError(status, b.code ?? 'PORTAL_ERROR', b.error ?? `HTTP ${status}`, b.details, json);
}

/** The public license API, as a panel (or a test) calls it. */
export class PortalLicenseClient {
  private readonly http: PortalHttp;

  constructor(options: PortalClientOptions) {
    this.http = new PortalHttp(options);
  }

  /** Any JSON answer with `valid` and `code` is returned (refusals included); other answers throw. */
  async call(action: LicenseAction, body: LicenseRequest): Promise<LicenseApiResponse> {
    const { status, json } = await this.http.call('POST', `/license/${action}`, { body });
    const a = json as LicenseAnswer | null;
    if (!a || typeof a !== 'object' || typeof a.valid !== 'boolean' || typeof a.code !== 'string') {
      throw failure(status, json);
    }
    return { status, answer: a };
  }

  activate(body: LicenseRequest) {
    return this.call('activate', body);
  }
  verify(body: LicenseRequest) {
    return this.call('verify', body);
  }
  refresh(body: LicenseRequest) {
    return this.call('refresh', body);
  }
  deactivate(body: LicenseRequest) {
    return this.call('deactivate', body);
  }

  /** `GET /api/v1/keys`: what a panel is configured with (`--portal-keys`). */
  async publicKeys(): Promise<PublicKeySet> {
    const { status, json } = await this.http.call('GET', '/keys');
    if (status !== 200) throw failure(status, json);
    return json as PublicKeySet;
  }
}

export interface IssueLicenseInput {
  tier: string;
  term_days?: number;
  expires_at?: string;
  max_activations?: number;
  customer_name?: string;
  customer_email?: string;
  notes?: string;
}

export interface LicenseListQuery {
  status?: 'active' | 'suspended' | 'revoked' | 'expired';
  tier?: string;
  q?: string;
  hardware_id?: string;
  page?: number;
  per_page?: number;
}

type TierLimits = Pick<PortalTier, 'max_users' | 'max_domains' | 'max_databases'>;

/** The admin API (X-Admin-Key). Every non-2xx answer throws PortalApiError with the portal's code and details. */
export class PortalAdminClient {
  private readonly http: PortalHttp;
  private readonly adminKey: string;

  constructor(options: PortalClientOptions & { adminKey: string }) {
    this.http = new PortalHttp(options);
    this.adminKey = options.adminKey;
  }

  private async call<T>(
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    path: string,
    body?: unknown,
    query?: Record<string, unknown>,
  ): Promise<T> {
    const { status, json } = await this.http.call(method, `/admin${path}`, {
      body,
      query,
      headers: { 'x-admin-key': this.adminKey },
    });
    if (status < 200 || status >= 300) throw failure(status, json);
    return json as T;
  }

  async listTiers(): Promise<PortalTier[]> {
    return (await this.call<{ tiers: PortalTier[] }>('GET', '/tiers')).tiers;
  }
  async createTier(tier: TierLimits & Partial<PortalTier> & { name: string }): Promise<PortalTier> {
    return (await this.call<{ tier: PortalTier }>('POST', '/tiers', tier)).tier;
  }
  async updateTier(
    name: string,
    patch: Partial<Omit<PortalTier, 'name' | 'created_at' | 'updated_at'>>,
  ): Promise<PortalTier> {
    return (await this.call<{ tier: PortalTier }>('PATCH', `/tiers/${encodeURIComponent(name)}`, patch)).tier;
  }
  async issueLicense(input: IssueLicenseInput): Promise<{ license_key: string; license: PortalLicense }> {
    return this.call('POST', '/licenses', input);
  }
  async listLicenses(query: LicenseListQuery = {}) {
    return this.call<{
      licenses: PortalLicense[];
      pagination: { page: number; per_page: number; total: number; total_pages: number };
    }>('GET', '/licenses', undefined, query as Record<string, unknown>);
  }
  async getLicense(id: string): Promise<PortalLicenseDetail> {
    return (await this.call<{ license: PortalLicenseDetail }>('GET', `/licenses/${encodeURIComponent(id)}`))
      .license;
  }
  private async action(id: string, action: string, body: unknown = {}): Promise<PortalLicenseDetail> {
    return (
      await this.call<{ license: PortalLicenseDetail }>(
        'POST',
        `/licenses/${encodeURIComponent(id)}/${action}`,
        body,
      )
    ).license;
  }
  suspend(id: string, reason?: string) {
    return this.action(id, 'suspend', reason ? { reason } : {});
  }
  reinstate(id: string) {
    return this.action(id, 'reinstate');
  }
  revoke(id: string, reason?: string) {
    return this.action(id, 'revoke', reason ? { reason } : {});
  }
  extend(id: string, by: { days: number } | { expires_at: string }) {
    return this.action(id, 'extend', by);
  }
  async updateLicense(
    id: string,
    patch: { tier?: string; max_activations?: number },
  ): Promise<PortalLicenseDetail> {
    return (
      await this.call<{ license: PortalLicenseDetail }>('PATCH', `/licenses/${encodeURIComponent(id)}`, patch)
    ).license;
  }
  changeTier(id: string, tier: string) {
    return this.updateLicense(id, { tier });
  }
  async resetActivation(id: string, hardwareIdOrActivationId: string): Promise<PortalLicenseDetail> {
    return (
      await this.call<{ license: PortalLicenseDetail }>(
        'DELETE',
        `/licenses/${encodeURIComponent(id)}/activations/${encodeURIComponent(hardwareIdOrActivationId)}`,
      )
    ).license;
  }
  async events(query: { license_id?: string; action?: string; before?: number; limit?: number } = {}) {
    return this.call<{ events: PortalEventRecord[]; next_before: number | null }>(
      'GET',
      '/events',
      undefined,
      query,
    );
  }
}

export type { PortalEventRecord, PortalLicense, PortalLicenseDetail, PortalTier };
