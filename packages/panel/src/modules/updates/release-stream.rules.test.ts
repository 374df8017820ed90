// The rules of StreamedUnpack (release-stream.ts), driven directly through its public methods with real gzipped
// tarballs and real files (no download, no HTTPS: update-stream.test.ts proves the pipeline around it). Fast on
// purpose (each test builds its own small archive and install dir; nothing is run in beforeAll), so a mutation
// run reruns only the tests that reach a mutant. What must hold: unverified bytes only ever land in a private
// 0700 dir under staging/, never under releases/; any trouble (refused entry, corrupt or truncated gzip/tar,
// budget overrun, full disk) gives up at once, removes that dir and makes install() answer null (the caller
// then unpacks the verified file); install() after a clean stream runs the checks of unpackRelease and renames
// the dir to releases/<version> (mode 0755); discard() and a restart leave nothing behind, no file open.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openFilesUnder, tempDir } from '@wispanel/kit/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { goodEntries, type RawEntry, rawTarball, releaseManifest } from '../../../test/raw-tarball';
import { InstallLayout } from './install-layout';
import { StreamedUnpack } from './release-stream';

const V = '1.1.0';
const TOP = `wispanel-${V}`;
const KiB = 1024;
const MiB = 1024 * KiB;

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

/** A fresh install dir; `ensure` false leaves releases/ and staging/ uncreated. */
function layoutFor(ensure = true): InstallLayout {
  const d = tempDir('wispanel-stream-rules-');
  cleanups.push(d.remove);
  const layout = new InstallLayout(join(d.path, 'install'));
  if (ensure) layout.ensure();
  return layout;
}

const unpackDirs = (layout: InstallLayout) =>
  existsSync(layout.stagingDir) ? readdirSync(layout.stagingDir).filter((x) => x.startsWith('.unpack-')) : [];

/** Feeds `gz` in `step`-byte chunks, honouring the sink's back-pressure. */
async function feed(sink: (c: Buffer) => Promise<void> | undefined, gz: Buffer, step = 4096): Promise<void> {
  for (let i = 0; i < gz.length; i += step) await sink(gz.subarray(i, i + step));
}

/** Resolves with `p`, or rejects after `ms` (a hang fails fast instead of at the test timeout). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, reject) =>
      setTimeout(() => reject(new Error(`${what}: still pending after ${ms} ms`)), ms),
    ),
  ]);
}

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The release plus one file `a.bin` of 5000 bytes: on disk, counted as 10 blocks of 4 KiB (see the budget test). */
const small = () => rawTarball([...goodEntries(V), { name: `${TOP}/a.bin`, body: Buffer.alloc(5000, 1) }]);
/** The release plus `n` incompressible files of 1 MiB (so the stream is in the middle of one for a while). */
const large = (n: number) => {
  const entries: RawEntry[] = [...goodEntries(V)];
  for (let i = 0; i < n; i++) entries.push({ name: `${TOP}/part-${i}.bin`, body: randomBytes(MiB) });
  return rawTarball(entries);
};

