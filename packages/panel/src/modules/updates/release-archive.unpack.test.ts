// The unpack flow of a release tarball (unpackRelease) with real gzipped tarballs and real files: what lands in
// releases/<version>, the exact refusal for each kind of bad archive, that a refused archive leaves nothing
// behind, the manifest checks, the running release, a leftover release dir, and a disk that fills while
// unpacking (a real small tmpfs; needs root or CAP_SYS_ADMIN, skipped and said so without it).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@wispanel/kit/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { goodEntries, type RawEntry, rawTarball, releaseManifest } from '../../../test/raw-tarball';
import { InstallLayout } from './install-layout';
import { unpackRelease } from './release-archive';

const V = '2.0.0';
const TOP = `wispanel-${V}`;

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function setup(entries: RawEntry[]) {
  const d = tempDir();
  cleanups.push(d.remove);
  const file = join(d.path, 'a.tar.gz');
  writeFileSync(file, rawTarball(entries));
  return { layout: new InstallLayout(join(d.path, 'install')), file, root: d.path };
}

/** The refusal (code and message) of unpacking `entries` as release V; releases/ must be left empty. */
async function refusal(entries: RawEntry[], version = V): Promise<{ code: string; message: string }> {
  const { layout, file } = setup(entries);
  const err = await unpackRelease(file, layout, version).then(
    () => {
      throw new Error('the archive was accepted');
    },
    (e: { code: string; message: string }) => e,
  );
  expect(readdirSync(layout.releasesDir)).toEqual([]); // no release, no half-unpacked temp dir
  return { code: err.code, message: err.message };
}

const rejected = (message: string) => ({ code: 'UPDATE_UNSAFE_ARCHIVE', message });

describe('unpackRelease: accepted archives', () => {
  it('unpacks into releases/<version> only, with links to the release root and to its files', async () => {
    const { layout, file } = setup([
      ...goodEntries(V),
      { name: `${TOP}/self`, type: '2', link: '.' },
      { name: `${TOP}/bin/root`, type: '2', link: '..' },
      { name: `${TOP}/bin/hard.mjs`, type: '1', link: `${TOP}/bin/wispanel.mjs` },
    ]);
    const { dir, manifest } = await unpackRelease(file, layout, V);
    expect(dir).toBe(layout.releaseDir(V));
    expect(manifest).toEqual(JSON.parse(releaseManifest(V)));
    expect(readdirSync(layout.releasesDir)).toEqual([V]);
    expect(readdirSync(dir).sort()).toEqual(['bin', 'release-manifest.json', 'self']);
    expect(readdirSync(join(dir, 'bin')).sort()).toEqual(['hard.mjs', 'link.mjs', 'root', 'wispanel.mjs']);
    expect(readFileSync(join(dir, 'bin/hard.mjs'), 'utf8')).toBe('console.log(1)');
    expect(readlinkSync(join(dir, 'bin/root'))).toBe('..');
    expect(realpathSync(join(dir, 'self'))).toBe(realpathSync(dir));
  });

  it('unpacked files belong to the panel, never to the owner the archive records', async () => {
    const owned = (name: string, type?: '5') => ({ name, type, uid: 4321, gid: 4321, body: 'x' });
    const { layout, file } = setup([
      { ...owned(`${TOP}/`, '5') },
      { ...owned(`${TOP}/release-manifest.json`), body: releaseManifest(V) },
      owned(`${TOP}/bin/`, '5'),
      owned(`${TOP}/bin/wispanel.mjs`),
    ]);
    const { dir } = await unpackRelease(file, layout, V);
    for (const p of [
      dir,
      join(dir, 'bin'),
      join(dir, 'bin/wispanel.mjs'),
      join(dir, 'release-manifest.json'),
    ]) {
      expect(statSync(p)).toMatchObject({ uid: process.getuid?.(), gid: process.getgid?.() });
    }
  });

  it('finds the entry point at bin/wispanel.mjs when the manifest names none', async () => {
    const { layout, file } = setup([
      { name: `${TOP}/release-manifest.json`, body: JSON.stringify({ name: 'wispanel', version: V }) },
      { name: `${TOP}/bin/wispanel.mjs`, body: 'x' },
    ]);
    const { manifest } = await unpackRelease(file, layout, V);
    expect(manifest.version).toBe(V);
    expect(layout.hasRelease(V)).toBe(true);
  });

  it('finds the entry point the manifest names (no bin/wispanel.mjs needed)', async () => {
    const { layout, file } = setup([
      { name: `${TOP}/release-manifest.json`, body: releaseManifest(V, { entry: 'start.mjs' }) },
      { name: `${TOP}/start.mjs`, body: 'x' },
    ]);
    const { manifest } = await unpackRelease(file, layout, V);
    expect(manifest.entry).toBe('start.mjs');
    expect(existsSync(join(layout.releaseDir(V), 'start.mjs'))).toBe(true);
  });

  it('replaces a leftover releases/<version> of an earlier attempt (not the running release)', async () => {
    const { layout, file } = setup(goodEntries(V));
    mkdirSync(join(layout.releaseDir(V), 'old/deep'), { recursive: true });
    writeFileSync(join(layout.releaseDir(V), 'old/deep/stale.txt'), 'stale');
    layout.switchTo(layout.targetOf('1.0.0'));
    await unpackRelease(file, layout, V);
    expect(readdirSync(layout.releaseDir(V)).sort()).toEqual(['bin', 'release-manifest.json']);
    expect(readdirSync(layout.releasesDir)).toEqual([V]);
  });
});

