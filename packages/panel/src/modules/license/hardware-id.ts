import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { HARDWARE_ID_PATTERN } from '@wispanel/contract';

export const HARDWARE_ID_FILE = 'hardware-id';

/**
 * The panel's hardware id: `<dataDir>/hardware-id` (written by `wispanel init`). When absent (tests, an
 * old data dir) it is made the same way: SHA-256 of the machine id (or host name) and a random salt, kept in
 * the data dir so that it survives restarts.
 */
export function loadHardwareId(dataDir: string): string {
  const file = join(dataDir, HARDWARE_ID_FILE);
  if (existsSync(file)) {
    const text = readFileSync(file, 'utf8').trim();
    if (HARDWARE_ID_PATTERN.test(text)) return text;
    throw new Error(`${file} does not hold a 64-character hex hardware id`);
  }
  let machine = hostname();
  for (const p of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
    try {
      machine = readFileSync(p, 'utf8').trim() || machine;
      break;
    } catch {
      /* try the next source */
    }
  }
  const id = createHash('sha256')
    .update(`${machine}\n${randomBytes(16).toString('hex')}`)
    .digest('hex');
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, `${id}\n`, { mode: 0o600, flag: 'wx' });
  return id;
}
