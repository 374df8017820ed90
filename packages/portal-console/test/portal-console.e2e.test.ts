import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createTestPostgresDatabase, tempDir, testPostgresUrl } from '@wispanel/kit/testing';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { axeProblems, CHROMIUM, haveChromium, launchChromium } from '../../console/test/browser';
import {
  buildRelease,
  CRASHING_LAUNCHER,
  type InstalledPanel,
  type Proc,
  portalCli,
  publishRelease,
  root,
  startInstalledPanel,
  startPortal,
  waitForStatus,
  withLauncher,
} from '../../panel/test/update-helpers';

/**
 * The portal web console in a real browser (Debian's chromium driven by playwright-core) against a real
 * `wispanel-portal start` process.
 *
 * 1. The license and release lifecycle, on SQLite and on PostgreSQL (a throwaway database on the test
 *    server): sign in with the admin key, issue a license (key shown once), see it activated, suspend it and
 *    see the next verify refused, publish a release from the page (artifact upload with progress), watch its
 *    rollout halt after two servers report a failure (chart over time, failures by step and error code),
 *    events, tiers validation, admin keys, sign-out; axe-core on every page; a changelog with a script does
 *    not run. Here the "servers" speak the panel's protocol over real HTTP (activate / verify / report).
 * 2. Real panels (SQLite portal): two panels installed from a real release tarball and run by their
 *    supervisor activate a license — their hardware id, hostname and version show on the license page;
 *    suspending it in the console changes the panel's license state at its refresh (read through the panel's
 *    API); both panels then try an update to a release that cannot start, roll back and report it, and the
 *    rollout page shows the halt, the failures by step and error code and the timeline.
 * WISPANEL_SCREENSHOTS=1 writes docs/screenshots/portal-*.png (npm run screenshots:portal).
 */
const shots = process.env.WISPANEL_SCREENSHOTS === '1' ? join(root, 'docs/screenshots') : null;
const dialects = testPostgresUrl ? (['sqlite', 'postgres'] as const) : (['sqlite'] as const);

let browser: Browser;
/** The real-panel setup (release builds, portal, two installed panels) runs while the lifecycle runs. */
let realPanels: Promise<RealPanels> | null = null;

beforeAll(async () => {
  if (!haveChromium)
    throw new Error(`chromium is not installed at ${CHROMIUM} (apt-get install -y chromium)`);
  realPanels = setUpRealPanels();
  realPanels.catch(() => {}); // reported where awaited
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  const set = await realPanels?.catch(() => null);
  await Promise.all((set?.panels ?? []).map((p) => p.supervisor.stop()));
  await set?.portal.stop();
}, 60_000);

/** A portal process on SQLite (its data dir) or on a fresh PostgreSQL database; its first admin key. */
async function startTestPortal(dialect: 'sqlite' | 'postgres', prefix: string) {
  const dir = tempDir(prefix);
  const pg = dialect === 'postgres' ? await createTestPostgresDatabase() : null;
  const db = pg ? ['--database-url', pg.url] : [];
  const init = await portalCli(['init', '--data-dir', dir.path, ...db]);
  const portal = await startPortal(dir.path, ['--rate-limit', '100000', ...db]);
  return {
    url: portal.url,
    adminKey: init.admin_key as string,
    publicKeysFile: init.public_keys_file as string,
    dir: dir.path,
    proc: portal.proc as Proc,
    async stop() {
      await portal.proc.stop();
      await pg?.drop();
      dir.remove();
    },
  };
}
type TestPortalProcess = Awaited<ReturnType<typeof startTestPortal>>;

