import { createHash, randomUUID } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { HARDWARE_ID_PATTERN } from '@wispanel/contract';

function machineId(): string | null {
  for (const path of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
    try {
      const v = readFileSync(path, 'utf8').trim();
      if (v) return v;
    } catch {
      /* try the next source */
    }
  }
  return null;
}

function firstMac(): string | null {
  const all = networkInterfaces();
  for (const name of Object.keys(all).sort()) {
    for (const i of all[name] ?? []) {
      if (!i.internal && i.mac && i.mac !== '00:00:00:00:00:00') return i.mac;
    }
  }
  return null;
}

/**
 * The server's hardware id (SPEC B2): 64 hex, SHA-256 of /etc/machine-id + the first non-internal MAC (or a
 * random UUID when neither exists), computed once and kept in `<dataDir>/hardware-id` so it survives
 * restarts and does not drift with network changes.
 */
export function ensureHardwareId(dataDir: string): { hardwareId: string; created: boolean } {
  const file = join(dataDir, 'hardware-id');
  if (existsSync(file)) {
    const stored = readFileSync(file, 'utf8').trim();
    if (HARDWARE_ID_PATTERN.test(stored)) return { hardwareId: stored, created: false };
  }
  const parts = [machineId(), firstMac()].filter((p): p is string => p !== null);
  const identity = parts.length > 0 ? `wispanel:${parts.join('|')}` : `wispanel:random:${randomUUID()}`;
  const hardwareId = createHash('sha256').update(identity).digest('hex');
  writeFileSync(file, `${hardwareId}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return { hardwareId, created: true };
}
