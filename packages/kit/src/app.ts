import { randomBytes } from 'node:crypto';
import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
  type RawServerDefault,
} from 'fastify';
import { AppError, codeForStatus } from './errors';
import { type RequestLogWriter, requestLogWriterOf } from './logger';
import {
  ConnectionCap,
  DEFAULT_SERVER_LIMITS,
  fastifyTrustProxy,
  type ServerLimits,
  type TrustProxy,
  trustedPeerMatcher,
} from './server-limits';
import { validationAppError, validatorCompiler } from './validation';

/** Whether a request announces a body (a length above 0 or a chunked one). */
function hasBody(raw: IncomingMessage): boolean {
  const length = raw.headers['content-length'];
  return raw.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** The query schema of an API route without query parameters: none allowed. */
const NO_QUERY = { type: 'object', properties: {}, additionalProperties: false } as const;

export type App = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export type ErrorRenderer = (err: AppError, request: FastifyRequest) => unknown;

/** Panel envelope (SPEC A1): `{ success, code, error, message, status }`, `details` when a field is named. */
export const renderPanelError: ErrorRenderer = (err) => ({
  success: false,
  code: err.code,
  error: err.message,
  message: err.message,
  status: err.status,
  ...(err.details ? { details: err.details } : {}),
  ...(err.extra ?? {}),
});

export interface AppOptions {
  logger: FastifyBaseLogger;
  renderError?: ErrorRenderer;
  /** HTTP status for an error on this request, when a route family documents another one (default `err.status`). */
  errorStatus?: (err: AppError, request: FastifyRequest) => number;
  https?: { key: string | Buffer; cert: string | Buffer } | null;
  /** Largest accepted request body in bytes (default 1 MiB). */
  bodyLimit?: number;
  /** Who may set the client address through X-Forwarded-For (see TrustProxy; `true` means loopback only). */
  trustProxy?: TrustProxy | boolean;
  /** Header/body deadlines and the per-address connection cap (defaults: DEFAULT_SERVER_LIMITS). */
  limits?: Partial<ServerLimits>;
  /**
   * Called for a request no route matched, before the 404/405 envelope; answers it (true) or leaves it to the
   * envelope (false). The panel serves its web console's client-side routes (SPA fallback) through it.
   */
  notFoundFallback?: (request: FastifyRequest, reply: FastifyReply) => boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** This route's body deadline (ms), when it takes longer bodies than the service's (artifact uploads). */
    bodyTimeoutMs?: number;
  }
}

/** What the HTTP parser's error codes mean, for the answer to a request that never became one. */
function clientErrorOf(err: Error & { code?: string }): { status: number; code: string; message: string } {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return {
        status: 431,
        code: 'REQUEST_HEADERS_TOO_LARGE',
        message: 'Request headers are too large (16 KiB at most)',
      };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, code: 'REQUEST_TIMEOUT', message: 'The request headers did not arrive in time' };
    case 'HPE_INVALID_METHOD':
      return { status: 400, code: 'BAD_REQUEST', message: 'Malformed request line: unknown method' };
    case 'HPE_INVALID_URL':
      return { status: 400, code: 'BAD_REQUEST', message: 'Malformed request line: invalid request target' };
    case 'HPE_INVALID_VERSION':
    case 'HPE_INVALID_CONSTANT':
      return { status: 400, code: 'BAD_REQUEST', message: 'Malformed request line' };
    case 'HPE_INVALID_HEADER_TOKEN':
      return { status: 400, code: 'BAD_REQUEST', message: 'Invalid character in a header' };
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
      return {
        status: 400,
        code: 'BAD_REQUEST',
        message: 'Content-Length sent twice, or together with Transfer-Encoding',
      };
    case 'HPE_INVALID_CONTENT_LENGTH':
      return { status: 400, code: 'BAD_REQUEST', message: 'Invalid Content-Length' };
    case 'HPE_INVALID_TRANSFER_ENCODING':
      return { status: 400, code: 'BAD_REQUEST', message: 'Invalid Transfer-Encoding' };
    case 'HPE_INVALID_CHUNK_SIZE':
      return { status: 400, code: 'BAD_REQUEST', message: 'Malformed chunked body' };
    default:
      return { status: 400, code: 'BAD_REQUEST', message: 'Malformed HTTP request' };
  }
}

