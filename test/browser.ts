/** Headless Debian Chromium for the page tests (playwright-core), or the reason it is missing. */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHROMIUM = '/usr/bin/chromium';
/** `skip` option for node:test: false, or why the browser tests cannot run here. */
export const chromiumSkip: false | string = existsSync(CHROMIUM) ? false : `${CHROMIUM} not installed (apt-get install chromium)`;

export interface HeadlessBrowser {
  context: import('playwright-core').BrowserContext;
  /** The throw-away profile directory (tests may put files there). */
  profile: string;
  close(): Promise<void>;
}

export async function launchChromium(prefix = 'mb-chromium-'): Promise<HeadlessBrowser> {
  const { chromium } = await import('playwright-core');
  const profile = await mkdtemp(join(tmpdir(), prefix));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1200, height: 900 },
  });
  return {
    context,
    profile,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Collects page errors and console errors (other than the 4xx replies a test provokes on purpose). */
export function pageProblems(page: import('playwright-core').Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  return problems;
}
