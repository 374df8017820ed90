import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import AxeBuilder from '@axe-core/playwright';
import { tempDir } from '@wispanel/kit/testing';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, root, type StartedPortal, startPortal } from './portal-process';

/**
 * The portal web console in a real browser (Debian's chromium driven by playwright-core) against a real
 * `wispanel-portal start` process on SQLite: sign in with the admin key, issue a license (key shown once),
 * see it activated by a server, suspend it and see the server's next verify refused, publish a release from
 * the page (artifact upload with progress), watch its rollout halt after two servers report a failure,
 * events, tiers validation, admin keys, sign-out; axe-core on every page; a changelog with a script does not
 * run. The "servers" are the panel's protocol over real HTTP (activate / verify / download/report), not panel
 * processes: the panel side of these calls is covered by the panel's own end-to-end tests.
 * WISPANEL_SCREENSHOTS=1 writes docs/screenshots/portal-*.png (npm run screenshots:portal).
 */
const CHROMIUM = '/usr/bin/chromium';
const run = promisify(execFile);
const shots = process.env.WISPANEL_SCREENSHOTS === '1' ? join(root, 'docs/screenshots') : null;

let portal: StartedPortal;
let browser: Browser;
let adminKey = '';
const dir = tempDir('wispanel-portal-console-e2e-');

beforeAll(async () => {
  const { stdout } = await run(process.execPath, [bin, 'init', '--data-dir', dir.path, '--json'], {
    cwd: root,
  });
  adminKey = JSON.parse(stdout).admin_key;
  portal = await startPortal(['--data-dir', dir.path, '--rate-limit', '100000']);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--headless',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await portal?.stop();
  dir.remove();
});

