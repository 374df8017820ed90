import { gzipSync } from 'node:zlib';

/**
 * A hand-made gzipped ustar archive, so release tarballs with entries node-tar would never write (`..`, absolute
 * paths, devices, FIFOs, links anywhere, broken checksums) can be built in a test. Shared by the release-archive
 * tests.
 */
export interface RawEntry {
  name: string;
  /** ustar type flag: 0 file, 1 hard link, 2 symlink, 3 char device, 4 block device, 5 directory, 6 FIFO. */
  type?: '0' | '1' | '2' | '3' | '4' | '5' | '6';
  body?: string | Buffer;
  link?: string;
  mode?: number;
  /** Owner recorded in the header (default 0). */
  uid?: number;
  gid?: number;
  /** Write a wrong header checksum (the entry is corrupt). */
  badChecksum?: boolean;
}

function header(e: RawEntry, size: number): Buffer {
  const h = Buffer.alloc(512, 0);
  const put = (s: string, off: number, len: number) => h.write(s.slice(0, len), off, len, 'utf8');
  const oct = (n: number, off: number, len: number) =>
    put(`${n.toString(8).padStart(len - 1, '0')}\0`, off, len);
  put(e.name, 0, 100);
  oct(e.mode ?? (e.type === '5' ? 0o755 : 0o644), 100, 8);
  oct(e.uid ?? 0, 108, 8);
  oct(e.gid ?? 0, 116, 8);
  oct(size, 124, 12);
  oct(1_700_000_000, 136, 12);
  h.fill(' ', 148, 156);
  put(e.type ?? '0', 156, 1);
  put(e.link ?? '', 157, 100);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  let sum = 0;
  for (const b of h) sum += b;
  put(`${(sum + (e.badChecksum ? 1 : 0)).toString(8).padStart(6, '0')}\0 `, 148, 8);
  return h;
}

export function rawTarball(entries: RawEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.isBuffer(e.body) ? e.body : Buffer.from(e.body ?? '', 'utf8');
    parts.push(header(e, e.type && e.type !== '0' ? 0 : body.length));
    if (!e.type || e.type === '0') {
      parts.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
    }
  }
  parts.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(parts));
}

export const releaseManifest = (v: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ name: 'wispanel', version: v, channel: 'stable', entry: 'bin/wispanel.mjs', ...extra });

/** A well-formed release `wispanel-<v>/`: manifest, bin/wispanel.mjs and a symlink next to it. */
export function goodEntries(v: string): RawEntry[] {
  return [
    { name: `wispanel-${v}/`, type: '5' },
    { name: `wispanel-${v}/release-manifest.json`, body: releaseManifest(v) },
    { name: `wispanel-${v}/bin/`, type: '5' },
    { name: `wispanel-${v}/bin/wispanel.mjs`, body: 'console.log(1)' },
    { name: `wispanel-${v}/bin/link.mjs`, type: '2', link: 'wispanel.mjs' },
  ];
}
