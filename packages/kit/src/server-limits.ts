import { BlockList, isIP, type Socket } from 'node:net';

/**
 * Which peers may set the client address through X-Forwarded-For (issue 9 item 4). Never "every hop":
 * - `false`: the TCP peer is the client; X-Forwarded-For is ignored.
 * - a list of addresses/CIDRs (or `loopback`, `linklocal`, `uniquelocal`): X-Forwarded-For is followed from
 *   the right only through peers in the list; the first address not in the list is the client. Whatever a
 *   client writes left of that is ignored.
 * No hop count: it cannot tell a proxy from a client that connects directly and sends enough entries.
 */
export type TrustProxy = false | readonly string[];

const NAMED_RANGES: Record<string, string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

/** Parses an address or CIDR (`10.0.0.0/8`, `::1`); null when invalid. */
function parseCidr(entry: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | null {
  const [address = '', prefixText, ...rest] = entry.trim().split('/');
  if (rest.length > 0) return null;
  const version = isIP(address);
  if (version === 0) return null;
  const max = version === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return null;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (prefix > max) return null;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/**
 * Reads a trust-proxy setting: `false`/`no`/`off`/`0`/empty → false; `true`/`yes`/`on` → `loopback` (a proxy on this machine — never every hop); otherwise a comma-separated
 * list of addresses, CIDRs and the names above. Returns a problem text instead when an entry is invalid.
 */
export function parseTrustProxy(value: string | undefined): TrustProxy | { problem: string } {
  const v = (value ?? '').trim();
  const lower = v.toLowerCase();
  if (['', 'false', 'no', 'off', '0'].includes(lower)) return false;
  if (['true', 'yes', 'on'].includes(lower)) return ['loopback'];
  if (/^\d+$/.test(v))
    return {
      problem: `a hop count ("${v}") is not accepted: name the proxy addresses or CIDRs (a hop count cannot tell a proxy from a client connecting directly)`,
    };
  const entries = v
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  const bad = entries.find((e) => !(e.toLowerCase() in NAMED_RANGES) && parseCidr(e) === null);
  if (bad !== undefined)
    return {
      problem: `"${bad}" is not an IP address, a CIDR, loopback, linklocal or uniquelocal (or false, or a hop count)`,
    };
  return entries.map((e) => (e.toLowerCase() in NAMED_RANGES ? e.toLowerCase() : e));
}

/** The value Fastify (proxy-addr) takes for a TrustProxy: false or the address list (never `true`). */
export function fastifyTrustProxy(trust: TrustProxy | boolean | undefined): false | string[] {
  if (trust === undefined || trust === false) return false;
  if (trust === true) return ['loopback'];
  return [...trust];
}

/** True for a TCP peer that is one of the configured proxies (an address list only). */
export function trustedPeerMatcher(trust: TrustProxy | boolean | undefined): (address: string) => boolean {
  if (trust === true) return trustedPeerMatcher(['loopback']);
  if (!Array.isArray(trust)) return () => false;
  const list = new BlockList();
  for (const entry of trust as readonly string[]) {
    for (const e of NAMED_RANGES[entry] ?? [entry]) {
      const p = parseCidr(e);
      if (p) list.addSubnet(p.address, p.prefix, p.family);
    }
  }
  return (address) => {
    const a = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
    const family = isIP(a);
    return family !== 0 && list.check(a, family === 4 ? 'ipv4' : 'ipv6');
  };
}

/** Time limits and the per-address connection cap of a service's HTTP server (issue 9 item 5). */
export interface ServerLimits {
  /** From the connection (or the end of the previous request) until the request headers are in. */
  headersTimeoutMs: number;
  /** From the headers until the whole body is in; a route may allow more with `config.bodyTimeoutMs`. */
  bodyTimeoutMs: number;
  /** An idle keep-alive connection is closed after this long. */
  keepAliveTimeoutMs: number;
  /** Open connections per client address (the TCP peer); 0 = no cap. Configured proxies are exempt. */
  maxConnectionsPerIp: number;
}

export const DEFAULT_SERVER_LIMITS: ServerLimits = {
  headersTimeoutMs: 10_000,
  bodyTimeoutMs: 30_000,
  keepAliveTimeoutMs: 72_000,
  maxConnectionsPerIp: 64,
};

/** Counts open connections per peer address and refuses (closes at once) those over the cap. */
export class ConnectionCap {
  private readonly open = new Map<string, number>();

  constructor(
    private readonly max: number,
    private readonly exempt: (address: string) => boolean,
  ) {}

  /** Call on the server's `connection` event; closes the socket when its address is over the cap. */
  admit(socket: Socket): void {
    if (this.max <= 0) return;
    const address = socket.remoteAddress;
    if (!address || this.exempt(address)) return;
    const n = (this.open.get(address) ?? 0) + 1;
    if (n > this.max) {
      socket.destroy();
      return;
    }
    this.open.set(address, n);
    socket.once('close', () => {
      const left = (this.open.get(address) ?? 1) - 1;
      if (left <= 0) this.open.delete(address);
      else this.open.set(address, left);
    });
  }

  /** Open connections from one address (tests, metrics). */
  count(address: string): number {
    return this.open.get(address) ?? 0;
  }
}
