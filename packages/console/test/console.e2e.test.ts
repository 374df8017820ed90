/**
 * The web console in a real browser (Debian's Chromium through playwright-core) against real processes over
 * HTTPS: a real portal (init, tier, license, releases published through its admin API) and the panel
 * installed from a real release tarball (which must carry the console) and run by its supervisor, so an
 * update restarts the panel under the page. Nothing is faked.
 *
 * Walks: login (wrong password, then right), dashboard unlicensed → activate on the License page →
 * dashboard changes; over the limits → enforce with its confirmation → disabled list; a changelog with a
 * script tag, an onerror image and a javascript: link does not run; publish a release and follow the
 * update live to its end; a release that cannot start shown rolled back (and in the history); a reseller
 * sees no License page; logout; a password change ends the session. axe-core on every page, the CSP
 * header on every HTML answer, no CSP violation in the console. Screenshots at 1280 and 390 px, light and
 * dark (docs/console.md: `npm run screenshots:console` writes them to docs/console/).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PortalAdminClient } from '@wispanel/client';
import { tempDir } from '@wispanel/kit/testing';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BuiltRelease,
  buildRelease,
  CRASHING_LAUNCHER,
  type PanelApi,
  type Proc,
  panelApi,
  portalCli,
  publishRelease,
  root,
  startInstalledPanel,
  startPortal,
  waitFor,
  waitForStatus,
  withLauncher,
} from '../../panel/test/update-helpers';
import { axeProblems, haveChromium, launchChromium, screenshotDir } from './browser';

const X = '8.0.0';
const X1 = '8.0.1';
const X2 = '8.0.2';
const inCi = process.env.CI === 'true';

/** A changelog that would run code if rendered unsafely. */
const EVIL_CHANGELOG = [
  `## WisPanel ${X1}`,
  '',
  '- faster pages',
  '- <script>window.__pwned = "script"</script>',
  '- <img src="x" onerror="window.__pwned = \'onerror\'">',
  "- [release notes](javascript:window.__pwned='link')",
  '- <a href="javascript:window.__pwned=\'html-link\'">more</a>',
  '',
].join('\n');

const cleanups: Array<() => unknown> = [];
let browser: Browser;
let base: string;
let api: PanelApi;
let adminPassword: string;
let portalUrl: string;
let portalAdminKey: string;
let releases: { relX1: BuiltRelease; fileX2: string };
let supervisor: Proc;
let issuedKey: string;
const axe: string[] = [];
const htmlWithoutCsp: string[] = [];
const cspViolations: string[] = [];
const shots: string[] = [];
let shotDir: string;

const publish = (file: string, version: string, changelog: string, critical = false) =>
  publishRelease(portalUrl, portalAdminKey, file, version, { changelog, critical });

async function newContext(options: { colorScheme?: 'light' | 'dark'; width?: number } = {}) {
  const context = await browser.newContext({
    ignoreHTTPSErrors: true,
    colorScheme: options.colorScheme ?? 'light',
    viewport: { width: options.width ?? 1280, height: 860 },
  });
  context.on('response', (res) => {
    const type = res.headers()['content-type'] ?? '';
    if (type.includes('text/html') && !res.headers()['content-security-policy'])
      htmlWithoutCsp.push(res.url());
  });
  context.on('console', (msg) => {
    if (/Content.Security.Policy/i.test(msg.text()))
      cspViolations.push(`${msg.location().url}:${msg.location().lineNumber}: ${msg.text().slice(0, 120)}`);
  });
  cleanups.push(() => context.close());
  return context;
}

async function login(page: Page, user: string, password: string) {
  await page.goto(`${base}/`);
  await page.getByLabel('Username or e-mail').fill(user);
  await page.getByLabel(/^Password/).fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('button', { name: 'Log out' }).waitFor();
}

async function goto(page: Page, path: string, label: string) {
  await page.getByRole('navigation').getByRole('link', { name: label, exact: true }).click();
  await page.waitForURL(`${base}${path}`);
  await page.getByRole('heading', { level: 2, name: label }).waitFor();
}

