import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { dirname, isAbsolute, join, posix, relative, sep } from 'node:path';
import * as tar from 'tar';
import type { InstallLayout, ReleaseManifest } from './install-layout';
import { UpdateError } from './update-error';

const ALLOWED_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory', 'SymbolicLink', 'Link']);

/**
 * Why a tar entry must not be unpacked, or null when it is safe: absolute paths, `..` segments, anything
 * outside the single top directory, device files and FIFOs, and links whose target leaves the release.
 */
export function unsafeEntryReason(
  entry: { path: string; type: string; linkpath?: string },
  topDir: string,
): string | null {
  const raw = entry.path.replace(/\\/g, '/');
  if (raw.startsWith('/') || isAbsolute(raw) || /^[A-Za-z]:/.test(raw)) return `absolute path ${entry.path}`;
  const segments = raw.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) return `path with .. ${entry.path}`;
  if (segments[0] !== topDir) return `entry ${entry.path} outside the top directory ${topDir}/`;
  if (!ALLOWED_TYPES.has(entry.type))
    return `${entry.type} entry ${entry.path} (only files, directories and links)`;
  if (entry.type === 'SymbolicLink' || entry.type === 'Link') {
    const link = (entry.linkpath ?? '').replace(/\\/g, '/');
    if (link === '' || link.startsWith('/') || isAbsolute(link))
      return `link ${entry.path} -> ${link} is absolute`;
    // Symlinks resolve from their own directory, hard links from the archive root.
    const resolved =
      entry.type === 'SymbolicLink'
        ? posix.normalize(posix.join(posix.dirname(segments.join('/')), link))
        : posix.normalize(link);
    const parts = resolved.split('/');
    if (resolved.startsWith('..') || parts[0] !== topDir)
      return `link ${entry.path} -> ${link} escapes the release`;
  }
  return null;
}

/** node-tar options shared by the file and the streamed unpack: strict, no owners, every entry through `filter`. */
function extractOptions(
  cwd: string,
  filter: (path: string, entry: { type: string; linkpath?: string; size?: number }) => boolean,
): tar.TarOptionsWithAliases {
  return {
    cwd,
    strip: 1,
    // Every tar warning (bad checksum, truncated entry, node-tar's own path checks…) rejects the whole
    // archive (with strict, node-tar never calls an onwarn handler: it emits an error).
    strict: true,
    preserveOwner: false,
    filter: (path: string, entry: unknown) =>
      filter(path, entry as unknown as { type: string; linkpath?: string; size?: number }),
  };
}

/** The refusal for an extraction that threw (a full disk is not the archive's fault). */
function extractionError(err: unknown, where: string): UpdateError {
  const errno = (err as NodeJS.ErrnoException).code;
  if (errno === 'ENOSPC' || errno === 'EDQUOT') {
    return new UpdateError(
      'UPDATE_PREFLIGHT_FAILED',
      `disk full while unpacking the release into ${where}: ${(err as Error).message}`,
    );
  }
  return new UpdateError(
    'UPDATE_UNSAFE_ARCHIVE',
    `release archive cannot be unpacked: ${(err as Error).message}`,
  );
}

/**
 * Unpacks a release tarball into `releases/<version>/`: into a hidden temp dir first, entry by entry through
 * `unsafeEntryReason` (one bad entry rejects the whole archive, nothing of it stays), then checks the manifest
 * names the expected version and renames the dir into place. Used for a file whose SHA-256 was checked
 * against the signed metadata first (the streamed unpack in `StreamedUnpack` falls back to it).
 */
export async function unpackRelease(
  file: string,
  layout: InstallLayout,
  version: string,
): Promise<{ dir: string; manifest: ReleaseManifest }> {
  const topDir = `wispanel-${version}`;
  mkdirSync(layout.releasesDir, { recursive: true });
  const tmp = join(layout.releasesDir, `.${version}.partial-${randomBytes(4).toString('hex')}`);
  mkdirSync(tmp);
  const problems: string[] = [];
  try {
    await tar.x({
      file,
      ...extractOptions(tmp, (path, e) => {
        const reason = unsafeEntryReason({ path, type: e.type, linkpath: e.linkpath }, topDir);
        if (reason === null) return true;
        if (problems.length < 100) problems.push(reason); // bounded: a hostile archive can have millions
        return false;
      }),
    });
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw extractionError(err, layout.releasesDir);
  }
  return installUnpacked(tmp, layout, version, problems);
}

/**
 * The checks after the entries are on disk (links resolved by the kernel, manifest and entry point, not the
 * running release), then `tmp` is renamed to `releases/<version>`. `tmp` is removed on any refusal.
 */
