/**
 * The web console (packages/console, built to static files by `npm ci` / the release) and the API reference
 * page (Swagger UI from swagger-ui-dist, copied into the console build), served by the panel itself on its
 * own origin and port. docs/console.md describes the headers; the serving itself (index.html no-cache with the
 * strict CSP, hashed assets immutable + gzip, the SPA fallback) is kit's static-site.ts, shared with the portal.
 * `/api/v1/docs` (+ its files under /api/v1/docs/) is the API reference, with the same CSP (the page's one
 * script is a file, not inline).
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type App, CONSOLE_CSP, SAFE_NAME, serveConsole, staticSite } from '@wispanel/kit';
import type { FastifyReply, FastifyRequest } from 'fastify';

export { CONSOLE_CSP };

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

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>WisPanel</title></head><body><h1>WisPanel</h1><p>The web console is not built in this installation. Build it with <code>npm run build -w @wispanel/console</code> (npm ci does this), or use the API at /api/v1.</p></body></html>`;

/** Registers the console's routes and the API reference page; returns the SPA fallback for kit's `notFoundFallback`. */
export function consoleRoutes(
  app: App,
  options: { dir?: string | null } = {},
): (request: FastifyRequest, reply: FastifyReply) => boolean {
  const dir = options.dir === undefined ? findConsoleDir() : options.dir;
  const site = staticSite(dir, NOT_BUILT);
  const fallback = serveConsole(app, site);

  // The API reference: Swagger UI (files copied from swagger-ui-dist by the console build) reading
  // /api/v1/openapi.json through its own init script file (no inline script).
  app.get('/api/v1/docs', { config: { public: true }, schema: { hide: true } }, (request, reply) =>
    site.sendPage(request, reply, 'api-docs/index.html'),
  );
  app.get<{ Params: { file: string } }>(
    '/api/v1/docs/:file',
    { config: { public: true }, schema: { hide: true } },
    (request, reply) => {
      const { file } = request.params;
      const asset = SAFE_NAME.test(file) && file !== 'index.html' ? site.load(`api-docs/${file}`) : null;
      if (!asset) return reply.callNotFound();
      // Not hashed names: revalidated after an hour (a panel update ships a new Swagger UI).
      return site.send(request, reply, asset, 'public, max-age=3600');
    },
  );
  return fallback;
}
