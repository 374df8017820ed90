import { type Dispatcher, request } from 'undici';
import { dispatcherFor, originOf } from './http';

/**
 * Typed client for the panel API (`https://HOST:2083/api/v1`, docs/panel-api.md). Every non-2xx answer
 * throws PanelApiError carrying the documented envelope (`code`, `message`, `details`) and the status.
 */
export interface PanelClientOptions {
  /** `https://host:2083` or `https://host:2083/api/v1` (both accepted). */
  baseUrl: string;
  /** `wsp_…` API key or `wss_…` session token. */
  token?: string;
  /** PEM certificate(s) to trust, e.g. the panel's self-signed `<data-dir>/tls/cert.pem`. */
  ca?: string | Buffer;
  dispatcher?: Dispatcher;
  timeoutMs?: number;
}

export class PanelApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, string[]>,
    readonly headers?: Record<string, string | string[] | undefined>,
  ) {
    super(message);
    this.name = 'PanelApiError';
  }
}

export type PanelRole = 'admin' | 'reseller' | 'user';

export interface PanelResourceState {
  status: string;
  disabled_by_license: boolean;
  license_disabled_at: string | null;
  license_disabled_reason: string | null;
}
export interface PanelUser extends PanelResourceState {
  id: number;
  username: string;
  email: string;
  role: PanelRole;
  package: string;
  creator: string | null;
  created_at: string;
  updated_at: string;
}
export interface PanelDomain extends PanelResourceState {
  id: number;
  domain: string;
  owner: string;
  created_at: string;
  updated_at: string;
}
export interface PanelDatabase extends PanelResourceState {
  id: number;
  name: string;
  owner: string;
  user: string;
  domain: string | null;
  created_at: string;
  updated_at: string;
}
export interface PanelApiKey {
  id: string;
  name: string;
  key_prefix: string;
  permissions: string[];
  ip_whitelist: string[];
  last_used: string | null;
  created_at: string;
  expires_at: string | null;
  enabled: boolean;
}
export interface IssuedApiKey {
  success: true;
  message: string;
  secret_key: string;
  api_key: string;
  key: PanelApiKey;
}
export interface PanelPagination {
  page: number;
  per_page: number;
  total: number;
  total_pages: number;
}
export interface PanelMe {
  id: number;
  username: string;
  email: string;
  role: PanelRole;
  status: string;
  package: string;
  creator: string | null;
  disabled_by_license: boolean;
  created_at: string;
  auth: { method: 'api_key' | 'session'; key_id?: string; permissions: string[] };
}
export interface PanelPageQuery {
  page?: number;
  per_page?: number;
}
export interface PanelWriteOptions {
  /** Sent as `Idempotency-Key`: a retry with the same key returns the first answer. */
  idempotencyKey?: string;
}

type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
const enc = encodeURIComponent;

export class PanelClient {
  readonly origin: string;
  private readonly dispatcher: Dispatcher;
  private token: string | undefined;

  constructor(options: PanelClientOptions) {
    this.origin = originOf(options.baseUrl);
    this.token = options.token;
    this.dispatcher = dispatcherFor(options);
  }

