import {
  type LicenseAnswer,
  type LicenseAnswerPayload,
  LicenseFileError,
  type LicensePayload,
  type LicenseRequest,
  SignatureError,
  type TrustedKeys,
  verifyDocument,
  verifyLicenseFile,
} from '@wispanel/contract';
import { AppError } from '@wispanel/kit';

/**
 * The portal exchange, pure: what the panel sends and which answers it accepts. No I/O, no clock, no state:
 * everything it decides on is passed in, so every trust rule is pinned by a unit test
 * (packages/panel/test/license-exchange.test.ts). Rules for a returned license file, in order:
 * 1. signed (Ed25519) by a key id the panel trusts for new answers (`current` in --portal-keys; a retired
 *    or unknown key id, or a valid signature by a key not listed, is refused);
 * 2. a `license` document for this hardware id;
 * 3. carrying the nonce of this request (an earlier answer replayed is refused);
 * 4. with a `server_time` not behind the latest signed time already accepted (by more than the tolerance).
 */

/** What the exchange trusts, fixed for one request. */
export interface ExchangeTrust {
  /** Keys whose signature is accepted on a new portal answer (the `current` keys of --portal-keys). */
  answerKeys: TrustedKeys;
  hardwareId: string;
}

/** What one request expects of its answer. */
export interface ExchangeExpectation {
  /** The nonce sent with this request. */
  nonce: string;
  /** Latest signed `server_time` accepted so far (ISO), or null before the first. */
  signedFloor: string | null;
  /** How far behind that floor a new server time may be (portal clocks differ slightly). */
  toleranceMs: number;
}

/** The request body of every license call (activate, verify, refresh, deactivate). */
export function licenseRequest(input: {
  key: string;
  hardwareId: string;
  nonce: string;
  panelVersion: string;
  hostname: string;
  usage?: { accounts: number; domains: number; databases: number };
}): LicenseRequest {
  return {
    key: input.key,
    hardware_id: input.hardwareId,
    nonce: input.nonce,
    panel_version: input.panelVersion,
    hostname: input.hostname,
    ...(input.usage ? { usage: input.usage } : {}),
  };
}

const invalid = (message: string) => new AppError('LICENSE_FILE_INVALID', message);

/**
 * Checks a returned license file before it may replace the stored one (rules 1–4 above). Returns its payload;
 * throws LICENSE_FILE_INVALID naming the failed rule, or PORTAL_ERROR when there is no file at all.
 */
export function acceptLicenseFile(
  text: string | undefined,
  trust: ExchangeTrust,
  expect: ExchangeExpectation,
): LicensePayload {
  if (!text) throw new AppError('PORTAL_ERROR', 'The license portal answered without a license file');
  let p: LicensePayload;
  try {
    p = verifyLicenseFile(text, { keys: trust.answerKeys, hardwareId: trust.hardwareId });
  } catch (err) {
    const reason = err instanceof LicenseFileError ? err.reason : 'MALFORMED';
    throw invalid(`The license file from the portal is not accepted (${reason}): ${(err as Error).message}`);
  }
  if (p.nonce !== expect.nonce) {
    throw invalid("The license file from the portal does not carry this request's nonce (replayed answer?)");
  }
  checkServerTime(p.server_time, expect);
  return p;
}

function checkServerTime(serverTime: string, expect: ExchangeExpectation): void {
  const t = Date.parse(serverTime);
  const floor = expect.signedFloor === null ? Number.NaN : Date.parse(expect.signedFloor);
  if (!Number.isFinite(t) || (Number.isFinite(floor) && t < floor - expect.toleranceMs)) {
    throw invalid('The license file from the portal is older than one already accepted (replayed answer?)');
  }
}

/** A signed `license-answer` for this server, or null when it does not verify (unknown key, other server…). */
export function verifySignedAnswer(doc: unknown, trust: ExchangeTrust): LicenseAnswerPayload | null {
  try {
    const payload = verifyDocument<LicenseAnswerPayload>('license-answer', doc, trust.answerKeys);
    return payload.hardware_id === trust.hardwareId ? payload : null;
  } catch (err) {
    if (err instanceof SignatureError) return null;
    throw err;
  }
}