/** The method and path of a request the parser refused, as far as its first line can be read. */
function requestLineOf(raw: unknown): { method: string; url: string } {
  if (!Buffer.isBuffer(raw)) return { method: '', url: '/' };
  const line = raw.subarray(0, 2048).toString('latin1').split('\r\n')[0] ?? '';
  const [method = '', target = ''] = line.split(' ');
  return { method: /^[A-Z]{1,16}$/.test(method) ? method : '', url: target.startsWith('/') ? target : '/' };
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

// Request ids: a random per-process prefix and a counter (24 hex) — unique without drawing random bytes per
// request, which showed up in the request-path profile.
const REQUEST_ID_PREFIX = randomBytes(8).toString('hex');
let requestCounter = 0;
function nextRequestId(): string {
  requestCounter = (requestCounter + 1) % 0x1_0000_0000;
  return REQUEST_ID_PREFIX + requestCounter.toString(16).padStart(8, '0');
}

/**
 * Fastify gives every request a child logger with its `reqId`; creating a pino child costs ~2 µs, and most
 * requests never log anything but the request line (written without it, see requestLogWriterOf). This stands in
 * for the child and creates the real one on first use.
 */
class LazyChildLogger {
  private real: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly childBindings: Record<string, unknown>,
    private readonly options: Record<string, unknown>,
  ) {}

  private get log(): FastifyBaseLogger {
    this.real ??= this.parent.child(this.childBindings, this.options as never);
    return this.real;
  }
  get level(): string {
    return this.real ? this.real.level : ((this.options.level as string | undefined) ?? this.parent.level);
  }
  set level(value: string) {
    this.log.level = value;
  }
  declare fatal: LogMethod;
  declare error: LogMethod;
  declare warn: LogMethod;
  declare info: LogMethod;
  declare debug: LogMethod;
  declare trace: LogMethod;
  declare silent: LogMethod;
  child(bindings: Record<string, unknown>, options?: Record<string, unknown>): FastifyBaseLogger {
    return this.log.child(bindings, options as never);
  }
  isLevelEnabled(level: string): boolean {
    return (this.log as unknown as { isLevelEnabled(l: string): boolean }).isLevelEnabled(level);
  }
  bindings(): Record<string, unknown> {
    return (this.log as unknown as { bindings(): Record<string, unknown> }).bindings();
  }
}

type LogMethod = (...args: unknown[]) => void;
// Each log method forwards to the real child, created on first use.
for (const name of ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const) {
  Object.defineProperty(LazyChildLogger.prototype, name, {
    value: function (this: { log: FastifyBaseLogger }, ...args: unknown[]) {
      (this.log[name] as LogMethod)(...args);
    },
  });
}

/**
 * Fastify calls its log controller once when a request arrives (with the new reply) and once when the response
 * is finished — for every request, 404s included. Those two calls carry the per-request conventions instead of
 * an onRequest and an onResponse hook (two hook runs fewer per request): the request id header goes on the
 * reply, and the one `request` log line is written. Fastify's own incoming/completed lines stay off.
 */
class RequestLineController extends LogController {
  constructor(private readonly writeLine: RequestLogWriter | undefined) {
    super({ disableRequestLogging: true });
  }

  override incomingRequest(request: FastifyRequest, reply: FastifyReply): void {
    reply.header('x-request-id', request.id);
  }

  override requestCompleted(_error: Error | null, request: FastifyRequest, reply: FastifyReply): void {
    const route = request.is404 ? undefined : request.routeOptions;
    const url = route?.url ?? request.url.split('?')[0] ?? '/';
    const ms = Math.round(reply.elapsedTime * 10) / 10;
    // A route with its own logLevel logs through its child (the fast writer knows only the logger's level).
    if (this.writeLine && !route?.logLevel)
      this.writeLine(request.id, request.method, url, reply.statusCode, ms);
    else request.log.info({ method: request.method, url, status: reply.statusCode, ms }, 'request');
  }
}

/** The longest path parameter the router takes; a longer one is a 414 URI_TOO_LONG before any route runs. */
const MAX_PARAM_LENGTH = 500;

/** A request path as quoted in a 404/405 message: at most its first 100 characters, never a whole huge URL. */
function quotedPath(path: string): string {
  return path.length > 100 ? `${path.slice(0, 100)}…` : path;
}

function toAppError(err: FastifyError | Error): AppError | null {
  if (err instanceof AppError) return err;
  const fe = err as FastifyError & { validationContext?: string };
  if (fe.validation) return validationAppError(fe.validation as never, fe.validationContext ?? 'body');
  switch (fe.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new AppError('VALIDATION_ERROR', 'Malformed JSON in request body');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError('VALIDATION_ERROR', 'Request body is empty but Content-Type is application/json');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('PAYLOAD_TOO_LARGE', 'Request body is too large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('UNSUPPORTED_MEDIA_TYPE', 'Unsupported Content-Type: send application/json');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new AppError('VALIDATION_ERROR', 'Content-Length does not match the body');
    case 'FST_ERR_BAD_URL':
      return new AppError('VALIDATION_ERROR', 'Malformed URL');
    // Fastify's own message quotes the whole URL back: answer the status with a short fixed text instead.
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new AppError(
        'URI_TOO_LONG',
        `URI too long: a path segment is over ${MAX_PARAM_LENGTH} characters`,
      );
    default:
      break;
  }
  if (err instanceof SyntaxError && fe.statusCode === 400) {
    return new AppError('VALIDATION_ERROR', 'Malformed JSON in request body');
  }
  const status = fe.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new AppError(codeForStatus(status), fe.message || 'Bad request', { status });
  }
  return null;
}

