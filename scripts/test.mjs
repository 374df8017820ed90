#!/usr/bin/env node
// Runs the whole test suite. Starts a throwaway PostgreSQL cluster for the portal's PostgreSQL tests when
// none is given in WISPANEL_TEST_PG_URL, stops it by PID afterwards, and ends with a plain
// "N passed, N failed" line. Extra arguments go to vitest (e.g. a file filter).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startPostgres } from './postgres.mjs';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const inCi = process.env.CI === 'true';

let pgHandle = null;
const env = { ...process.env };
if (!env.WISPANEL_TEST_PG_URL) {
  pgHandle = await startPostgres().catch((err) => {
    console.error(`could not start PostgreSQL: ${err.message}`);
    return null;
  });
  if (pgHandle) {
    env.WISPANEL_TEST_PG_URL = pgHandle.url;
    console.log(`PostgreSQL for tests at ${pgHandle.url.replace(/\/\/.*@/, '//')}`);
  } else if (inCi) {
    console.error('PostgreSQL is required in CI (apt-get install -y postgresql)');
    console.log('0 passed, 1 failed');
    process.exit(1);
  } else {
    console.warn(
      'PostgreSQL not found: PostgreSQL suites are skipped (apt-get install -y postgresql to run them)',
    );
  }
}

const out = join(root, '.tmp');
mkdirSync(out, { recursive: true });
const report = join(out, `vitest-report-${process.pid}.json`);
rmSync(report, { force: true });
const cleanup = () => pgHandle?.stop();
process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});

const vitest = spawn(
  process.execPath,
  [
    join(root, 'node_modules/vitest/vitest.mjs'),
    'run',
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${report}`,
    ...args,
  ],
  { stdio: 'inherit', env, cwd: root },
);
const code = await new Promise((resolve) => vitest.on('exit', (c, s) => resolve(c ?? (s ? 1 : 0))));
cleanup();

let passed = 0;
let failed = 0;
let skipped = 0;
if (existsSync(report)) {
  const r = JSON.parse(readFileSync(report, 'utf8'));
  passed = r.numPassedTests;
  failed =
    r.numFailedTests +
    (r.testResults ?? []).filter((t) => t.status === 'failed' && t.assertionResults.length === 0).length;
  skipped = r.numPendingTests + r.numTodoTests;
  rmSync(report, { force: true });
} else {
  failed = 1;
}
if (code !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || code !== 0 ? 1 : 0);
