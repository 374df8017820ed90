import { BlockList, isIP } from 'node:net';

/** Parses `1.2.3.4`, `10.0.0.0/8`, `2001:db8::/32`, `::1`. Returns null when the entry is not valid. */
export function parseIpEntry(
  entry: string,
): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | null {
  const [address = '', prefixText, ...rest] = entry.trim().split('/');
  if (rest.length > 0) return null;
  const version = isIP(address);
  if (version === 0) return null;
  const max = version === 4 ? 32 : 128;
  let prefix = max;
  if (prefixText !== undefined) {
    if (!/^\d{1,3}$/.test(prefixText)) return null;
    prefix = Number(prefixText);
    if (prefix > max) return null;
  }
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** Unwraps IPv4-mapped IPv6 (`::ffff:1.2.3.4`) so IPv4 entries match dual-stack sockets. */
export function normalizeIp(ip: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m?.[1] ?? ip;
}

const cache = new Map<string, BlockList>();

/** True when `ip` is inside one of the entries (an empty list allows every address). */
export function ipAllowed(entries: readonly string[], ip: string): boolean {
  if (entries.length === 0) return true;
  const cacheKey = entries.join(',');
  let list = cache.get(cacheKey);
  if (!list) {
    list = new BlockList();
    for (const e of entries) {
      const p = parseIpEntry(e);
      if (p) list.addSubnet(p.address, p.prefix, p.family);
    }
    if (cache.size > 1000) cache.clear();
    cache.set(cacheKey, list);
  }
  const addr = normalizeIp(ip);
  const family = isIP(addr);
  if (family === 0) return false;
  return list.check(addr, family === 4 ? 'ipv4' : 'ipv6');
}

/** An address as a 128-bit number in IPv6 space (IPv4 as `::ffff:a.b.c.d`, the way BlockList matches it). */
function addressBits(address: string): bigint | null {
  const version = isIP(address);
  if (version === 4) return 0xffff_0000_0000n | ipv4Bits(address);
  if (version !== 6) return null;
  let text = address.toLowerCase();
  let tail: bigint[] = [];
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1]) {
    const v4 = ipv4Bits(dotted[1]);
    tail = [v4 >> 16n, v4 & 0xffffn];
    text = text.slice(0, -dotted[1].length);
    if (text.endsWith(':') && !text.endsWith('::')) text = text.slice(0, -1);
  }
  const [head = '', rest] = text.split('::');
  const groups = (part: string) => (part === '' ? [] : part.split(':').map((g) => BigInt(`0x${g}`)));
  const left = groups(head);
  const right = [...(rest === undefined ? [] : groups(rest)), ...tail];
  const fill = rest === undefined ? [] : Array<bigint>(8 - left.length - right.length).fill(0n);
  const all = [...left, ...fill, ...right];
  if (all.length !== 8) return null;
  return all.reduce((acc, g) => (acc << 16n) | g, 0n);
}

function ipv4Bits(address: string): bigint {
  return address.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
}

/** An entry as a range in IPv6 space: first address and prefix length (0–128). */
function rangeOf(entry: string): { bits: bigint; prefix: number } | null {
  const p = parseIpEntry(entry);
  if (!p) return null;
  const bits = addressBits(p.address);
  if (bits === null) return null;
  return { bits, prefix: p.family === 'ipv4' ? p.prefix + 96 : p.prefix };
}

/** True when every address `inner` (address or CIDR) covers is also covered by `outer`. */
export function cidrWithin(inner: string, outer: string): boolean {
  const a = rangeOf(inner);
  const b = rangeOf(outer);
  if (!a || !b || a.prefix < b.prefix) return false;
  const shift = BigInt(128 - b.prefix);
  return a.bits >> shift === b.bits >> shift;
}

/**
 * True when a whitelist `inner` allows no address that `outer` refuses. An empty list allows every address, so
 * an empty `inner` is within only an empty `outer`.
 */
export function whitelistWithin(inner: readonly string[], outer: readonly string[]): boolean {
  if (outer.length === 0) return true;
  if (inner.length === 0) return false;
  return inner.every((i) => outer.some((o) => cidrWithin(i, o)));
}
