import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { tempDir } from '@wispanel/kit/testing';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { axeProblems, CHROMIUM, haveChromium, launchChromium } from '../../console/test/browser';
import { type Proc, portalCli, root, startPortal } from '../../panel/test/update-helpers';

/**
 * The console's Webhooks page in a real browser (Debian's chromium via playwright-core) against a real
 * `wispanel-portal start` process with the vendor webhook pointed at a real receiver: the receiver refuses the
 * `release.halted` delivery (410), the page lists it as given up with why; the receiver is fixed, an admin presses
 * Redeliver on a phone-width screen, and the receiver gets it again with the same delivery id. SQLite only (the
 * outbox rules run on both databases in packages/portal). WISPANEL_SCREENSHOTS=1 writes
 * docs/screenshots/portal-webhooks-*.png.
 */
const shots = process.env.WISPANEL_SCREENSHOTS === '1' ? join(root, 'docs/screenshots') : null;

let browser: Browser;
const cleanups: Array<() => unknown> = [];
beforeAll(async () => {
  if (!haveChromium)
    throw new Error(`chromium is not installed at ${CHROMIUM} (apt-get install -y chromium)`);
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  for (const c of cleanups.reverse()) await c();
}, 60_000);

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

describe('portal web console: given-up webhook deliveries', () => {
  it('lists a refused delivery with why; Redeliver sends it again with the same delivery id', {
    timeout: 120_000,
  }, async () => {
    const got: IncomingHttpHeaders[] = [];
    const answer = { status: 410 };
    const receiver = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        got.push(req.headers);
        res.writeHead(answer.status).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => receiver.close(r)));
    const dir = tempDir('wispanel-portal-console-webhooks-');
    cleanups.push(() => dir.remove());
    const init = await portalCli(['init', '--data-dir', dir.path]);
    const adminKey = init.admin_key as string;
    const artifact = join(dir.path, 'wispanel-3.0.0.tar.gz');
    writeFileSync(artifact, randomBytes(1024));
    await portalCli(['release', 'publish', artifact, '--version', '3.0.0', '--data-dir', dir.path]);
    const portal = await startPortal(dir.path, [
      '--rate-limit',
      '100000',
      '--release-webhook-url',
      `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/wispanel`,
      '--release-webhook-secret',
      'console-e2e-secret',
    ]);
    cleanups.push(() => (portal.proc as Proc).stop());
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${portal.url}${path}`, {
        method,
        headers: { 'content-type': 'application/json', 'x-admin-key': adminKey },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      // biome-ignore lint/suspicious/noExplicitAny: JSON checked by the assertions
      return (await res.json()) as Record<string, any>;
    };
    expect(
      (await api('POST', '/api/v1/admin/versions/3.0.0/rollout/halt', { reason: 'bad build' })).success,
    ).toBe(true);
    await expect
      .poll(
        async () => (await api('GET', '/api/v1/admin/webhooks/deliveries?state=failed')).deliveries?.length,
        {
          timeout: 20_000,
        },
      )
      .toBe(1);
    const id = (await api('GET', '/api/v1/admin/webhooks/deliveries')).deliveries[0].id as string;

    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(portal.url);
    await page.getByLabel('Admin key').fill(adminKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Licenses' }).waitFor();
    await page.getByRole('link', { name: 'Webhooks', exact: true }).first().click();
    await page.getByRole('heading', { name: 'Webhooks' }).waitFor();
    // The page says in plain words what "given up" means and what to do about it.
    await page
      .getByText(
        'A delivery the receiver refused, or that could not be sent within 3 days, is given up: fix the receiver, then redeliver it with the same delivery id.',
        { exact: false },
      )
      .waitFor({ timeout: 5_000 });
    // Given-up deliveries are shown by default, with why and the delivery id.
    await page.getByText('given up', { exact: true }).waitFor();
    await page.getByText('HTTP 410', { exact: true }).waitFor();
    await page.getByText(id, { exact: true }).waitFor();
    expect(await axeProblems(page, 'webhooks')).toEqual([]);
    await shoot(page, 'webhooks');

    // The receiver is fixed; on a phone-width screen (rows become cards) the admin redelivers it.
    answer.status = 204;
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole('button', { name: 'Redeliver' }).click();
    await page
      .getByRole('dialog')
      .getByText(/same delivery id/)
      .waitFor();
    expect(await axeProblems(page, 'redeliver dialog')).toEqual([]);
    await page.getByRole('dialog').getByRole('button', { name: 'Redeliver' }).click();
    await page.getByText('No given-up deliveries.').waitFor();
    await expect
      .poll(async () => (await api('GET', `/api/v1/admin/webhooks/deliveries/${id}`)).delivery.state, {
        timeout: 20_000,
      })
      .toBe('delivered');
    expect(got.map((h) => h['x-wispanel-delivery'])).toEqual([id, id]);
    // Any state: the same delivery, now delivered, without a Redeliver button.
    await page.getByRole('combobox', { name: 'Filter by state' }).click();
    await page.getByRole('option', { name: 'Delivered', exact: true }).click();
    await page.getByText('delivered', { exact: true }).waitFor();
    await page.getByText('HTTP 204', { exact: true }).waitFor();
    expect(await page.getByRole('button', { name: 'Redeliver' }).count()).toBe(0);
    const events = await api('GET', '/api/v1/admin/events?action=webhook.redelivered');
    expect(events.events.map((e: { actor: string; data: { delivery: string } }) => e.data.delivery)).toEqual([
      id,
    ]);
    expect(pageErrors).toEqual([]);
    await context.close();
  });
});
