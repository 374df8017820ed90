import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createGunzip, type Gunzip } from 'node:zlib';
import * as tar from 'tar';
import type { InstallLayout, ReleaseManifest } from './install-layout';
import { extractOptions, installUnpacked, unsafeEntryReason } from './release-archive';

/** Why a streamed unpack was given up (the verified file is unpacked the classic way instead). */
/** Errors that mean the disk (or the user's quota) is full. */
const DISK_FULL = new Set(['ENOSPC', 'EDQUOT']);

export type StreamFallbackReason = 'entry' | 'archive' | 'budget' | 'disk' | 'restart' | 'not-started';

/**
 * Unpacks a release while it downloads (issue 14): the download hands over every byte as it is hashed
 * (`begin()` returns the sink; a resumed download replays its prefix from disk into a fresh sink), and node-tar
 * unpacks them, entry by entry through `unsafeEntryReason`, into a private directory under `staging/`
 * (mode 0700, never under `releases/`, nothing in it is ever run). Nothing of it is believed until the caller
 * has compared the whole artifact's size and SHA-256 with the signed release metadata: `install()` is called
 * only then, runs the same checks as `unpackRelease` (links resolved by the kernel, manifest, entry point) and
 * renames the directory to `releases/<version>`. `discard()` (hash mismatch, failure, cancel) removes it.
 *
 * The stream is only an optimisation: any trouble while streaming (a refused entry, a corrupt or truncated
 * archive, a full disk, more unpacked bytes than `budgetBytes`) stops the unpack at once and removes the
 * directory; the download goes on, and after the hash check `install()` returns null so the caller unpacks
 * the verified file with `unpackRelease` — which then refuses a bad archive with exactly its usual message.
 * `budgetBytes` bounds what unverified bytes can take on disk (a gzip bomb in a tampered download).
 */
export class StreamedUnpack {
  private dir: string | null = null;
  private unpack: tar.Unpack | null = null;
  private finished: Promise<void> | null = null;
  private given: StreamFallbackReason | null = null;
  private used = 0;
  private waiter: (() => void) | null = null;
  private gunzip: Gunzip | null = null;
  /** The entry node-tar is writing (ended by hand when the stream stops mid-entry, so its file is closed). */
  private entry: { end(): unknown } | null = null;
  /** How the last stream ended: 'streamed', or why it fell back (for the log and the tests). */
  outcome: 'streamed' | StreamFallbackReason = 'not-started';

  constructor(
    private readonly layout: InstallLayout,
    private readonly version: string,
    private readonly budgetBytes: number,
  ) {}

  /**
   * Starts the unpack from byte 0 (dropping an earlier, interrupted one) and returns the sink for the bytes.
   * The sink's promise holds the download while node-tar is behind (back-pressure).
   */
  begin(): (chunk: Buffer) => Promise<void> | undefined {
    this.drop(null); // the dropped stream's reason is not kept: this one starts afresh
    this.given = null;
    this.used = 0;
    const topDir = `wispanel-${this.version}`;
    mkdirSync(this.layout.stagingDir, { recursive: true });
    const dir = join(this.layout.stagingDir, `.unpack-${this.version}-${randomBytes(4).toString('hex')}`);
    mkdirSync(dir, { mode: 0o700 });
    this.dir = dir;
    const unpack = new tar.Unpack(
      extractOptions(dir, (path, e) => {
        if (this.given !== null || this.unpack !== unpack) return false;
        if (unsafeEntryReason({ path, type: e.type, linkpath: e.linkpath }, topDir) !== null) {
          this.giveUp('entry');
          return false;
        }
        // What it takes on disk, counted generously: whole 4 KiB blocks plus one for the inode/dir entry.
        this.used += Math.ceil((e.size ?? 0) / 4096) * 4096 + 4096;
        if (this.used > this.budgetBytes) {
          this.giveUp('budget');
          return false;
        }
        return true;
      }) as ConstructorParameters<typeof tar.Unpack>[0],
    );
    this.unpack = unpack;
    this.finished = new Promise<void>((resolve) => {
      unpack.on('close', () => resolve());
      unpack.on('error', (err: NodeJS.ErrnoException) => {
        if (this.unpack === unpack && this.given === null) {
          this.giveUp(DISK_FULL.has(err.code as string) ? 'disk' : 'archive');
        }
        resolve();
      });
    });
    unpack.on('entry', (e: { end(): unknown }) => {
      if (this.unpack === unpack) this.entry = e;
    });
    // Inflated by node's zlib on the thread pool (in large chunks), beside the hashing and TLS on the main
    // thread; node-tar gets the plain tar stream. Each side holds the other back when it falls behind.
    const gunzip = createGunzip({ chunkSize: 256 * 1024 });
    this.gunzip = gunzip;
    gunzip.on('data', (c: Buffer) => {
      if (!unpack.write(c)) gunzip.pause();
    });
    unpack.on('drain', () => gunzip.resume());
    gunzip.on('end', () => unpack.end());
    gunzip.on('error', () => {
      if (this.gunzip === gunzip) this.giveUp('archive');
    });
    return (chunk: Buffer) => {
      if (this.unpack !== unpack || this.given !== null) return undefined;
      if (gunzip.write(chunk)) return undefined;
      return new Promise<void>((resolve) => {
        this.waiter = resolve;
        gunzip.once('drain', () => this.wake());
      });
    };
  }

