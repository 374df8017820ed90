#!/usr/bin/env node
// `npm run mutate [-- group...]`: Stryker mutation testing of the security-critical files (stryker.config.mjs),
// then a per-file check: every file must score at least MIN_SCORE, and every surviving or uncovered mutant
// must be explained in stryker.config.mjs `explained` (by file, mutator, original line and replacement).
// Prints one line per file and ends with "mutation: N files, score X %, ok|FAILED".
// `npm run mutate -- contract auth` runs some groups only; `-- --check-only` re-checks the last reports.
// Environment: MUTATE_CONCURRENCY (default 2), MUTATE_REPORT_DIR (default .tmp/mutation; one folder per group
// with mutation.json and mutation.html).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const MIN_SCORE = 85;
const args = process.argv.slice(2);
const checkOnly = args.includes('--check-only'); // re-check the last reports without running Stryker
const { explained, groups } = await import(join(root, 'stryker.config.mjs'));
const selected = args.filter((a) => !a.startsWith('--'));
for (const g of selected)
  if (!groups[g]) throw new Error(`unknown mutation group ${g} (known: ${Object.keys(groups).join(', ')})`);
const runGroups = selected.length ? selected : Object.keys(groups).filter((g) => !groups[g].optional);
const reportRoot = process.env.MUTATE_REPORT_DIR ?? '.tmp/mutation';

// One Stryker run per group: each dry run then loads only that group's test files.
const started = Date.now();
const minutes = {};
for (const group of runGroups) {
  if (checkOnly) break;
  const t0 = Date.now();
  const env = { ...process.env, MUTATE_GROUPS: group, MUTATE_REPORT_DIR: `${reportRoot}/${group}` };
  const code = await new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [join(root, 'node_modules/@stryker-mutator/core/bin/stryker.js'), 'run', 'stryker.config.mjs'],
      { cwd: root, env, stdio: 'inherit' },
    );
    child.on('exit', (c, s) => resolve(c ?? (s ? 1 : 0)));
  });
  minutes[group] = ((Date.now() - t0) / 60_000).toFixed(1);
  if (code !== 0) {
    console.error(`mutation: stryker exited with ${code} for group ${group}`);
    process.exit(1);
  }
}

const files = {};
for (const group of runGroups) {
  const path = join(root, reportRoot, group, 'mutation.json');
  if (!existsSync(path))
    throw new Error(`no report for group ${group} at ${path}: run npm run mutate -- ${group}`);
  Object.assign(files, JSON.parse(readFileSync(path, 'utf8')).files);
}
const used = new Set();
let failed = false;
let totalDetected = 0;
let totalValid = 0;
const rows = [];
const unexplained = [];
for (const [file, data] of Object.entries(files)) {
  const lines = data.source.split('\n');
  const count = (s) => data.mutants.filter((m) => m.status === s).length;
  const detected = count('Killed') + count('Timeout');
  const valid = detected + count('Survived') + count('NoCoverage');
  const score = valid ? (100 * detected) / valid : 100;
  totalDetected += detected;
  totalValid += valid;
  let explainedHere = 0;
  for (const m of data.mutants) {
    if (m.status !== 'Survived' && m.status !== 'NoCoverage') continue;
    const line = lines[m.location.start.line - 1] ?? '';
    const replacement = (m.replacement ?? '').replace(/\s+/g, ' ');
    const match = explained.findIndex(
      (e) =>
        file.endsWith(e.file) &&
        e.mutator === m.mutatorName &&
        line.includes(e.line) &&
        (e.replacement === undefined || replacement.includes(e.replacement)),
    );
    if (match >= 0) {
      used.add(match);
      explainedHere++;
    } else {
      unexplained.push(
        `${file}:${m.location.start.line}:${m.location.start.column} ${m.status} ${m.mutatorName}\n    ${line.trim()}\n    => ${replacement.slice(0, 160)}`,
      );
    }
  }
  if (score < MIN_SCORE) failed = true;
  rows.push(
    `${score.toFixed(2).padStart(6)} %  ${file}  (${detected} killed of ${valid}; ${count('Survived')} survived, ${count('NoCoverage')} no coverage, ${explainedHere} explained)`,
  );
}
console.log(`\nmutation score per file (minimum ${MIN_SCORE} %):`);
for (const r of rows) console.log(r);
if (unexplained.length) {
  failed = true;
  console.log(
    `\n${unexplained.length} surviving mutant(s) neither killed nor explained in stryker.config.mjs:`,
  );
  for (const u of unexplained) console.log(`  ${u}`);
}
const stale = explained.filter((e, i) => !used.has(i) && Object.keys(files).some((f) => f.endsWith(e.file)));
if (stale.length) {
  console.log(
    `\n${stale.length} explanation(s) in stryker.config.mjs match no surviving mutant (killed now? remove them):`,
  );
  for (const e of stale) console.log(`  ${e.file}: ${e.mutator} ${e.line}`);
}
const total = totalValid ? (100 * totalDetected) / totalValid : 100;
const took = checkOnly
  ? 'checked'
  : `${((Date.now() - started) / 60_000).toFixed(1)} min (${Object.entries(minutes)
      .map(([g, m]) => `${g} ${m}`)
      .join(', ')})`;
console.log(
  `\nmutation: ${rows.length} files, score ${total.toFixed(2)} %, ${took}, ${failed ? 'FAILED' : 'ok'}`,
);
process.exit(failed ? 1 : 0);