/** The portal's admin API with the key (X-Admin-Key) or its public API. */
function portalApi(portal: { url: string; adminKey: string }) {
  return async (method: string, path: string, body?: unknown, admin = true) => {
    const res = await fetch(`${portal.url}${path}`, {
      method,
      headers: {
        'content-type': 'application/json',
        ...(admin ? { 'x-admin-key': portal.adminKey } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    // biome-ignore lint/suspicious/noExplicitAny: JSON checked by the assertions
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
}

/** No serious or critical accessibility violation on the page as it is now. */
async function expectAccessible(page: Page, name: string) {
  expect(await axeProblems(page, name)).toEqual([]);
}

async function shoot(page: Page, name: string) {
  if (!shots) return;
  mkdirSync(shots, { recursive: true });
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: width === 390 ? 844 : 800 });
      await page.waitForTimeout(300);
      await page.screenshot({ path: join(shots, `portal-${name}-${width}-${scheme}.png`), fullPage: true });
    }
  }
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize({ width: 1280, height: 800 });
}

const nav = async (page: Page, label: string) => {
  await page.getByRole('link', { name: label, exact: true }).first().click();
};

async function signIn(page: Page, url: string, adminKey: string) {
  await page.goto(url);
  await page.getByLabel('Admin key').fill(adminKey);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Licenses' }).waitFor();
}

/** Licenses → search by the key's last 4 → the license page. */
async function openLicense(page: Page, licenseKey: string) {
  await nav(page, 'Licenses');
  await page.getByLabel('Search licenses').fill(licenseKey.slice(-4));
  await page
    .getByRole('button', { name: new RegExp(`WISP-\\*\\*\\*\\*${licenseKey.slice(-4)}`) })
    .first()
    .click();
}

describe.each(dialects)('portal web console in a browser on %s', (dialect) => {
  let portal: TestPortalProcess;
  let api: ReturnType<typeof portalApi>;
  let adminKey = '';
  // Screenshots come from the SQLite run (the pages are the same).
  // Screenshots and axe come from the SQLite run (the pages are the same); the PostgreSQL run walks the core
  // flow (everything but the tier form, whose validation is the schema's, not the database's).
  const full = dialect === 'sqlite';
  const shootHere = (page: Page, name: string) => (full ? shoot(page, name) : undefined);
  const checkA11y = (page: Page, name: string) => (full ? expectAccessible(page, name) : undefined);

  beforeAll(async () => {
    portal = await startTestPortal(dialect, `wispanel-portal-console-e2e-${dialect}-`);
    adminKey = portal.adminKey;
    api = portalApi(portal);
  }, 120_000);

  afterAll(async () => {
    await portal?.stop();
  });

  it('runs the license and release lifecycle from the browser', { timeout: 240_000 }, async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));

    // Sign-in: a wrong key is refused with the API's message; the right one opens the console.
    await page.goto(portal.url);
    await expect.poll(() => page.getByLabel('Admin key').count()).toBe(1);
    await checkA11y(page, 'sign-in');
    await shootHere(page, 'sign-in');
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
    await shootHere(page, 'license-issued');
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
    await checkA11y(page, 'license detail');

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
    if (full) {
      await nav(page, 'Tiers');
      await page.getByRole('button', { name: 'Edit tier pro' }).click();
      await page.getByLabel('Lease days (1–365)').fill('5000');
      await page.getByRole('button', { name: 'Save' }).click();
      await page
        .getByText(/lease days field must not be greater than 365/i)
        .first()
        .waitFor();
      await checkA11y(page, 'tiers');
      await page.getByRole('button', { name: 'Cancel' }).click();
      await shootHere(page, 'tiers');
    }

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
    const artifact = join(portal.dir, 'wispanel-1.5.0.tar.gz');
    writeFileSync(artifact, randomBytes(256 * 1024));
    const chooser = page.waitForEvent('filechooser');
    await page.getByRole('button', { name: 'Upload artifact' }).click();
    await (await chooser).setFiles(artifact);
    await page.getByText(/Artifact wispanel-1\.5\.0\.tar\.gz, 0\.3 MB/).waitFor();
    await page.getByRole('button', { name: 'Publish' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Publish' }).click();
    await page.getByText('published', { exact: true }).waitFor();
    expect(await page.evaluate<unknown>('window.__pwned')).toBeUndefined();
    await checkA11y(page, 'releases');
    await shootHere(page, 'releases');

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
    // Who halted it and what became of the vendor webhook (this portal has no webhook URL: queued only).
    await page.getByText(/^By the halt policy \(automatic\) · webhook queued, not sent yet/).waitFor();
    await page.getByText('health_check', { exact: true }).waitFor();
    await page.getByRole('cell', { name: 'HEALTH_CHECK_FAILED', exact: true }).waitFor();
    // The chart over time: the two rollbacks land in the current hour (the totals under the chart).
    await expect
      .poll(() => page.getByTestId('rollout-timeline-totals').textContent(), { timeout: 15_000 })
      .toMatch(/rolled back 2$/);
    for (const series of ['Offered', 'Started', 'Succeeded', 'Failed', 'Rolled back'])
      await page.getByTestId('rollout-timeline').getByText(series, { exact: true }).waitFor();
    await checkA11y(page, 'rollout');

    // Fleet, events and admin keys.
    await nav(page, 'Fleet');
    await page.getByRole('heading', { name: 'Fleet' }).waitFor();
    await checkA11y(page, 'fleet');
    await shootHere(page, 'fleet');
    await nav(page, 'Events');
    await page.getByLabel('Action').fill('release.halted');
    await page.getByText('release.halted', { exact: true }).first().waitFor();
    await checkA11y(page, 'events');
    await shootHere(page, 'events');

    // Admin keys: create (shown once) and revoke.
    await nav(page, 'Admin keys');
    await page.getByLabel('New key name').fill('release manager');
    await page.getByRole('button', { name: 'Create key' }).click();
    const newKey = await page.getByRole('textbox', { name: 'Admin key' }).inputValue();
    expect(newKey).toMatch(/^wpa_[0-9a-f]{64}$/);
    await checkA11y(page, 'admin keys');
    await shootHere(page, 'admin-keys');
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
    const signedIn = await fetch(`${portal.url}/api/v1/admin/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ admin_key: adminKey }),
    });
    const token = /__Host-wispanel_portal_session=([^;]+)/.exec(
      signedIn.headers.get('set-cookie') ?? '',
    )?.[1];
    const res = await fetch(`${portal.url}/api/v1/admin/licenses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: `__Host-wispanel_portal_session=${token}` },
      body: JSON.stringify({ tier: 'free' }),
    });
    expect(res.status).toBe(403);
  });
});

