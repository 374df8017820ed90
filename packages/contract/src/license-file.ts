import type { SignedDocument } from './signed-document';
import { SignatureError, type SigningKey, signDocument, type TrustedKeys, verifyDocument } from './signing';

/** What a signed license file says (SPEC B2/B3). Dates are ISO 8601 UTC strings. */
export interface LicensePayload {
  v: 1;
  license_id: string;
  key_masked: string;
  tier: string;
  limits: { max_users: number; max_domains: number; max_databases: number };
  features: string[];
  hardware_id: string;
  /** License term start and end (null = perpetual). */
  issued_at: string;
  expires_at: string | null;
  /** Lease: how long this file is valid without contacting the portal. */
  valid_until: string;
  lease_days: number;
  grace_days: number;
  /** Signed portal time when the file was issued; a floor for the panel's trusted clock. */
  server_time: string;
  /** The client nonce of the request that produced this file (empty when none was sent). */
  nonce: string;
  status: 'active' | 'suspended' | 'revoked' | 'expired';
  /** Id of the signing key, repeated inside the signed payload (the portal always sets it). */
  kid?: string;
}

const BEGIN = '-----BEGIN WISPANEL LICENSE FILE-----';
const END = '-----END WISPANEL LICENSE FILE-----';

export type LicenseFileFailure =
  | 'MALFORMED'
  | 'UNKNOWN_KEY'
  | 'BAD_SIGNATURE'
  | 'WRONG_TYPE'
  | 'HARDWARE_MISMATCH'
  | 'LEASE_EXPIRED';

export class LicenseFileError extends Error {
  constructor(
    readonly reason: LicenseFileFailure,
    message: string,
  ) {
    super(message);
    this.name = 'LicenseFileError';
  }
}

export function signLicenseFile(payload: LicensePayload, key: SigningKey): string {
  return armorLicenseFile(signDocument('license', payload, key));
}

/** A signed license document in its file form (the armored base64 of its JSON). */
export function armorLicenseFile(doc: SignedDocument): string {
  if (doc.type !== 'license') throw new Error(`a license file holds a signed license, not a ${doc.type}`);
  const body = Buffer.from(JSON.stringify(doc), 'utf8').toString('base64');
  const lines = body.match(/.{1,64}/g) ?? [];
  return `${BEGIN}\n${lines.join('\n')}\n${END}\n`;
}

export function decodeLicenseFile(text: string): SignedDocument {
  const trimmed = text.trim();
  if (!trimmed.startsWith(BEGIN) || !trimmed.endsWith(END)) {
    throw new LicenseFileError('MALFORMED', 'not a WisPanel license file');
  }
  const body = trimmed.slice(BEGIN.length, -END.length).replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/=]+$/.test(body))
    throw new LicenseFileError('MALFORMED', 'license file body is not base64');
  try {
    return JSON.parse(Buffer.from(body, 'base64').toString('utf8')) as SignedDocument;
  } catch {
    throw new LicenseFileError('MALFORMED', 'license file body is not JSON');
  }
}

export interface VerifyLicenseOptions {
  keys: TrustedKeys;
  hardwareId: string;
  /** When given, a lease that ended before `now` is rejected as LEASE_EXPIRED. */
  now?: Date;
}

/**
 * Verifies a license file: signature by a trusted key id, license type, hardware id, and (with `now`) the
 * lease. Any changed byte fails. Throws LicenseFileError.
 */
export function verifyLicenseFile(text: string, options: VerifyLicenseOptions): LicensePayload {
  const doc = decodeLicenseFile(text);
  let payload: LicensePayload;
  try {
    payload = verifyDocument<LicensePayload>('license', doc, options.keys);
  } catch (err) {
    if (err instanceof SignatureError) throw new LicenseFileError(err.reason, err.message);
    throw err;
  }
  if (payload.v !== 1 || typeof payload.valid_until !== 'string' || typeof payload.hardware_id !== 'string') {
    throw new LicenseFileError('MALFORMED', 'license payload has an unknown shape');
  }
  if (payload.kid !== undefined && payload.kid !== doc.kid) {
    throw new LicenseFileError('MALFORMED', 'license payload names another signing key');
  }
  if (payload.hardware_id !== options.hardwareId) {
    throw new LicenseFileError('HARDWARE_MISMATCH', 'license file was issued for another server');
  }
  if (options.now && Date.parse(payload.valid_until) <= options.now.getTime()) {
    throw new LicenseFileError('LEASE_EXPIRED', `license lease ended at ${payload.valid_until}`);
  }
  return payload;
}

/** `WISP-ABCD-EFGH-SA6T` → `WISP-****SA6T` (SPEC A3). */
export function maskLicenseKey(keyOrLast4: string): string {
  return `WISP-****${keyOrLast4.slice(-4)}`;
}

/** Alphabet without look-alike characters (no 0/O, 1/I/L). */
export const LICENSE_KEY_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
export const LICENSE_KEY_PATTERN = /^WISP-[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}$/;
export const HARDWARE_ID_PATTERN = /^[0-9a-f]{64}$/;
