import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { tempDir } from '@wispanel/kit/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { InstallLayout } from './install-layout';
import { unpackRelease, unsafeEntryReason } from './release-archive';

/** A hand-made ustar archive, so entries node-tar would never write (.., absolute, devices) can be tested. */
interface RawEntry {
  name: string;
  type?: '0' | '1' | '2' | '3' | '4' | '5' | '6';
  body?: string;
  link?: string;
  mode?: number;
}

function header(e: RawEntry, size: number): Buffer {
  const h = Buffer.alloc(512, 0);
  const put = (s: string, off: number, len: number) => h.write(s.slice(0, len), off, len, 'utf8');
  const oct = (n: number, off: number, len: number) =>
    put(`${n.toString(8).padStart(len - 1, '0')}\0`, off, len);
  put(e.name, 0, 100);
  oct(e.mode ?? (e.type === '5' ? 0o755 : 0o644), 100, 8);
  oct(0, 108, 8);
  oct(0, 116, 8);
  oct(size, 124, 12);
  oct(1_700_000_000, 136, 12);
  h.fill(' ', 148, 156);
  put(e.type ?? '0', 156, 1);
  put(e.link ?? '', 157, 100);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  let sum = 0;
  for (const b of h) sum += b;
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  return h;
}

function tarball(entries: RawEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? '', 'utf8');
    parts.push(header(e, e.type && e.type !== '0' ? 0 : body.length));
    if (!e.type || e.type === '0') {
      parts.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
    }
  }
  parts.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(parts));
}

const manifest = (v: string) =>
  JSON.stringify({ name: 'wispanel', version: v, channel: 'stable', entry: 'bin/wispanel.mjs' });

function goodEntries(v: string): RawEntry[] {
  return [
    { name: `wispanel-${v}/`, type: '5' },
    { name: `wispanel-${v}/release-manifest.json`, body: manifest(v) },
    { name: `wispanel-${v}/bin/`, type: '5' },
    { name: `wispanel-${v}/bin/wispanel.mjs`, body: 'console.log(1)' },
    { name: `wispanel-${v}/bin/link.mjs`, type: '2', link: 'wispanel.mjs' },
  ];
}

