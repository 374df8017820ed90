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