describe('StreamedUnpack: a clean stream is installed only by install()', () => {
  it('unpacks into a private 0700 dir under staging/ (created if missing), nothing under releases/ before install()', async () => {
    const layout = layoutFor(false);
    const s = new StreamedUnpack(layout, V, 64 * MiB);
    const sink = s.begin();
    const dirs = unpackDirs(layout);
    expect(dirs).toHaveLength(1);
    expect(dirs[0]).toMatch(/^\.unpack-1\.1\.0-[0-9a-f]{8}$/);
    const priv = join(layout.stagingDir, dirs[0] as string);
    expect(statSync(priv).mode & 0o777).toBe(0o700);
    await feed(sink, small());
    await until('the manifest is unpacked in the private dir', () =>
      existsSync(join(priv, 'release-manifest.json')),
    );
    expect(existsSync(layout.releasesDir)).toBe(false);
    expect(s.outcome).toBe('not-started');

    const got = await s.install();
    expect(s.outcome).toBe('streamed');
    expect(got?.dir).toBe(layout.releaseDir(V));
    expect(got?.manifest).toEqual(JSON.parse(releaseManifest(V)));
    expect(readdirSync(layout.releasesDir)).toEqual([V]);
    expect(statSync(layout.releaseDir(V)).mode & 0o777).toBe(0o755);
    expect(readFileSync(join(layout.releaseDir(V), 'bin/wispanel.mjs'), 'utf8')).toBe('console.log(1)');
    expect(readFileSync(join(layout.releaseDir(V), 'a.bin'))).toEqual(Buffer.alloc(5000, 1));
    expect(unpackDirs(layout)).toEqual([]);
  });

  it('a big chunk is held back (the sink returns a promise) and released once the unpack took it', async () => {
    const layout = layoutFor();
    const s = new StreamedUnpack(layout, V, 64 * MiB);
    const sink = s.begin();
    const gz = large(2);
    const first = sink(gz.subarray(0, MiB));
    expect(first).toBeInstanceOf(Promise);
    await within(first as Promise<void>, 10_000, 'the held chunk');
    await feed(sink, gz.subarray(MiB), 256 * KiB);
    expect((await within(s.install(), 10_000, 'install'))?.dir).toBe(layout.releaseDir(V));
    expect(readFileSync(join(layout.releaseDir(V), 'part-1.bin'))).toHaveLength(MiB);
  });

  it('a second install() after a streamed one does not unpack again: null, the installed release stays', async () => {
    const layout = layoutFor();
    const s = new StreamedUnpack(layout, V, 64 * MiB);
    await feed(s.begin(), small());
    expect(await s.install()).not.toBeNull();
    expect(await s.install()).toBeNull();
    expect(s.outcome).toBe('not-started');
    await s.discard();
    expect(readdirSync(layout.releasesDir)).toEqual([V]);
    expect(readFileSync(join(layout.releaseDir(V), 'a.bin'))).toEqual(Buffer.alloc(5000, 1));
  });

  it('install() runs the checks of unpackRelease: links that escape together, a wrong manifest, the running release', async () => {
    // Each link alone stays inside; together they reach releases/ (only the kernel's resolution sees it).
    const layout = layoutFor();
    const s = new StreamedUnpack(layout, V, 64 * MiB);
    await feed(
      s.begin(),
      rawTarball([
        ...goodEntries(V),
        { name: `${TOP}/dot`, type: '2', link: '.' },
        { name: `${TOP}/up`, type: '2', link: 'dot/..' },
      ]),
    );
    await expect(s.install()).rejects.toMatchObject({
      code: 'UPDATE_UNSAFE_ARCHIVE',
      message: 'release archive rejected: link up resolves outside the release',
    });
    expect(readdirSync(layout.releasesDir)).toEqual([]);
    expect(readdirSync(layout.stagingDir)).toEqual([]);

    const other = layoutFor();
    const s2 = new StreamedUnpack(other, V, 64 * MiB);
    await feed(
      s2.begin(),
      rawTarball([
        { name: `${TOP}/`, type: '5' },
        { name: `${TOP}/release-manifest.json`, body: releaseManifest('9.9.9') },
        { name: `${TOP}/bin/wispanel.mjs`, body: 'x' },
      ]),
    );
    await expect(s2.install()).rejects.toMatchObject({ code: 'UPDATE_UNSAFE_ARCHIVE' });
    expect(readdirSync(other.releasesDir)).toEqual([]);
    expect(readdirSync(other.stagingDir)).toEqual([]);
  });
});

