/**
 * Serving a built single-page web console (Vite output) from a service, on its own origin:
 *
 * - `/`, and any other GET for an HTML page outside /api/ (client-side routes: the SPA fallback):
 *   index.html, `Cache-Control: no-cache`, strict Content-Security-Policy and the other HTML headers.
 * - `/assets/<hashed name>`: `Cache-Control: public, max-age=31536000, immutable` (the names change with the
 *   content), gzip when the client accepts it.
 * - a few fixed top-level files (favicon, robots.txt): cached for a day.
 *
 * Used by the panel (packages/console) and the portal (packages/portal-console).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { App } from './app';

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

/** Headers of every HTML answer of a console. */
export const HTML_HEADERS: Readonly<Record<string, string>> = {
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

/** File names a request may name (no slashes, no dot-files, no `..`). */
export const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/;

interface Asset {
  body: Buffer;
  gzip: Buffer | null;
  type: string;
}

export interface StaticSite {
  /** A file under the site's directory (relative path, names checked by the caller), read once and kept. */
  load(rel: string): Asset | null;
  /** Sends an asset with the given Cache-Control, gzip when accepted. */
  send(request: FastifyRequest, reply: FastifyReply, asset: Asset, cacheControl: string): FastifyReply;
  /** Sends an HTML page of the site (HTML headers, no-cache), or the "not built" page with 503. */
  sendPage(request: FastifyRequest, reply: FastifyReply, rel: string): FastifyReply;
}

/** Reads files of a built site on demand (each once) and sends them with the right headers. */
export function staticSite(dir: string | null, notBuiltHtml: string): StaticSite {
  const cache = new Map<string, Asset | null>();
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
  function sendPage(request: FastifyRequest, reply: FastifyReply, rel: string) {
    reply.headers(HTML_HEADERS);
    const page = load(rel);
    if (!page)
      return reply
        .code(503)
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-cache')
        .send(notBuiltHtml);
    return send(request, reply, page, 'no-cache');
  }
  return { load, send, sendPage };
}

/**
 * Registers `/`, `/assets/*` and the fixed top-level files of a console; returns the SPA fallback for kit's
 * `notFoundFallback` (client-side routes get index.html, everything else keeps the JSON 404/405).
 */
export function serveConsole(
  app: App,
  site: StaticSite,
  topLevelFiles: readonly string[] = ['favicon.svg', 'robots.txt'],
): (request: FastifyRequest, reply: FastifyReply) => boolean {
  const notFound = (reply: FastifyReply) => reply.callNotFound();
  app.get('/', { config: { public: true }, schema: { hide: true } }, (request, reply) =>
    site.sendPage(request, reply, 'index.html'),
  );
  app.get<{ Params: { '*': string } }>(
    '/assets/*',
    { config: { public: true }, schema: { hide: true } },
    (request, reply) => {
      const name = request.params['*'];
      const asset = SAFE_NAME.test(name) ? site.load(`assets/${name}`) : null;
      if (!asset) return notFound(reply);
      return site.send(request, reply, asset, 'public, max-age=31536000, immutable');
    },
  );
  for (const file of topLevelFiles) {
    app.get(`/${file}`, { config: { public: true }, schema: { hide: true } }, (request, reply) => {
      const asset = site.load(file);
      if (!asset) return notFound(reply);
      return site.send(request, reply, asset, 'public, max-age=86400');
    });
  }
  return (request, reply) => {
    if (!isConsolePageRequest(request)) return false;
    void site.sendPage(request, reply, 'index.html');
    return true;
  };
}

/**
 * The SPA fallback: a GET/HEAD for an HTML page outside /api/ whose last path segment has no file extension (a version like 1.5.0 is not one)
 * gets index.html (the console routes it on the client); anything else keeps the JSON 404/405.
 */
export function isConsolePageRequest(request: FastifyRequest): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  const path = request.url.split('?')[0] ?? '/';
  if (path === '/api' || path.startsWith('/api/') || path.startsWith('/assets/')) return false;
  // A file name ends in a dot and a letter-led extension; `/rollouts/1.5.0` is a page, not a file.
  if (/\.[A-Za-z][A-Za-z0-9]*$/.test(path)) return false;
  return String(request.headers.accept ?? '').includes('text/html');
}