  /**
   * After the caller checked size and SHA-256 of the bytes it fed against the signed metadata: finishes the
   * unpack and installs it as `releases/<version>` (the checks of `unpackRelease`, same refusals), or returns
   * null when the stream was given up (or never started) — then unpack the verified file instead.
   */
  async install(): Promise<{ dir: string; manifest: ReleaseManifest } | null> {
    const unpack = this.unpack;
    // begin() sets unpack and dir together, drop() and install() clear them together.
    const dir = this.dir as string;
    if (!unpack || this.given !== null) {
      this.outcome = this.given ?? 'not-started';
      await this.discard();
      return null;
    }
    // Always set here: the inflater is only cleared with a reason (giveUp, drop), caught just above.
    (this.gunzip as Gunzip).end();
    await this.finished;
    if (this.given !== null) {
      this.outcome = this.given;
      await this.discard();
      return null;
    }
    this.unpack = null;
    this.dir = null;
    this.outcome = 'streamed';
    chmodSync(dir, 0o755);
    mkdirSync(this.layout.releasesDir, { recursive: true });
    return installUnpacked(dir, this.layout, this.version, []);
  }

  /** Stops the unpack and removes its directory (hash mismatch, failed or cancelled download). */
  async discard(): Promise<void> {
    const finished = this.finished;
    this.drop(this.given ?? 'restart');
    // (No stream: `finished` is null, and the race ends at once.)
    await Promise.race([finished, new Promise((r) => setTimeout(r, 2000).unref())]);
    // node-tar may still have settled a file in flight after the first removal.
    this.removeDirs();
  }

  private giveUp(reason: StreamFallbackReason): void {
    if (this.given !== null) return;
    this.given = reason;
    this.wake();
    // Stop at once: node-tar takes no more bytes (abort, safe inside its own callbacks), what it unpacked goes.
    this.stopGunzip();
    this.unpack?.abort(new Error(reason)); // to our own error handler, which ignores it (the reason is set)
    this.closeEntry();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }

  private drop(reason: StreamFallbackReason | null): void {
    const unpack = this.unpack;
    this.unpack = null;
    this.finished = null;
    if (unpack && this.given === null) this.given = reason;
    this.wake();
    this.stopGunzip();
    if (unpack) {
      // Its 'drain' handler only resumes the inflater stopped above; the error handler begin() attached
      // ignores the truncation error of a dropped unpack (`this.unpack !== unpack`).
      unpack.end();
    }
    this.closeEntry();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
  }

  private stopGunzip(): void {
    const g = this.gunzip;
    this.gunzip = null;
    if (g) {
      // destroy() ends the 'data' events; an error of the destroyed inflater is nobody's concern.
      g.on('error', () => {});
      g.destroy();
    }
  }

  /** An entry cut off mid-body never ends by itself: end it (after node-tar's current write) to close its file. */
  private closeEntry(): void {
    const e = this.entry;
    this.entry = null;
    if (e) setImmediate(() => e.end());
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  /** Every unpack dir of this version under staging/ (an earlier attempt's included). */
  private removeDirs(): void {
    const prefix = `.unpack-${this.version}-`;
    let names: string[];
    try {
      names = readdirSync(this.layout.stagingDir);
    } catch {
      return;
    }
    for (const n of names) {
      if (n.startsWith(prefix)) rmSync(join(this.layout.stagingDir, n), { recursive: true, force: true });
    }
  }
}
