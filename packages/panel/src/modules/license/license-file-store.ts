import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  LicenseFileError,
  type LicensePayload,
  type TrustedKeys,
  verifyLicenseFile,
} from '@wispanel/contract';
import { writeFileAtomic } from '../../lib/atomic-file';

export const LICENSE_FILE_NAME = 'license.lic';

export interface StoredLicense {
  hasFile: boolean;
  payload: LicensePayload | null;
  error: { reason: string; message: string } | null;
}

/**
 * The signed license file in the data dir. Written atomically (temp file, fsync, rename, mode 0600). Every
 * read checks signature, key id and hardware id, but the verified result is cached against the file's exact
 * text, so a request costs a stat and not an Ed25519 verification; any change to the file is re-verified.
 */
export class LicenseFileStore {
  readonly path: string;
  private cache: { stamp: string; text: string; result: StoredLicense } | null = null;

  constructor(
    dataDir: string,
    private readonly keys: () => TrustedKeys,
    private readonly hardwareId: string,
  ) {
    this.path = join(dataDir, LICENSE_FILE_NAME);
  }

  read(): StoredLicense {
    let stamp: string;
    try {
      const st = statSync(this.path);
      stamp = `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
    } catch {
      this.cache = null;
      return { hasFile: false, payload: null, error: null };
    }
    if (this.cache && this.cache.stamp === stamp) return this.cache.result;
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      return { hasFile: true, payload: null, error: { reason: 'UNREADABLE', message: String(err) } };
    }
    if (this.cache && this.cache.text === text) {
      this.cache.stamp = stamp;
      return this.cache.result;
    }
    const result = this.verify(text);
    this.cache = { stamp, text, result };
    return result;
  }

  /** Verifies a text as it would be verified when stored (used before writing a new file). */
  verify(text: string): StoredLicense {
    try {
      const payload = verifyLicenseFile(text, { keys: this.keys(), hardwareId: this.hardwareId });
      return { hasFile: true, payload, error: null };
    } catch (err) {
      if (err instanceof LicenseFileError) {
        return { hasFile: true, payload: null, error: { reason: err.reason, message: err.message } };
      }
      return { hasFile: true, payload: null, error: { reason: 'MALFORMED', message: String(err) } };
    }
  }

  /** Every key a stored file may be signed by (current and retired). */
  trustedKeys(): TrustedKeys {
    return this.keys();
  }

  write(text: string): void {
    writeFileAtomic(this.path, text);
    this.cache = null;
  }

  /** Forget the cached verification (POST /verify re-checks from disk). */
  invalidate(): void {
    this.cache = null;
  }
}
