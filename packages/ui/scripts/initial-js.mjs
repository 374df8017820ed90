// Measures the JavaScript a console's first page load needs: the entry chunk(s) named by dist/index.html and
// everything they import statically (lazy pages are not part of the first load), gzipped at level 9.
// Also refuses an inline script in index.html (the consoles' CSP forbids it). Used by both console builds.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

export function measureInitialJs(dist) {
  const html = readFileSync(join(dist, 'index.html'), 'utf8');
  if (/<script(?![^>]*\bsrc=)[^>]*>/.test(html))
    throw new Error(`${dist}/index.html has an inline script (CSP forbids it)`);
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
  let gzip = 0;
  for (const rel of seen) {
    const buf = readFileSync(join(dist, rel));
    raw += buf.length;
    gzip += gzipSync(buf, { level: 9 }).length;
  }
  const chunks = readdirSync(join(dist, 'assets')).filter((f) => f.endsWith('.js')).length;
  return { raw, gzip, initialChunks: seen.size, chunks };
}

export const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
