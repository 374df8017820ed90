import { ERROR_STATUS, type ErrorCode } from '@wispanel/contract';

/** A pipeline failure with the contract code it is reported under (status `error.code`). */
export class UpdateError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'UpdateError';
  }
}

/** `ENOSPC`/`EDQUOT` when `err` (or an error it wraps) is a full disk or quota, else null. */
export function diskErrno(err: unknown): string | null {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, i = 0; e && i < 5; i++) {
    if (e.code === 'ENOSPC' || e.code === 'EDQUOT') return e.code;
    e = e.cause as typeof e;
  }
  return null;
}

/**
 * The documented code a failure is reported under (ERROR_STATUS in @wispanel/contract). System errors never
 * leak as codes (`EACCES`, `EROFS`…): a full disk is UPDATE_DISK_FULL, anything else UPDATE_INSTALL_FAILED with
 * the system error in the message.
 */
export function errorCodeOf(err: unknown): { code: string; message: string } {
  if (err instanceof UpdateError) return { code: err.code, message: err.message };
  const e = err as { code?: unknown; message?: unknown };
  const message = e?.message ? String(e.message) : String(err);
  if (diskErrno(err)) return { code: 'UPDATE_DISK_FULL', message: `disk full: ${message}` };
  if (typeof e?.code === 'string' && Object.hasOwn(ERROR_STATUS, e.code) && typeof e.message === 'string') {
    return { code: e.code, message: e.message };
  }
  return { code: 'UPDATE_INSTALL_FAILED', message };
}
