import { randomBytes } from 'node:crypto';
import { LICENSE_KEY_ALPHABET } from '@wispanel/contract';

/** Uniform random characters from the alphabet (rejection sampling over CSPRNG bytes: no modulo bias). */
function randomChars(count: number): string {
  const n = LICENSE_KEY_ALPHABET.length;
  const ceiling = 256 - (256 % n);
  let out = '';
  while (out.length < count) {
    for (const byte of randomBytes(count * 2)) {
      if (byte < ceiling) out += LICENSE_KEY_ALPHABET[byte % n];
      if (out.length === count) break;
    }
  }
  return out;
}

/** `WISP-XXXX-XXXX-XXXX`: 12 characters of a 31-letter alphabet (≈ 59 bits). */
export function generateLicenseKey(): string {
  const c = randomChars(12);
  return `WISP-${c.slice(0, 4)}-${c.slice(4, 8)}-${c.slice(8, 12)}`;
}

export function newLicenseId(): string {
  return `lic_${randomBytes(8).toString('hex')}`;
}
