/**
 * The web page in a real browser: Debian's Chromium driven by playwright-core. Type a query and
 * see results with players; upload a clip and see its tags, neighbours and an answer; bad input
 * shows a message. Skips (with the reason) when /usr/bin/chromium is not installed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCorpus, type Corpus } from '../src/data/datasets/index.js';
import { Catalogue } from '../src/search/catalogue.js';
import { startServer, type RunningServer } from '../src/serve/server.js';
import { searchFixture } from './search-fixture.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = join(tmpdir(), 'musicbert-e2e.png');
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} not installed (apt-get install chromium)`;

type Browser = import('playwright-core').BrowserContext;
let browser: Browser | undefined;
let profile: string;
let cat: Catalogue;
let srv: RunningServer;
let corpus: Corpus;

before(async () => {
  if (skip) return;
  const fx = await searchFixture();
  corpus = await loadCorpus(fx.data, { quiet: true });
  cat = await Catalogue.open({ db: fx.db });
  srv = await startServer({ catalogue: cat, port: 0 });
  const { chromium } = await import('playwright-core');
  profile = await mkdtemp(join(tmpdir(), 'mb-chromium-'));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1200, height: 900 },
  });
});

after(async () => {
  await browser?.close();
  await srv?.close();
  cat?.close();
  if (profile) await rm(profile, { recursive: true, force: true });
});

test('search, upload, ask and errors in the page (headless Chromium)', { skip, timeout: 120_000 }, async () => {
  const page = await browser!.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  await page.goto(srv.url + '/');
  await page.waitForSelector('#info:has-text("tracks in the catalogue")');

  // Type a query, see results with players.
  await page.fill('#q', 'slow sad piano ballad');
  await page.click('#search-btn');
  await page.waitForSelector('#results .result');
  assert.equal(await page.locator('#results .result').count(), 10);
  const firstId = await page.locator('#results .result').first().getAttribute('data-id');
  assert.ok(corpus.tracks.some((t) => t.id === firstId), `result ${firstId} is a catalogue track`);
  assert.match(await page.textContent('#search-status') ?? '', /10 tracks for “slow sad piano ballad”/);
  const src = await page.locator('#results .result audio').first().getAttribute('src');
  assert.equal(src, `/audio/${encodeURIComponent(firstId!)}`);
  assert.equal(await page.evaluate(async (u) => (await fetch(u)).status, src!), 200, 'the player source streams');

  // "similar" on a result replaces the list with its neighbours.
  await page.locator('#results .result button').first().click();
  await page.waitForSelector(`#search-status:has-text("sound like ${firstId}")`);
  assert.equal(await page.locator(`#results .result[data-id="${firstId}"]`).count(), 0);

  // Upload a clip: tags and neighbours appear; ask a question about it.
  const clip = corpus.tracks[6]!;
  await page.setInputFiles('#file', clip.audioPath);
  await page.waitForSelector('#clip:not([hidden]) #tags .tag-row');
  assert.equal(await page.locator('#tags .tag-row').count(), 10);
  assert.equal(await page.locator('#neighbours .result').first().getAttribute('data-id'), clip.id);
  await page.fill('#question', 'is this danceable?');
  await page.press('#question', 'Enter');
  await page.waitForSelector('#answer b');
  assert.match(await page.textContent('#answer') ?? '', /^Answer: (yes|no) \(\d+%/);

  // Let the page settle (players, fonts) before the screenshot a human looks at.
  await page.screenshot({ path: SCREENSHOT, fullPage: true });

  // Bad input: an empty query and a non-audio upload show a message, then things still work.
  await page.fill('#q', '   ');
  await page.click('#search-btn');
  assert.match(await page.textContent('#error') ?? '', /Type a description first/);
  const txt = join(profile, 'notes.txt');
  await writeFile(txt, 'these are not the sounds you are looking for');
  await page.setInputFiles('#file', txt);
  await page.waitForSelector('#error:not([hidden]):has-text("upload a WAV")');
  await page.fill('#q', 'fast energetic rock');
  await page.click('#search-btn');
  await page.waitForSelector('#search-status:has-text("fast energetic rock")');
  assert.equal(await page.isHidden('#error'), true);
  assert.deepEqual(problems, []);
  await page.close();
});
