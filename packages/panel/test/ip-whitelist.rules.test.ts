// The address rules behind API key IP whitelists (docs/panel-api.md): which entries are valid, which client
// addresses they let in, and when one whitelist lies within another (a key never issues a wider one).
// Pure functions: the HTTP paths are proven in auth.test.ts, api-keys.test.ts and escalation.test.ts.
import { describe, expect, it } from 'vitest';
import { type Actor, isRestrictedKey } from '../src/modules/auth/actor';
import {
  cidrWithin,
  ipAllowed,
  normalizeIp,
  parseIpEntry,
  whitelistWithin,
} from '../src/modules/auth/ip-whitelist';
import {
  API_KEY_PATTERN,
  digestsEqual,
  newApiKeySecret,
  newSessionToken,
  SESSION_TOKEN_PATTERN,
  sha256Hex,
} from '../src/modules/auth/tokens';

describe('parseIpEntry', () => {
  it.each([
    ['1.2.3.4', { address: '1.2.3.4', prefix: 32, family: 'ipv4' }],
    [' 10.0.0.0/8 ', { address: '10.0.0.0', prefix: 8, family: 'ipv4' }],
    ['10.0.0.0/0', { address: '10.0.0.0', prefix: 0, family: 'ipv4' }],
    ['10.0.0.0/32', { address: '10.0.0.0', prefix: 32, family: 'ipv4' }],
    ['::1', { address: '::1', prefix: 128, family: 'ipv6' }],
    ['2001:db8::/32', { address: '2001:db8::', prefix: 32, family: 'ipv6' }],
    ['2001:db8::/128', { address: '2001:db8::', prefix: 128, family: 'ipv6' }],
  ])('accepts %s', (entry, parsed) => {
    expect(parseIpEntry(entry)).toEqual(parsed);
  });

  it.each([
    '',
    'nonsense',
    '1.2.3',
    '1.2.3.4/33',
    '2001:db8::/129',
    '1.2.3.4/',
    '1.2.3.4/-1',
    '1.2.3.4/8a',
    '1.2.3.4/a8',
    '1.2.3.4/0008',
    '1.2.3.4/ 8',
    '1.2.3.4/8/8',
    '/8',
    'example.com',
  ])('refuses %j', (entry) => {
    expect(parseIpEntry(entry)).toBeNull();
  });
});

describe('normalizeIp', () => {
  it('unwraps IPv4-mapped IPv6 only', () => {
    expect(normalizeIp('::ffff:203.0.113.9')).toBe('203.0.113.9');
    expect(normalizeIp('::FFFF:203.0.113.9')).toBe('203.0.113.9');
    expect(normalizeIp('203.0.113.9')).toBe('203.0.113.9');
    expect(normalizeIp('::1')).toBe('::1');
    expect(normalizeIp('x::ffff:203.0.113.9')).toBe('x::ffff:203.0.113.9');
    expect(normalizeIp('::ffff:203.0.113.9x')).toBe('::ffff:203.0.113.9x');
    expect(normalizeIp('::ffff:1:2')).toBe('::ffff:1:2');
    expect(normalizeIp('::ffff:10.20.30.40')).toBe('10.20.30.40'); // several digits in every octet
  });
});

