import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from '@wispanel/kit/testing';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * Issue 9 item 12 with real processes: data files are private whatever the umask (the CLIs run under
 * `umask 000`), and `wispanel start` on a busy port fails before touching the data dir or printing secrets.
 */
const root = new URL('../../..', import.meta.url).pathname;
const run = promisify(execFile);
const dir = tempDir('wispanel-modes-');
afterAll(() => dir.remove());

/** Runs a bin under `umask 000` (sh sets the umask, then execs node). */
function underUmask000(bin: string, args: string[], env: Record<string, string> = {}) {
  const quoted = [process.execPath, join(root, bin), ...args]
    .map((a) => `'${a.replace(/'/g, "'\\''")}'`)
    .join(' ');
  return run('sh', ['-c', `umask 000; exec ${quoted}`], {
    cwd: root,
    env: { ...process.env, WISPANEL_LOG_LEVEL: 'silent', ...env },
  }).catch((err: { stdout?: string; stderr?: string; code?: number }) => ({
    stdout: err.stdout ?? '',
    stderr: err.stderr ?? '',
    code: err.code,
  }));
}

/** Every path under `top` whose mode lets group or others in (except what is public on purpose). */
function openToOthers(top: string, publicFiles: string[] = []): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    const st = statSync(p);
    const rel = relative(top, p) || '.';
    if (!publicFiles.includes(rel) && (st.mode & 0o077) !== 0)
      out.push(`${rel} ${(st.mode & 0o777).toString(8)}`);
    if (st.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
  };
  walk(top);
  return out;
}

describe('data files are private whatever the umask', () => {
  it('panel: wispanel init under umask 000 leaves nothing readable by group or others', async () => {
    const dataDir = join(dir.path, 'panel');
    const res = await underUmask000('packages/panel/bin/wispanel.mjs', [
      'init',
      '--data-dir',
      dataDir,
      '--json',
    ]);
    expect(res.stdout).toContain('api_key');
    expect(existsSync(join(dataDir, 'panel.db'))).toBe(true);
    expect(openToOthers(dataDir, ['tls/cert.pem'])).toEqual([]);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dataDir, 'panel.db')).mode & 0o777).toBe(0o600);
  }, 60_000);

  it('portal: wispanel-portal init under umask 000 leaves its private files private', async () => {
    const dataDir = join(dir.path, 'portal');
    const res = await underUmask000('packages/portal/bin/wispanel-portal.mjs', [
      'init',
      '--data-dir',
      dataDir,
      '--json',
    ]);
    expect(res.stdout).toContain('kid');
    expect(existsSync(join(dataDir, 'portal.db'))).toBe(true);
    // public-keys.json is meant to be handed out; it may be readable, never writable by others
    expect(openToOthers(dataDir, ['public-keys.json', 'keys/keyring.json'])).toEqual([]);
    expect(statSync(join(dataDir, 'public-keys.json')).mode & 0o022).toBe(0);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
  }, 60_000);
});

describe('wispanel start on a busy port', () => {
  let blocker: Server | undefined;
  afterAll(() => blocker?.close());

  it('fails naming the port, before initialising the data dir or printing any secret', async () => {
    blocker = createServer();
    await new Promise<void>((r) => blocker?.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    const dataDir = join(dir.path, 'busy');
    const res = (await underUmask000('packages/panel/bin/wispanel.mjs', [
      'start',
      '--data-dir',
      dataDir,
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
    ])) as { stdout: string; stderr: string; code?: number };
    expect(res.code).not.toBe(0);
    expect(`${res.stdout}${res.stderr}`).toMatch(new RegExp(`${port}.*in use|in use.*${port}`));
    expect(`${res.stdout}${res.stderr}`).not.toMatch(/wsp_[0-9a-f]{48}/);
    expect(existsSync(join(dataDir, 'panel.db'))).toBe(false);
  }, 60_000);
});

describe('a supervised wispanel start while the previous panel still holds the port', () => {
  it('waits for the port instead of failing the start (the panel of a killed supervisor is still stopping)', async () => {
    const { spawn } = await import('node:child_process');
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', () => r()));
    const port = (holder.address() as { port: number }).port;
    const child = spawn(
      process.execPath,
      [
        join(root, 'packages/panel/bin/wispanel.mjs'),
        'start',
        '--data-dir',
        join(dir.path, 'supervised'),
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--json',
      ],
      {
        cwd: root,
        env: {
          ...process.env,
          WISPANEL_SUPERVISED: '1',
          WISPANEL_TLS_DISABLED: '1',
          WISPANEL_LOG_LEVEL: 'silent',
        },
      },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      out += c.toString();
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      // The predecessor lets go of the port 6 s later (a graceful stop); the new panel must come up, not exit 2.
      setTimeout(() => holder.close(), 6_000);
      const listening = await Promise.race([
        (async () => {
          while (!out.includes('"event":"listening"')) await new Promise((r) => setTimeout(r, 100));
          return 'listening';
        })(),
        exited.then((code) => `exited ${code}: ${out}`),
      ]);
      expect(listening).toBe('listening');
    } finally {
      child.kill('SIGTERM');
      await exited;
      holder.close();
    }
  }, 60_000);
});

describe('wispanel-portal start on a busy port', () => {
  let blocker: Server | undefined;
  afterAll(() => blocker?.close());

  it('fails naming the port with the configuration exit code, before opening or migrating the database', async () => {
    const dataDir = join(dir.path, 'portal-busy');
    const init = (await underUmask000('packages/portal/bin/wispanel-portal.mjs', [
      'init',
      '--data-dir',
      dataDir,
      '--json',
    ])) as {
      stdout: string;
      code?: number;
    };
    expect(init.code ?? 0).toBe(0);
    const db = join(dataDir, 'portal.db');
    const before = statSync(db).mtimeMs;
    blocker = createServer();
    await new Promise<void>((r) => blocker?.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    const res = (await underUmask000('packages/portal/bin/wispanel-portal.mjs', [
      'start',
      '--data-dir',
      dataDir,
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
    ])) as { stdout: string; stderr: string; code?: number };
    expect(res.code).toBe(2);
    expect(`${res.stdout}${res.stderr}`).toMatch(new RegExp(`port ${port} on 127.0.0.1 is in use`));
    expect(statSync(db).mtimeMs).toBe(before);
  }, 60_000);
});