/** axe on the page now, and screenshots at 1280/390 × light/dark of the same path (a fresh context each). */
async function check(page: Page, name: string, path: string, ready: string) {
  axe.push(...(await axeProblems(page, name)));
  if (!process.env.WISPANEL_SCREENSHOT_DIR && !process.env.WISPANEL_CONSOLE_SHOTS) return;
  const state = await page.context().storageState();
  for (const colorScheme of ['light', 'dark'] as const) {
    for (const width of [1280, 390]) {
      const ctx = await browser.newContext({
        ignoreHTTPSErrors: true,
        colorScheme,
        viewport: { width, height: width === 390 ? 844 : 860 },
        storageState: state,
      });
      const p = await ctx.newPage();
      await p.goto(`${base}${path}`);
      await p.locator(ready).first().waitFor({ timeout: 30_000 });
      await p.waitForTimeout(400);
      const file = join(shotDir, `${name}-${width}-${colorScheme}.png`);
      await p.screenshot({ path: file, fullPage: true });
      shots.push(file);
      if (colorScheme === 'dark' || width === 390)
        axe.push(...(await axeProblems(p, `${name} ${width} ${colorScheme}`)));
      await ctx.close();
    }
  }
}

// In CI (`.ci/run`) always (a missing Chromium fails there); locally with WISPANEL_BROWSER_TESTS=1 (it runs
// for several minutes on this shared machine) — `npm run test:browser` sets it.
const suite = inCi || (haveChromium && process.env.WISPANEL_BROWSER_TESTS === '1') ? describe : describe.skip;

