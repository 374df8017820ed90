#!/usr/bin/env node
// Runs the whole test suite. Starts a throwaway PostgreSQL cluster for the portal's PostgreSQL tests when
// none is given in WISPANEL_TEST_PG_URL, stops it by PID afterwards, and ends with a plain
// "N passed, N failed" line. Extra arguments go to vitest (e.g. a file filter).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const inCi = process.env.CI === 'true';

function findPgBin() {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return null;
  const versions = readdirSync(base).filter((v) => existsSync(join(base, v, 'bin', 'initdb')));
  versions.sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(base, versions[0], 'bin') : null;
}

async function startPostgres() {
  const bin = findPgBin();
  if (!bin) return null;
  const dir = mkdtempSync(join(tmpdir(), 'wispanel-pg-'));
  chmodSync(dir, 0o777);
  const data = join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  const run = (cmd, cmdArgs) => {
    const full = join(bin, cmd);
    return asRoot
      ? execFileSync('runuser', ['-u', 'postgres', '--', full, ...cmdArgs], { stdio: 'pipe' })
      : execFileSync(full, cmdArgs, { stdio: 'pipe' });
  };
  mkdirSync(data);
  if (asRoot) execFileSync('chown', ['-R', 'postgres:postgres', dir]);
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const port = 20000 + Math.floor(Math.random() * 20000);
  const pgArgs = [
    '-D',
    data,
    '-p',
    String(port),
    '-k',
    dir,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'fsync=off',
    '-c',
    'synchronous_commit=off',
    '-c',
    'full_page_writes=off',
    '-c',
    'max_connections=200',
  ];
  const child = asRoot
    ? spawn('runuser', ['-u', 'postgres', '--', join(bin, 'postgres'), ...pgArgs], {
        stdio: 'ignore',
        detached: true,
      })
    : spawn(join(bin, 'postgres'), pgArgs, { stdio: 'ignore', detached: true });
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  for (let i = 0; i < 100; i++) {
    const r = spawnSync(join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port)], {
      stdio: 'ignore',
    });
    if (r.status === 0) break;
    await new Promise((r2) => setTimeout(r2, 100));
  }
  const pidFile = join(data, 'postmaster.pid');
  const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').split('\n')[0]) : child.pid;
  return {
    url,
    stop() {
      try {
        process.kill(pid, 'SIGINT');
      } catch {}
      for (let i = 0; i < 50; i++) {
        try {
          process.kill(pid, 0);
        } catch {
          break;
        }
        spawnSync('sleep', ['0.1']);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

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
