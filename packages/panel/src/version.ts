import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BuildInfo {
  version: string;
  channel: string;
  build_time: string;
  git_commit: string;
}

const here = dirname(fileURLToPath(import.meta.url));

/** Where a release manifest may sit: beside the running bundle (release layout) or one level up. */
export function releaseManifestCandidates(): string[] {
  return [join(here, 'release-manifest.json'), join(here, '..', 'release-manifest.json')];
}

function readJson(path: string): Record<string, unknown> | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
}

const str = (v: unknown, fallback: string) => (typeof v === 'string' && v.length > 0 ? v : fallback);

let cached: BuildInfo | undefined;

/**
 * What this build is: from `release-manifest.json` next to the running bundle when present (written by the
 * release build), else the repository's root package.json with `unknown` build time and commit.
 * `channel` here is the channel the build was published in; the panel's followed channel is config.
 */
export function buildInfo(options: { manifestPath?: string; fresh?: boolean } = {}): BuildInfo {
  if (cached && !options.fresh && !options.manifestPath) return cached;
  const manifestPath = options.manifestPath ?? releaseManifestCandidates().find((p) => existsSync(p));
  const manifest = manifestPath ? readJson(manifestPath) : null;
  let info: BuildInfo;
  if (manifest && typeof manifest.version === 'string') {
    info = {
      version: manifest.version,
      channel: str(manifest.channel, 'stable'),
      build_time: str(manifest.build_time, 'unknown'),
      git_commit: str(manifest.git_commit, 'unknown'),
    };
  } else {
    const pkg =
      readJson(join(here, '..', '..', '..', 'package.json')) ?? readJson(join(here, '..', 'package.json'));
    info = {
      version: str(pkg?.version, '0.0.0'),
      channel: 'stable',
      build_time: 'unknown',
      git_commit: 'unknown',
    };
  }
  if (!options.manifestPath) cached = info;
  return info;
}
