import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { stat, truncate } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { CheckUpdateRequest, CheckUpdateResponse, DownloadTokenResponse } from '@wispanel/contract';
import { Agent, type Dispatcher, request } from 'undici';
import { BoundedCallError, boundedRequest, originOf, PORTAL_ANSWER_MAX_BYTES, readBodyCapped } from './http';

/**
 * Typed client for the portal's public download API (`/api/v1/download/*`): check-update, token, and the
 * artifact download with resume (`Range` from the bytes already on disk, `If-Range` on the artifact's ETag).
 */
export interface PortalDownloadClientOptions {
  /** Portal base: `https://portal.example.com` or `https://portal.example.com/api/v1` (both accepted). */
  baseUrl: string;
  /** PEM certificate(s) to trust for a portal with a private or self-signed certificate. */
  ca?: string | Buffer;
  /** A ready undici dispatcher (overrides `ca`). */
  dispatcher?: Dispatcher;
  /**
   * check-update and token: overall deadline of the call (connect + headers + whole body). Artifact download:
   * time to wait for response headers, and for each chunk of the body (default 30 s).
   */
  timeoutMs?: number;
}

/** Every failure: `status` 0 means the portal was not reached. `code` is the portal's code, or one of ours. */
export class PortalDownloadError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body?: unknown,
  ) {
    super(message);
    this.name = 'PortalDownloadError';
  }
}

export interface DownloadProgress {
  /** Bytes on disk so far (resumed bytes included). */
  received: number;
  /** Expected total, when known. */
  total: number | null;
}

export interface DownloadResult {
  path: string;
  size: number;
  /** SHA-256 (hex) of the whole file on disk, resumed prefix included. */
  sha256: string;
  /** Bytes that were already on disk and kept (0 = downloaded from the start). */
  resumedFrom: number;
  /** HTTP status of the last response (200 full, 206 resumed, 416 already complete). */
  httpStatus: number;
}

export interface DownloadOptions {
  onProgress?: (p: DownloadProgress) => void;
  signal?: AbortSignal;
  /** Keep the bytes already in `destination` and ask only for the rest (default true). */
  resume?: boolean;
  /**
   * Every byte of the file in order from byte 0, as it is hashed (on a resume the prefix already on disk is
   * read back first), e.g. to unpack while downloading. A returned promise holds the download until it
   * settles (back-pressure). Only the caller's check of the result's size and SHA-256 makes these bytes
   * trustworthy; a call that fails has fed a prefix only.
   */
  onBytes?: (chunk: Buffer) => void | Promise<void>;
  /**
   * Called once when the portal refuses the token (expired, or signing key rotated): return a fresh token
   * for the same version and the download continues from the bytes on disk.
   */
  renewToken?: () => Promise<
    Pick<DownloadTokenResponse, 'url'> & Partial<Pick<DownloadTokenResponse, 'size' | 'sha256'>>
  >;
}

const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+)$/;

async function hashFile(
  path: string,
  hash: ReturnType<typeof createHash>,
  onBytes?: (chunk: Buffer) => void | Promise<void>,
): Promise<void> {
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    await onBytes?.(chunk as Buffer);
  }
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

export class PortalDownloadClient {
  private readonly origin: string;
  private readonly dispatcher: Dispatcher | undefined;
  private readonly timeoutMs: number;
  private readonly ownsDispatcher: boolean;

  constructor(options: PortalDownloadClientOptions) {
    this.origin = originOf(options.baseUrl);
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.ownsDispatcher = !options.dispatcher && Boolean(options.ca);
    this.dispatcher =
      options.dispatcher ?? (options.ca ? new Agent({ connect: { ca: options.ca } }) : undefined);
  }

  private url(path: string): string {
    return `${this.origin}${path}`;
  }

  private async send(
    method: 'GET' | 'POST',
    path: string,
    options: { body?: unknown; headers?: Record<string, string>; signal?: AbortSignal } = {},
  ): Promise<Dispatcher.ResponseData> {
    try {
      return await request(this.url(path), {
        method,
        headers: {
          accept: 'application/json',
          ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...options.headers,
        },
        body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
        signal: options.signal,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        ...(this.dispatcher ? { dispatcher: this.dispatcher } : {}),
      });
    } catch (err) {
      if (options.signal?.aborted) throw err;
      throw new PortalDownloadError(
        0,
        'PORTAL_UNREACHABLE',
        `portal not reachable: ${(err as Error).message}`,
      );
    }
  }

  private async failure(res: Dispatcher.ResponseData): Promise<PortalDownloadError> {
    const text = await readBodyCapped(res, PORTAL_ANSWER_MAX_BYTES).catch(() => '');
    return this.failureOf(res.statusCode, text);
  }

  private failureOf(status: number, text: string): PortalDownloadError {
    let body: { error?: unknown; code?: unknown } | undefined;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const message = typeof body?.error === 'string' ? body.error : `portal answered HTTP ${status}`;
    // A 401 on the download API carries only `error` (SPEC A4); the text tells which 401 it is.
    const code =
      typeof body?.code === 'string'
        ? body.code
        : status === 401
          ? message === 'Invalid license'
            ? 'INVALID_LICENSE'
            : /token expired/i.test(message)
              ? 'DOWNLOAD_TOKEN_EXPIRED'
              : /token/i.test(message)
                ? 'DOWNLOAD_TOKEN_INVALID'
                : 'UNAUTHORIZED'
          : `HTTP_${status}`;
    return new PortalDownloadError(status, code, message, body ?? text);
  }

