/**
 * CLI start: wall time of `wispanel` / `wispanel-portal` `--help` and `--version` beside `node -e 0` (the floor:
 * starting node at all), measured in the same run, rounds interleaved.
 *   npx tsx bench/cli-start.ts [--rounds 10] [--no-npx] [--no-source]
 * Targets: the bins as installed (split install-time bundles, dist/cli.mjs + chunks), the same through `npx`
 * (as the issue measures; `npx node -e 0` is printed as npx's own floor: npm starting and spawning a
 * shell costs ~0.5 s idle, ~2 s at load 15, whatever the command), a single-file bundle of the same
 * sources (how the bundles were before they were split; built here into a temp dir) and the sources through
 * tsx (WISPANEL_CLI_FROM_SOURCE=1, what the bins ran before there were bundles). Prints the median, min and
 * max per target, its ratio to `node -e 0` and what it costs above it.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
// @ts-expect-error plain ESM script without types
import { CJS_SHIM, CLIS, EXTERNAL, root, staleReason } from '../scripts/cli-bundle.mjs';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '10' },
    'no-npx': { type: 'boolean', default: false },
    'no-source': { type: 'boolean', default: false },
  },
});
const ROUNDS = Number(values.rounds);

for (const name of ['panel', 'portal'] as const) {
  const reason = staleReason(join(root, CLIS[name].out));
  if (reason) {
    console.error(`the ${name} bundle is stale (${reason}): run npm run build first`);
    process.exit(2);
  }
}

// The single-file bundles (no splitting) of the same sources, beside dist/ so paths resolve the same way.
const esbuild = await import('esbuild');
const single: Record<string, string> = {};
const tmpDirs: string[] = [];
for (const name of ['panel', 'portal'] as const) {
  const dir = join(root, CLIS[name].out, '..', '..', `dist-bench-${process.pid}`);
  tmpDirs.push(dir);
  mkdirSync(dir, { recursive: true });
  single[name] = join(dir, 'cli.mjs');
  await esbuild.build({
    entryPoints: [join(root, CLIS[name].entry)],
    outfile: single[name],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: EXTERNAL,
    logLevel: 'error',
    legalComments: 'none',
    banner: { js: CJS_SHIM },
  });
}
process.on('exit', () => {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

const panelBin = join(root, 'packages/panel/bin/wispanel.mjs');
const portalBin = join(root, 'packages/portal/bin/wispanel-portal.mjs');
const node = process.execPath;
const fromSource = { WISPANEL_CLI_FROM_SOURCE: '1' };

interface Target {
  label: string;
  cmd: string;
  args: string[];
  env?: Record<string, string>;
}
const targets: Target[] = [
  { label: 'node -e 0 (floor)', cmd: node, args: ['-e', '0'] },
  { label: 'wispanel --help', cmd: node, args: [panelBin, '--help'] },
  { label: 'wispanel --version', cmd: node, args: [panelBin, '--version'] },
  { label: 'wispanel-portal --help', cmd: node, args: [portalBin, '--help'] },
  { label: 'wispanel-portal --version', cmd: node, args: [portalBin, '--version'] },
  { label: 'single-file bundle: wispanel --help', cmd: node, args: [single.panel as string, '--help'] },
  {
    label: 'single-file bundle: wispanel-portal --help',
    cmd: node,
    args: [single.portal as string, '--help'],
  },
];
if (!values['no-npx'])
  targets.push(
    { label: 'npx node -e 0 (npx floor)', cmd: 'npx', args: ['node', '-e', '0'] },
    { label: 'npx wispanel --help', cmd: 'npx', args: ['wispanel', '--help'] },
    { label: 'npx wispanel-portal --help', cmd: 'npx', args: ['wispanel-portal', '--help'] },
  );
if (!values['no-source'])
  targets.push(
    { label: 'sources via tsx: wispanel --help', cmd: node, args: [panelBin, '--help'], env: fromSource },
    {
      label: 'sources via tsx: wispanel-portal --help',
      cmd: node,
      args: [portalBin, '--help'],
      env: fromSource,
    },
  );

function once(t: Target): number {
  const started = process.hrtime.bigint();
  const r = spawnSync(t.cmd, t.args, { cwd: root, env: { ...process.env, ...t.env }, stdio: 'pipe' });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0) throw new Error(`${t.label} exited ${r.status}: ${r.stderr}`);
  return ms;
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
console.log(`cli start, ${ROUNDS} interleaved rounds; load average at start ${load()}`);
for (const t of targets) once(t); // warm the page cache
const times = new Map<string, number[]>(targets.map((t) => [t.label, []]));
for (let r = 0; r < ROUNDS; r++) for (const t of targets) times.get(t.label)?.push(once(t));

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const floor = median(times.get('node -e 0 (floor)') as number[]);
console.log(
  `${'target'.padEnd(44)} ${'median'.padStart(8)} ${'min'.padStart(7)} ${'max'.padStart(7)}  × node  above node`,
);
for (const t of targets) {
  const xs = times.get(t.label) as number[];
  const m = median(xs);
  console.log(
    `${t.label.padEnd(44)} ${m.toFixed(0).padStart(6)} ms ${Math.min(...xs)
      .toFixed(0)
      .padStart(7)} ${Math.max(...xs)
      .toFixed(0)
      .padStart(7)}  ${(m / floor).toFixed(1).padStart(5)}×  ${(m - floor).toFixed(0).padStart(6)} ms`,
  );
}
console.log(`load average at end ${load()}`);