async function api(method: string, path: string, body?: unknown, admin = true) {
  const res = await fetch(`${portal.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(admin ? { 'x-admin-key': adminKey } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: JSON checked by the assertions
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

/** No serious or critical accessibility violation on the page as it is now. */
async function expectAccessible(page: Page, name: string) {
  const result = await new AxeBuilder({ page }).analyze();
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(
    bad.map((v) => `${name}: ${v.id} ${v.help}: ${v.nodes.map((n) => n.html.slice(0, 160)).join(' | ')}`),
  ).toEqual([]);
}

async function shoot(page: Page, name: string) {
  if (!shots) return;
  mkdirSync(shots, { recursive: true });
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: width === 390 ? 844 : 800 });
      await page.waitForTimeout(150);
      await page.screenshot({ path: join(shots, `portal-${name}-${width}-${scheme}.png`), fullPage: true });
    }
  }
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize({ width: 1280, height: 800 });
}

const nav = async (page: Page, label: string) => {
  await page.getByRole('link', { name: label, exact: true }).first().click();
};

describe('portal web console in a browser', () => {
  it('runs the license and release lifecycle from the browser', { timeout: 240_000 }, async () => {
    if (!existsSync(CHROMIUM)) throw new Error('chromium is not installed (apt-get install -y chromium)');
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));

    // Sign-in: a wrong key is refused with the API's message; the right one opens the console.
    await page.goto(portal.url);
    await expect.poll(() => page.getByLabel('Admin key').count()).toBe(1);
    await expectAccessible(page, 'sign-in');
    await shoot(page, 'sign-in');
    await page.getByLabel('Admin key').fill(`wpa_${'0'.repeat(64)}`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Invalid or missing API key').waitFor();
    await page.getByLabel('Admin key').fill(adminKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Licenses' }).waitFor();
    // The key is in no browser storage; the session cookie is HttpOnly.
    const storage = await page.evaluate<string>('JSON.stringify({ ...localStorage, ...sessionStorage })');
    expect(storage).not.toContain(adminKey);
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === '__Host-wispanel_portal_session');
    expect(session).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict' });
    expect(await page.evaluate<string>('document.cookie')).toBe('');

    // Issue a license: the key is shown once.
    await page.getByRole('button', { name: 'Issue a license' }).click();
    await page.getByLabel('Customer name').fill('Acme Hosting');
    await page.getByLabel('Servers (activations)').fill('2');
    await page.getByRole('button', { name: 'Issue', exact: true }).click();
    const keyBox = page.getByRole('textbox', { name: 'License key' });
    await keyBox.waitFor();
    const licenseKey = await keyBox.inputValue();
    expect(licenseKey).toMatch(/^WISP-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$/);
    await shoot(page, 'license-issued');
    await page.getByRole('button', { name: 'Done' }).click();

    // Two servers activate it (the panel's license protocol over real HTTP).
    const servers = [randomBytes(32).toString('hex'), randomBytes(32).toString('hex')];
    for (const hw of servers) {
      const res = await api('POST', '/api/v1/license/activate', { key: licenseKey, hardware_id: hw }, false);
      expect(res.body.valid).toBe(true);
    }

    // Search by the key's last 4 and open the license: both activations are there.
    await page.getByLabel('Search licenses').fill(licenseKey.slice(-4));
    await page
      .getByRole('button', { name: /WISP-\*\*\*\*/ })
      .first()
      .click();
    await page.getByText('2 of 2').waitFor();
    await expect.poll(() => page.getByText(`${servers[0]!.slice(0, 16)}…`).count()).toBe(1);
    await expectAccessible(page, 'license detail');
    await shoot(page, 'license-detail');

    // Suspend, through the confirmation that says what running panels will do.
    await page.getByRole('button', { name: 'Suspend' }).click();
    await page.getByText(/get a signed SUSPENDED answer at their next refresh/).waitFor();
    await page.getByRole('dialog').getByRole('button', { name: 'Suspend' }).click();
    await page.getByText('suspended', { exact: true }).first().waitFor();
    const verify = await api(
      'POST',
      '/api/v1/license/verify',
      { key: licenseKey, hardware_id: servers[0] },
      false,
    );
    expect(verify.body).toMatchObject({ valid: false, code: 'SUSPENDED' });
    await page.getByRole('button', { name: 'Reinstate' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Reinstate' }).click();
    await page.getByText('active', { exact: true }).first().waitFor();

    // Tiers: the API's validation is shown per field (the same schema as the CLI).
    await nav(page, 'Tiers');
    await page.getByRole('button', { name: 'Edit tier pro' }).click();
    await page.getByLabel('Lease days (1–365)').fill('5000');
    await page.getByRole('button', { name: 'Save' }).click();
    await page
      .getByText(/lease days field must not be greater than 365/i)
      .first()
      .waitFor();
    await expectAccessible(page, 'tiers');
    await page.getByRole('button', { name: 'Cancel' }).click();
    await shoot(page, 'tiers');

    // Releases: a draft with a hostile changelog (its preview runs nothing), artifact upload, publish.
    await nav(page, 'Releases');
    await page.getByRole('button', { name: 'New release' }).click();
    await page.getByLabel('Version').fill('1.5.0');
    await page
      .getByRole('textbox', { name: 'Changelog (Markdown)' })
      .fill(
        '## WisPanel 1.5.0\n\n- faster\n\n<script>window.__pwned = 1</script>\n<img src=x onerror="window.__pwned = 2">\n\n[click](javascript:window.__pwned=3)',
      );
    await page.getByRole('tab', { name: 'Preview' }).click();
    await page.getByTestId('changelog-preview').getByText('faster').waitFor();
    await page.getByTestId('changelog-preview').getByText('click').click();
    expect(await page.evaluate<unknown>('window.__pwned')).toBeUndefined();
    await page.getByRole('button', { name: 'Create draft' }).click();
    await page.getByText('1.5.0', { exact: true }).waitFor();
    const artifact = join(dir.path, 'wispanel-1.5.0.tar.gz');
    writeFileSync(artifact, randomBytes(256 * 1024));
    const chooser = page.waitForEvent('filechooser');
    await page.getByRole('button', { name: 'Upload artifact' }).click();
    await (await chooser).setFiles(artifact);
    await page.getByText(/Artifact wispanel-1\.5\.0\.tar\.gz, 0\.3 MB/).waitFor();
    await page.getByRole('button', { name: 'Publish' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Publish' }).click();
    await page.getByText('published', { exact: true }).waitFor();
    expect(await page.evaluate<unknown>('window.__pwned')).toBeUndefined();
    await expectAccessible(page, 'releases');
    await shoot(page, 'releases');

    // Rollout: everyone at once, halt at 2 failing servers; two servers report a failure → halted on the page.
    const plan = await api('PUT', '/api/v1/admin/versions/1.5.0/rollout', {
      stages: 100,
      halt_policy: { min_failures: 2, failure_rate: 0.05 },
    });
    expect(plan.status).toBe(200);
    await page.getByRole('button', { name: 'Rollout' }).click();
    await page.getByRole('heading', { name: 'Release 1.5.0' }).waitFor();
    for (const [i, hw] of servers.entries()) {
      const res = await api(
        'POST',
        '/api/v1/download/report',
        {
          key: licenseKey,
          hardware_id: hw,
          nonce: `nonce-${i}-abcdef`,
          attempt_id: `job-${i}`,
          from_version: '1.4.2',
          to_version: '1.5.0',
          outcome: 'rolled_back',
          step: 'health_check',
          error_code: 'HEALTH_CHECK_FAILED',
          duration_ms: 4000,
        },
        false,
      );
      expect(res.status).toBe(200);
    }
    await page.getByText(/^Halted /).waitFor({ timeout: 20_000 });
    await page.getByText('health_check', { exact: true }).waitFor();
    await page.getByRole('cell', { name: 'HEALTH_CHECK_FAILED', exact: true }).waitFor();
    // The chart over time: the two rollbacks land in the current hour (the totals under the chart).
    await expect
      .poll(() => page.getByTestId('rollout-timeline-totals').textContent(), { timeout: 15_000 })
      .toMatch(/rolled back 2$/);
    for (const series of ['Offered', 'Started', 'Succeeded', 'Failed', 'Rolled back'])
      await page.getByTestId('rollout-timeline').getByText(series, { exact: true }).waitFor();
    await expectAccessible(page, 'rollout');
    await shoot(page, 'rollout-halted');

    // Fleet and events.
    await nav(page, 'Fleet');
    await page.getByRole('heading', { name: 'Fleet' }).waitFor();
    await expectAccessible(page, 'fleet');
    await shoot(page, 'fleet');
    await nav(page, 'Events');
    await page.getByLabel('Action').fill('release.halted');
    await page.getByText('release.halted', { exact: true }).first().waitFor();
    await expectAccessible(page, 'events');
    await shoot(page, 'events');

    // Admin keys: create (shown once) and revoke.
    await nav(page, 'Admin keys');
    await page.getByLabel('New key name').fill('release manager');
    await page.getByRole('button', { name: 'Create key' }).click();
    const newKey = await page.getByRole('textbox', { name: 'Admin key' }).inputValue();
    expect(newKey).toMatch(/^wpa_[0-9a-f]{64}$/);
    await expectAccessible(page, 'admin keys');
    await shoot(page, 'admin-keys');
    expect((await api('GET', '/api/v1/admin/admin-keys')).body.admin_keys).toHaveLength(2);

    // Sign-out ends the session: the old cookie no longer opens the admin API.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('You are signed out.').waitFor();
    const after = await fetch(`${portal.url}/api/v1/admin/tiers`, {
      headers: { cookie: `__Host-wispanel_portal_session=${session?.value}` },
    });
    expect(after.status).toBe(401);
    expect(pageErrors).toEqual([]);
    await context.close();
  });

  it('every HTML answer carries the CSP; a state-changing cookie request without the CSRF token is refused', async () => {
    for (const path of ['/', '/licenses/x', '/rollouts/1.5.0']) {
      const res = await fetch(`${portal.url}${path}`, { headers: { accept: 'text/html' } });
      expect(res.status, `${path}: ${await res.clone().text()}`).toBe(200);
      expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    }
    const signIn = await fetch(`${portal.url}/api/v1/admin/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ admin_key: adminKey }),
    });
    const token = /__Host-wispanel_portal_session=([^;]+)/.exec(signIn.headers.get('set-cookie') ?? '')?.[1];
    const res = await fetch(`${portal.url}/api/v1/admin/licenses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: `__Host-wispanel_portal_session=${token}` },
      body: JSON.stringify({ tier: 'free' }),
    });
    expect(res.status).toBe(403);
  });
});