describe('unpackRelease: refusals name what is wrong and leave nothing behind', () => {
  it('an entry refused by the entry rules (not by node-tar), named in the message', async () => {
    // node-tar refuses `..` itself too; the entry rules must see it first (the message says which rule).
    expect(await refusal([...goodEntries(V), { name: `${TOP}/../../evil.txt`, body: 'x' }])).toEqual(
      rejected(`release archive rejected: path with .. ${TOP}/../../evil.txt`),
    );
    expect(await refusal([...goodEntries(V), { name: `${TOP}/fifo`, type: '6' }])).toEqual(
      rejected(`release archive rejected: FIFO entry ${TOP}/fifo (only files, directories and links)`),
    );
    expect(
      await refusal([...goodEntries(V), { name: `${TOP}/hl`, type: '1', link: 'other/a.tar.gz' }]),
    ).toEqual(rejected(`release archive rejected: link ${TOP}/hl -> other/a.tar.gz escapes the release`));
  });

  it('lists the first three problems, in archive order', async () => {
    const evil: RawEntry[] = [1, 2, 3, 4].map((i) => ({ name: `other${i}/x`, body: 'x' }));
    expect(await refusal([...goodEntries(V), ...evil])).toEqual(
      rejected(
        `release archive rejected: entry other1/x outside the top directory ${TOP}/; ` +
          `entry other2/x outside the top directory ${TOP}/; entry other3/x outside the top directory ${TOP}/`,
      ),
    );
  });

  it('refuses an archive with hundreds of bad entries (the kept list is bounded, the refusal is not)', async () => {
    const evil: RawEntry[] = Array.from({ length: 250 }, (_, i) => ({ name: `${TOP}/dev${i}`, type: '3' }));
    const r = await refusal([...goodEntries(V), ...evil, { name: `${TOP}/late/x`, body: 'x' }]);
    expect(r.code).toBe('UPDATE_UNSAFE_ARCHIVE');
    expect(r.message).toBe(
      `release archive rejected: ${[0, 1, 2].map((i) => `CharacterDevice entry ${TOP}/dev${i} (only files, directories and links)`).join('; ')}`,
    );
  });

  it('a symlink chain resolving outside the release, at the top and in a subdirectory', async () => {
    expect(
      await refusal([
        ...goodEntries(V),
        { name: `${TOP}/dot`, type: '2', link: '.' },
        { name: `${TOP}/up`, type: '2', link: 'dot/..' },
      ]),
    ).toEqual(rejected('release archive rejected: link up resolves outside the release'));
    expect(
      await refusal([
        ...goodEntries(V),
        { name: `${TOP}/bin/dot`, type: '2', link: '.' },
        { name: `${TOP}/bin/up`, type: '2', link: 'dot/../..' },
      ]),
    ).toEqual(rejected('release archive rejected: link bin/up resolves outside the release'));
  });

  it('a dangling symlink whose existing prefix resolves outside the release', async () => {
    expect(
      await refusal([
        ...goodEntries(V),
        { name: `${TOP}/dot`, type: '2', link: '.' },
        { name: `${TOP}/up`, type: '2', link: 'dot/../nowhere/x' },
      ]),
    ).toEqual(rejected('release archive rejected: link up resolves outside the release'));
  });

  it('a dangling symlink inside the release is accepted', async () => {
    const { layout, file } = setup([
      ...goodEntries(V),
      { name: `${TOP}/bin/gone`, type: '2', link: 'no/such/x' },
    ]);
    await unpackRelease(file, layout, V);
    expect(readlinkSync(join(layout.releaseDir(V), 'bin/gone'))).toBe('no/such/x');
  });

  it('reports the entry rules first: a link chain is only resolved once every entry passed them', async () => {
    expect(
      await refusal([
        ...goodEntries(V),
        { name: `${TOP}/dot`, type: '2', link: '.' },
        { name: `${TOP}/up`, type: '2', link: 'dot/..' },
        { name: 'other/x', body: 'x' },
      ]),
    ).toEqual(rejected(`release archive rejected: entry other/x outside the top directory ${TOP}/`));
  });

  it('garbage, a corrupt entry header and a truncated archive cannot be unpacked (node-tar strict)', async () => {
    const d = tempDir();
    cleanups.push(d.remove);
    const layout = new InstallLayout(join(d.path, 'install'));
    const junk = join(d.path, 'junk.tar.gz');
    writeFileSync(junk, 'this is not a tarball\n'.repeat(100));
    await expect(unpackRelease(junk, layout, V)).rejects.toMatchObject({
      code: 'UPDATE_UNSAFE_ARCHIVE',
      message: 'release archive cannot be unpacked: TAR_ENTRY_INVALID: checksum failure', // read as a plain tar
    });
    expect(readdirSync(layout.releasesDir)).toEqual([]);

    expect(
      await refusal([...goodEntries(V), { name: `${TOP}/bin/corrupt.mjs`, body: 'x', badChecksum: true }]),
    ).toEqual(rejected('release archive cannot be unpacked: TAR_ENTRY_INVALID: checksum failure'));

    const full = rawTarball([...goodEntries(V), { name: `${TOP}/bin/big.mjs`, body: 'y'.repeat(5000) }]);
    const { gunzipSync, gzipSync } = await import('node:zlib');
    const cut = gzipSync(gunzipSync(full).subarray(0, 512 * 9)); // in the middle of big.mjs's body
    const truncated = join(d.path, 'cut.tar.gz');
    writeFileSync(truncated, cut);
    await expect(unpackRelease(truncated, layout, V)).rejects.toMatchObject({
      code: 'UPDATE_UNSAFE_ARCHIVE',
      message: expect.stringMatching(/^release archive cannot be unpacked: TAR_BAD_ARCHIVE: Truncated input/),
    });
    expect(readdirSync(layout.releasesDir)).toEqual([]);
  });
});

