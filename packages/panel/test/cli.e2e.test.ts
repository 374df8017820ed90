import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from '@wispanel/kit/testing';
import { Agent, request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';

const root = new URL('../../..', import.meta.url).pathname;
const run = promisify(execFile);
const dir = tempDir('wispanel-e2e-');
let child: ChildProcess | undefined;

afterAll(() => {
  if (child?.pid && child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  dir.remove();
});

/** Reads JSON lines from the child's stdout until one matches. */
function waitForLine(proc: ChildProcess, match: (o: Record<string, unknown>) => boolean, timeoutMs = 50_000) {
  return new Promise<{ line: Record<string, unknown>; seen: Record<string, unknown>[] }>(
    (resolve, reject) => {
      const seen: Record<string, unknown>[] = [];
      let buf = '';
      let stderr = '';
      const timer = setTimeout(
        () => reject(new Error(`timed out; stdout: ${JSON.stringify(seen)} stderr: ${stderr}`)),
        timeoutMs,
      );
      proc.stderr?.on('data', (d) => {
        stderr += d;
      });
      proc.stdout?.on('data', (d) => {
        buf += d;
        let i = buf.indexOf('\n');
        while (i >= 0) {
          const text = buf.slice(0, i);
          buf = buf.slice(i + 1);
          i = buf.indexOf('\n');
          try {
            const o = JSON.parse(text) as Record<string, unknown>;
            seen.push(o);
            if (match(o)) {
              clearTimeout(timer);
              resolve({ line: o, seen });
            }
          } catch {
            /* not JSON */
          }
        }
      });
      proc.on('exit', (code) => reject(new Error(`exited ${code}; stderr: ${stderr}`)));
    },
  );
}

describe('wispanel command (real processes, HTTPS)', () => {
  it('start on a fresh data dir initialises it, prints the admin key once and serves HTTPS; init again changes nothing', async () => {
    const dataDir = join(dir.path, 'data');
    child = spawn(
      'npx',
      ['wispanel', 'start', '--data-dir', dataDir, '--host', '127.0.0.1', '--port', '0', '--json'],
      {
        cwd: root,
        env: { ...process.env, WISPANEL_LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      },
    );
    const { line, seen } = await waitForLine(child, (o) => o.event === 'listening');
    const init = seen.find((o) => typeof o.api_key === 'string') as
      | { api_key: string; hardware_id: string }
      | undefined;
    expect(init?.api_key).toMatch(/^wsp_[0-9a-f]{48}$/);
    const url = String(line.url);
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/api\/v1$/);

    // Verify the self-signed certificate properly (trusting it), not with verification turned off.
    const agent = new Agent({ connect: { ca: readFileSync(join(dataDir, 'tls', 'cert.pem')) } });
    const health = await request(`${url}/health`, { dispatcher: agent });
    expect(health.statusCode).toBe(200);
    expect(await health.body.json()).toMatchObject({ status: 'ok', database: 'ok' });
    const me = await request(`${url}/auth/me`, {
      dispatcher: agent,
      headers: { authorization: `Bearer ${init?.api_key}` },
    });
    expect(me.statusCode).toBe(200);
    expect(await me.body.json()).toMatchObject({ username: 'admin', role: 'admin' });
    const denied = await request(`${url}/auth/me`, { dispatcher: agent });
    expect(denied.statusCode).toBe(401);
    await denied.body.dump();
    await agent.close();

    const again = await run('npx', ['wispanel', 'init', '--data-dir', dataDir, '--json'], { cwd: root });
    const second = JSON.parse(again.stdout.trim().split('\n').pop() as string);
    expect(second.created).toBe(false);
    expect(second.api_key).toBeUndefined();
    expect(second.hardware_id).toBe(init?.hardware_id);
    expect(readFileSync(join(dataDir, 'hardware-id'), 'utf8').trim()).toMatch(/^[0-9a-f]{64}$/);

    // SIGTERM to the process group (npx and the panel): the panel closes and the port stops answering.
    const exited = new Promise<void>((resolve) => child?.on('exit', () => resolve()));
    process.kill(-(child.pid as number), 'SIGTERM');
    await exited;
    const after = new Agent({ connect: { ca: readFileSync(join(dataDir, 'tls', 'cert.pem')) } });
    await expect(request(`${url}/health`, { dispatcher: after })).rejects.toThrow();
    await after.close();
  }, 90_000);

  it('stops with a clear message on bad configuration', async () => {
    const res = await run(
      process.execPath,
      [
        join(root, 'packages/panel/bin/wispanel.mjs'),
        'start',
        '--data-dir',
        join(dir.path, 'bad'),
        '--port',
        'seventy',
      ],
      {
        cwd: root,
        env: { ...process.env, WISPANEL_RATE_LIMIT: '0' },
      },
    ).catch((e: { code: number; stderr: string }) => e);
    expect((res as { code: number }).code).toBe(2);
    expect((res as { stderr: string }).stderr).toContain('WISPANEL_PORT');
    expect((res as { stderr: string }).stderr).toContain('WISPANEL_RATE_LIMIT');
  }, 60_000);
});