/** A route pattern (`/api/v1/users/:username`) as a regular expression, for 405 detection. */
function patternOf(url: string): RegExp {
  const escaped = url
    .split('/')
    .map((seg) =>
      seg.startsWith(':') ? '[^/]+' : seg === '*' ? '.*' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('/');
  return new RegExp(`^${escaped}/?$`);
}

/**
 * Builds a Fastify app with the conventions both services share: strict schema validation, one error
 * envelope for every error (framework ones included), a request id on every response, 404 and 405 in the
 * envelope, one log line per request. Does not listen.
 */
export function createApp(options: AppOptions): App {
  const render = options.renderError ?? renderPanelError;
  const limits: ServerLimits = { ...DEFAULT_SERVER_LIMITS, ...options.limits };
  const serverOptions = {
    // A request without Host is answered in the envelope (below) rather than by node with an empty 400.
    requireHostHeader: false,
    headersTimeout: limits.headersTimeoutMs,
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
  };

  /**
   * A request the HTTP parser refused (bad request line, invalid header character, Content-Length twice or
   * with Transfer-Encoding, headers too large or too slow) never reaches fastify: it is answered here, in the
   * service's envelope, and the connection is closed.
   */
  function answerClientError(err: Error & { code?: string; rawPacket?: unknown }, socket: Socket): void {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (!socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const what = clientErrorOf(err);
    const line = requestLineOf(err.rawPacket);
    const id = nextRequestId();
    const pseudo = { id, method: line.method, url: line.url, headers: {}, routeOptions: {} };
    const appError = new AppError(what.code, what.message, { status: what.status });
    const status = options.errorStatus ? options.errorStatus(appError, pseudo as never) : what.status;
    const body = JSON.stringify(render(appError, pseudo as never));
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Bad Request'}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${id}\r\nConnection: close\r\n\r\n${body}`,
    );
    setTimeout(() => socket.destroy(), 2000).unref();
  }

  const app = Fastify({
    loggerInstance: options.logger,
    logController: new RequestLineController(requestLogWriterOf(options.logger)),
    childLoggerFactory: (logger, bindings, opts) =>
      new LazyChildLogger(logger, bindings, opts as Record<string, unknown>) as unknown as FastifyBaseLogger,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    trustProxy: fastifyTrustProxy(options.trustProxy),
    return503OnClosing: true,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // The whole-request timer of node is off (it would cut long artifact uploads too): the body deadline below
    // is per route; the headers deadline is node's, checked every second instead of every 30 s.
    requestTimeout: 0,
    http: serverOptions,
    clientErrorHandler: answerClientError,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : nextRequestId();
    },
    ...(options.https
      ? { https: { key: options.https.key, cert: options.https.cert, ...serverOptions } }
      : {}),
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: MAX_PARAM_LENGTH },
    // Malformed URL encodings never reach the error handler otherwise (Fastify answers them itself).
    frameworkErrors: (error, request, rawReply) => {
      const reply = rawReply as unknown as FastifyReply;
      const known =
        toAppError(error as FastifyError) ?? new AppError('VALIDATION_ERROR', 'Malformed request');
      if (known.headers) reply.headers(known.headers);
      reply.header('x-request-id', request.id);
      reply.code(known.status).type('application/json; charset=utf-8').send(render(known, request));
    },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;

  const cap = new ConnectionCap(limits.maxConnectionsPerIp, trustedPeerMatcher(options.trustProxy));
  app.server.on('connection', (socket: Socket) => cap.admit(socket));

  /**
   * Body deadline: a request whose body is still arriving `bodyTimeoutMs` after its headers is answered 408
   * (when nothing was answered yet) and its connection closed, answered or not — a client that trickles a body
   * in byte by byte holds a connection for that long at most. One sweep per second over the requests that
   * have a body, instead of a timer per request.
   */
  const pending = new Map<
    IncomingMessage,
    { deadline: number; request: FastifyRequest; reply: FastifyReply }
  >();
  const sweepMs = Math.max(100, Math.min(1000, Math.floor(limits.bodyTimeoutMs / 4)));
  let sweeper: NodeJS.Timeout | undefined;
  const sweep = () => {
    const now = Date.now();
    for (const [raw, entry] of pending) {
      if (raw.complete || raw.socket?.destroyed !== false) pending.delete(raw);
      else if (entry.reply.sent && entry.reply.raw.writableFinished) {
        // Answered (a refusal, say) while the body is still coming: nobody reads it, so stop receiving it.
        pending.delete(raw);
        raw.socket.destroy();
      } else if (now >= entry.deadline) {
        pending.delete(raw);
        const socket = raw.socket;
        if (entry.reply.sent) {
          socket.destroy();
          continue;
        }
        entry.reply.raw.once('finish', () => socket.destroy());
        send(
          entry.request,
          entry.reply.header('connection', 'close'),
          new AppError('REQUEST_TIMEOUT', 'The request body did not arrive in time'),
        );
      }
    }
    if (pending.size === 0 && sweeper) {
      clearInterval(sweeper);
      sweeper = undefined;
    }
  };
  app.addHook('onClose', (_instance, done) => {
    if (sweeper) clearInterval(sweeper);
    sweeper = undefined;
    pending.clear();
    done();
  });

  // One callback-style hook for every request: the Host check and the body deadline.
  app.addHook('onRequest', (request, reply, done) => {
    const raw = request.raw;
    if (raw.headers.host === undefined && raw.httpVersionMinor >= 1 && raw.httpVersionMajor === 1) {
      done(new AppError('BAD_REQUEST', 'Host header is required'));
      return;
    }
    if (!raw.complete && (raw.headers['content-length'] !== undefined || raw.headers['transfer-encoding'])) {
      const ms = request.routeOptions.config?.bodyTimeoutMs ?? limits.bodyTimeoutMs;
      pending.set(raw, { deadline: Date.now() + ms, request, reply });
      if (!sweeper) {
        sweeper = setInterval(sweep, sweepMs);
        sweeper.unref();
      }
    }
    done();
  });

  app.setValidatorCompiler(validatorCompiler as never);
  app.setSchemaErrorFormatter((errors, dataVar) => validationAppError(errors as never, dataVar));

  // An empty body with Content-Type: application/json is treated as no body; routes decide if one is needed.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = (body as string).trim();
    if (text === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new AppError('VALIDATION_ERROR', 'Malformed JSON in request body'), undefined);
    }
  });

  const routes: Array<{ methods: string[]; pattern: RegExp }> = [];
  app.addHook('onRoute', (route) => {
    // An API route that declares no query parameters takes none: `?bogus=1` (or a typo of a parameter another
    // route has, e.g. `?status=` on a list without filters) is a validation error naming it, never ignored.
    const schema = route.schema as Record<string, unknown> | undefined;
    if (route.url.startsWith('/api/') && !schema?.querystring && !schema?.hide) {
      route.schema = { ...schema, querystring: NO_QUERY };
    }
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    routes.push({ methods: methods.map((m) => m.toUpperCase()), pattern: patternOf(route.url) });
  });

  const send = (request: FastifyRequest, reply: FastifyReply, err: AppError) => {
    if (err.headers) reply.headers(err.headers);
    reply.header('x-request-id', request.id);
    // Refused before its body has all arrived (an auth hook, a limit): nobody will read the rest and the body
    // deadline sweep closes the connection, so say so — a client reusing it would lose its next request.
    if (!request.raw.complete && hasBody(request.raw)) reply.header('connection', 'close');
    const status = options.errorStatus ? options.errorStatus(err, request) : err.status;
    return reply.code(status).type('application/json; charset=utf-8').send(render(err, request));
  };

  app.setErrorHandler((error, request, reply) => {
    const known = toAppError(error as FastifyError);
    if (known) return send(request, reply, known);
    request.log.error({ err: error }, 'unhandled error');
    return send(request, reply, new AppError('INTERNAL_ERROR', 'Internal server error'));
  });

  app.setNotFoundHandler((request, reply) => {
    if (options.notFoundFallback?.(request, reply)) return reply;
    const path = request.url.split('?')[0] ?? '/';
    const allowed = new Set<string>();
    for (const r of routes) if (r.pattern.test(path)) for (const m of r.methods) allowed.add(m);
    if (allowed.size > 0 && !allowed.has(request.method)) {
      return send(
        request,
        reply,
        new AppError('METHOD_NOT_ALLOWED', `Method ${request.method} is not allowed on ${quotedPath(path)}`, {
          headers: { allow: [...allowed].join(', ') },
        }),
      );
    }
    return send(
      request,
      reply,
      new AppError('NOT_FOUND', `Route ${request.method} ${quotedPath(path)} not found`),
    );
  });

  return app;
}
