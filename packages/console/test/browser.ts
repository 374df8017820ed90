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

/** axe-core on the page as it is now; serious or critical violations are returned (the tests expect none). */
export async function axeProblems(page: Page, name: string): Promise<string[]> {
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