describe('StreamedUnpack: any trouble gives up at once (the verified file is unpacked instead)', () => {
  /** Feeds `gz`; unless `clean`, waits (up to 3 s) for the stream to give up by itself, before install(). */
  async function givenUp(gz: Buffer, budget = 64 * MiB, clean = false) {
    const layout = layoutFor();
    const s = new StreamedUnpack(layout, V, budget);
    const sink = s.begin();
    await feed(sink, gz);
    if (!clean)
      await until('the unpack dir is removed', () => unpackDirs(layout).length === 0, 3000).catch(() => {});
    const leftBeforeInstall = unpackDirs(layout);
    const afterGivingUp = sink(gz.subarray(0, 512));
    const result = await within(s.install(), 10_000, 'install');
    return { layout, s, leftBeforeInstall, afterGivingUp, result };
  }

  it('an entry outside the top directory: outcome entry, the dir removed before install(), the sink takes nothing more', async () => {
    const r = await givenUp(
      rawTarball([...goodEntries(V), { name: 'elsewhere/x', body: 'x' }, ...goodEntries(V).slice(1)]),
    );
    expect(r.leftBeforeInstall).toEqual([]);
    expect(r.afterGivingUp).toBeUndefined();
    expect(r.result).toBeNull();
    expect(r.s.outcome).toBe('entry');
    expect(readdirSync(r.layout.releasesDir)).toEqual([]);
    expect(readdirSync(r.layout.stagingDir)).toEqual([]);
  });

  it('a release of another version (its top directory) is refused by entry', async () => {
    const r = await givenUp(rawTarball(goodEntries('1.1.1')));
    expect(r.result).toBeNull();
    expect(r.s.outcome).toBe('entry');
    expect(readdirSync(r.layout.stagingDir)).toEqual([]);
  });

  it('a device entry and a link leaving the release are refused by entry', async () => {
    for (const bad of [
      { name: `${TOP}/dev`, type: '3' as const },
      { name: `${TOP}/bin/out`, type: '2' as const, link: '../../x' },
    ]) {
      const r = await givenUp(rawTarball([...goodEntries(V), bad]));
      expect(r.result).toBeNull();
      expect(r.s.outcome).toBe('entry');
      expect(readdirSync(r.layout.stagingDir)).toEqual([]);
    }
  });

  it('not gzip at all: outcome archive', async () => {
    const r = await givenUp(randomBytes(64 * KiB));
    expect(r.leftBeforeInstall).toEqual([]);
    expect(r.afterGivingUp).toBeUndefined();
    expect(r.result).toBeNull();
    expect(r.s.outcome).toBe('archive');
    expect(readdirSync(r.layout.stagingDir)).toEqual([]);
  });

  it('a corrupt tar header: outcome archive (node-tar strict), nothing kept', async () => {
    const r = await givenUp(
      rawTarball([...goodEntries(V), { name: `${TOP}/bad.bin`, body: 'x', badChecksum: true }]),
    );
    expect(r.result).toBeNull();
    expect(r.s.outcome).toBe('archive');
    expect(readdirSync(r.layout.releasesDir)).toEqual([]);
    expect(readdirSync(r.layout.stagingDir)).toEqual([]);
  });

  it('a truncated download that install() is still called for: outcome archive, nothing installed', async () => {
    const gz = large(1);
    const r = await givenUp(gz.subarray(0, gz.length - 200 * KiB), 64 * MiB, true);
    expect(r.result).toBeNull();
    expect(r.s.outcome).toBe('archive');
    // The stream stopped in the middle of part-0.bin: node-tar never ends that entry by itself.
    await until(
      'the file cut off mid-entry is closed',
      () => openFilesUnder(r.layout.root).length === 0,
      3000,
    );
    expect(readdirSync(r.layout.releasesDir)).toEqual([]);
    expect(readdirSync(r.layout.stagingDir)).toEqual([]);
  });

  it('the budget counts whole 4 KiB blocks plus one per entry: exactly at it streams, one byte less gives up', async () => {
    // goodEntries: 3 entries without data (top dir, bin/, link) 1 block each, 2 small files 2 blocks each,
    // a.bin (5000 bytes) 3 blocks: 10 blocks.
    const at = await givenUp(small(), 10 * 4096, true);
    expect(at.s.outcome).toBe('streamed');
    expect(at.result?.dir).toBe(at.layout.releaseDir(V));

    const under = await givenUp(small(), 10 * 4096 - 1);
    expect(under.leftBeforeInstall).toEqual([]);
    expect(under.result).toBeNull();
    expect(under.s.outcome).toBe('budget');
    expect(readdirSync(under.layout.releasesDir)).toEqual([]);
    expect(readdirSync(under.layout.stagingDir)).toEqual([]);
  });

  it('a gzip bomb stops at the budget before its big entry is written', async () => {
    const bomb = rawTarball([...goodEntries(V), { name: `${TOP}/zeros.bin`, body: Buffer.alloc(16 * MiB) }]);
    const r = await givenUp(bomb, 4 * MiB);
    expect(r.leftBeforeInstall).toEqual([]);
    expect(r.result).toBeNull();
    expect(r.s.outcome).toBe('budget');
  });

  it('giving up in the middle of a held chunk releases the download, removes the dir, closes the file', async () => {
    const layout = layoutFor();
    const s = new StreamedUnpack(layout, V, 2 * MiB + 64 * KiB);
    const sink = s.begin();
    const gz = large(3); // the third MiB file crosses the budget
    const held = sink(gz);
    expect(held).toBeInstanceOf(Promise);
    await within(held as Promise<void>, 10_000, 'the chunk held when the stream gave up');
    expect(unpackDirs(layout)).toEqual([]);
    await until('no file of the unpack stays open', () => openFilesUnder(layout.stagingDir).length === 0);
    expect(await s.install()).toBeNull();
    expect(s.outcome).toBe('budget');
  });

  it('a full disk under staging/: outcome disk, what was unpacked goes', async (ctx) => {
    const layout = layoutFor();
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0755', 'tmpfs', layout.stagingDir], {
        stdio: 'ignore',
      });
    } catch {
      ctx.skip(); // tmpfs needs root/CAP_SYS_ADMIN
    }
    cleanups.push(() => execFileSync('umount', ['-l', layout.stagingDir]));
    const s = new StreamedUnpack(layout, V, 64 * MiB);
    await feed(s.begin(), large(1));
    expect(await within(s.install(), 10_000, 'install')).toBeNull();
    expect(s.outcome).toBe('disk');
    expect(readdirSync(layout.stagingDir)).toEqual([]);
    expect(readdirSync(layout.releasesDir)).toEqual([]);
  });
});

