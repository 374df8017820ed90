/**
 * The portal's web console (packages/portal-console, built to static files by `npm ci`), served on the
 * portal's own origin at `/` (the API stays at /api/v1). Headers as for the panel's console (kit
 * static-site.ts): index.html no-cache with a strict CSP, hashed assets immutable.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type App, serveConsole, staticSite } from '@wispanel/kit';
import type { FastifyReply, FastifyRequest } from 'fastify';

const here = dirname(fileURLToPath(import.meta.url));

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>WisPanel portal</title></head><body><h1>WisPanel portal</h1><p>The web console is not built in this installation. Build it with <code>npm run build:portal-console</code> (npm ci does this), or use the API at /api/v1.</p></body></html>`;

/** WISPANEL_PORTAL_CONSOLE_DIR, else beside a bundle (`<dir>/portal-console`), else the workspace build. */
export function findPortalConsoleDir(): string | null {
  const list = [
    join(here, 'portal-console'),
    resolve(here, '../../../../portal-console/dist'),
    resolve(here, '../../portal-console/dist'),
  ];
  if (process.env.WISPANEL_PORTAL_CONSOLE_DIR) list.unshift(resolve(process.env.WISPANEL_PORTAL_CONSOLE_DIR));
  return list.find((d) => existsSync(join(d, 'index.html'))) ?? null;
}

export function portalConsoleRoutes(
  app: App,
  dir: string | null = findPortalConsoleDir(),
): (request: FastifyRequest, reply: FastifyReply) => boolean {
  return serveConsole(app, staticSite(dir, NOT_BUILT));
}
