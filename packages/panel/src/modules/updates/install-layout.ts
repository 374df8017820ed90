import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import semver from 'semver';
import { fsyncDir } from '../../lib/atomic-file';

export interface ReleaseManifest {
  name: string;
  version: string;
  channel: string;
  build_time: string;
  git_commit: string;
  node_engine: string;
  entry: string;
}

/**
 * The install dir:
 *   releases/<version>/   one unpacked release each (release-manifest.json, bin/wispanel.mjs, …)
 *   current -> releases/<version>   switched atomically (new symlink under a temp name, then rename)
 *   staging/              downloads in progress (resumable)
 *   backups/              database backups taken before a switch
 *   state/update.json     the persisted update status
 * The data dir (database, TLS, hardware id) lives elsewhere and is never touched by a switch.
 */
export class InstallLayout {
  readonly releasesDir: string;
  readonly currentLink: string;
  readonly stagingDir: string;
  readonly backupsDir: string;
  readonly stateFile: string;
  readonly supervisorPidFile: string;

  constructor(readonly root: string) {
    this.releasesDir = join(root, 'releases');
    this.currentLink = join(root, 'current');
    this.stagingDir = join(root, 'staging');
    this.backupsDir = join(root, 'backups');
    this.stateFile = join(root, 'state', 'update.json');
    this.supervisorPidFile = join(root, 'state', 'supervisor.pid');
  }

  ensure(): void {
    for (const d of [this.releasesDir, this.stagingDir, this.backupsDir, join(this.root, 'state')]) {
      mkdirSync(d, { recursive: true });
    }
  }

  releaseDir(version: string): string {
    return join(this.releasesDir, version);
  }

  /** `releases/<version>` — relative, so the install dir can be moved. */
  targetOf(version: string): string {
    return join('releases', version);
  }

  currentTarget(): string | null {
    try {
      return readlinkSync(this.currentLink);
    } catch {
      return null;
    }
  }

  currentVersion(): string | null {
    const target = this.currentTarget();
    return target ? basename(target) : null;
  }

  manifestOf(version: string): ReleaseManifest | null {
    try {
      return JSON.parse(readFileSync(join(this.releaseDir(version), 'release-manifest.json'), 'utf8'));
    } catch {
      return null;
    }
  }

  hasRelease(version: string): boolean {
    return this.manifestOf(version)?.version === version;
  }

  /** Points `current` at `target` (e.g. `releases/1.4.3`) atomically: readers see the old or the new link. */
  switchTo(target: string): void {
    const tmp = join(this.root, `.current-${randomBytes(6).toString('hex')}`);
    symlinkSync(target, tmp);
    renameSync(tmp, this.currentLink);
    fsyncDir(this.root);
  }

  /** Installed versions, newest first. */
  versions(): string[] {
    if (!existsSync(this.releasesDir)) return [];
    return readdirSync(this.releasesDir)
      .filter((v) => semver.valid(v) && this.hasRelease(v))
      .sort((a, b) => semver.rcompare(a, b));
  }

  /**
   * Keeps the current release and `keep` others (the `protect`ed ones first, then the most recently installed);
   * removes the rest, and any half-unpacked leftovers. Returns the removed versions.
   */
  prune(keep: number, protect: string[] = []): string[] {
    const current = this.currentVersion();
    const others = this.versions()
      .filter((v) => v !== current && !protect.includes(v))
      .map((v) => ({ v, t: statSync(this.releaseDir(v)).mtimeMs }))
      .sort((a, b) => b.t - a.t || semver.rcompare(a.v, b.v));
    // Protected releases (the one just switched away from) count towards `keep` and go first.
    others.unshift(...protect.filter((v) => v !== current && this.hasRelease(v)).map((v) => ({ v, t: 0 })));
    const removed: string[] = [];
    for (const { v } of others.slice(keep)) {
      rmSync(this.releaseDir(v), { recursive: true, force: true });
      removed.push(v);
    }
    if (existsSync(this.releasesDir)) {
      for (const name of readdirSync(this.releasesDir)) {
        if (name.startsWith('.')) rmSync(join(this.releasesDir, name), { recursive: true, force: true });
      }
    }
    return removed;
  }
}