describe('unpackRelease: manifest checks', () => {
  it('no manifest, or one that is not JSON', async () => {
    const noManifest = rejected('release archive has no readable release-manifest.json');
    expect(await refusal([{ name: `${TOP}/bin/wispanel.mjs`, body: 'x' }])).toEqual(noManifest);
    expect(
      await refusal([
        { name: `${TOP}/release-manifest.json`, body: '{"version": "2.0.0"' },
        { name: `${TOP}/bin/wispanel.mjs`, body: 'x' },
      ]),
    ).toEqual(noManifest);
  });

  it('another version than the one asked for', async () => {
    // The top directory is the one asked for, the manifest inside says otherwise.
    const entries = [
      { name: 'wispanel-2.0.1/release-manifest.json', body: releaseManifest(V) },
      { name: 'wispanel-2.0.1/bin/wispanel.mjs', body: 'x' },
    ];
    expect(await refusal(entries, '2.0.1')).toEqual(
      rejected('release archive manifest says version 2.0.0, expected 2.0.1 with its entry point'),
    );
  });

  it('an entry point that is not in the archive (named or the default)', async () => {
    const expected = rejected(
      `release archive manifest says version ${V}, expected ${V} with its entry point`,
    );
    expect(
      await refusal([
        { name: `${TOP}/release-manifest.json`, body: releaseManifest(V, { entry: 'bin/start.mjs' }) },
        { name: `${TOP}/bin/wispanel.mjs`, body: 'x' },
      ]),
    ).toEqual(expected);
    expect(
      await refusal([
        { name: `${TOP}/release-manifest.json`, body: JSON.stringify({ version: V }) },
        { name: `${TOP}/start.mjs`, body: 'x' },
      ]),
    ).toEqual(expected);
  });
});

describe('unpackRelease: the running release', () => {
  it('is never unpacked over: refused, its files untouched, no temp dir left', async () => {
    const { layout, file } = setup(goodEntries(V));
    mkdirSync(join(layout.releaseDir(V), 'bin'), { recursive: true });
    writeFileSync(join(layout.releaseDir(V), 'bin/wispanel.mjs'), 'running');
    layout.switchTo(layout.targetOf(V));
    await expect(unpackRelease(file, layout, V)).rejects.toMatchObject({
      code: 'UPDATE_INSTALL_FAILED',
      message: `release ${V} is the running release`,
    });
    expect(readFileSync(join(layout.releaseDir(V), 'bin/wispanel.mjs'), 'utf8')).toBe('running');
    expect(readdirSync(layout.releasesDir)).toEqual([V]);
  });
});

describe('unpackRelease: the disk fills while unpacking', () => {
  function canMount(dir: string): boolean {
    try {
      mkdirSync(dir, { recursive: true });
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'ignore' });
      execFileSync('umount', [dir], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  }

  it('is refused as a pre-flight failure (not the archive’s fault), and what was unpacked is removed', async (ctx) => {
    // A real full disk: a 256 KiB tmpfs over releases/ and a release with 1 MiB of incompressible data.
    const { layout, file } = setup([
      ...goodEntries(V),
      { name: `${TOP}/lib/`, type: '5' },
      { name: `${TOP}/lib/big.bin`, body: randomBytes(1024 * 1024) },
    ]);
    if (!canMount(layout.releasesDir)) ctx.skip(); // tmpfs needs root/CAP_SYS_ADMIN
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0755', 'tmpfs', layout.releasesDir]);
    cleanups.push(() => execFileSync('umount', ['-l', layout.releasesDir]));
    await expect(unpackRelease(file, layout, V)).rejects.toMatchObject({
      code: 'UPDATE_PREFLIGHT_FAILED',
      message: expect.stringMatching(
        new RegExp(`^disk full while unpacking the release into ${layout.releasesDir}: ENOSPC`),
      ),
    });
    expect(readdirSync(layout.releasesDir)).toEqual([]);
  });
});
