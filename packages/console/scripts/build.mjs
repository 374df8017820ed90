#!/usr/bin/env node
// Builds the web console to packages/console/dist (run by the root `prepare` script on `npm ci`/`npm
// install`, and by `npm run release` when dist/ is missing):
//   dist/index.html + dist/assets/<name>-<hash>.{js,css}   the console (Vite)
//   dist/api-docs/                                         the API reference: Swagger UI from swagger-ui-dist
// Then measures the JavaScript the first page load needs (the entry chunk and what it imports statically,
// gzipped) and fails above the 250 KB budget.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';

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

// Initial JavaScript: the entry module and its static imports (lazy pages are not part of the first load).
const html = readFileSync(join(dist, 'index.html'), 'utf8');
if (/<script(?![^>]*\bsrc=)[^>]*>/.test(html))
  throw new Error('dist/index.html has an inline script (CSP forbids it)');
const entries = [
  ...html.matchAll(/<(?:script[^>]*src|link[^>]*rel="modulepreload"[^>]*href)="\/(assets\/[^"]+\.js)"/g),
].map((m) => m[1]);
const seen = new Set();
const walk = (rel) => {
  if (seen.has(rel)) return;
  seen.add(rel);
  const code = readFileSync(join(dist, rel), 'utf8');
  for (const m of code.matchAll(/(?:^|[;\s}])import\s*(?:[\w${},\s*]+from\s*)?["']\.\/([^"']+\.js)["']/g))
    walk(`assets/${m[1]}`);
};
for (const e of entries) walk(e);
let raw = 0;
let gz = 0;
for (const rel of seen) {
  const buf = readFileSync(join(dist, rel));
  raw += buf.length;
  gz += gzipSync(buf, { level: 9 }).length;
}
const all = readdirSync(join(dist, 'assets')).filter((f) => f.endsWith('.js'));
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
console.log(
  `console built in ${((Date.now() - started) / 1000).toFixed(1)} s: initial JS ${kb(gz)} gzipped (${kb(raw)} raw, ${seen.size} of ${all.length} chunks; budget ${kb(BUDGET)})`,
);
if (!existsSync(join(docs, 'swagger-ui-bundle.js'))) throw new Error('Swagger UI was not copied');
if (gz > BUDGET) {
  console.error(`initial JavaScript ${kb(gz)} gzipped is over the ${kb(BUDGET)} budget`);
  process.exit(1);
}
