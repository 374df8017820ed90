import { LICENSE_KEY_ALPHABET, LICENSE_KEY_PATTERN } from '@wispanel/contract';
import { describe, expect, it } from 'vitest';
import { generateLicenseKey } from './license-keys';

describe('license key generation', () => {
  it('draws WISP-XXXX-XXXX-XXXX from the look-alike-free alphabet, uniformly enough and without repeats', () => {
    const keys = Array.from({ length: 20_000 }, generateLicenseKey);
    expect(new Set(keys).size).toBe(keys.length);
    const counts = new Map<string, number>();
    for (const key of keys) {
      expect(key).toMatch(LICENSE_KEY_PATTERN);
      for (const c of key.slice(5).replace(/-/g, '')) counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    expect([...counts.keys()].sort().join('')).toBe([...LICENSE_KEY_ALPHABET].sort().join(''));
    const expected = (keys.length * 12) / LICENSE_KEY_ALPHABET.length;
    for (const n of counts.values()) expect(Math.abs(n - expected) / expected).toBeLessThan(0.08);
    for (const c of '01ILO') expect(counts.has(c)).toBe(false);
  });
});
