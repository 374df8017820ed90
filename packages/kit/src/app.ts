import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
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
import { validationAppError, validatorCompiler } from './validation';

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
  trustProxy?: boolean | string | string[];
  /**
   * Called for a request no route matched, before the 404/405 envelope; answers it (true) or leaves it to the
   * envelope (false). The panel serves its web console's client-side routes (SPA fallback) through it.
   */
  notFoundFallback?: (request: FastifyRequest, reply: FastifyReply) => boolean;
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
  const app = Fastify({
    loggerInstance: options.logger,
    logController: new RequestLineController(requestLogWriterOf(options.logger)),
    childLoggerFactory: (logger, bindings, opts) =>
      new LazyChildLogger(logger, bindings, opts as Record<string, unknown>) as unknown as FastifyBaseLogger,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    trustProxy: options.trustProxy ?? false,
    return503OnClosing: true,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : nextRequestId();
    },
    ...(options.https ? { https: { key: options.https.key, cert: options.https.cert } } : {}),
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 500 },
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
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    routes.push({ methods: methods.map((m) => m.toUpperCase()), pattern: patternOf(route.url) });
  });

  const send = (request: FastifyRequest, reply: FastifyReply, err: AppError) => {
    if (err.headers) reply.headers(err.headers);
    reply.header('x-request-id', request.id);
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
        new AppError('METHOD_NOT_ALLOWED', `Method ${request.method} is not allowed on ${path}`, {
          headers: { allow: [...allowed].join(', ') },
        }),
      );
    }
    return send(request, reply, new AppError('NOT_FOUND', `Route ${request.method} ${path} not found`));
  });

  return app;
}