const X = '7.0.0';
const X1 = '7.0.1';

interface RealPanels {
  portal: TestPortalProcess;
  panels: InstalledPanel[];
  badRelease: string;
  licenseKey: string;
}

/**
 * A SQLite portal, releases X and X+1 (the same build with a launcher that dies at start: the supervisor rolls
 * back), a license for two servers, and two panels installed from X's tarball and run by their supervisor.
 */
async function setUpRealPanels(): Promise<RealPanels> {
  const portal = await startTestPortal('sqlite', 'wispanel-portal-console-panels-');
  const panels: InstalledPanel[] = [];
  try {
    const api = portalApi(portal);
    const out = join(portal.dir, 'releases');
    const [relX, relX1] = await Promise.all([buildRelease(X, out), buildRelease(X1, out)]);
    const badRelease = await withLauncher(relX1, join(portal.dir, 'bad'), CRASHING_LAUNCHER);
    const issued = await api('POST', '/api/v1/admin/licenses', {
      tier: 'pro',
      max_activations: 2,
      customer_name: 'Two Servers Ltd',
    });
    if (issued.status !== 201) throw new Error(`license: ${JSON.stringify(issued.body)}`);
    // Two servers on one test machine: each its own hardware id, as two machines would have.
    const started = await Promise.allSettled(
      ['a', 'b'].map((name) =>
        startInstalledPanel({
          releaseFile: relX.file,
          dir: join(portal.dir, `panel-${name}`),
          portalUrl: portal.url,
          publicKeysFile: portal.publicKeysFile,
          hardwareId: randomBytes(32).toString('hex'),
        }),
      ),
    );
    for (const r of started) if (r.status === 'fulfilled') panels.push(r.value);
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    return { portal, panels, badRelease, licenseKey: issued.body.license_key };
  } catch (err) {
    await Promise.all(panels.map((p) => p.supervisor.stop()));
    await portal.stop();
    throw err;
  }
}