/** Refusals that end the license at once when signed (docs/license.md, "Refusals"). */
const VERDICT_CODES = new Set(['REVOKED', 'SUSPENDED', 'EXPIRED']);

/**
 * A refusal that ends the license (REVOKED, SUSPENDED, EXPIRED) counts only when it carries a `license-answer`
 * signed by a trusted key for this server, this request's nonce and the same code. Returns the verdict to store, or null (an unsigned refusal changes nothing).
 */
export function acceptVerdict(
  answer: LicenseAnswer,
  trust: ExchangeTrust,
  expect: Pick<ExchangeExpectation, 'nonce'>,
): { code: string; server_time: string } | null {
  if (!answer.signed || !VERDICT_CODES.has(answer.code)) return null;
  const v = verifySignedAnswer(answer.signed, trust);
  if (!v || v.nonce !== expect.nonce || v.valid || v.code !== answer.code) return null;
  return { code: v.code, server_time: v.server_time };
}

export type DeactivationOutcome =
  | { settled: true; deactivated: boolean; code: string; reason: string }
  | { settled: false; code: string; reason: string };

/**
 * What a deactivate answer settles: only an answer signed by a trusted key for this server and this request's
 * nonce, of action `deactivate`: DEACTIVATED (freed, or was not bound) or NOT_FOUND (nothing to free).
 */
export function settleDeactivation(
  answer: LicenseAnswer,
  trust: ExchangeTrust,
  expect: Pick<ExchangeExpectation, 'nonce'>,
): DeactivationOutcome {
  if (answer.code !== 'DEACTIVATED' && answer.code !== 'NOT_FOUND') {
    const e = portalAnswerError(answer);
    return { settled: false, code: e.code, reason: e.message };
  }
  const v = answer.signed ? verifySignedAnswer(answer.signed, trust) : null;
  if (v?.action !== 'deactivate' || v.nonce !== expect.nonce || v.code !== answer.code) {
    return {
      settled: false,
      code: 'PORTAL_ERROR',
      reason: `The license portal answered ${answer.code} without a signature by a trusted key for this server and request`,
    };
  }
  if (v.code === 'NOT_FOUND') {
    return {
      settled: true,
      deactivated: false,
      code: 'LICENSE_NOT_FOUND',
      reason: 'The license portal does not know this key: there is no activation to free',
    };
  }
  return {
    settled: true,
    deactivated: true,
    code: 'DEACTIVATED',
    reason: answer.detail ?? 'Activation on this server freed on the portal',
  };
}

/** What a portal refusal code means for the panel's caller. */
export function portalAnswerError(answer: LicenseAnswer): AppError {
  const detail = answer.detail ?? answer.error ?? answer.code;
  switch (answer.code) {
    case 'NOT_FOUND':
      return new AppError('LICENSE_NOT_FOUND', 'License key not found');
    case 'SUSPENDED':
      return new AppError('LICENSE_SUSPENDED', 'License is suspended');
    case 'REVOKED':
      return new AppError('LICENSE_REVOKED', 'License has been revoked');
    case 'EXPIRED':
      return new AppError('LICENSE_EXPIRED', 'License has expired');
    case 'HARDWARE_MISMATCH':
      return new AppError(
        'LICENSE_HARDWARE_MISMATCH',
        `License is already bound to another server (${detail})`,
      );
    case 'ACTIVATION_LIMIT':
      return new AppError('LICENSE_ACTIVATION_LIMIT', `License has no free activation left (${detail})`);
    case 'NOT_ACTIVATED':
      return new AppError(
        'LICENSE_NOT_ACTIVATED',
        'License is not activated on this server: activate it again',
      );
    case 'RATE_LIMITED':
      return new AppError(
        'PORTAL_RATE_LIMITED',
        'The license portal is rate limiting this server; try later',
      );
    default:
      return new AppError('PORTAL_ERROR', `The license portal refused the request: ${answer.code} ${detail}`);
  }
}
