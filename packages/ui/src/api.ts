/**
 * A small fetch client for a WisPanel API used from the browser with the session cookie: same origin,
 * `X-CSRF-Token` on every state-changing request, and every non-2xx answer thrown as ApiError carrying the
 * documented envelope's `message` (what the pages show).
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, string[]>,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ApiClientOptions {
  /** Prefix of every path, e.g. `/api/v1`. */
  base: string;
  /** How the pages name the service in errors (default "The panel"). */
  service?: string;
  /** Called with every 401 answer (the session ended): the console returns to its login screen. */
  onUnauthorized?: (error: ApiError) => void;
}

type Query = Record<string, string | number | boolean | undefined | null>;

export class ApiClient {
  private csrf: string | null = null;

  constructor(private readonly options: ApiClientOptions) {}

  setCsrfToken(token: string | null): void {
    this.csrf = token;
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>('GET', path, undefined, query);
  }
  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }
  patch<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('PATCH', path, body);
  }
  put<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('PUT', path, body);
  }
  delete<T>(path: string): Promise<T> {
    return this.request<T>('DELETE', path);
  }

  /**
   * Uploads a file as the raw request body (application/octet-stream) with upload progress; XMLHttpRequest
   * because fetch has no upload progress. Same CSRF and error rules as every other request.
   */
  upload<T>(
    method: string,
    path: string,
    file: Blob,
    onProgress: (sent: number, total: number) => void,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open(method, this.options.base + path);
      xhr.setRequestHeader('content-type', 'application/octet-stream');
      xhr.setRequestHeader('accept', 'application/json');
      if (this.csrf) xhr.setRequestHeader('x-csrf-token', this.csrf);
      xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
      xhr.onerror = () =>
        reject(new ApiError(0, 'NETWORK_ERROR', `${this.options.service ?? 'The panel'} cannot be reached`));
      xhr.onload = () => {
        let json: Record<string, unknown> | null = null;
        try {
          json = xhr.responseText ? (JSON.parse(xhr.responseText) as Record<string, unknown>) : null;
        } catch {
          /* not JSON */
        }
        if (xhr.status >= 200 && xhr.status < 300) return resolve(json as T);
        const error = new ApiError(
          xhr.status,
          String(json?.code ?? `HTTP_${xhr.status}`),
          String(json?.message ?? json?.error ?? `Upload refused (${xhr.status})`),
          json?.details as Record<string, string[]> | undefined,
        );
        if (xhr.status === 401) this.options.onUnauthorized?.(error);
        reject(error);
      };
      xhr.send(file);
    });
  }

  async request<T>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
    let url = this.options.base + path;
    if (query) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(query))
        if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
      const s = q.toString();
      if (s) url += `?${s}`;
    }
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (method !== 'GET' && method !== 'HEAD' && this.csrf) headers['x-csrf-token'] = this.csrf;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        credentials: 'same-origin',
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiError(
        0,
        'NETWORK_ERROR',
        `${this.options.service ?? 'The panel'} cannot be reached (network error); retrying…`,
      );
    }
    const text = await res.text();
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON */
    }
    if (!res.ok) {
      const env = (json ?? {}) as {
        code?: string;
        message?: string;
        error?: string;
        details?: Record<string, string[]>;
      };
      const error = new ApiError(
        res.status,
        env.code ?? `HTTP_${res.status}`,
        env.message ??
          env.error ??
          `${this.options.service ?? 'The panel'} answered ${res.status} ${res.statusText}`,
        env.details,
      );
      if (res.status === 401) this.options.onUnauthorized?.(error);
      throw error;
    }
    return json as T;
  }
}

/** The human text of any error (ApiError keeps the API's message; the rate limit says when to retry). */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.code === 'RATE_LIMITED') return `${error.message}. Wait a minute and try again.`;
    return error.message;
  }
  if (error instanceof Error) return error.message;
  return String(error);
}
