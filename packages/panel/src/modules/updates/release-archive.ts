import { randomBytes } from 'node:crypto';
import {
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
export function extractOptions(
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

/**
 * Unpacks a release tarball into `releases/<version>/`: into a hidden temp dir first, entry by entry through
 * `unsafeEntryReason` (one bad entry rejects the whole archive, nothing of it stays), then checks the manifest
 * names the expected version and renames the dir into place. Used for a file whose SHA-256 was checked
 * against the signed metadata first (the unpack while downloading, release-stream.ts, falls back to it).
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
    const errno = (err as NodeJS.ErrnoException).code;
    if (errno === 'ENOSPC' || errno === 'EDQUOT') {
      // Not the archive's fault: the disk filled while unpacking (what was unpacked is removed again).
      throw new UpdateError(
        'UPDATE_PREFLIGHT_FAILED',
        `disk full while unpacking the release into ${layout.releasesDir}: ${(err as Error).message}`,
      );
    }
    throw new UpdateError(
      'UPDATE_UNSAFE_ARCHIVE',
      `release archive cannot be unpacked: ${(err as Error).message}`,
    );
  }
  return installUnpacked(tmp, layout, version, problems);
}

/**
 * The checks after the entries are on disk (links resolved by the kernel, manifest and entry point, not the
 * running release), then `tmp` is renamed to `releases/<version>`. `tmp` is removed on any refusal.
 */
export function installUnpacked(
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
