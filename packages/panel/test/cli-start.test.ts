import { execFile } from 'node:child_process';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from '@wispanel/kit/testing';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM script without types
import { buildCli } from '../../../scripts/cli-bundle.mjs';

/**
 * CLI start (issue 14): the install-time bundles are split so that `--help` and `--version` load the command
 * table only, and a command loads its own code only. Checked by what node actually loads (a resolve hook logs
 * every file URL), not by timing; bench/cli-start.ts measures the time.
 */
const run = promisify(execFile);
const root = new URL('../../..', import.meta.url).pathname;
const dir = tempDir('wispanel-cli-start-');
const outDirs: string[] = [];
afterAll(() => {
  dir.remove();
  for (const d of outDirs) rmSync(d, { recursive: true, force: true });
});

const hooks = join(dir.path, 'hooks.mjs');
writeFileSync(
  hooks,
  `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (r.url.startsWith('file:')) appendFileSync(process.env.LOADED_LOG, r.url + '\\n');
  return r;
}
`,
);

/** Runs a bundle with args; returns stdout and the bundle files (name → bytes) node loaded. */
async function loadedBy(bundle: string, args: string[], log: string) {
  rmSync(log, { force: true });
  const register = `data:text/javascript,import{register}from'node:module';register(${JSON.stringify(`file://${hooks}`)})`;
  const { stdout } = await run(process.execPath, ['--import', register, bundle, ...args], {
    cwd: root,
    env: { ...process.env, LOADED_LOG: log },
  });
  const files = new Map<string, number>();
  for (const url of readFileSync(log, 'utf8').split('\n').filter(Boolean)) {
    const path = new URL(url).pathname;
    if (path.startsWith(join(bundle, '..'))) files.set(path, statSync(path).size);
  }
  return { stdout, files };
}

const total = (files: Map<string, number>) => [...files.values()].reduce((a, b) => a + b, 0);

describe.each([
  ['panel', 'packages/panel', ['start', 'update', 'run']],
  ['portal', 'packages/portal', ['start', 'license', 'release']],
])('%s command-line bundle', (name, pkg, commands) => {
  it('--help and --version load only the command table (well under 10 % of the program)', {
    timeout: 120_000,
  }, async () => {
    const out = join(root, pkg, `dist-test-${process.pid}`);
    outDirs.push(out);
    const bundle = join(out, 'cli.mjs');
    await buildCli(name, { outfile: bundle });
    const all = (await import('node:fs')).readdirSync(out).filter((f) => f.endsWith('.mjs'));
    const program = all.reduce((sum, f) => sum + statSync(join(out, f)).size, 0);
    expect(all.length).toBeGreaterThan(2); // split into chunks

    const help = await loadedBy(bundle, ['--help'], join(dir.path, `${name}-help.log`));
    for (const command of commands) expect(help.stdout).toContain(`  ${command}`);
    expect(total(help.files)).toBeLessThan(program / 10);

    const version = await loadedBy(bundle, ['--version'], join(dir.path, `${name}-version.log`));
    expect(version.stdout.trim()).toBe(
      JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version as string,
    );
    expect(total(version.files)).toBeLessThan(program / 10);

    // A command's own help loads that command (its options are listed), so more than the table.
    const startHelp = await loadedBy(bundle, ['start', '--help'], join(dir.path, `${name}-start.log`));
    expect(startHelp.stdout).toContain('--port <port>');
    expect(total(startHelp.files)).toBeGreaterThan(total(help.files));
  });
});
