import { statusForCode } from '@wispanel/contract';

/** One schema problem, structured, so a service can word it in its own documented style. */
export interface ValidationIssue {
  /** Dotted field path (`hardware_id`, `usage.accounts`), or the request part (`body`) for whole-value problems. */
  field: string;
  /** The JSON-schema keyword that failed (`required`, `type`, `minLength`, `pattern`, `additionalProperties`…). */
  keyword: string;
  params: Record<string, unknown>;
}

/** The one error type of both services: a code from the contract, a human message, optional details. */
export class AppError extends Error {
  readonly status: number;
  readonly details: Record<string, string[]> | undefined;
  readonly headers: Record<string, string> | undefined;
  /** Extra fields a service's envelope may add (e.g. the portal's `valid: false`). */
  readonly extra: Record<string, unknown> | undefined;
  /** Schema problems behind a VALIDATION_ERROR (set by the schema validator). */
  readonly issues: ValidationIssue[] | undefined;

  constructor(
    readonly code: string,
    message: string,
    options: {
      status?: number;
      details?: Record<string, string[]>;
      headers?: Record<string, string>;
      extra?: Record<string, unknown>;
      issues?: ValidationIssue[];
      cause?: unknown;
    } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.status = options.status ?? statusForCode(code);
    this.details = options.details;
    this.headers = options.headers;
    this.extra = options.extra;
    this.issues = options.issues;
  }
}

export const notFound = (what: string) => new AppError('NOT_FOUND', `${what} not found`);
export const validationError = (message: string, details?: Record<string, string[]>) =>
  new AppError('VALIDATION_ERROR', message, { details });
export const conflict = (message: string) => new AppError('CONFLICT', message);
export const forbidden = (message: string) => new AppError('FORBIDDEN', message);
export const unauthorized = (message: string) => new AppError('UNAUTHORIZED', message);

/** Code for a plain HTTP status, used when a framework error carries only a status. */
export function codeForStatus(status: number): string {
  switch (status) {
    case 400:
      return 'VALIDATION_ERROR';
    case 401:
      return 'UNAUTHORIZED';
    case 403:
      return 'FORBIDDEN';
    case 404:
      return 'NOT_FOUND';
    case 405:
      return 'METHOD_NOT_ALLOWED';
    case 408:
      return 'REQUEST_TIMEOUT';
    case 409:
      return 'CONFLICT';
    case 413:
      return 'PAYLOAD_TOO_LARGE';
    case 414:
      return 'URI_TOO_LONG';
    case 415:
      return 'UNSUPPORTED_MEDIA_TYPE';
    case 429:
      return 'RATE_LIMITED';
    case 431:
      return 'REQUEST_HEADERS_TOO_LARGE';
    case 503:
      return 'SERVICE_UNAVAILABLE';
    default:
      return status >= 500 ? 'INTERNAL_ERROR' : 'BAD_REQUEST';
  }
}
