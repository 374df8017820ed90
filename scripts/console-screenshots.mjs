#!/usr/bin/env node
// Regenerates the web console screenshots in docs/console/ (1280 and 390 px, light and dark) by running the
// browser suite (packages/console/test/console.e2e.test.ts) with WISPANEL_SCREENSHOT_DIR set, then lists
// them in docs/console.md between the SCREENSHOTS markers.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const dir = join(root, 'docs/console');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const run = spawnSync(
  process.execPath,
  [join(root, 'scripts/test.mjs'), 'packages/console/test/console.e2e.test.ts'],
  {
    stdio: 'inherit',
    env: { ...process.env, WISPANEL_BROWSER_TESTS: '1', WISPANEL_SCREENSHOT_DIR: dir },
  },
);
const shots = existsSync(dir)
  ? readdirSync(dir)
      .filter((f) => f.endsWith('.png'))
      .sort()
  : [];
rmSync(join(dir, 'index.json'), { force: true });
const pages = [...new Set(shots.map((f) => f.replace(/-(1280|390)-(light|dark)\.png$/, '')))];
const md = pages
  .map((p) => {
    const img = (w, c) =>
      shots.includes(`${p}-${w}-${c}.png`)
        ? `<img src="console/${p}-${w}-${c}.png" alt="${p}, ${w} px, ${c}" width="${w === 1280 ? 420 : 140}">`
        : '';
    return `### ${p}\n\n${img(1280, 'light')} ${img(1280, 'dark')} ${img(390, 'light')} ${img(390, 'dark')}\n`;
  })
  .join('\n');
const doc = join(root, 'docs/console.md');
const text = readFileSync(doc, 'utf8');
const start = text.indexOf('<!-- SCREENSHOTS -->');
const end = text.indexOf('<!-- /SCREENSHOTS -->');
if (start >= 0 && end > start)
  writeFileSync(doc, `${text.slice(0, start)}<!-- SCREENSHOTS -->\n${md}\n${text.slice(end)}`);
console.log(`${shots.length} screenshots in docs/console/`);
process.exit(run.status ?? 1);
