import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from '@wispanel/kit/testing';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM script without types
import { fingerprint, staleReason, writeMeta } from '../../../scripts/cli-bundle.mjs';
import { bin, root } from './portal-process';

/**
 * The bins run the install-time bundle only while it matches the sources (scripts/cli-bundle.mjs): a stale
 * bundle must never run older code than the tree.
 */
const run = promisify(execFile);
const dir = tempDir('wispanel-cli-bundle-');
afterAll(() => dir.remove());

describe('CLI bundle freshness', () => {
  const base = dir.path;
  const bundle = join(base, 'dist/cli.mjs');
  const write = (rel: string, text: string) => writeFileSync(join(base, rel), text);
  const build = () => {
    writeFileSync(bundle, '// bundle');
    writeMeta(join(base, 'dist/cli.meta.json'), fingerprint(base, ['src/a.ts', 'src/b.ts']));
  };
  mkdirSync(join(base, 'src'), { recursive: true });
  mkdirSync(join(base, 'dist'), { recursive: true });

  it('is fresh when nothing changed, or only an mtime (checkout, touch) with the same content', () => {
    write('src/a.ts', 'export const a = 1;\n');
    write('src/b.ts', 'export const b = 2;\n');
    build();
    expect(staleReason(bundle, base)).toBeNull();
    utimesSync(join(base, 'src/a.ts'), new Date(), new Date(Date.now() + 5000));
    expect(staleReason(bundle, base)).toBeNull();
  });

  it('is stale when a source changed: same size, other size, restored older file with its old mtime, gone', () => {
    write('src/a.ts', 'export const a = 1;\n');
    write('src/b.ts', 'export const b = 2;\n');
    build();
    write('src/a.ts', 'export const a = 7;\n'); // same size
    expect(staleReason(bundle, base)).toBe('src/a.ts changed');
    build();
    write('src/b.ts', 'export const b = 22;\n');
    expect(staleReason(bundle, base)).toBe('src/b.ts changed');
    build();
    write('src/b.ts', 'export const b = 33;\n');
    utimesSync(join(base, 'src/b.ts'), new Date(0), new Date(0)); // an old copy restored with its old mtime
    expect(staleReason(bundle, base)).toBe('src/b.ts changed');
    build();
    rmSync(join(base, 'src/a.ts'));
    expect(staleReason(bundle, base)).toBe('src/a.ts is gone');
  });

  it('is "not built" without the bundle or its meta file', () => {
    expect(staleReason(join(base, 'dist/none.mjs'), base)).toBe('not built');
  });
});

describe('wispanel-portal bin', () => {
  it('runs the bundle exactly when it matches the tree, else the sources; same answer both ways', {
    timeout: 120_000,
  }, async () => {
    const env = { ...process.env, WISPANEL_CLI_TRACE: '1' };
    const viaBin = await run(process.execPath, [bin, '--version'], { cwd: root, env });
    const fresh = staleReason(join(root, 'packages/portal/dist/cli.mjs')) === null;
    expect(viaBin.stderr).toMatch(fresh ? /wispanel cli: bundle / : /wispanel cli: sources via tsx/);
    const fromSource = await run(process.execPath, [bin, '--version'], {
      cwd: root,
      env: { ...env, WISPANEL_CLI_FROM_SOURCE: '1' },
    });
    expect(fromSource.stderr).toMatch(/sources via tsx \(WISPANEL_CLI_FROM_SOURCE=1\)/);
    expect(viaBin.stdout).toBe(fromSource.stdout);
  });
});
