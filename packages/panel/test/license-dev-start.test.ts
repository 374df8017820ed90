/**
 * The development default: `npm start` (scripts/start.mjs) with no portal configured starts a local portal on
 * loopback and the panel trusting it explicitly, and prints the commands that issue and activate a license.
 * This test runs the script as a process and follows the printed instructions.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from '@wispanel/kit/testing';
import { Agent, request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';

const root = new URL('../../../', import.meta.url).pathname;
const run = promisify(execFile);
const insecure = new Agent({ connect: { rejectUnauthorized: false } });
const dir = tempDir('wispanel-dev-start-');
let child: ChildProcess | undefined;

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child?.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  dir.remove();
});

function waitForBanner(c: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no banner:\n${out}`)), 150_000);
    c.stdout?.on('data', (d) => {
      out += d;
      if (/curl -k https?:\S+\/license\/ /.test(out)) {
        clearTimeout(timer);
        resolve(out);
      }
    });
    c.on('exit', (code) => reject(new Error(`start.mjs exited with ${code}:\n${out}`)));
  });
}

describe('npm start development default', () => {
  it('starts a trusted local portal and the printed commands issue and activate a license', async () => {
    child = spawn(
      process.execPath,
      [join(root, 'scripts/start.mjs'), '--data-dir', 'data', '--host', '127.0.0.1', '--port', '0'],
      {
        cwd: dir.path,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, WISPANEL_PORTAL_URL: '', WISPANEL_LOG_LEVEL: 'warn' },
      },
    );
    const banner = await waitForBanner(child);
    const panelUrl = /panel API:\s+(\S+)/.exec(banner)?.[1] as string;
    const adminKey = /admin API key:\s+(wsp_[0-9a-f]{48})/.exec(banner)?.[1] as string;
    const portalUrl = /portal \(DEV\):\s+(\S+)/.exec(banner)?.[1] as string;
    expect(panelUrl).toMatch(/^https:\/\/.+\/api\/v1$/);
    expect(adminKey).toBeTruthy();
    expect(portalUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(banner).toMatch(/portal admin key:\s+wpa_/);
    // The web console and its first-run admin login (shown once), next to the API key.
    const consoleUrl = /web console:\s+(\S+)/.exec(banner)?.[1] as string;
    expect(consoleUrl).toBe(`${panelUrl.replace(/\/api\/v1$/, '')}/`);
    const adminLogin = /admin login:\s+(\S+) \/ (\S+)\s+\(shown once/.exec(banner);
    expect(adminLogin?.[1]).toBe('admin');
    const login = await request(`${panelUrl}/auth/login`, {
      method: 'POST',
      dispatcher: insecure,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: adminLogin?.[1], password: adminLogin?.[2] }),
    });
    expect(login.statusCode).toBe(200);
    await login.body.dump();

    // Command 1, as printed: issue a license on the development portal.
    const issueLine = /npx wispanel-portal (license issue .+)/.exec(banner)?.[1] as string;
    expect(issueLine).toContain('--tier pro');
    const { stdout } = await run(
      process.execPath,
      [join(root, 'packages/portal/bin/wispanel-portal.mjs'), ...issueLine.trim().split(/\s+/), '--json'],
      { cwd: dir.path },
    );
    const key = JSON.parse(stdout).license_key as string;

    // Command 2: activate it on the panel.
    const res = await request(`${panelUrl}/license/activate`, {
      method: 'POST',
      dispatcher: insecure,
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ key }),
    });
    const body = JSON.parse(await res.body.text());
    expect(res.statusCode, JSON.stringify(body)).toBe(200);
    expect(body.license).toMatchObject({ tier: 'pro', is_valid: true, has_license_file: true });

    // Command 3: the status shows it, from a portal marked as the development one.
    const s = await request(`${panelUrl}/license/summary`, {
      dispatcher: insecure,
      headers: { authorization: `Bearer ${adminKey}` },
    });
    const summary = JSON.parse(await s.body.text());
    expect(summary).toMatchObject({
      status: 'active',
      tier: 'pro',
      portal: { development: true, url: portalUrl },
    });
  }, 180_000);
});
