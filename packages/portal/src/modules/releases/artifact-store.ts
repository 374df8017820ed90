import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, type ReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export class ArtifactTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`artifact is larger than the limit of ${maxBytes} bytes`);
    this.name = 'ArtifactTooLargeError';
  }
}

export class ArtifactLengthMismatchError extends Error {
  constructor(
    readonly expected: number,
    readonly received: number,
  ) {
    super(`received ${received} bytes, Content-Length announced ${expected}`);
    this.name = 'ArtifactLengthMismatchError';
  }
}

export interface StoredArtifact {
  /** Path relative to the artifact directory (so the data dir can move). */
  path: string;
  size: number;
  sha256: string;
}

/** Artifact file names: plain, no directories, no leading dot. */
export const ARTIFACT_FILENAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/**
 * Release artifacts on the filesystem. Uploads stream through SHA-256 into a temporary file in the same
 * directory tree, are fsynced, then renamed into place: a reader never sees a half-written artifact, and
 * memory use does not grow with the artifact size.
 */
export class ArtifactStore {
  readonly dir: string;

  constructor(
    dir: string,
    readonly maxBytes: number,
  ) {
    this.dir = resolve(dir);
  }

  /** Absolute path of a stored artifact; refuses anything that would leave the artifact directory. */
  resolve(relative: string): string {
    const full = resolve(this.dir, relative);
    if (!full.startsWith(this.dir + sep)) throw new Error(`artifact path escapes the store: ${relative}`);
    return full;
  }

  async write(
    version: string,
    filename: string,
    source: Readable,
    options: {
      expectedLength?: number;
      /** Called with the received size and digest before the file is moved into place; throwing refuses it. */
      accept?: (received: { size: number; sha256: string }) => void;
    } = {},
  ): Promise<StoredArtifact> {
    if (!ARTIFACT_FILENAME.test(filename)) throw new Error(`invalid artifact filename: ${filename}`);
    if (options.expectedLength !== undefined && options.expectedLength > this.maxBytes) {
      throw new ArtifactTooLargeError(this.maxBytes);
    }
    const incoming = join(this.dir, '.incoming');
    await mkdir(incoming, { recursive: true, mode: 0o700 });
    await this.sweep(incoming);
    const temp = join(incoming, `${randomBytes(12).toString('hex')}.part`);
    const hash = createHash('sha256');
    let size = 0;
    const max = this.maxBytes;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length;
        if (size > max) return done(new ArtifactTooLargeError(max));
        hash.update(chunk);
        done(null, chunk);
      },
    });
    const writer = createWriteStream(temp, { flags: 'wx', mode: 0o600 });
    try {
      await pipeline(source, meter, writer);
      if (options.expectedLength !== undefined && size !== options.expectedLength) {
        throw new ArtifactLengthMismatchError(options.expectedLength, size);
      }
      const sha256 = hash.digest('hex');
      options.accept?.({ size, sha256 });
      const fh = await open(temp, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      const relative = join(version, filename);
      const target = this.resolve(relative);
      await mkdir(join(this.dir, version), { recursive: true, mode: 0o700 });
      await rename(temp, target);
      return { path: relative, size, sha256 };
    } catch (err) {
      // A stream destroyed while it is still opening the file creates it afterwards: wait for the
      // descriptor to close, or the rm below runs first and the .part file outlives the upload.
      if (!writer.closed) await new Promise<void>((resolve) => writer.once('close', () => resolve()));
      await rm(temp, { force: true });
      throw err;
    }
  }

  /** Removes temporary files a killed process left behind (untouched for a day: no live upload is that idle). */
  private async sweep(incoming: string): Promise<void> {
    const cutoff = Date.now() - 86_400_000;
    for (const name of await readdir(incoming).catch(() => [] as string[])) {
      const path = join(incoming, name);
      const st = await stat(path).catch(() => null);
      if (st && st.mtimeMs < cutoff) await rm(path, { force: true });
    }
  }

  async size(relative: string): Promise<number | null> {
    try {
      return (await stat(this.resolve(relative))).size;
    } catch {
      return null;
    }
  }

  /** Reads bytes `start..end` inclusive (the whole file without a range). */
  read(relative: string, range?: { start: number; end: number }): ReadStream {
    return createReadStream(this.resolve(relative), range ? { start: range.start, end: range.end } : {});
  }

  async remove(relative: string): Promise<void> {
    await rm(this.resolve(relative), { force: true });
  }
}