describe('ipAllowed', () => {
  it('allows every address with an empty list', () => {
    expect(ipAllowed([], '198.51.100.1')).toBe(true);
    expect(ipAllowed([], '2001:db8::1')).toBe(true);
  });

  it('allows exactly the addresses inside an entry', () => {
    const list = ['203.0.113.0/24', '198.51.100.7', '2001:db8::/32'];
    expect(ipAllowed(list, '203.0.113.0')).toBe(true);
    expect(ipAllowed(list, '203.0.113.255')).toBe(true);
    expect(ipAllowed(list, '203.0.114.0')).toBe(false);
    expect(ipAllowed(list, '198.51.100.7')).toBe(true);
    expect(ipAllowed(list, '198.51.100.8')).toBe(false);
    expect(ipAllowed(list, '2001:db8:ffff::1')).toBe(true);
    expect(ipAllowed(list, '2001:db9::1')).toBe(false);
  });

  it('matches IPv4 entries for IPv4-mapped client addresses (dual-stack sockets)', () => {
    expect(ipAllowed(['203.0.113.0/24'], '::ffff:203.0.113.9')).toBe(true);
    expect(ipAllowed(['203.0.113.0/24'], '::ffff:203.0.114.9')).toBe(false);
  });

  it('refuses a client address that is not an address, and ignores invalid entries', () => {
    expect(ipAllowed(['0.0.0.0/0'], 'unknown')).toBe(false);
    expect(ipAllowed(['0.0.0.0/0'], '')).toBe(false);
    expect(ipAllowed(['nonsense', '10.0.0.1'], '10.0.0.1')).toBe(true);
    expect(ipAllowed(['nonsense'], '10.0.0.1')).toBe(false);
  });

  it('never answers one list from the cache of another whose entries run together', () => {
    expect(ipAllowed(['1.2.3.4', '5.6.7.8'], '1.2.3.4')).toBe(true);
    expect(ipAllowed(['1.2.3.45.6.7.8'], '1.2.3.4')).toBe(false);
  });

  it('keeps answering correctly for many different lists (bounded cache)', () => {
    for (let i = 0; i < 1100; i++) {
      const entry = `10.${Math.floor(i / 256)}.${i % 256}.1`;
      expect(ipAllowed([entry], entry)).toBe(true);
      expect(ipAllowed([entry], '192.0.2.1')).toBe(false);
    }
    expect(ipAllowed(['10.0.0.1'], '10.0.0.1')).toBe(true);
    expect(ipAllowed(['10.0.0.1', '10.0.0.2'], '10.0.0.2')).toBe(true);
  });
});

describe('cidrWithin (edges)', () => {
  it.each([
    ['::ffff:10.0.0.1', '10.0.0.0/8', true],
    ['::ffff:10.0.0.10', '10.0.0.0/24', true], // a dotted tail whose last octet has several digits
    ['::ffff:10.20.30.40', '10.20.0.0/16', true],
    ['::1.2.3.4', '::/96', true], // IPv4-compatible: the dotted tail right after ::
    ['::1.2.3.4', '::ffff:0.0.0.0/96', false],
    ['::ffff:10.0.1.255', '10.0.0.0/24', false],
    ['10.0.0.10', '::ffff:10.0.0.0/120', true],
    ['::ffff:a00:1', '10.0.0.0/8', true],
    ['0:0:0:0:0:ffff:10.0.0.1', '10.0.0.0/8', true],
    ['10.0.0.0/8', '::ffff:0.0.0.0/96', true],
    ['10.0.0.0/8', '::ffff:10.0.0.0/104', true],
    ['10.0.0.0/8', '::ffff:10.0.0.0/105', false],
    ['1::', '::/1', true],
    ['8000::', '::/1', false],
    ['::1', '::1', true],
    ['::2', '::1', false],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8/128', true],
    ['1:2:3:4:5:6:7:9', '1:2:3:4:5:6:7:8/127', true],
    ['1:2:3:4:5:6:7:a', '1:2:3:4:5:6:7:8/127', false],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:9/127', true],
    ['1:2::7:8', '1:2:0:0:0:0:7:8', true],
    ['1:2::7:8', '1:2:0:0:0:0:7:9', false],
    ['a:b::', 'A:B::/32', true],
    ['255.255.255.255', '255.255.255.254/31', true],
    ['255.255.255.255', '255.255.255.254/32', false],
    ['1.2.3.4', '1.2.3.4/32', true],
    ['1.2.3.4/32', '1.2.3.4', true],
    ['1.2.3.0/24', '1.2.3.4', false],
  ])('%s within %s: %s', (inner, outer, expected) => {
    expect(cidrWithin(inner, outer)).toBe(expected);
  });
});

