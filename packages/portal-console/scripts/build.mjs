#!/usr/bin/env node
// Builds the portal's web console to packages/portal-console/dist (run by the root `prepare` script on
// `npm ci`), then prints the JavaScript the first page load needs (gzipped) and fails above 250 KB.
import { dirname, join } from 'node:path';
import { kb, measureInitialJs } from '../../ui/scripts/initial-js.mjs';

const pkg = join(dirname(new URL(import.meta.url).pathname), '..');
const BUDGET = 250 * 1024;
const vite = await import('vite').catch(() => null);
if (!vite) {
  console.warn('portal console not built: vite is not installed (npm ci without --omit=dev builds it)');
  process.exit(0);
}
const started = Date.now();
await vite.build({ configFile: join(pkg, 'vite.config.ts'), logLevel: 'warn' });
const m = measureInitialJs(join(pkg, 'dist'));
console.log(
  `portal console built in ${((Date.now() - started) / 1000).toFixed(1)} s: initial JS ${kb(m.gzip)} gzipped (${kb(m.raw)} raw, ${m.initialChunks} of ${m.chunks} chunks; budget ${kb(BUDGET)})`,
);
if (m.gzip > BUDGET) {
  console.error(`initial JavaScript ${kb(m.gzip)} gzipped is over the ${kb(BUDGET)} budget`);
  process.exit(1);
}
