import { createHash } from 'node:crypto';
import { createReadStream, renameSync, rmSync } from 'node:fs';
import { PortalDownloadClient, PortalDownloadError } from '@wispanel/client';
import type { CheckUpdateRequest, CheckUpdateResponse, DownloadTokenResponse } from '@wispanel/contract';
import { diskErrno, UpdateError } from './update-error';

/** What the update pipeline needs from the portal's download API (contract: packages/contract/src/releases.ts). */
export interface PortalDownloads {
  checkUpdate(req: CheckUpdateRequest): Promise<CheckUpdateResponse>;
  token(req: { key: string; hardware_id: string; version: string }): Promise<DownloadTokenResponse>;
  /** Resumable download of the artifact a token opens into `dest` (partial bytes kept in `dest.part`). */
  download(
    token: DownloadTokenResponse,
    dest: string,
    options: DownloadOptions,
  ): Promise<{ size: number; sha256: string }>;
}

export interface DownloadOptions {
  onProgress?: (bytes: number, total: number) => void;
  signal?: AbortSignal;
  /**
   * Called at the start of every attempt (a resumed one replays the bytes on disk from byte 0): returns the
   * function that receives every byte of the artifact in order, as it is hashed (the streamed unpack,
   * `StreamedUnpack.begin`). A portal without it only downloads; the pipeline then unpacks the verified file.
   */
  sink?: () => (chunk: Buffer) => void | Promise<void>;
}

function toUpdateError(err: unknown, during: string): unknown {
  if (!(err instanceof PortalDownloadError)) {
    // The connection broke in the middle of the body (undici's own error): a download failure that resumes,
    // not an install failure (disk errors and our own codes pass through).
    if (during === 'download' && !(err instanceof UpdateError) && !diskErrno(err) && err instanceof Error) {
      return new UpdateError('UPDATE_DOWNLOAD_FAILED', `artifact download: ${err.message}`);
    }
    return err;
  }
  if (err.status === 0) return new UpdateError('PORTAL_UNREACHABLE', err.message);
  if (err.status === 401 && during !== 'download') {
    return new UpdateError('LICENSE_INVALID', `portal refused the license (${err.message})`);
  }
  if (err.code === 'ARTIFACT_TOO_LARGE') return new UpdateError('UPDATE_SIZE_MISMATCH', err.message);
  if (during === 'download')
    return new UpdateError('UPDATE_DOWNLOAD_FAILED', `artifact download: ${err.message}`);
  return new UpdateError('PORTAL_ERROR', `portal ${during} answered ${err.status}: ${err.message}`);
}

/** The portal download API over HTTPS, through the shared client in @wispanel/client. */
export class ClientPortalDownloads implements PortalDownloads {
  constructor(private readonly client: PortalDownloadClient) {}

  static create(options: { baseUrl: string; ca?: string | Buffer }): ClientPortalDownloads {
    return new ClientPortalDownloads(new PortalDownloadClient(options));
  }

  async checkUpdate(req: CheckUpdateRequest): Promise<CheckUpdateResponse> {
    try {
      return await this.client.checkUpdate(req);
    } catch (err) {
      throw toUpdateError(err, 'check-update');
    }
  }

  async token(req: { key: string; hardware_id: string; version: string }): Promise<DownloadTokenResponse> {
    try {
      return await this.client.requestToken(req);
    } catch (err) {
      throw toUpdateError(err, 'token');
    }
  }

  async download(
    token: DownloadTokenResponse,
    dest: string,
    options: DownloadOptions,
  ): Promise<{ size: number; sha256: string }> {
    const part = `${dest}.part`;
    let lastError: unknown;
    // A broken connection resumes from the bytes on disk (Range), a few times with back-off.
    for (let attempt = 0; attempt < 4; attempt++) {
      try {
        const result = await this.client.downloadArtifact(token, part, {
          signal: options.signal,
          onBytes: options.sink?.(),
          onProgress: (p) => options.onProgress?.(p.received, p.total ?? token.size),
        });
        renameSync(part, dest);
        return { size: result.size, sha256: result.sha256 };
      } catch (err) {
        lastError = err;
        // A full disk is not the network's fault: no retry (the pipeline frees the partial file).
        if (diskErrno(err)) throw err;
        const mapped = toUpdateError(err, 'download');
        if (options.signal?.aborted) throw mapped;
        if (mapped instanceof UpdateError && mapped.code === 'UPDATE_SIZE_MISMATCH') {
          rmSync(part, { force: true });
          throw mapped;
        }
        if (err instanceof PortalDownloadError && err.status === 401) {
          // Expired (or rotated-away) token: the pipeline asks for a new one and resumes from the bytes on disk.
          throw Object.assign(
            new UpdateError('UPDATE_DOWNLOAD_FAILED', `download token refused: ${err.message}`),
            {
              tokenRefused: true,
            },
          );
        }
        if (err instanceof PortalDownloadError && err.status >= 400 && err.status < 500) throw mapped;
        await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
      }
    }
    throw toUpdateError(lastError, 'download');
  }
}

/** SHA-256 and size of a file, streamed. */
export async function hashFile(file: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { size, sha256: hash.digest('hex') };
}
