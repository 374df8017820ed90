import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@wispanel/kit/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { goodEntries, type RawEntry, rawTarball as tarball } from '../../../test/raw-tarball';
import { InstallLayout } from './install-layout';
import { unpackRelease, unsafeEntryReason } from './release-archive';

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
