/**
 * The web console (packages/console, built to static files by `npm ci` / the release) and the API reference
 * page (Swagger UI from swagger-ui-dist, copied into the console build), served by the panel itself on its
 * own origin and port. docs/console.md describes the headers:
 *
 * - `/`, and any other GET for an HTML page outside /api/ (client-side routes: the SPA fallback):
 *   index.html, `Cache-Control: no-cache`, strict Content-Security-Policy.
 * - `/assets/<hashed name>`: `Cache-Control: public, max-age=31536000, immutable` (the names change with
 *   the content), gzip when the client accepts it.
 * - `/api/v1/docs` (+ its files under /api/v1/docs/): the API reference, the same CSP (the page's one
 *   script is a file, not inline).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { App } from '@wispanel/kit';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** No inline script, nothing from another origin. Mantine and Swagger UI set inline `style` attributes. */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const HTML_HEADERS = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

const here = dirname(fileURLToPath(import.meta.url));

/**
 * Where the built console is: WISPANEL_CONSOLE_DIR, else beside the release bundle (`<release>/console`),
 * else the workspace build (`packages/console/dist`).
 */
export function consoleDirCandidates(): string[] {
  const list = [
    join(here, '..', 'console'),
    resolve(here, '../../../../console/dist'),
    resolve(here, '../../console/dist'),
  ];
  if (process.env.WISPANEL_CONSOLE_DIR) list.unshift(resolve(process.env.WISPANEL_CONSOLE_DIR));
  return list;
}

export function findConsoleDir(): string | null {
  return consoleDirCandidates().find((d) => existsSync(join(d, 'index.html'))) ?? null;
}

interface Asset {
  body: Buffer;
  gzip: Buffer | null;
  type: string;
}

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/;

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>WisPanel</title></head><body><h1>WisPanel</h1><p>The web console is not built in this installation. Build it with <code>npm run build -w @wispanel/console</code> (npm ci does this), or use the API at /api/v1.</p></body></html>`;

/** Registers the console's routes; returns the SPA fallback for kit's `notFoundFallback`. */
export function consoleRoutes(
  app: App,
  options: { dir?: string | null } = {},
): (request: FastifyRequest, reply: FastifyReply) => boolean {
  const dir = options.dir === undefined ? findConsoleDir() : options.dir;
  const cache = new Map<string, Asset | null>();

  /** A file under `dir` (names checked against SAFE_NAME by the callers), read once and kept. */
  function load(rel: string): Asset | null {
    if (!dir) return null;
    if (cache.has(rel)) return cache.get(rel) ?? null;
    let asset: Asset | null = null;
    const path = join(dir, rel);
    if (path.startsWith(`${dir}/`) && existsSync(path) && statSync(path).isFile()) {
      const body = readFileSync(path);
      const type = TYPES[extname(path)] ?? 'application/octet-stream';
      const compressible = /^(text\/|application\/json|image\/svg)/.test(type) && body.length > 1024;
      asset = { body, gzip: compressible ? gzipSync(body) : null, type };
    }
    cache.set(rel, asset);
    return asset;
  }

  function send(request: FastifyRequest, reply: FastifyReply, asset: Asset, cacheControl: string) {
    reply
      .header('content-type', asset.type)
      .header('cache-control', cacheControl)
      .header('vary', 'accept-encoding');
    const accepts = /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
    if (asset.gzip && accepts) return reply.header('content-encoding', 'gzip').send(asset.gzip);
    return reply.send(asset.body);
  }

  function sendIndex(request: FastifyRequest, reply: FastifyReply) {
    reply.headers(HTML_HEADERS);
    const index = load('index.html');
    if (!index)
      return reply
        .code(503)
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-cache')
        .send(NOT_BUILT);
    return send(request, reply, index, 'no-cache');
  }

  const notFound = (reply: FastifyReply) => reply.callNotFound();

  app.get('/', { config: { public: true }, schema: { hide: true } }, (request, reply) =>
    sendIndex(request, reply),
  );

  app.get<{ Params: { '*': string } }>(
    '/assets/*',
    { config: { public: true }, schema: { hide: true } },
    (request, reply) => {
      const name = request.params['*'];
      const asset = SAFE_NAME.test(name) ? load(`assets/${name}`) : null;
      if (!asset) return notFound(reply);
      return send(request, reply, asset, 'public, max-age=31536000, immutable');
    },
  );

  for (const file of ['favicon.svg', 'robots.txt']) {
    app.get(`/${file}`, { config: { public: true }, schema: { hide: true } }, (request, reply) => {
      const asset = load(file);
      if (!asset) return notFound(reply);
      return send(request, reply, asset, 'public, max-age=86400');
    });
  }

  // The API reference: Swagger UI (files copied from swagger-ui-dist by the console build) reading
  // /api/v1/openapi.json through its own init script file (no inline script).
  app.get('/api/v1/docs', { config: { public: true }, schema: { hide: true } }, (request, reply) => {
    reply.headers(HTML_HEADERS);
    const page = load('api-docs/index.html');
    if (!page)
      return reply
        .code(503)
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-cache')
        .send(NOT_BUILT);
    return send(request, reply, page, 'no-cache');
  });
  app.get<{ Params: { file: string } }>(
    '/api/v1/docs/:file',
    { config: { public: true }, schema: { hide: true } },
    (request, reply) => {
      const { file } = request.params;
      const asset = SAFE_NAME.test(file) && file !== 'index.html' ? load(`api-docs/${file}`) : null;
      if (!asset) return notFound(reply);
      // Not hashed names: revalidated after an hour (a panel update ships a new Swagger UI).
      return send(request, reply, asset, 'public, max-age=3600');
    },
  );

  return (request, reply) => {
    if (!isConsolePageRequest(request)) return false;
    void sendIndex(request, reply);
    return true;
  };
}

/**
 * The SPA fallback for kit's notFoundFallback: a GET/HEAD for an HTML page outside /api/ whose last path
 * segment has no file extension gets index.html (the console routes it on the client); anything else keeps
 * the JSON 404/405.
 */
export function isConsolePageRequest(request: FastifyRequest): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  const path = request.url.split('?')[0] ?? '/';
  if (path === '/api' || path.startsWith('/api/') || path.startsWith('/assets/')) return false;
  if (/\.[A-Za-z0-9]+$/.test(path)) return false;
  return String(request.headers.accept ?? '').includes('text/html');
}
