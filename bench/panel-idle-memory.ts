/**
 * Panel idle memory (issue 14): resident memory (VmRSS) of the panel's release bundle, `node bin/wispanel.mjs
 * start`, some seconds after it listens, beside plain `node` idling and a bare node:https hello-world server,
 * measured in the same run, rounds interleaved. Also the panel with V8's default young-generation growth during
 * the start (`node --semi-space-growth-factor=2` turns the start-up nursery off, see
 * packages/panel/src/lib/startup-nursery.ts), to show what that part does.
 *   npx tsx bench/panel-idle-memory.ts [--rounds 5] [--idle 10]
 * Builds the release with `npm run release` into a temp dir (cached bundle when the tree did not change).
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { tempDir } from '@wispanel/kit/testing';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '5' }, idle: { type: 'string', default: '10' } },
});
const ROUNDS = Number(values.rounds);
const IDLE_MS = Number(values.idle) * 1000;
const root = new URL('..', import.meta.url).pathname;
const work = tempDir('wispanel-bench-memory-');
process.on('exit', () => work.remove());

const built = JSON.parse(
  execFileSync(process.execPath, [join(root, 'scripts/release.mjs'), '--out', work.path, '--json'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  }).toString(),
) as { file: string; version: string };
execFileSync('tar', ['-xzf', built.file, '-C', work.path]);
const bin = join(work.path, `wispanel-${built.version}`, 'bin/wispanel.mjs');
const dataDir = join(work.path, 'data');
execFileSync(process.execPath, [bin, 'init', '--data-dir', dataDir, '--json'], { stdio: 'ignore' });

const bareHttps = `
const { readFileSync } = require('node:fs');
const s = require('node:https').createServer({ key: readFileSync(process.argv[1] + '/tls/key.pem'), cert: readFileSync(process.argv[1] + '/tls/cert.pem') }, (q, r) => r.end('{"ok":true}'));
s.listen(0, '127.0.0.1', () => console.log('listening'));`;

interface Target {
  label: string;
  args: string[];
  env?: Record<string, string>;
}
const targets: Target[] = [
  { label: 'node idle (setInterval)', args: ['-e', 'console.log("listening"); setInterval(() => {}, 1e9)'] },
  { label: 'bare node:https server', args: ['-e', bareHttps, dataDir] },
  {
    label: 'panel, start-up nursery off',
    args: [
      '--semi-space-growth-factor=2',
      bin,
      'start',
      '--data-dir',
      dataDir,
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--json',
    ],
  },
  {
    label: 'panel (release bundle)',
    args: [bin, 'start', '--data-dir', dataDir, '--host', '127.0.0.1', '--port', '0', '--json'],
  },
];

const rssMb = (pid: number) => {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) / 1024;
};

async function once(t: Target): Promise<number> {
  const child = spawn(process.execPath, t.args, {
    cwd: work.path,
    env: { ...process.env, ...t.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${t.label}: no "listening" in 60 s: ${out}`)), 60_000);
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('listening')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    child.on('exit', (code) => reject(new Error(`${t.label} exited ${code}: ${out}`)));
  });
  await new Promise((r) => setTimeout(r, IDLE_MS));
  const mb = rssMb(child.pid as number);
  child.removeAllListeners('exit');
  const gone = new Promise((r) => child.on('exit', r));
  child.kill('SIGTERM');
  await gone;
  return mb;
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
console.log(
  `panel idle memory: VmRSS ${IDLE_MS / 1000} s after "listening", ${ROUNDS} interleaved rounds; load ${load()}`,
);
const results = new Map<string, number[]>(targets.map((t) => [t.label, []]));
for (let r = 0; r < ROUNDS; r++) for (const t of targets) results.get(t.label)?.push(await once(t));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const nodeIdle = median(results.get(targets[0]?.label as string) as number[]);
for (const t of targets) {
  const xs = results.get(t.label) as number[];
  const m = median(xs);
  console.log(
    `${t.label.padEnd(32)} median ${m.toFixed(1).padStart(6)} MB  (min ${Math.min(...xs).toFixed(1)}, max ${Math.max(...xs).toFixed(1)})  above idle node ${(m - nodeIdle).toFixed(1).padStart(5)} MB`,
  );
}
console.log(`goal: panel ≤ 100 MB; load at end ${load()}`);
