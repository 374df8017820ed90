#!/usr/bin/env node
// The install-time build, run by the root `prepare` script on every `npm ci` / `npm install` (and by hand:
// `npm run build`): the command-line bundles of the panel and the portal (scripts/cli-bundle.mjs), then the
// web consoles (packages/console/scripts/build.mjs, packages/portal-console/scripts/build.mjs).
//   node scripts/build.mjs [--cli-only]
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { buildCli, CLIS, root } from './cli-bundle.mjs';

const esbuild = await import('esbuild').catch(() => null);
if (!esbuild) {
  // A production-only install (npm ci --omit=dev) has no esbuild: the bins run the sources through tsx.
  console.warn('command-line bundles not built: esbuild is not installed');
} else {
  const started = Date.now();
  const built = await Promise.all(Object.keys(CLIS).map((name) => buildCli(name)));
  const stale = built.filter((b) => b.stale).map((b) => b.outfile);
  console.log(
    `command-line bundles built in ${((Date.now() - started) / 1000).toFixed(1)} s${stale.length ? ` (sources edited during the build, left stale: ${stale.join(', ')})` : ''}`,
  );
}
if (!process.argv.includes('--cli-only')) {
  execFileSync(process.execPath, [join(root, 'packages/console/scripts/build.mjs')], { stdio: 'inherit' });
  execFileSync(process.execPath, [join(root, 'packages/portal-console/scripts/build.mjs')], {
    stdio: 'inherit',
  });
}
