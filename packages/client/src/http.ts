import { Agent, type Dispatcher, request } from 'undici';

/** `https://host:2083/api/v1/` or `https://host:2083` → `https://host:2083` (routes add `/api/v1`). */
export function originOf(baseUrl: string): string {
  const u = new URL(baseUrl);
  const path = u.pathname.replace(/\/+$/, '').replace(/\/api\/v1$/, '');
  return `${u.protocol}//${u.host}${path}`;
}

/** Overall deadline of one portal call (connect + headers + whole body), unless the caller sets another. */
export const PORTAL_CALL_DEADLINE_MS = 15_000;
/** Largest portal answer body read (license and check-update answers are a few KiB). */
export const PORTAL_ANSWER_MAX_BYTES = 1024 * 1024;

/** The given dispatcher, or a keep-alive agent trusting `ca` (when given) with one timeout for every phase. */
export function dispatcherFor(options: {
  dispatcher?: Dispatcher;
  ca?: string | Buffer;
  timeoutMs?: number;
}): Dispatcher {
  if (options.dispatcher) return options.dispatcher;
  const t = options.timeoutMs ?? PORTAL_CALL_DEADLINE_MS;
  return new Agent({
    connect: options.ca ? { ca: options.ca } : {},
    headersTimeout: t,
    bodyTimeout: t,
    connectTimeout: t,
  });
}

/** Why a bounded call failed: the overall deadline passed, or the answer was larger than allowed. */
export class BoundedCallError extends Error {
  constructor(
    readonly reason: 'deadline' | 'too_large',
    message: string,
    /** HTTP status when headers had arrived (0 otherwise). */
    readonly status = 0,
  ) {
    super(message);
    this.name = 'BoundedCallError';
  }
}

/**
 * An overall deadline as an AbortSignal: aborts `ms` after creation (whatever the peer does: slow connect,
 * slow headers, a body trickling one byte at a time), or when `outer` aborts. `clear()` stops the timer once
 * the work is done. Reusable by any long operation (the update download uses it for its own deadline).
 */
export function deadlineSignal(
  ms: number,
  outer?: AbortSignal,
): { signal: AbortSignal; clear: () => void; expired: () => boolean } {
  const controller = new AbortController();
  let expired = false;
  const timer = setTimeout(() => {
    expired = true;
    controller.abort(new BoundedCallError('deadline', `no complete answer within ${ms / 1000} s`));
  }, ms);
  timer.unref?.();
  const onOuter = () => controller.abort(outer?.reason);
  if (outer) {
    if (outer.aborted) onOuter();
    else outer.addEventListener('abort', onOuter, { once: true });
  }
  return {
    signal: controller.signal,
    expired: () => expired,
    clear: () => {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuter);
    },
  };
}

/**
 * Reads a whole body, refusing more than `maxBytes`: a declared Content-Length over the cap is refused before
 * reading, and a body that grows past it is destroyed at the first chunk over (never buffered whole).
 */
export async function readBodyCapped(
  res: Pick<Dispatcher.ResponseData, 'body' | 'headers' | 'statusCode'>,
  maxBytes: number,
): Promise<string> {
  const declared = Number(res.headers['content-length']);
  const tooLarge = () =>
    new BoundedCallError(
      'too_large',
      `answer larger than ${maxBytes} bytes refused (HTTP ${res.statusCode})`,
      res.statusCode,
    );
  if (Number.isFinite(declared) && declared > maxBytes) {
    res.body.destroy();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of res.body) {
    total += (chunk as Buffer).length;
    if (total > maxBytes) {
      res.body.destroy();
      throw tooLarge();
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, total).toString('utf8');
}

export interface BoundedRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  headers?: Record<string, string>;
  body?: string;
  dispatcher?: Dispatcher;
  /** Overall deadline: connect + headers + whole body (default PORTAL_CALL_DEADLINE_MS). */
  deadlineMs?: number;
  /** Largest body read (default PORTAL_ANSWER_MAX_BYTES). */
  maxBytes?: number;
  signal?: AbortSignal;
}

/**
 * One HTTP request with an overall deadline and a capped body. Throws BoundedCallError (deadline, too_large)
 * or the transport error; never hangs longer than the deadline and never holds more than `maxBytes`.
 */
export async function boundedRequest(
  url: string | URL,
  options: BoundedRequest,
): Promise<{ status: number; headers: Dispatcher.ResponseData['headers']; text: string }> {
  const deadlineMs = options.deadlineMs ?? PORTAL_CALL_DEADLINE_MS;
  const d = deadlineSignal(deadlineMs, options.signal);
  try {
    const res = await request(url, {
      method: options.method,
      headers: options.headers,
      body: options.body,
      signal: d.signal,
      ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
    });
    const text = await readBodyCapped(res, options.maxBytes ?? PORTAL_ANSWER_MAX_BYTES);
    return { status: res.statusCode, headers: res.headers, text };
  } catch (err) {
    if (d.expired())
      throw new BoundedCallError('deadline', `no complete answer within ${deadlineMs / 1000} s`);
    throw err;
  } finally {
    d.clear();
  }
}
