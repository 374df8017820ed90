import { Agent, type Dispatcher } from 'undici';

/** `https://host:2083/api/v1/` or `https://host:2083` → `https://host:2083` (routes add `/api/v1`). */
export function originOf(baseUrl: string): string {
  const u = new URL(baseUrl);
  const path = u.pathname.replace(/\/+$/, '').replace(/\/api\/v1$/, '');
  return `${u.protocol}//${u.host}${path}`;
}

/** The given dispatcher, or a keep-alive agent trusting `ca` (when given) with one timeout for every phase. */
export function dispatcherFor(options: {
  dispatcher?: Dispatcher;
  ca?: string | Buffer;
  timeoutMs?: number;
}): Dispatcher {
  if (options.dispatcher) return options.dispatcher;
  const t = options.timeoutMs ?? 15_000;
  return new Agent({
    connect: options.ca ? { ca: options.ca } : {},
    headersTimeout: t,
    bodyTimeout: t,
    connectTimeout: t,
  });
}
