#!/usr/bin/env node
// Builds the web console to packages/console/dist (run by the root `prepare` script on `npm ci`/`npm
// install`, and by `npm run release` when dist/ is missing):
//   dist/index.html + dist/assets/<name>-<hash>.{js,css}   the console (Vite)
//   dist/api-docs/                                         the API reference: Swagger UI from swagger-ui-dist
// Then measures the JavaScript the first page load needs (the entry chunk and what it imports statically,
// gzipped) and fails above the 250 KB budget.
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { kb, measureInitialJs } from '../../ui/scripts/initial-js.mjs';

const here = dirname(new URL(import.meta.url).pathname);
const pkg = join(here, '..');
const dist = join(pkg, 'dist');
const BUDGET = 250 * 1024;

const vite = await import('vite').catch(() => null);
if (!vite) {
  // A production-only install (npm ci --omit=dev) has no Vite: the release tarball carries the built console.
  console.warn('console not built: vite is not installed (npm ci without --omit=dev builds it)');
  process.exit(0);
}
const { build } = vite;
const started = Date.now();
await build({ configFile: join(pkg, 'vite.config.ts'), logLevel: 'warn' });

// The API reference page.
const require = createRequire(import.meta.url);
const swaggerDir = dirname(require.resolve('swagger-ui-dist/package.json'));
const docs = join(dist, 'api-docs');
mkdirSync(docs, { recursive: true });
for (const f of ['swagger-ui-bundle.js', 'swagger-ui.css', 'LICENSE'])
  copyFileSync(join(swaggerDir, f), join(docs, f));
for (const f of readdirSync(join(pkg, 'api-docs'))) copyFileSync(join(pkg, 'api-docs', f), join(docs, f));

// Initial JavaScript: the entry module and its static imports (lazy pages are not part of the first load),
// measured the same way for both consoles (packages/ui/scripts/initial-js.mjs; also refuses an inline script).
const m = measureInitialJs(dist);
const gz = m.gzip;
console.log(
  `console built in ${((Date.now() - started) / 1000).toFixed(1)} s: initial JS ${kb(gz)} gzipped (${kb(m.raw)} raw, ${m.initialChunks} of ${m.chunks} chunks; budget ${kb(BUDGET)})`,
);
if (!existsSync(join(docs, 'swagger-ui-bundle.js'))) throw new Error('Swagger UI was not copied');
if (gz > BUDGET) {
  console.error(`initial JavaScript ${kb(gz)} gzipped is over the ${kb(BUDGET)} budget`);
  process.exit(1);
}