function installUnpacked(
  tmp: string,
  layout: InstallLayout,
  version: string,
  problems: string[],
): { dir: string; manifest: ReleaseManifest } {
  if (problems.length === 0) problems.push(...escapingLinks(tmp));
  if (problems.length > 0) {
    rmSync(tmp, { recursive: true, force: true });
    throw new UpdateError(
      'UPDATE_UNSAFE_ARCHIVE',
      `release archive rejected: ${problems.slice(0, 3).join('; ')}`,
    );
  }
  let manifest: ReleaseManifest;
  try {
    manifest = JSON.parse(readFileSync(join(tmp, 'release-manifest.json'), 'utf8'));
  } catch {
    rmSync(tmp, { recursive: true, force: true });
    throw new UpdateError('UPDATE_UNSAFE_ARCHIVE', 'release archive has no readable release-manifest.json');
  }
  if (manifest.version !== version || !existsSync(join(tmp, manifest.entry ?? 'bin/wispanel.mjs'))) {
    rmSync(tmp, { recursive: true, force: true });
    throw new UpdateError(
      'UPDATE_UNSAFE_ARCHIVE',
      `release archive manifest says version ${manifest.version}, expected ${version} with its entry point`,
    );
  }
  const dir = layout.releaseDir(version);
  if (layout.currentVersion() === version) {
    rmSync(tmp, { recursive: true, force: true });
    throw new UpdateError('UPDATE_INSTALL_FAILED', `release ${version} is the running release`);
  }
  mkdirSync(layout.releasesDir, { recursive: true });
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return { dir, manifest };
}

/**
 * The per-entry check is lexical, one link at a time; links that are each harmless can still combine
 * (`dot -> .` then `up -> dot/..` resolves to the releases dir). So after unpacking, every symlink is resolved
 * by the kernel; its target (or, when dangling, the longest existing prefix) must stay inside the release.
 */
function escapingLinks(root: string): string[] {
  const base = realpathSync.native(root);
  const raw = (link: string) => `${dirname(link)}/${readlinkSync(link)}`;
  const inside = (p: string) => p === base || p.startsWith(base + sep);
  const problems: string[] = [];
  for (const e of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!e.isSymbolicLink()) continue;
    const link = join(e.parentPath, e.name);
    // realpath.native: the kernel's resolution (the JS realpath folds `link/..` lexically and is fooled).
    // A dangling link is judged by the longest prefix of its target that exists, cut at '/' without
    // normalising (`dot/../nowhere` must resolve `dot` first).
    let path = raw(link);
    let target = path;
    for (;;) {
      try {
        target = realpathSync.native(path);
        break;
      } catch {
        const cut = path.lastIndexOf('/');
        if (cut <= 0) break;
        path = path.slice(0, cut);
      }
    }
    if (!inside(target)) problems.push(`link ${relative(root, link)} resolves outside the release`);
    if (problems.length >= 3) break;
  }
  return problems;
}

/** Why a streamed unpack was given up (the verified file is unpacked the classic way instead). */
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
    this.drop('restart');
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
          this.giveUp(err.code === 'ENOSPC' || err.code === 'EDQUOT' ? 'disk' : 'archive');
        }
        resolve();
      });
    });
    unpack.on('drain', () => this.wake());
    unpack.on('entry', (e: { end(): unknown }) => {
      if (this.unpack === unpack) this.entry = e;
    });
    return (chunk: Buffer) => {
      if (this.unpack !== unpack || this.given !== null) return undefined;
      if (unpack.write(chunk)) return undefined;
      return new Promise<void>((resolve) => {
        this.waiter = resolve;
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
    const dir = this.dir;
    if (!unpack || !dir || this.given !== null) {
      this.outcome = this.given ?? 'not-started';
      await this.discard();
      return null;
    }
    unpack.end();
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
    return installUnpacked(dir, this.layout, this.version, []);
  }

  /** Stops the unpack and removes its directory (hash mismatch, failed or cancelled download). */
  async discard(): Promise<void> {
    const finished = this.finished;
    this.drop(this.given ?? 'restart');
    if (finished) await Promise.race([finished, new Promise((r) => setTimeout(r, 2000).unref())]);
    // node-tar may still have settled a file in flight after the first removal.
    this.removeDirs();
  }

  private giveUp(reason: StreamFallbackReason): void {
    if (this.given !== null) return;
    this.given = reason;
    this.wake();
    // Stop at once: node-tar takes no more bytes (abort, safe inside its own callbacks), what it unpacked goes.
    this.unpack?.abort(new Error(`streamed unpack given up (${reason})`));
    this.closeEntry();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }

  private drop(reason: StreamFallbackReason): void {
    const unpack = this.unpack;
    this.unpack = null;
    this.finished = null;
    if (unpack && this.given === null) this.given = reason;
    this.wake();
    if (unpack) {
      unpack.removeAllListeners('drain');
      unpack.on('error', () => {}); // an interrupted archive ends in a truncation error: expected here
      unpack.end();
    }
    this.closeEntry();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
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
    let names: string[] = [];
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