describe('whitelistWithin', () => {
  it('treats an empty list as "any address"', () => {
    expect(whitelistWithin([], [])).toBe(true);
    expect(whitelistWithin(['10.0.0.1'], [])).toBe(true);
    expect(whitelistWithin([], ['10.0.0.0/8'])).toBe(false);
  });

  it('needs every inner entry inside some outer entry', () => {
    const outer = ['10.0.0.0/8', '2001:db8::/32'];
    expect(whitelistWithin(['10.1.0.0/16', '2001:db8:1::/48'], outer)).toBe(true);
    expect(whitelistWithin(['10.1.0.0/16', '11.0.0.1'], outer)).toBe(false);
    expect(whitelistWithin(['11.0.0.1', '10.1.0.0/16'], outer)).toBe(false);
    expect(whitelistWithin(['2001:db8::1'], ['10.0.0.0/8', '2001:db8::/32'])).toBe(true);
    expect(whitelistWithin(['10.0.0.0/7'], outer)).toBe(false);
  });
});

describe('tokens', () => {
  it('issues API keys and session tokens in their documented shapes, stored only as SHA-256', () => {
    const key = newApiKeySecret();
    expect(key.secret).toMatch(API_KEY_PATTERN);
    expect(key.hash).toBe(sha256Hex(key.secret));
    expect(key.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(key.prefix).toBe(key.secret.slice(0, 12));
    expect(key.id).toMatch(/^[0-9a-f]{16}$/);
    const session = newSessionToken();
    expect(session.token).toMatch(SESSION_TOKEN_PATTERN);
    expect(session.hash).toBe(sha256Hex(session.token));
    expect(session.id).toMatch(/^[0-9a-f]{16}$/);
    expect(newApiKeySecret().secret).not.toBe(key.secret);
    expect(newSessionToken().token).not.toBe(session.token);
    expect(newApiKeySecret().id).not.toBe(key.id);
  });

  it('hashes with SHA-256 in hex', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('accepts only the exact token patterns', () => {
    const hex48 = 'a'.repeat(48);
    const hex64 = 'b'.repeat(64);
    expect(API_KEY_PATTERN.test(`wsp_${hex48}`)).toBe(true);
    expect(SESSION_TOKEN_PATTERN.test(`wss_${hex64}`)).toBe(true);
    for (const bad of [
      `wsp_${hex48}0`,
      `wsp_${hex48.slice(1)}`,
      `xwsp_${hex48}`,
      `wsp_${'A'.repeat(48)}`,
      `wsp_${'g'.repeat(48)}`,
    ]) {
      expect(API_KEY_PATTERN.test(bad), bad).toBe(false);
    }
    for (const bad of [
      `wss_${hex64}0`,
      `wss_${hex64.slice(1)}`,
      `xwss_${hex64}`,
      `wss_${'B'.repeat(64)}`,
      `wss_${'g'.repeat(64)}`,
    ]) {
      expect(SESSION_TOKEN_PATTERN.test(bad), bad).toBe(false);
    }
  });

  it('compares digests by value and length', () => {
    const a = sha256Hex('a');
    expect(digestsEqual(a, sha256Hex('a'))).toBe(true);
    expect(digestsEqual(a, sha256Hex('b'))).toBe(false);
    expect(digestsEqual(a, a.slice(0, 62))).toBe(false);
    expect(digestsEqual(a, '')).toBe(false);
  });
});

describe('isRestrictedKey', () => {
  const base: Actor = {
    userId: 1,
    username: 'u',
    email: 'u@example.com',
    role: 'user',
    creatorId: null,
    via: 'api_key',
    keyId: 'k',
    permissions: ['all'],
    keyIpWhitelist: [],
    keyExpiresAt: null,
  };

  it('calls a key narrower than its account restricted, and a session or a full key not', () => {
    expect(isRestrictedKey(base)).toBe(false);
    expect(isRestrictedKey({ ...base, keyIpWhitelist: undefined, keyExpiresAt: undefined })).toBe(false);
    expect(isRestrictedKey({ ...base, via: 'session', permissions: ['read'] })).toBe(false);
    expect(isRestrictedKey({ ...base, permissions: ['users'] })).toBe(true);
    expect(isRestrictedKey({ ...base, permissions: ['read', 'users'] })).toBe(true);
    expect(isRestrictedKey({ ...base, keyIpWhitelist: ['10.0.0.1'] })).toBe(true);
    expect(isRestrictedKey({ ...base, keyExpiresAt: '2030-01-01T00:00:00.000Z' })).toBe(true);
  });
});