describe('StreamedUnpack: restart, discard and leftovers', () => {
  it('begin() again (a resumed download) drops the first unpack and starts from byte 0 with a fresh budget', async () => {
    const layout = layoutFor();
    // Room for one copy of the release only: the second pass must not count the first one's bytes.
    const s = new StreamedUnpack(layout, V, 10 * 4096);
    const first = s.begin();
    await feed(first, small());
    const firstDir = unpackDirs(layout)[0];
    const second = s.begin();
    expect(unpackDirs(layout)).toHaveLength(1);
    expect(unpackDirs(layout)[0]).not.toBe(firstDir);
    expect(first(Buffer.alloc(10))).toBeUndefined(); // the dropped stream takes nothing
    await feed(second, small());
    expect((await s.install())?.dir).toBe(layout.releaseDir(V));
    expect(s.outcome).toBe('streamed');
    expect(unpackDirs(layout)).toEqual([]);
  });

  it('a restart after the stream gave up streams again (the earlier reason is forgotten)', async () => {
    const layout = layoutFor();
    const s = new StreamedUnpack(layout, V, 64 * MiB);
    await feed(s.begin(), randomBytes(8 * KiB));
    await until('the garbage was refused', () => unpackDirs(layout).length === 0);
    const again = s.begin();
    await feed(again, small());
    expect((await s.install())?.dir).toBe(layout.releaseDir(V));
    expect(s.outcome).toBe('streamed');
  });

  it('a restart in the middle of a held chunk releases the old sink and leaves no file open', async () => {
    const layout = layoutFor();
    const s = new StreamedUnpack(layout, V, 64 * MiB);
    const sink = s.begin();
    const held = sink(large(4));
    expect(held).toBeInstanceOf(Promise);
    await until('the first file is being written', () => {
      const d = unpackDirs(layout)[0];
      return d !== undefined && existsSync(join(layout.stagingDir, d, 'part-0.bin'));
    });
    const second = s.begin();
    await within(held as Promise<void>, 10_000, 'the chunk held by the dropped stream');
    await feed(second, small());
    expect((await s.install())?.dir).toBe(layout.releaseDir(V));
    await until('no file of the unpack stays open', () => openFilesUnder(layout.root).length === 0);
    expect(readdirSync(layout.stagingDir)).toEqual([]);
  });

  it('discard() mid-stream: the held chunk is released, the dir and every earlier dir of this version go, no file stays open; install() then answers null', async () => {
    const layout = layoutFor();
    // Leftovers of an earlier attempt (a crash) for this version, and things that are not ours.
    mkdirSync(join(layout.stagingDir, `.unpack-${V}-deadbeef/bin`), { recursive: true });
    mkdirSync(join(layout.stagingDir, '.unpack-2.0.0-deadbeef'));
    writeFileSync(join(layout.stagingDir, `${TOP}.tar.gz.partial`), 'x');
    const s = new StreamedUnpack(layout, V, 64 * MiB);
    const sink = s.begin();
    const held = sink(large(4));
    expect(held).toBeInstanceOf(Promise);
    await until('the first file is being written', () =>
      unpackDirs(layout).some((d) => existsSync(join(layout.stagingDir, d, 'part-0.bin'))),
    );
    const t0 = Date.now();
    await within(s.discard(), 10_000, 'discard');
    // node-tar settles at once when it is ended; discard() only waits up to 2 s for one that never does.
    expect(Date.now() - t0).toBeLessThan(1500);
    await within(held as Promise<void>, 10_000, 'the held chunk');
    expect(readdirSync(layout.stagingDir).sort()).toEqual([
      '.unpack-2.0.0-deadbeef',
      `${TOP}.tar.gz.partial`,
    ]);
    await until('no file of the unpack stays open', () => openFilesUnder(layout.stagingDir).length === 0);
    expect(sink(Buffer.alloc(10))).toBeUndefined();
    expect(await s.install()).toBeNull();
    expect(s.outcome).toBe('restart');
    expect(readdirSync(layout.releasesDir)).toEqual([]);
  });

  it('discard() before begin() or after a streamed install() stops nothing: install() then answers not-started', async () => {
    const layout = layoutFor();
    const s = new StreamedUnpack(layout, V, 64 * MiB);
    await s.discard();
    expect(await s.install()).toBeNull();
    expect(s.outcome).toBe('not-started');

    const s2 = new StreamedUnpack(layout, V, 64 * MiB);
    await feed(s2.begin(), small());
    expect(await s2.install()).not.toBeNull();
    await s2.discard();
    expect(await s2.install()).toBeNull();
    expect(s2.outcome).toBe('not-started');
    expect(readdirSync(layout.releasesDir)).toEqual([V]);
  });

  it('install() without begin(): null (not-started); discard() copes with a missing staging/', async () => {
    const layout = layoutFor(false);
    const s = new StreamedUnpack(layout, V, MiB);
    expect(await s.install()).toBeNull();
    expect(s.outcome).toBe('not-started');
    await expect(s.discard()).resolves.toBeUndefined();
    expect(existsSync(layout.stagingDir)).toBe(false);
  });
});