describe('unpackRelease', () => {
  const dirs: Array<{ remove: () => void }> = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) d.remove();
  });
  function setup(entries: RawEntry[]) {
    const d = tempDir();
    dirs.push(d);
    const file = join(d.path, 'a.tar.gz');
    writeFileSync(file, tarball(entries));
    return { layout: new InstallLayout(join(d.path, 'install')), file, root: d.path };
  }

  it('unpacks a well-formed release into releases/<version>', async () => {
    const { layout, file } = setup(goodEntries('2.0.0'));
    const { manifest: m } = await unpackRelease(file, layout, '2.0.0');
    expect(m.version).toBe('2.0.0');
    expect(readFileSync(join(layout.releaseDir('2.0.0'), 'bin/link.mjs'), 'utf8')).toBe('console.log(1)');
    expect(layout.hasRelease('2.0.0')).toBe(true);
  });

  const malicious: Array<[string, RawEntry]> = [
    ['path with ..', { name: 'wispanel-2.0.0/../../evil.txt', body: 'x' }],
    ['absolute path', { name: '/tmp/wispanel-evil-abs.txt', body: 'x' }],
    ['outside the top directory', { name: 'other/evil.txt', body: 'x' }],
    ['symlink escaping', { name: 'wispanel-2.0.0/esc', type: '2', link: '../../../../etc' }],
    ['absolute symlink', { name: 'wispanel-2.0.0/abs', type: '2', link: '/etc/passwd' }],
    ['hard link escaping', { name: 'wispanel-2.0.0/hl', type: '1', link: '/etc/passwd' }],
    [
      'relative hard link escaping',
      { name: 'wispanel-2.0.0/hl', type: '1', link: 'wispanel-2.0.0/../../a.tar.gz' },
    ],
    ['hard link to another top dir', { name: 'wispanel-2.0.0/hl', type: '1', link: 'other/a.tar.gz' }],
    ['top directory as a symlink', { name: 'wispanel-2.0.0x', type: '2', link: '.' }],
    ['character device', { name: 'wispanel-2.0.0/null', type: '3' }],
    ['block device', { name: 'wispanel-2.0.0/sda', type: '4' }],
    ['fifo', { name: 'wispanel-2.0.0/fifo', type: '6' }],
  ];
  for (const [what, evil] of malicious) {
    it(`rejects the whole archive for a ${what}`, async () => {
      const { layout, file, root } = setup([...goodEntries('2.0.0'), evil]);
      await expect(unpackRelease(file, layout, '2.0.0')).rejects.toMatchObject({
        code: 'UPDATE_UNSAFE_ARCHIVE',
      });
      expect(existsSync(layout.releaseDir('2.0.0'))).toBe(false);
      expect(layout.prune(3)).toEqual([]);
      expect(existsSync(join(root, 'evil.txt'))).toBe(false);
      expect(existsSync('/tmp/wispanel-evil-abs.txt')).toBe(false);
    });
  }

  // Each link passes the per-entry check on its own; together `up` resolves to the releases dir.
  const chains: Array<[string, RawEntry[]]> = [
    [
      'symlink chain escaping (dot -> ., up -> dot/..)',
      [
        { name: 'wispanel-2.0.0/dot', type: '2', link: '.' },
        { name: 'wispanel-2.0.0/up', type: '2', link: 'dot/..' },
      ],
    ],
    [
      'symlink chain escaping, link first (up -> dot/.., dot -> bin/..)',
      [
        { name: 'wispanel-2.0.0/up', type: '2', link: 'dot/..' },
        { name: 'wispanel-2.0.0/dot', type: '2', link: 'bin/..' },
      ],
    ],
    [
      'dangling symlink through a link',
      [
        { name: 'wispanel-2.0.0/dot', type: '2', link: '.' },
        { name: 'wispanel-2.0.0/up', type: '2', link: 'dot/../nowhere/x' },
      ],
    ],
  ];
  for (const [what, evil] of chains) {
    it(`rejects the whole archive for a ${what}`, async () => {
      const { layout, file } = setup([...goodEntries('2.0.0'), ...evil]);
      await expect(unpackRelease(file, layout, '2.0.0')).rejects.toMatchObject({
        code: 'UPDATE_UNSAFE_ARCHIVE',
      });
      expect(existsSync(layout.releaseDir('2.0.0'))).toBe(false);
    });
  }

  it('rejects an archive whose manifest names another version', async () => {
    const { layout, file } = setup(goodEntries('2.0.0'));
    await expect(unpackRelease(file, layout, '2.0.1')).rejects.toMatchObject({
      code: 'UPDATE_UNSAFE_ARCHIVE',
    });
  });

  it('rejects garbage that is not a tarball', async () => {
    const d = tempDir();
    dirs.push(d);
    const file = join(d.path, 'junk.tar.gz');
    writeFileSync(file, createHash('sha256').update('x').digest());
    await expect(unpackRelease(file, new InstallLayout(join(d.path, 'i')), '2.0.0')).rejects.toMatchObject({
      code: 'UPDATE_UNSAFE_ARCHIVE',
    });
  });

  it('classifies entries', () => {
    expect(unsafeEntryReason({ path: 'wispanel-1.0.0/a/b', type: 'File' }, 'wispanel-1.0.0')).toBeNull();
    expect(
      unsafeEntryReason(
        { path: 'wispanel-1.0.0/a/l', type: 'SymbolicLink', linkpath: '../b' },
        'wispanel-1.0.0',
      ),
    ).toBeNull();
    expect(
      unsafeEntryReason(
        { path: 'wispanel-1.0.0/l', type: 'SymbolicLink', linkpath: '../x' },
        'wispanel-1.0.0',
      ),
    ).toMatch(/escapes/);
  });
});
