import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  generateSigningKeyPair,
  loadSigningKey,
  type PublicKeySet,
  parsePublicKeySet,
  type SigningKey,
  type TrustedKeys,
} from '@wispanel/contract';

/**
 * The portal's Ed25519 signing keys, kept as files in `<dataDir>/keys/` (never in the database, never sent
 * anywhere): `signing-<kid>.pem` (private, mode 0600) and `keyring.json` (public keys, which one is current).
 * Rotation adds a new current key and keeps the old ones as `retired`: still published, still verifiable.
 * Several portal instances share the directory (or a copy of it); a running instance notices a rotation
 * within a few seconds.
 */
export interface SigningService {
  /** The key new documents are signed with. */
  current(): SigningKey;
  /** What `GET /api/v1/keys` answers: every key, current and retired. */
  publicKeySet(): PublicKeySet;
  /** The same keys as a verification map by key id. */
  trustedKeys(): TrustedKeys;
}

interface Keyring {
  current: string;
  keys: PublicKeySet['keys'];
}

const KEYRING = 'keyring.json';
const PEPPER = 'license-key-pepper';

function writePrivate(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

function writeKeyring(dir: string, ring: Keyring): void {
  const tmp = join(dir, `${KEYRING}.tmp-${process.pid}`);
  writeFileSync(tmp, `${JSON.stringify(ring, null, 2)}\n`, { mode: 0o644 });
  renameSync(tmp, join(dir, KEYRING));
}

function newKey(dir: string, now: Date): PublicKeySet['keys'][number] {
  const pair = generateSigningKeyPair();
  writePrivate(join(dir, `signing-${pair.kid}.pem`), pair.privateKeyPem);
  return {
    kid: pair.kid,
    alg: 'ed25519',
    public_key: pair.publicKeyPem,
    status: 'current',
    created_at: now.toISOString(),
  };
}

/** Creates the keys directory, a first signing key and the license-key pepper if missing. Never replaces. */
export function initKeyStore(dir: string, now = new Date()): { created: boolean; kid: string } {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  if (!existsSync(join(dir, PEPPER))) writePrivate(join(dir, PEPPER), randomBytes(32).toString('hex'));
  if (existsSync(join(dir, KEYRING))) {
    const ring = JSON.parse(readFileSync(join(dir, KEYRING), 'utf8')) as Keyring;
    return { created: false, kid: ring.current };
  }
  const key = newKey(dir, now);
  writeKeyring(dir, { current: key.kid, keys: [key] });
  return { created: true, kid: key.kid };
}

/** Adds a new current key; the previous current one becomes `retired` (still listed and verifiable). */
export function rotateSigningKey(dir: string, now = new Date()): { kid: string; retired: string } {
  const ring = readKeyring(dir);
  const key = newKey(dir, now);
  const keys = ring.keys.map((k) => (k.status === 'current' ? { ...k, status: 'retired' as const } : k));
  writeKeyring(dir, { current: key.kid, keys: [key, ...keys] });
  return { kid: key.kid, retired: ring.current };
}

function readKeyring(dir: string): Keyring {
  const path = join(dir, KEYRING);
  if (!existsSync(path)) {
    throw new Error(`no signing keys in ${dir}: run "wispanel-portal init" first`);
  }
  const ring = JSON.parse(readFileSync(path, 'utf8')) as Keyring;
  parsePublicKeySet(ring); // checks every kid matches its key
  if (!ring.keys.some((k) => k.kid === ring.current))
    throw new Error(`keyring current key ${ring.current} is missing`);
  return ring;
}

/** Reads the keys directory once and re-reads it when `keyring.json` changes (checked at most every 2 s). */
export class FileSigningService implements SigningService {
  private ring!: Keyring;
  private key!: SigningKey;
  private trusted!: TrustedKeys;
  private mtime = 0;
  private checkedAt = 0;

  constructor(
    private readonly dir: string,
    private readonly recheckMs = 2000,
  ) {
    this.load();
  }

  private load(): void {
    const ring = readKeyring(this.dir);
    const pemPath = join(this.dir, `signing-${ring.current}.pem`);
    const mode = statSync(pemPath).mode & 0o777;
    if (mode & 0o077) chmodSync(pemPath, 0o600);
    const key = loadSigningKey(readFileSync(pemPath, 'utf8'));
    if (key.kid !== ring.current)
      throw new Error(`signing key file for ${ring.current} holds key ${key.kid}`);
    this.ring = ring;
    this.key = key;
    this.trusted = parsePublicKeySet(ring);
    this.mtime = statSync(join(this.dir, KEYRING)).mtimeMs;
  }

  private fresh(): void {
    const now = Date.now();
    if (now - this.checkedAt < this.recheckMs) return;
    this.checkedAt = now;
    try {
      if (statSync(join(this.dir, KEYRING)).mtimeMs !== this.mtime) this.load();
    } catch {
      // keep serving with the keys already loaded; a broken keyring must not stop license checks
    }
  }

  current(): SigningKey {
    this.fresh();
    return this.key;
  }

  publicKeySet(): PublicKeySet {
    this.fresh();
    return { keys: this.ring.keys.map((k) => ({ ...k })) };
  }

  trustedKeys(): TrustedKeys {
    this.fresh();
    return this.trusted;
  }
}

/**
 * License keys are stored as HMAC-SHA-256 under a secret pepper kept beside the signing keys, so a leaked
 * database alone does not allow testing guesses offline.
 */
export class LicenseKeyHasher {
  private readonly pepper: Buffer;

  constructor(dir: string) {
    const path = join(dir, PEPPER);
    if (!existsSync(path))
      throw new Error(`no license key pepper in ${dir}: run "wispanel-portal init" first`);
    this.pepper = Buffer.from(readFileSync(path, 'utf8').trim(), 'hex');
  }

  hash(key: string): string {
    return createHmac('sha256', this.pepper).update(key.trim().toUpperCase()).digest('hex');
  }
}
