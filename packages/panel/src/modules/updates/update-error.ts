import type { ErrorCode } from '@wispanel/contract';

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

export function errorCodeOf(err: unknown): { code: string; message: string } {
  if (err instanceof UpdateError) return { code: err.code, message: err.message };
  const e = err as { code?: unknown; message?: unknown };
  if (typeof e?.code === 'string' && /^[A-Z_]+$/.test(e.code) && typeof e.message === 'string') {
    return { code: e.code, message: e.message };
  }
  return { code: 'UPDATE_INSTALL_FAILED', message: e?.message ? String(e.message) : String(err) };
}
