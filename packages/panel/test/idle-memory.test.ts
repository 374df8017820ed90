import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@wispanel/kit/testing';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * Idle memory (issue 14): V8's young generation stays at its initial size while the panel starts
 * (lib/startup-nursery.ts), instead of growing to 16 MB per semi-space on the start-up garbage and keeping those
 * pages resident. Observed in a real `wispanel start` process through V8's own heap statistics (a probe loaded
 * with --import reports the new space's size once the server listens), not by timing or by RSS, which depends
 * on the machine. bench/panel-idle-memory.ts measures the RSS.
 */
const root = new URL('../../..', import.meta.url).pathname;
const bin = join(root, 'packages/panel/bin/wispanel.mjs');
const dir = tempDir('wispanel-idle-memory-');
afterAll(() => dir.remove());

const probe = join(dir.path, 'probe.mjs');
writeFileSync(
  probe,
  `import v8 from 'node:v8';
const t = setInterval(() => {
  if (!process.getActiveResourcesInfo().includes('TCPServerWrap')) return;
  clearInterval(t);
  setTimeout(() => {
    const s = v8.getHeapSpaceStatistics().find((x) => x.space_name === 'new_space');
    process.stderr.write('NEW_SPACE ' + s.space_size + '\\n');
  }, 1000);
}, 50);
t.unref();
`,
);

/** Starts the panel with extra node flags; resolves with the new space's size (bytes) once it listens. */
function newSpaceAfterStart(nodeFlags: string[], name: string): Promise<number> {
  const child = spawn(
    process.execPath,
    [
      ...nodeFlags,
      '--import',
      probe,
      bin,
      'start',
      '--data-dir',
      join(dir.path, name),
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--json',
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no probe line in 90 s: ${err}`));
    }, 90_000);
    child.stdout.resume();
    child.stderr.on('data', (d) => {
      err += d;
      const m = /NEW_SPACE (\d+)/.exec(err);
      if (!m) return;
      clearTimeout(timer);
      child.kill('SIGTERM');
      resolve(Number(m[1]));
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (!/NEW_SPACE/.test(err)) reject(new Error(`exited ${code}: ${err}`));
    });
  });
}

describe('panel start-up nursery', () => {
  it('the young generation is still small when the panel listens; an operator tuning it is left alone', {
    timeout: 200_000,
  }, async () => {
    const small = await newSpaceAfterStart([], 'a');
    // V8's default growth during the start (what an operator's own --semi-space-growth-factor leaves in place).
    const grown = await newSpaceAfterStart(['--semi-space-growth-factor=2'], 'b');
    expect(small).toBeLessThanOrEqual(4 * 2 ** 20);
    expect(grown).toBeGreaterThan(small * 2);
  });
});
