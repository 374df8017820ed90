import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PortalConfig } from './config';
import { AdminKeys } from './modules/admin-keys/admin-keys';
import { FileSigningService, initKeyStore } from './modules/signing/signing-keys';
import { openPortalDatabase } from './store';

export interface InitResult {
  /** False when everything already existed (nothing was replaced). */
  created: boolean;
  data_dir: string;
  database: string;
  kid: string;
  public_key: string;
  /** Where the public key set (what `GET /api/v1/keys` answers) was written, for `wispanel --portal-keys`. */
  public_keys_file: string;
  /** Shown once, only when this run created the first admin key; null on a re-run. */
  admin_key: string | null;
}

/** Creates keys, schema, default tiers and a first admin key. Safe to re-run: never replaces anything. */
export async function initPortal(config: PortalConfig): Promise<InitResult> {
  const keys = initKeyStore(config.keysDir);
  const database = await openPortalDatabase(config);
  try {
    const admin = new AdminKeys(database.db, database.dialect);
    let adminKey: string | null = null;
    if ((await admin.count()) === 0) adminKey = (await admin.create('initial')).key;
    const signing = new FileSigningService(config.keysDir);
    const set = signing.publicKeySet();
    const publicKeysFile = join(config.dataDir, 'public-keys.json');
    // Public (handed to panels): readable, never writable by others, whatever the umask.
    writeFileSync(publicKeysFile, `${JSON.stringify(set, null, 2)}\n`, { mode: 0o644 });
    chmodSync(publicKeysFile, 0o644);
    const current = set.keys.find((k) => k.kid === signing.current().kid)!;
    return {
      created: keys.created || adminKey !== null,
      data_dir: config.dataDir,
      database: database.describe,
      kid: current.kid,
      public_key: current.public_key,
      public_keys_file: publicKeysFile,
      admin_key: adminKey,
    };
  } finally {
    await database.close();
  }
}