suite('panel web console in Chromium', { timeout: 300_000 }, () => {
  let admin: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    shotDir = screenshotDir(root);
    const dir = tempDir('wispanel-console-e2e-');
    cleanups.push(() => dir.remove());
    const out = join(dir.path, 'out');
    const portalData = join(dir.path, 'portal');

    const built = (async () => {
      const relX = await buildRelease(X, out);
      const [relX1, relX2] = await Promise.all([buildRelease(X1, out), buildRelease(X2, out)]);
      const fileX2 = await withLauncher(relX2, join(dir.path, 'bad'), CRASHING_LAUNCHER);
      return { relX, relX1, fileX2 };
    })();
    browser = await launchChromium();
    cleanups.push(() => browser.close());
    const init = await portalCli(['init', '--data-dir', portalData]);
    portalAdminKey = init.admin_key;
    const portal = await startPortal(portalData);
    portalUrl = portal.url;
    cleanups.push(() => portal.proc.stop());
    const portalAdmin = new PortalAdminClient({ baseUrl: portal.url, adminKey: init.admin_key });
    await portalAdmin.createTier({ name: 'small', max_users: 3, max_domains: 2, max_databases: 2 });
    issuedKey = (await portalAdmin.issueLicense({ tier: 'small', term_days: 30 })).license_key;
    const b = await built;
    releases = { relX1: b.relX1, fileX2: b.fileX2 };

    const panel = await startInstalledPanel({
      releaseFile: b.relX.file,
      dir: join(dir.path, 'panel'),
      portalUrl: portal.url,
      publicKeysFile: init.public_keys_file as string,
    });
    supervisor = panel.supervisor;
    cleanups.push(() => supervisor.stop());
    base = panel.base;
    api = panel.api;
    adminPassword = panel.adminPassword;
    admin = await newContext();
    page = await admin.newPage();
  }, 240_000);

  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
    if (shots.length)
      writeFileSync(
        join(shotDir, 'index.json'),
        `${JSON.stringify(
          shots.map((s) => s.slice(shotDir.length + 1)),
          null,
          2,
        )}\n`,
      );
  });

  it('the release serves the console at / with the strict CSP; a wrong password shows the API message; login opens the dashboard (time to interactive measured)', async () => {
    await page.goto(`${base}/`);
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    axe.push(...(await axeProblems(page, 'login')));
    await page.getByLabel('Username or e-mail').fill('admin');
    await page.getByLabel(/^Password/).fill('wrong password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').getByText('Invalid credentials').waitFor();
    await page.getByLabel(/^Password/).fill(adminPassword);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByTestId('license-card').waitFor();
    expect(await page.getByTestId('license-status').textContent()).toBe('unlicensed');
    const cookies = await admin.cookies();
    const session = cookies.find((c) => c.name === '__Host-wispanel_session');
    expect(session).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict', path: '/' });
    // The page cannot read it.
    expect(await page.evaluate('document.cookie')).not.toContain('wispanel_session');

    // Time to interactive of the dashboard: a fresh load until the license card is rendered from the API.
    const tti: number[] = [];
    for (let i = 0; i < 3; i++) {
      await page.goto(`${base}/`);
      await page.getByTestId('license-card').waitFor();
      await page.getByTestId('usage').waitFor();
      tti.push(Number(await page.evaluate('performance.now()')));
    }
    tti.sort((a, b) => a - b);
    console.log(
      `dashboard time to interactive: median ${Math.round(tti[1] as number)} ms (runs ${tti.map(Math.round).join(', ')} ms)`,
    );
    expect(tti[1]).toBeLessThan(10_000);
    await check(page, 'dashboard-unlicensed', '/', '[data-testid=license-card]');
  });

  it('activates a license on the License page (a malformed key shows the server error) and the dashboard changes', async () => {
    await goto(page, '/license', 'License');
    await page.getByRole('textbox', { name: /^License key/ }).fill('WISP-nope');
    await page.getByRole('button', { name: 'Activate' }).click();
    await page.getByText('Activation refused').waitFor();
    expect(await page.getByRole('alert').first().textContent()).toMatch(
      /WISP-XXXX-XXXX-XXXX|malformed|format/i,
    );
    await page.getByRole('textbox', { name: /^License key/ }).fill(issuedKey.toLowerCase());
    await page.getByRole('button', { name: 'Activate' }).click();
    await waitFor(
      async () => (await page.getByTestId('license-status').textContent()) === 'active',
      20_000,
      () => 'license never shown active',
    );
    await page
      .getByTestId('license-key')
      .getByText(`WISP-****${issuedKey.slice(-4)}`)
      .waitFor();
    await check(page, 'license', '/license', '[data-testid=license-key]');
    await goto(page, '/', 'Dashboard');
    expect(await page.getByTestId('license-status').textContent()).toBe('active');
    expect(await page.getByTestId('license-tier').textContent()).toBe('small');
    expect(await page.getByTestId('usage').textContent()).toContain('1 of 3');
  });

  it('over the limits: enforce says what it will disable, asks, and the disabled list shows it', async () => {
    // 3 accounts allowed: admin + 2 customers; then the tier shrinks to 2 on the portal and the lease is
    // refreshed, so one account (the newest) is over the limit.
    for (const name of ['cust1', 'cust2']) {
      const r = await api.call('POST', '/users', {
        username: name,
        email: `${name}@example.com`,
        password: 'correct horse battery',
        role: 'user',
      });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }
    const portalAdmin = new PortalAdminClient({ baseUrl: portalUrl, adminKey: portalAdminKey });
    await portalAdmin.updateTier('small', { max_users: 2 });
    await goto(page, '/license', 'License');
    await page.getByRole('button', { name: 'Refresh lease' }).click();
    await page.getByText('Lease refreshed').first().waitFor({ timeout: 20_000 });
    await page.getByRole('button', { name: 'Enforce limits' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByTestId('enforce-plan').waitFor();
    expect(await dialog.getByTestId('enforce-plan').textContent()).toContain('1 accounts (limit 2)');
    await page.waitForTimeout(500); // the dialog's fade-in: axe would judge half-transparent colours
    axe.push(...(await axeProblems(page, 'enforce dialog')));
    await dialog.getByRole('button', { name: 'Disable them' }).click();
    await dialog.waitFor({ state: 'hidden' });
    const table = page.getByRole('table', { name: 'Resources disabled by the license' });
    await table.getByText('cust2').waitFor({ timeout: 15_000 });
    expect(await table.textContent()).toContain('account');
    await goto(page, '/accounts', 'Accounts');
    await page.getByText('disabled by license').first().waitFor();
    await check(page, 'accounts', '/accounts', 'text=cust2');
  });

  it('a changelog with a script tag, an onerror image and javascript: links renders without running anything', async () => {
    await publish(releases.relX1.file, X1, EVIL_CHANGELOG, true);
    await goto(page, '/updates', 'Updates');
    const entry = page.getByTestId(`changelog-${X1}`);
    // The panel caches the portal's check answer for 30 s: ask again until the new release shows.
    await waitFor(
      async () => {
        await page.getByRole('button', { name: 'Check now' }).click();
        await entry.waitFor({ timeout: 3000 });
        return true;
      },
      60_000,
      () => `${X1} never appeared on the Updates page`,
      500,
    );
    expect(await entry.textContent()).toContain('faster pages');
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    expect(await entry.locator('script, img, [onerror]').count()).toBe(0);
    const hrefs = await entry.locator('a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    for (const h of hrefs) expect(h ?? '').not.toMatch(/^\s*javascript:/i);
    // Clicking what is left of the links runs nothing either.
    for (const link of await entry.locator('a').all())
      await link.click({ noWaitAfter: true }).catch(() => {});
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    await check(page, 'updates-available', '/updates', `[data-testid="changelog-${X1}"]`);
  });

  it('publishes a release and follows the update live in the browser to its end, through the panel restart', async () => {
    await page.getByRole('button', { name: 'Update', exact: true }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Start the update' }).click();
    const seen: string[] = [];
    await waitFor(
      async () => {
        const state = await page
          .getByTestId('update-progress')
          .getAttribute('data-state', { timeout: 500 })
          .catch(() => null);
        if (state && seen[seen.length - 1] !== state) seen.push(state);
        return state === 'completed' || state === 'failed' || state === 'rolled_back';
      },
      120_000,
      () =>
        `update never finished in the page; states seen ${seen.join(' → ')}\n${supervisor.output().slice(-3000)}`,
      100,
    );
    console.log(`update states seen live in the browser: ${seen.join(' → ')}`);
    expect(seen[seen.length - 1]).toBe('completed');
    // Seen running first (a state of the pipeline), then its end — without a reload, across the restart.
    expect(seen.length).toBeGreaterThan(1);
    expect(['checking', 'downloading', 'verifying', 'installing', 'restarting', 'health_check']).toContain(
      seen[0],
    );
    expect(await page.getByTestId('update-progress').textContent()).toContain(`${X} → ${X1}`);
    await page.getByText(`Running ${X1}`).waitFor({ timeout: 20_000 });
    expect((await api.call('GET', '/version/info')).body.version).toBe(X1);
    // Still logged in after the restart (sessions are in the database).
    await goto(page, '/', 'Dashboard');
    await check(page, 'updates-completed', '/updates', '[data-testid=update-progress]');
  });

  it('a release that cannot start is shown rolled back, with its reason, and in the history', async () => {
    await publish(releases.fileX2, X2, `## WisPanel ${X2}\n\n- this one will not start\n`);
    await goto(page, '/updates', 'Updates');
    // The panel caches the portal's check answer for 30 s: ask again until the new release shows.
    await waitFor(
      async () => {
        await page.getByRole('button', { name: 'Check now' }).click();
        await page.getByTestId(`changelog-${X2}`).waitFor({ timeout: 3000 });
        return true;
      },
      60_000,
      () => `${X2} never appeared on the Updates page`,
      500,
    );
    await page.getByRole('button', { name: 'Update', exact: true }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Start the update' }).click();
    await waitFor(
      async () =>
        (await page.getByTestId('update-progress').getAttribute('data-state', { timeout: 500 })) ===
        'rolled_back',
      120_000,
      () => `never shown rolled back\n${supervisor.output().slice(-3000)}`,
      200,
    );
    expect(await page.getByTestId('update-error').textContent()).toMatch(/UPDATE_START_FAILED/);
    const history = page.getByRole('table', { name: 'Past updates, newest first' });
    await history.getByText('rolled back').first().waitFor({ timeout: 20_000 });
    expect(await history.textContent()).toContain(`${X1} → ${X2}`);
    expect(await history.textContent()).toContain(`${X} → ${X1}`);
    await waitForStatus(
      api,
      (s) => s.state === 'rolled_back',
      10_000,
      () => '',
    );
    await check(page, 'updates-rolled-back', '/updates', '[data-testid=update-error]');
  });

  it('says why an update is not offered or installed now, and when: the maintenance window, then a staged rollout holding the release back', async () => {
    // Policy "all" with a window that opened an hour ago and is closed now (UTC): the available release waits.
    const hour = new Date().getUTCHours();
    const hh = (h: number) => `${String((hour + h) % 24).padStart(2, '0')}:00`;
    const policy = await api.call('PUT', '/version/settings', {
      auto_update: 'all',
      window: {
        days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'],
        start: hh(2),
        end: hh(3),
        timezone: 'UTC',
      },
    });
    expect(policy.status, JSON.stringify(policy.body)).toBe(200);
    await goto(page, '/updates', 'Updates');
    const reason = page.getByTestId('update-why').getByTestId('auto-update-reason');
    // The page still shows the answer from before the policy changed: "Check now" asks again.
    let seenReason: string | null = null;
    await waitFor(
      async () => {
        await page.getByRole('button', { name: 'Check now' }).click();
        seenReason = await reason.getAttribute('data-reason', { timeout: 3000 }).catch(() => null);
        return seenReason === 'outside_window';
      },
      30_000,
      () => `the policy decision never showed outside_window (last seen: ${seenReason})`,
      500,
    );
    expect(await reason.textContent()).toMatch(/maintenance window, which opens/);
    expect(await reason.textContent()).toContain(`${hh(2)}–${hh(3)} (UTC)`);

    // The vendor stages X2 (0 % first, everyone a day later): this server is not offered it any more.
    const rollout = await request(`${portalUrl}/api/v1/admin/versions/${X2}/rollout`, {
      method: 'PUT',
      headers: { 'x-admin-key': portalAdminKey, 'content-type': 'application/json' },
      body: JSON.stringify({
        stages: [
          { percent: 0, after_hours: 0 },
          { percent: 100, after_hours: 24 },
        ],
      }),
    });
    expect(rollout.statusCode, await rollout.body.text()).toBe(200);
    const held = page.getByTestId('update-why').getByTestId(`held-back-${X2}`);
    // The panel caches the portal's check answer for 30 s: ask again until the hold shows.
    await waitFor(
      async () => {
        await page.getByRole('button', { name: 'Check now' }).click();
        await held.waitFor({ timeout: 3000 });
        return true;
      },
      60_000,
      () => `${X2} never shown held back`,
      500,
    );
    expect(await held.getAttribute('data-reason')).toBe('not_in_stage');
    expect(await held.textContent()).toContain(
      'Staged rollout at 0 %: this server is not in the current stage yet',
    );
    expect(await held.textContent()).toMatch(
      /The next stage starts .+; this server is offered it once a stage includes it/,
    );
    await page.getByRole('heading', { name: 'No update offered now' }).waitFor();
    expect(await reason.getAttribute('data-reason')).toBe('no_update');
    await check(page, 'updates-held-back', '/updates', '[data-testid=held-back]');
    // The dashboard's update card says it too.
    await goto(page, '/', 'Dashboard');
    const card = page.getByTestId('update-card');
    await card.getByTestId(`held-back-${X2}`).waitFor();
    expect(await card.textContent()).toContain('No update offered now.');
    expect(await card.textContent()).toMatch(
      new RegExp(`${X2.replaceAll('.', '\\.')} held back: Staged rollout at 0 %`),
    );
    await check(page, 'dashboard-held-back', '/', '[data-testid=update-card] [data-testid^=held-back]');
  });

  it('domains, databases and API keys: create, suspend, delete with confirmation; an API key secret is shown once', async () => {
    await goto(page, '/domains', 'Domains');
    await page.getByRole('button', { name: 'New domain' }).click();
    await page.getByRole('dialog').getByLabel('Domain').fill('shop.example');
    await page.getByRole('dialog').getByRole('button', { name: 'Create' }).click();
    await page.getByRole('cell', { name: 'shop.example', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Suspend shop.example' }).click();
    await page.getByRole('button', { name: 'Unsuspend shop.example' }).waitFor();
    await check(page, 'domains', '/domains', 'text=shop.example');
    // The API's refusal is shown with its message.
    await page.getByRole('button', { name: 'New domain' }).click();
    await page.getByRole('dialog').getByLabel('Domain').fill('not a domain');
    await page.getByRole('dialog').getByRole('button', { name: 'Create' }).click();
    await page.getByRole('dialog').getByRole('alert').waitFor();
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();

    console.log('domains done');
    await goto(page, '/databases', 'Databases');
    await page.getByRole('button', { name: 'New database' }).click();
    await page.getByRole('dialog').getByLabel('Name').fill('shopdb');
    await page.getByRole('dialog').getByRole('button', { name: 'Create' }).click();
    await page
      .getByRole('cell', { name: /shopdb/ })
      .first()
      .waitFor();
    await page.getByRole('button', { name: 'Delete' }).first().click();
    await page.getByRole('dialog').getByText('cannot be undone').waitFor();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await page.getByText('No databases.').waitFor();
    await check(page, 'databases', '/databases', 'text=No databases.');

    console.log('databases done');
    await goto(page, '/api-keys', 'API keys');
    await page.getByRole('button', { name: 'New API key' }).click();
    await page.getByRole('dialog').getByLabel('Name').fill('deploy script');
    await page.getByRole('dialog').getByRole('button', { name: 'Issue key' }).click();
    const secret = await page.getByTestId('issued-key').getByRole('textbox').inputValue();
    expect(secret).toMatch(/^wsp_[0-9a-f]{48}$/);
    expect((await panelApi(base, secret).call('GET', '/auth/me')).status).toBe(200);
    await page.getByRole('cell', { name: 'deploy script', exact: true }).waitFor();
    await check(page, 'api-keys', '/api-keys', 'text=deploy script');
    // Shown once: a reload does not show it again.
    await page.reload();
    await page.getByRole('cell', { name: 'deploy script', exact: true }).waitFor();
    expect(await page.getByTestId('issued-key').count()).toBe(0);
  });

  it('searches the whole list on the server: debounced, kept in the address, across pages; the audit log filtered by the API', async () => {
    // Room for many domains: lift the tier's domain limit and refresh the lease.
    const portalAdmin = new PortalAdminClient({ baseUrl: portalUrl, adminKey: portalAdminKey });
    await portalAdmin.updateTier('small', { max_domains: -1 });
    expect((await api.call('POST', '/license/refresh')).status).toBe(200);
    for (let i = 1; i <= 45; i++) {
      const r = await api.call('POST', '/domains', { domain: `site-${String(i).padStart(2, '0')}.example` });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }
    await goto(page, '/domains', 'Domains');
    const table = page.getByRole('table', { name: 'Domains' });
    await table.getByRole('cell', { name: 'site-19.example', exact: true }).waitFor();
    // site-45 is on the third page of the unfiltered list: the search finds it from page 1.
    expect(await table.getByRole('cell', { name: 'site-45.example', exact: true }).count()).toBe(0);
    const searches: string[] = [];
    const onRequest = (r: { url(): string }) => {
      const u = new URL(r.url());
      if (u.pathname === '/api/v1/domains' && u.searchParams.has('q'))
        searches.push(u.searchParams.get('q') ?? '');
    };
    page.on('request', onRequest);
    const box = page.getByRole('searchbox', { name: 'Search domains' });
    await box.pressSequentially('site-4', { delay: 40 });
    await table.getByRole('cell', { name: 'site-45.example', exact: true }).waitFor();
    await page.getByTestId('table-summary').getByText('6 domains found').waitFor();
    expect(await table.getByRole('row').count()).toBe(1 + 6);
    // Debounced: six keystrokes, fewer requests (one when typing is quicker than the 300 ms pause), the last
    // with the whole word.
    expect(searches.length).toBeLessThan(6);
    expect(searches[searches.length - 1]).toBe('site-4');
    expect(new URL(page.url()).searchParams.get('q')).toBe('site-4');
    // A search matching more than a page: 45 found, paginated by the API; page 3 holds the last five.
    await box.fill('site-');
    await page.getByTestId('table-summary').getByText('45 domains found').waitFor();
    await page.getByRole('button', { name: 'Page 3' }).click();
    await table.getByRole('cell', { name: 'site-45.example', exact: true }).waitFor();
    expect(await table.getByRole('row').count()).toBe(1 + 5);
    expect(new URL(page.url()).searchParams.get('page')).toBe('3');
    page.off('request', onRequest);
    // The address keeps it: a reload shows the same search and page.
    await page.reload();
    await table.getByRole('cell', { name: 'site-41.example', exact: true }).waitFor();
    expect(await box.inputValue()).toBe('site-');
    await check(page, 'domains-search', '/domains?q=site-&page=3', 'text=site-45.example');
    // LIKE wildcards are literal: "%" and "_" match no domain name.
    for (const q of ['%', 'site_']) {
      await box.fill(q);
      await page.getByText('No domains match.').waitFor();
    }
    // The state filter combines with the search (shop.example was suspended above).
    await box.fill('shop');
    await table.getByRole('cell', { name: 'shop.example', exact: true }).waitFor();
    await page.getByRole('combobox', { name: 'Filter domains by state' }).click();
    await page.getByRole('option', { name: 'Active', exact: true }).click();
    await page.getByText('No domains match.').waitFor();
    expect(new URL(page.url()).searchParams.get('status')).toBe('active');

    // The owner filter (an exact user name, typed; only for admins and resellers) combines the same way.
    await goto(page, '/accounts', 'Accounts');
    await goto(page, '/domains', 'Domains');
    await table.getByRole('cell', { name: 'site-01.example', exact: true }).waitFor();
    const owner = page.getByRole('textbox', { name: 'Filter domains by owner (exact user name)' });
    await owner.fill('nobody-here');
    await page.getByText('No domains match.').waitFor();
    expect(new URL(page.url()).searchParams.get('owner')).toBe('nobody-here');
    await owner.fill('admin');
    // (The summary still says "0 domains found" for the previous owner until the typing pause is over.)
    await table.getByRole('cell', { name: 'site-01.example', exact: true }).waitFor();
    expect(new URL(page.url()).searchParams.get('owner')).toBe('admin');
    await page
      .getByTestId('table-summary')
      .getByText(/^[1-9]\d* domains found$/)
      .waitFor();
    const owners = await table.locator('tbody tr td:nth-child(2)').allTextContents();
    expect(owners.length).toBe(20);
    expect(new Set(owners)).toEqual(new Set(['admin']));
    await check(page, 'domains-owner', '/domains?owner=admin', 'text=site-01.example');

    // Accounts by role.
    await goto(page, '/accounts', 'Accounts');
    const accounts = page.getByRole('table', { name: 'Accounts' });
    await accounts.getByRole('cell', { name: 'admin', exact: true }).first().waitFor();
    await page.getByRole('combobox', { name: 'Filter accounts by role' }).click();
    await page.getByRole('option', { name: 'Admin', exact: true }).click();
    await page
      .getByTestId('table-summary')
      .getByText(/^\d+ accounts? found$/)
      .waitFor();
    expect(new URL(page.url()).searchParams.get('role')).toBe('admin');
    await waitFor(
      async () => {
        const roles = await accounts.locator('tbody tr td:nth-child(3)').allTextContents();
        return roles.length > 0 && roles.every((r) => r === 'admin');
      },
      10_000,
      () => 'the accounts table still shows other roles',
    );
    await check(page, 'accounts-role', '/accounts?role=admin', 'text=admin@localhost.localdomain');

    // The license audit log: filtered by the API, the total says how many match.
    await goto(page, '/license', 'License');
    const audit = page.getByRole('table', { name: 'License audit log, newest first' });
    await audit.getByRole('cell', { name: 'activate', exact: true }).first().waitFor();
    await page.getByRole('combobox', { name: 'Action', exact: true }).click();
    await page.getByRole('option', { name: 'enforce', exact: true }).click();
    const summary = page.getByTestId('table-summary').filter({ hasText: /matching entr/ });
    await summary.waitFor();
    const matching = Number((await summary.textContent())?.match(/^(\d+) matching/)?.[1]);
    expect(matching).toBeGreaterThanOrEqual(1);
    await waitFor(
      async () =>
        (await audit.locator('tbody tr td:nth-child(2)').allTextContents()).every((a) => a === 'enforce'),
      10_000,
      () => 'the audit table still shows other actions',
    );
    // The count shown is this filter's (never the previous answer's total while the new one loads).
    let rows = 0;
    await waitFor(
      async () => {
        rows = await audit.locator('tbody tr').count();
        return rows === Math.min(matching, 20);
      },
      10_000,
      () => `${rows} rows for ${matching} matching entries`,
    );
    expect(new URL(page.url()).searchParams.get('action')).toBe('enforce');
  });

  it('a reseller sees no License or Updates page (absent, not failing); a password change ends the session', async () => {
    const r = await api.call('POST', '/users', {
      username: 'resell1',
      email: 'resell1@example.com',
      password: 'reseller password 1',
      role: 'reseller',
    });
    // The license allows 2 accounts and 3 exist: creation is frozen. Lift the limit for the reseller.
    if (r.status !== 201) {
      const portalAdmin = new PortalAdminClient({ baseUrl: portalUrl, adminKey: portalAdminKey });
      await portalAdmin.updateTier('small', { max_users: -1 });
      expect((await api.call('POST', '/license/refresh')).status).toBe(200);
      const again = await api.call('POST', '/users', {
        username: 'resell1',
        email: 'resell1@example.com',
        password: 'reseller password 1',
        role: 'reseller',
      });
      expect(again.status, JSON.stringify(again.body)).toBe(201);
    }
    const ctx = await newContext({ width: 390 });
    const p = await ctx.newPage();
    await login(p, 'resell1@example.com', 'reseller password 1');
    await p.getByRole('button', { name: 'Toggle navigation' }).click();
    const nav = p.getByRole('navigation');
    await nav.getByRole('link', { name: 'Accounts' }).waitFor();
    expect(await nav.getByRole('link', { name: 'License' }).count()).toBe(0);
    expect(await nav.getByRole('link', { name: 'Updates' }).count()).toBe(0);
    await p.goto(`${base}/license`);
    await p.getByText('This page does not exist, or your account cannot see it.').waitFor();
    axe.push(...(await axeProblems(p, 'reseller dashboard 390')));
    // The admin sets a new password for the reseller: the reseller's session ends at once.
    const changed = await api.call('PATCH', '/users/resell1', { password: 'a brand new password' });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    await p.goto(`${base}/domains`);
    await p.getByRole('button', { name: 'Log in' }).waitFor();
  });

  it('logout ends the session: the old cookie is refused afterwards', async () => {
    const cookie = (await admin.cookies()).find((c) => c.name === '__Host-wispanel_session');
    expect(cookie).toBeDefined();
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByText('You are logged out.').waitFor();
    const res = await request(`${base}/api/v1/auth/me`, {
      headers: { cookie: `__Host-wispanel_session=${cookie?.value}` },
      dispatcher: new (await import('undici')).Agent({ connect: { rejectUnauthorized: false } }),
    });
    expect(res.statusCode).toBe(401);
    await res.body.dump();
  });

  it('the API reference page (Swagger UI, served locally) renders the operations under the CSP', async () => {
    await page.goto(`${base}/api/v1/docs`);
    await page.getByText('/api/v1/license/activate').first().waitFor({ timeout: 30_000 });
    // Swagger UI's own markup has known axe findings (a button inside its summary link, the unnamed servers
    // select, grey version stamps): upstream's, counted and printed here, not ours to fix.
    const docsProblems = await axeProblems(page, 'api docs');
    const swaggerKnown = /^api docs: (nested-interactive|select-name|color-contrast) /;
    console.log(
      `Swagger UI axe findings (upstream): ${docsProblems.filter((x) => swaggerKnown.test(x)).length}`,
    );
    axe.push(...docsProblems.filter((x) => !swaggerKnown.test(x)));
  });

  it('every HTML answer had the CSP header, nothing violated it, and axe found no serious or critical problem', () => {
    expect(htmlWithoutCsp).toEqual([]);
    expect(cspViolations).toEqual([]);
    expect(axe).toEqual([]);
  });
});
