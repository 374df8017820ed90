// Which tar entries a release archive may contain (unsafeEntryReason): every refusal with its text, and the
// link rules (symlinks resolve from their own directory, hard links from the archive root).
import { describe, expect, it } from 'vitest';
import { unsafeEntryReason } from './release-archive';

const TOP = 'wispanel-2.0.0';
const reason = (path: string, type = 'File', linkpath?: string) =>
  unsafeEntryReason(linkpath === undefined ? { path, type } : { path, type, linkpath }, TOP);

describe('unsafeEntryReason', () => {
  it('accepts files, directories and links inside the top directory', () => {
    for (const type of ['File', 'OldFile', 'ContiguousFile', 'Directory'])
      expect(reason(`${TOP}/a`, type)).toBeNull();
    expect(reason(`${TOP}/`, 'Directory')).toBeNull();
    expect(reason(`./${TOP}/./a`)).toBeNull();
    expect(reason(`${TOP}//a`)).toBeNull();
    expect(reason(`.//${TOP}/a`)).toBeNull(); // empty and `.` segments are ignored wherever they are
    expect(reason(`${TOP}/a..`)).toBeNull(); // a name that merely ends (or starts) with dots
    expect(reason(`${TOP}/..a`)).toBeNull();
    expect(reason(`${TOP}/bin/l`, 'SymbolicLink', 'wispanel.mjs')).toBeNull();
    expect(reason(`${TOP}/bin/l`, 'SymbolicLink', '../lib/x.mjs')).toBeNull();
    expect(reason(`${TOP}/bin/l`, 'SymbolicLink', '..')).toBeNull();
    expect(reason(`${TOP}/bin/h`, 'Link', `${TOP}/bin/wispanel.mjs`)).toBeNull();
    expect(reason(`${TOP}/l`, 'SymbolicLink', 'bin/')).toBeNull(); // a trailing slash is not absolute
    expect(reason(`${TOP}/l`, 'SymbolicLink', 'a..')).toBeNull(); // nor is a name ending in dots an escape
    expect(reason(`${TOP}/bin/l`, 'SymbolicLink', '../a..')).toBeNull();
  });

  it('refuses absolute paths, drive letters and backslash tricks', () => {
    expect(reason('/etc/passwd')).toBe('absolute path /etc/passwd');
    expect(reason('\\etc\\passwd')).toBe('absolute path \\etc\\passwd');
    expect(reason('C:/x')).toBe('absolute path C:/x');
    expect(reason('c:x')).toBe('absolute path c:x');
    // Only a leading drive letter is absolute: a colon further on is an ordinary name.
    expect(reason(`${TOP}/a:b`)).toBeNull();
    expect(reason(`${TOP}/bin/c:x`)).toBeNull();
  });

  it('refuses .. anywhere, and anything outside the top directory', () => {
    expect(reason(`${TOP}/../x`)).toBe(`path with .. ${TOP}/../x`);
    expect(reason(`${TOP}\\..\\x`)).toBe(`path with .. ${TOP}\\..\\x`);
    expect(reason(`${TOP}/a/..`)).toBe(`path with .. ${TOP}/a/..`);
    expect(reason('other/x')).toBe(`entry other/x outside the top directory ${TOP}/`);
    expect(reason('x')).toBe(`entry x outside the top directory ${TOP}/`);
    expect(reason(`${TOP}x/a`)).toBe(`entry ${TOP}x/a outside the top directory ${TOP}/`);
    expect(reason('wispanel-2.0.1/a')).toBe(`entry wispanel-2.0.1/a outside the top directory ${TOP}/`);
  });

  it('refuses devices, FIFOs and other entry types', () => {
    for (const type of ['CharacterDevice', 'BlockDevice', 'FIFO', 'GNUDumpDir', 'Unsupported']) {
      expect(reason(`${TOP}/dev`, type)).toBe(`${type} entry ${TOP}/dev (only files, directories and links)`);
    }
  });

  it('refuses empty, absolute and escaping link targets', () => {
    expect(reason(`${TOP}/l`, 'SymbolicLink', '')).toBe(`link ${TOP}/l ->  is absolute`);
    expect(reason(`${TOP}/l`, 'SymbolicLink')).toBe(`link ${TOP}/l ->  is absolute`);
    expect(reason(`${TOP}/l`, 'SymbolicLink', '/etc')).toBe(`link ${TOP}/l -> /etc is absolute`);
    expect(reason(`${TOP}/l`, 'Link', '\\etc')).toBe(`link ${TOP}/l -> /etc is absolute`);
    expect(reason(`${TOP}/l`, 'SymbolicLink', '..')).toBe(`link ${TOP}/l -> .. escapes the release`);
    expect(reason(`${TOP}/a/l`, 'SymbolicLink', '../../x')).toBe(
      `link ${TOP}/a/l -> ../../x escapes the release`,
    );
    expect(reason(`${TOP}/a/l`, 'SymbolicLink', '../../wispanel-2.0.0x/y')).toMatch(/escapes the release$/);
    // A hard link resolves from the archive root: a target without the top directory is outside it.
    expect(reason(`${TOP}/bin/h`, 'Link', 'bin/wispanel.mjs')).toBe(
      `link ${TOP}/bin/h -> bin/wispanel.mjs escapes the release`,
    );
    expect(reason(`${TOP}/bin/h`, 'Link', '../etc/passwd')).toBe(
      `link ${TOP}/bin/h -> ../etc/passwd escapes the release`,
    );
    expect(reason(`${TOP}/bin/h`, 'Link', `${TOP}/../x`)).toBe(
      `link ${TOP}/bin/h -> ${TOP}/../x escapes the release`,
    );
  });
});