  /**
   * A JSON call (check-update, token) with an overall deadline (connect + headers + whole body, `timeoutMs`)
   * and an answer capped at PORTAL_ANSWER_MAX_BYTES (1 MiB), refused as it arrives.
   */
  private async json<T>(path: string, body: unknown): Promise<T> {
    let r: { status: number; text: string };
    try {
      r = await boundedRequest(this.url(path), {
        method: 'POST',
        headers: { accept: 'application/json', 'content-type': 'application/json' },
        body: JSON.stringify(body),
        deadlineMs: this.timeoutMs,
        maxBytes: PORTAL_ANSWER_MAX_BYTES,
        ...(this.dispatcher ? { dispatcher: this.dispatcher } : {}),
      });
    } catch (err) {
      if (err instanceof BoundedCallError && err.reason === 'too_large') {
        throw new PortalDownloadError(err.status, 'PORTAL_ANSWER_TOO_LARGE', `portal ${err.message}`);
      }
      throw new PortalDownloadError(
        0,
        'PORTAL_UNREACHABLE',
        `portal not reachable: ${(err as Error).message}`,
      );
    }
    if (r.status !== 200) throw this.failureOf(r.status, r.text);
    try {
      return JSON.parse(r.text) as T;
    } catch {
      throw new PortalDownloadError(
        r.status,
        'PORTAL_ERROR',
        'portal answered HTTP 200 with a body that is not JSON',
      );
    }
  }

  /** `POST /api/v1/download/check-update`. The caller verifies `signed` (type `update-check`) and its nonce. */
  checkUpdate(input: CheckUpdateRequest): Promise<CheckUpdateResponse> {
    return this.json('/api/v1/download/check-update', input);
  }

  /** `POST /api/v1/download/token`: a short-lived token for one version's artifact. */
  requestToken(input: { key: string; hardware_id: string; version: string }): Promise<DownloadTokenResponse> {
    return this.json('/api/v1/download/token', input);
  }

  /**
   * Downloads the artifact a token opens into `destination`, resuming from the bytes already there. Refuses
   * to write more than the token's announced size (a portal cannot fill the disk). Verifying size, SHA-256
   * and the signed release against trusted keys is the caller's job; the result carries what it needs.
   */
  async downloadArtifact(
    token: Pick<DownloadTokenResponse, 'url'> & Partial<Pick<DownloadTokenResponse, 'size' | 'sha256'>>,
    destination: string,
    options: DownloadOptions = {},
  ): Promise<DownloadResult> {
    const expected = token.size ?? null;
    let have = options.resume === false ? 0 : await sizeOf(destination);
    if (expected !== null && have > expected) have = 0;
    const headers: Record<string, string> = {};
    if (have > 0) {
      headers.range = `bytes=${have}-`;
      if (token.sha256) headers['if-range'] = `"${token.sha256}"`;
    }
    const res = await this.send('GET', token.url, { headers, signal: options.signal });
    let start: number;
    if (res.statusCode === 206) {
      const m = CONTENT_RANGE.exec(String(res.headers['content-range'] ?? ''));
      if (!m || Number(m[1]) !== have) {
        res.body.destroy();
        throw new PortalDownloadError(
          206,
          'BAD_CONTENT_RANGE',
          `unexpected Content-Range ${res.headers['content-range']}`,
        );
      }
      start = have;
    } else if (res.statusCode === 200) {
      start = 0;
    } else if (res.statusCode === 416 && have > 0) {
      // Already complete: the server says the file is exactly as long as what we have.
      await res.body.dump();
      const total = /^bytes \*\/(\d+)$/.exec(String(res.headers['content-range'] ?? ''));
      if (total && Number(total[1]) === have) {
        const hash = createHash('sha256');
        await hashFile(destination, hash, options.onBytes);
        return {
          path: destination,
          size: have,
          sha256: hash.digest('hex'),
          resumedFrom: have,
          httpStatus: 416,
        };
      }
      return this.downloadArtifact(token, destination, { ...options, resume: false });
    } else {
      const failure = await this.failure(res);
      if (
        options.renewToken &&
        (failure.code === 'DOWNLOAD_TOKEN_EXPIRED' || failure.code === 'DOWNLOAD_TOKEN_INVALID')
      ) {
        const fresh = await options.renewToken();
        return this.downloadArtifact(fresh, destination, { ...options, renewToken: undefined });
      }
      throw failure;
    }
    const total =
      expected ?? (res.headers['content-length'] ? start + Number(res.headers['content-length']) : null);
    const hash = createHash('sha256');
    if (start > 0) await hashFile(destination, hash, options.onBytes);
    else await truncate(destination, 0).catch(() => undefined);
    let received = start;
    const { onProgress, onBytes } = options;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        received += chunk.length;
        if (total !== null && received > total) {
          return done(
            new PortalDownloadError(res.statusCode, 'ARTIFACT_TOO_LARGE', `artifact exceeds ${total} bytes`),
          );
        }
        hash.update(chunk);
        onProgress?.({ received, total });
        const held = onBytes?.(chunk);
        if (held) held.then(() => done(null, chunk), done);
        else done(null, chunk);
      },
    });
    await pipeline(res.body, meter, createWriteStream(destination, { flags: start > 0 ? 'a' : 'w' }), {
      signal: options.signal,
    });
    return {
      path: destination,
      size: received,
      sha256: hash.digest('hex'),
      resumedFrom: start,
      httpStatus: res.statusCode,
    };
  }

  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher?.close();
  }
}
