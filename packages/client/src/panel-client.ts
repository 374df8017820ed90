import type {
  ApiKeyAnswer,
  ApiKeyIssueBody,
  ApiKeyIssuedAnswer,
  ApiKeyListAnswer,
  ApiKeyMessageAnswer,
  DatabaseAnswer,
  DatabaseCreateBody,
  DatabaseListAnswer,
  DatabaseListQuery,
  DatabaseMessageAnswer,
  DatabaseUpdateBody,
  DirectUpdateBody,
  DomainAnswer,
  DomainCreateBody,
  DomainListAnswer,
  DomainListQuery,
  DomainMessageAnswer,
  DomainUpdateBody,
  OkMessage,
  PanelHealth,
  PanelLoginAnswer,
  PanelMe,
  UpdateAccepted,
  UpdateHistory,
  UpdateSettings,
  UpdateSettingsBody,
  UpdateStatus,
  UserAnswer,
  UserCreateBody,
  UserListAnswer,
  UserListQuery,
  UserMessageAnswer,
  UserUpdateBody,
  VersionChangelog,
  VersionCheck,
  VersionInfo,
} from '@wispanel/contract';
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

/** Every request and answer shape is the contract's (`Static<>` of the schemas the panel validates with). */
export type {
  ApiKeyIssueBody,
  DatabaseCreateBody,
  DatabaseListQuery,
  DatabaseUpdateBody,
  DomainCreateBody,
  DomainListQuery,
  DomainUpdateBody,
  PanelApiKey,
  PanelDatabase,
  PanelDomain,
  PanelLoginAnswer,
  PanelMe,
  PanelPageQuery,
  PanelPagination,
  PanelRole,
  PanelUser,
  UpdateAccepted,
  UpdateHistory,
  UpdateSettings,
  UpdateSettingsBody,
  UpdateStatus,
  UserCreateBody,
  UserListQuery,
  UserUpdateBody,
  VersionChangelog,
  VersionCheck,
  VersionInfo,
} from '@wispanel/contract';
/** `POST /users/:username/api-keys` answer (the secret, shown once). */
export type IssuedApiKey = ApiKeyIssuedAnswer;

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
    return this.request<PanelHealth>('GET', '/health');
  }

  /** UI login; the session token is used for later calls of this client. */
  async login(login: string, password: string) {
    const res = await this.request<PanelLoginAnswer>('POST', '/auth/login', {
      body: { username: login, password },
    });
    this.token = res.token;
    return res;
  }

  logout() {
    return this.request<OkMessage>('POST', '/auth/logout');
  }

  me() {
    return this.request<PanelMe>('GET', '/auth/me');
  }

  readonly users = {
    create: (body: UserCreateBody, o: PanelWriteOptions = {}) =>
      this.request<UserMessageAnswer>('POST', '/users', { body, ...o }),
    list: (q: UserListQuery = {}) => this.request<UserListAnswer>('GET', '/users', { query: q }),
    get: (username: string) => this.request<UserAnswer>('GET', `/users/${enc(username)}`),
    update: (username: string, body: UserUpdateBody, o: PanelWriteOptions = {}) =>
      this.request<UserMessageAnswer>('PATCH', `/users/${enc(username)}`, { body, ...o }),
    suspend: (username: string) => this.request<UserMessageAnswer>('POST', `/users/${enc(username)}/suspend`),
    unsuspend: (username: string) =>
      this.request<UserMessageAnswer>('POST', `/users/${enc(username)}/unsuspend`),
    delete: (username: string) => this.request<OkMessage>('DELETE', `/users/${enc(username)}`),
  };

  readonly apiKeys = {
    issue: (username: string, body: ApiKeyIssueBody, o: PanelWriteOptions = {}) =>
      this.request<ApiKeyIssuedAnswer>('POST', `/users/${enc(username)}/api-keys`, { body, ...o }),
    list: (username: string) => this.request<ApiKeyListAnswer>('GET', `/users/${enc(username)}/api-keys`),
    get: (username: string, id: string) =>
      this.request<ApiKeyAnswer>('GET', `/users/${enc(username)}/api-keys/${enc(id)}`),
    revoke: (username: string, id: string) =>
      this.request<OkMessage>('DELETE', `/users/${enc(username)}/api-keys/${enc(id)}`),
    disable: (username: string, id: string) =>
      this.request<ApiKeyMessageAnswer>('POST', `/users/${enc(username)}/api-keys/${enc(id)}/disable`),
    enable: (username: string, id: string) =>
      this.request<ApiKeyMessageAnswer>('POST', `/users/${enc(username)}/api-keys/${enc(id)}/enable`),
  };

  readonly domains = {
    create: (body: DomainCreateBody, o: PanelWriteOptions = {}) =>
      this.request<DomainMessageAnswer>('POST', '/domains', { body, ...o }),
    list: (q: DomainListQuery = {}) => this.request<DomainListAnswer>('GET', '/domains', { query: q }),
    get: (domain: string) => this.request<DomainAnswer>('GET', `/domains/${enc(domain)}`),
    update: (domain: string, body: DomainUpdateBody) =>
      this.request<DomainMessageAnswer>('PATCH', `/domains/${enc(domain)}`, { body }),
    suspend: (domain: string) => this.request<DomainMessageAnswer>('POST', `/domains/${enc(domain)}/suspend`),
    unsuspend: (domain: string) =>
      this.request<DomainMessageAnswer>('POST', `/domains/${enc(domain)}/unsuspend`),
    delete: (domain: string) => this.request<OkMessage>('DELETE', `/domains/${enc(domain)}`),
  };

  readonly databases = {
    create: (body: DatabaseCreateBody, o: PanelWriteOptions = {}) =>
      this.request<DatabaseMessageAnswer>('POST', '/databases', { body, ...o }),
    list: (q: DatabaseListQuery = {}) => this.request<DatabaseListAnswer>('GET', '/databases', { query: q }),
    get: (name: string) => this.request<DatabaseAnswer>('GET', `/databases/${enc(name)}`),
    update: (name: string, body: DatabaseUpdateBody) =>
      this.request<DatabaseMessageAnswer>('PATCH', `/databases/${enc(name)}`, { body }),
    suspend: (name: string) => this.request<DatabaseMessageAnswer>('POST', `/databases/${enc(name)}/suspend`),
    unsuspend: (name: string) =>
      this.request<DatabaseMessageAnswer>('POST', `/databases/${enc(name)}/unsuspend`),
    delete: (name: string) => this.request<OkMessage>('DELETE', `/databases/${enc(name)}`),
  };

  /** `/version/*` (role admin, scope `version`). */
  readonly version = {
    info: () => this.request<VersionInfo>('GET', '/version/info'),
    check: () => this.request<VersionCheck>('GET', '/version/check'),
    changelog: () => this.request<VersionChangelog>('GET', '/version/changelog'),
    status: () => this.request<UpdateStatus>('GET', '/version/update/status'),
    history: (q: { limit?: number } = {}) =>
      this.request<UpdateHistory>('GET', '/version/update/history', { query: q }),
    update: () => this.request<UpdateAccepted>('POST', '/version/update'),
    directUpdate: (body: DirectUpdateBody) =>
      this.request<UpdateAccepted>('POST', '/version/direct-update', { body }),
    cancel: () => this.request<UpdateStatus>('POST', '/version/update/cancel'),
    settings: () => this.request<UpdateSettings>('GET', '/version/settings'),
    setSettings: (body: UpdateSettingsBody) =>
      this.request<UpdateSettings>('PUT', '/version/settings', { body }),
  };
}