describe('portal web console with real panels', () => {
  let portal: TestPortalProcess;
  let api: ReturnType<typeof portalApi>;
  let panels: InstalledPanel[] = [];
  let badRelease = '';
  let licenseKey = '';
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    ({ portal, panels, badRelease, licenseKey } = await (realPanels as Promise<RealPanels>));
    api = portalApi(portal);
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await signIn(page, portal.url, portal.adminKey);
  }, 240_000);

  afterAll(async () => {
    await context?.close();
  });

  it('panels activate the license: the license page shows their hardware id, hostname and version; a suspension made in the console reaches a panel at its refresh', {
    timeout: 150_000,
  }, async () => {
    const [a, b] = panels as [InstalledPanel, InstalledPanel];
    for (const p of panels) {
      const res = await p.api.call('POST', '/license/activate', { key: licenseKey });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.license).toMatchObject({ is_valid: true, tier: 'pro' });
    }
    await openLicense(page, licenseKey);
    await page.getByText('2 of 2').waitFor();
    const activations = page.getByRole('table', { name: /activations/i });
    for (const p of panels) {
      const row = activations.getByRole('row').filter({ hasText: `${p.hardwareId.slice(0, 16)}…` });
      await row.waitFor();
      expect(await row.getByRole('cell', { name: hostname(), exact: true }).count()).toBe(1);
      expect(await row.getByRole('cell', { name: X, exact: true }).count()).toBe(1);
    }
    await expectAccessible(page, 'license detail (real panels)');
    await shoot(page, 'license-detail');

    // Suspend in the console; panel a refreshes its lease and is refused with the portal's signed answer.
    await page.getByRole('button', { name: 'Suspend' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Suspend' }).click();
    await page.getByText('suspended', { exact: true }).first().waitFor();
    const before = await a.api.call('GET', '/license/summary');
    expect(before.body).toMatchObject({ is_valid: true });
    const refused = await a.api.call('POST', '/license/refresh');
    expect([refused.status, refused.body.code]).toEqual([403, 'LICENSE_SUSPENDED']);
    const suspended = await a.api.call('GET', '/license/summary');
    expect(suspended.body).toMatchObject({ status: 'invalid', is_valid: false, reason: 'LICENSE_SUSPENDED' });
    // Panel b has not refreshed: its lease still holds (what the confirmation dialog said).
    expect((await b.api.call('GET', '/license/summary')).body).toMatchObject({ is_valid: true });

    // Reinstate in the console; panel a's next refresh restores it.
    await page.getByRole('button', { name: 'Reinstate' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Reinstate' }).click();
    await page.getByText('active', { exact: true }).first().waitFor();
    const restored = await a.api.call('POST', '/license/refresh');
    expect(restored.status, JSON.stringify(restored.body)).toBe(200);
    expect((await a.api.call('GET', '/license')).body.license).toMatchObject({ is_valid: true, tier: 'pro' });
    // The license's events name both changes.
    await page.getByText('license.suspended').first().waitFor();
    await page.getByText('license.reinstated').first().waitFor();
  });

  it('both panels fail the update to a release that cannot start: the rollout page shows the halt, the failures by step and error code, and the timeline', {
    timeout: 150_000,
  }, async () => {
    await publishRelease(portal.url, portal.adminKey, badRelease, X1, {
      changelog: `## WisPanel ${X1}\n\n- does not start (test release)\n`,
    });
    // A staged plan: stage 1 offers it to canaries only (this license), everyone a day later.
    const plan = await api('PUT', `/api/v1/admin/versions/${X1}/rollout`, {
      stages: [
        { percent: 0, after_hours: 0 },
        { percent: 100, after_hours: 24 },
      ],
      halt_policy: { min_failures: 2, failure_rate: 0.5 },
    });
    expect(plan.status, JSON.stringify(plan.body)).toBe(200);
    const license = await api('GET', `/api/v1/admin/licenses?q=${licenseKey.slice(-4)}`);
    const canary = await api('PUT', `/api/v1/admin/licenses/${license.body.licenses[0].id}/canary`, {
      canary: true,
    });
    expect(canary.status, JSON.stringify(canary.body)).toBe(200);
    const ends = await Promise.all(
      panels.map(async (p) => {
        const started = await p.api.call('POST', '/version/update');
        expect(started.status, JSON.stringify(started.body)).toBe(202);
        return waitForStatus(
          p.api,
          (st) =>
            st.job_id === started.body.job_id && ['completed', 'failed', 'rolled_back'].includes(st.state),
          90_000,
          () => p.supervisor.output(),
        );
      }),
    );
    for (const end of ends) {
      expect(end).toMatchObject({ state: 'rolled_back', from_version: X, to_version: X1 });
      expect(end.error.code).toBe('UPDATE_START_FAILED');
    }
    for (const p of panels) expect((await p.api.call('GET', '/version/info')).body.version).toBe(X);

    // The panels send their reports in the background (at once, then every 15 s): the page follows.
    await nav(page, 'Rollouts');
    await page.getByRole('button', { name: X1, exact: true }).click();
    await page.getByRole('heading', { name: `Release ${X1}` }).waitFor();
    await page.getByText(/^Halted /).waitFor({ timeout: 60_000 });
    await page.getByText(/^Stage 1 of 2: 0 % of the fleet/).waitFor();
    const failures = page.getByRole('table', { name: 'Failures by step and error code' });
    const row = failures.getByRole('row').filter({ hasText: 'UPDATE_START_FAILED' });
    await row.waitFor();
    const health = await api('GET', `/api/v1/admin/versions/${X1}/health`);
    expect(health.body.health.failures).toEqual([
      { step: expect.any(String), error_code: 'UPDATE_START_FAILED', servers: 2 },
    ]);
    const step = health.body.health.failures[0].step as string;
    expect(await row.textContent()).toBe(`${step}UPDATE_START_FAILED2`);
    // The chart over time: both servers offered, started and rolled back within this hour.
    await expect
      .poll(() => page.getByTestId('rollout-timeline-totals').textContent(), { timeout: 15_000 })
      .toMatch(/offered 2, started 2, succeeded 0, failed 0, rolled back 2$/);
    await page.getByLabel('Cumulative').check();
    await page.getByText('Over time (servers so far)').waitFor();
    await page.getByLabel('Cumulative').uncheck();
    await expectAccessible(page, 'rollout (real panels)');
    await shoot(page, 'rollout-halted');
    expect(pageErrors).toEqual([]);
  });
});