  /** Any panel route; resolves with the parsed JSON of a 2xx answer. */
  async request<T>(
    method: Method,
    path: string,
    options: { body?: unknown; query?: object; idempotencyKey?: string } = {},
  ): Promise<T> {
    const url = new URL(`${this.origin}/api/v1${path}`);
    for (const [k, v] of Object.entries(options.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, {
        method,
        dispatcher: this.dispatcher,
        headers,
        body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
      });
    } catch (err) {
      throw new PanelApiError(0, 'UNREACHABLE', `panel not reachable: ${(err as Error).message}`);
    }
    const text = await res.body.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (res.statusCode >= 200 && res.statusCode < 300) return json as T;
    const e = (json ?? {}) as {
      code?: string;
      message?: string;
      error?: string;
      details?: Record<string, string[]>;
    };
    throw new PanelApiError(
      res.statusCode,
      e.code ?? 'HTTP_ERROR',
      e.message ?? e.error ?? `HTTP ${res.statusCode}`,
      e.details,
      res.headers,
    );
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  health() {
    return this.request<{ status: string; version: string; uptime_seconds: number; database: string }>(
      'GET',
      '/health',
    );
  }

  /** UI login; the session token is used for later calls of this client. */
  async login(login: string, password: string) {
    const res = await this.request<{
      success: true;
      token: string;
      expires_at: string;
      user: { username: string; role: PanelRole };
    }>('POST', '/auth/login', { body: { username: login, password } });
    this.token = res.token;
    return res;
  }

  logout() {
    return this.request<{ success: true; message: string }>('POST', '/auth/logout');
  }

  me() {
    return this.request<PanelMe>('GET', '/auth/me');
  }

  readonly users = {
    create: (
      body: { username: string; email: string; password: string; role?: PanelRole; package?: string },
      o: PanelWriteOptions = {},
    ) => this.request<{ success: true; message: string; user: PanelUser }>('POST', '/users', { body, ...o }),
    list: (q: PanelPageQuery = {}) =>
      this.request<{ success: true; users: PanelUser[]; pagination: PanelPagination }>('GET', '/users', {
        query: q,
      }),
    get: (username: string) =>
      this.request<{ success: true; user: PanelUser }>('GET', `/users/${enc(username)}`),
    update: (
      username: string,
      body: { email?: string; password?: string; role?: PanelRole; package?: string },
      o: PanelWriteOptions = {},
    ) =>
      this.request<{ success: true; message: string; user: PanelUser }>('PATCH', `/users/${enc(username)}`, {
        body,
        ...o,
      }),
    suspend: (username: string) =>
      this.request<{ success: true; message: string; user: PanelUser }>(
        'POST',
        `/users/${enc(username)}/suspend`,
      ),
    unsuspend: (username: string) =>
      this.request<{ success: true; message: string; user: PanelUser }>(
        'POST',
        `/users/${enc(username)}/unsuspend`,
      ),
    delete: (username: string) =>
      this.request<{ success: true; message: string }>('DELETE', `/users/${enc(username)}`),
  };

  readonly apiKeys = {
    issue: (
      username: string,
      body: { name: string; permissions?: string[]; ip_whitelist?: string[]; expires_in?: number },
      o: PanelWriteOptions = {},
    ) => this.request<IssuedApiKey>('POST', `/users/${enc(username)}/api-keys`, { body, ...o }),
    list: (username: string) =>
      this.request<{ success: true; keys: PanelApiKey[] }>('GET', `/users/${enc(username)}/api-keys`),
    get: (username: string, id: string) =>
      this.request<{ success: true; key: PanelApiKey }>('GET', `/users/${enc(username)}/api-keys/${enc(id)}`),
    revoke: (username: string, id: string) =>
      this.request<{ success: true; message: string }>(
        'DELETE',
        `/users/${enc(username)}/api-keys/${enc(id)}`,
      ),
    disable: (username: string, id: string) =>
      this.request<{ success: true; message: string; key: PanelApiKey }>(
        'POST',
        `/users/${enc(username)}/api-keys/${enc(id)}/disable`,
      ),
    enable: (username: string, id: string) =>
      this.request<{ success: true; message: string; key: PanelApiKey }>(
        'POST',
        `/users/${enc(username)}/api-keys/${enc(id)}/enable`,
      ),
  };

  readonly domains = {
    create: (body: { domain: string; owner?: string }, o: PanelWriteOptions = {}) =>
      this.request<{ success: true; message: string; domain: PanelDomain }>('POST', '/domains', {
        body,
        ...o,
      }),
    list: (q: PanelPageQuery = {}) =>
      this.request<{ success: true; domains: PanelDomain[]; pagination: PanelPagination }>(
        'GET',
        '/domains',
        { query: q },
      ),
    get: (domain: string) =>
      this.request<{ success: true; domain: PanelDomain }>('GET', `/domains/${enc(domain)}`),
    update: (domain: string, body: { owner?: string }) =>
      this.request<{ success: true; message: string; domain: PanelDomain }>(
        'PATCH',
        `/domains/${enc(domain)}`,
        { body },
      ),
    suspend: (domain: string) =>
      this.request<{ success: true; message: string; domain: PanelDomain }>(
        'POST',
        `/domains/${enc(domain)}/suspend`,
      ),
    unsuspend: (domain: string) =>
      this.request<{ success: true; message: string; domain: PanelDomain }>(
        'POST',
        `/domains/${enc(domain)}/unsuspend`,
      ),
    delete: (domain: string) =>
      this.request<{ success: true; message: string }>('DELETE', `/domains/${enc(domain)}`),
  };

  readonly databases = {
    create: (
      body: { name: string; user?: string; password?: string; domain?: string },
      o: PanelWriteOptions = {},
    ) =>
      this.request<{ success: true; message: string; database: PanelDatabase }>('POST', '/databases', {
        body,
        ...o,
      }),
    list: (q: PanelPageQuery = {}) =>
      this.request<{ success: true; databases: PanelDatabase[]; pagination: PanelPagination }>(
        'GET',
        '/databases',
        { query: q },
      ),
    get: (name: string) =>
      this.request<{ success: true; database: PanelDatabase }>('GET', `/databases/${enc(name)}`),
    update: (name: string, body: { password?: string; domain?: string | null }) =>
      this.request<{ success: true; message: string; database: PanelDatabase }>(
        'PATCH',
        `/databases/${enc(name)}`,
        { body },
      ),
    suspend: (name: string) =>
      this.request<{ success: true; message: string; database: PanelDatabase }>(
        'POST',
        `/databases/${enc(name)}/suspend`,
      ),
    unsuspend: (name: string) =>
      this.request<{ success: true; message: string; database: PanelDatabase }>(
        'POST',
        `/databases/${enc(name)}/unsuspend`,
      ),
    delete: (name: string) =>
      this.request<{ success: true; message: string }>('DELETE', `/databases/${enc(name)}`),
  };
}
