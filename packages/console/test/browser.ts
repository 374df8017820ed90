/**
 * Chromium for the console's browser suite: Debian's /usr/bin/chromium driven by playwright-core (the
 * Playwright browser download cannot be reached here), axe-core checks, and screenshots.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { type Browser, chromium, type Page } from 'playwright-core';

export const CHROMIUM = process.env.WISPANEL_CHROMIUM ?? '/usr/bin/chromium';
export const haveChromium = existsSync(CHROMIUM);

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
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
}

/**
 * Waits (at most 3 s) until every animation and transition on the page that has an end has ended. Mantine fades
 * dialogs and their buttons in: axe reads colours as they are drawn, so a page caught mid-fade shows a contrast
 * no user sees once it settles (seen as a flaky color-contrast finding on a just-opened dialog under CI load).
 * Endless animations (loaders) are not waited for.
 */
export async function settled(page: Page): Promise<void> {
  // A string: the test project has no DOM types. Two frames first, so that transitions a style change has just
  // asked for have started.
  await page.evaluate(`(async () => {
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    const finite = document.getAnimations().filter((a) =>
      Number.isFinite(Number(a.effect?.getComputedTiming().endTime ?? Infinity)));
    await Promise.race([
      Promise.all(finite.map((a) => a.finished.catch(() => undefined))),
      new Promise((r) => setTimeout(r, 3000)),
    ]);
  })()`);
}

/** axe-core on the page once it has settled; serious or critical violations are returned (the tests expect none). */
export async function axeProblems(page: Page, name: string): Promise<string[]> {
  await settled(page);
  const result = await new AxeBuilder({ page }).analyze();
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map(
      (v) =>
        `${name}: ${v.id} (${v.impact}) ${v.help} — ${v.nodes
          .slice(0, 3)
          .map((n) => n.target.join(' '))
          .join(', ')}`,
    );
}

/** Where screenshots go: docs/console/ when regenerating the docs (scripts/console-screenshots.mjs), else .tmp. */
export function screenshotDir(root: string): string {
  const dir = process.env.WISPANEL_SCREENSHOT_DIR ?? join(root, '.tmp/console-screenshots');
  mkdirSync(dir, { recursive: true });
  return dir;
}
