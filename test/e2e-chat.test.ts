/**
 * The chat panel in a real browser (Debian's Chromium via playwright-core): a five-turn
 * conversation — search, refine, exclude a genre, ask about the focus, undo — and what the page
 * shows after each turn. Skips (with the reason) when /usr/bin/chromium is not installed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Catalogue } from '../src/search/catalogue.js';
import { startServer, type RunningServer } from '../src/serve/server.js';
import { searchFixture } from './search-fixture.js';
import { chromiumSkip as skip, launchChromium, pageProblems, type HeadlessBrowser } from './browser.js';

let browser: HeadlessBrowser | undefined;
let cat: Catalogue;
let srv: RunningServer;

before(async () => {
  if (skip) return;
  const fx = await searchFixture();
  cat = await Catalogue.open({ db: fx.db });
  srv = await startServer({ catalogue: cat, port: 0 });
  browser = await launchChromium('mb-chromium-chat-');
});

after(async () => {
  await browser?.close();
  await srv?.close();
  cat?.close();
});

test('a five-turn conversation in the chat panel (headless Chromium)', { skip, timeout: 120_000 }, async () => {
  const page = await browser!.context.newPage();
  const problems = pageProblems(page);
  await page.goto(srv.url + '/');
  const say = async (text: string, n: number) => {
    await page.fill('#chat-input', text);
    await page.press('#chat-input', 'Enter');
    await page.waitForSelector(`#chat-log li:nth-child(${n}) .bot`);
    return (await page.textContent(`#chat-log li:nth-child(${n}) .bot`)) ?? '';
  };
  const ids = () => page.locator('#chat-results .result').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')));
  const genres = () => page.locator('#chat-results .result .chip.genre').allTextContents();

  // 1. Words: ten results with players, the query term shown with its weight.
  assert.match(await say('slow sad piano ballad', 1), /^10 tracks: search “slow sad piano ballad”/);
  const first = await ids();
  assert.equal(first.length, 10);
  assert.equal(await page.locator('#chat-results .result audio').first().getAttribute('src'), `/audio/${encodeURIComponent(first[0]!)}`);
  assert.match(await page.textContent('#chat-why') ?? '', /\+1 × “slow sad piano ballad”/);
  assert.equal(await page.locator('#chat-results .result.focus').getAttribute('data-id'), first[0], 'the top result is in focus');

  // 2. Refine relative to the list: "more like the second one" adds that track as a term.
  await say('more like the second one', 2);
  assert.match(await page.textContent('#chat-why') ?? '', new RegExp(`\\+1 × track ${first[1]!.replace('.', '\\.')}`));
  assert.ok(!(await ids()).includes(first[1]), 'the track moved toward is not listed again');

  // 3. Exclude the top genre on screen: it is gone from the list and the filter is shown.
  const g = (await genres())[0]!;
  assert.match(await say(`not ${g}`, 3), new RegExp(`leave out tracks labelled ${g}`));
  assert.ok(!(await genres()).includes(g), `no ${g} remains`);
  assert.match(await page.textContent('#chat-why') ?? '', new RegExp(`not ${g} \\(\\d+\\)`));
  const afterNot = await ids();

  // 4. A question about the track in focus.
  assert.match(await say('is it danceable?', 4), /^Answer: (yes|no) \(\d+%/);
  assert.deepEqual(await ids(), afterNot, 'a question leaves the list alone');

  // 5. Back: undo the question, the list stays; the "back" button undoes the exclusion.
  assert.match(await say('back', 5), /Went back one turn/);
  await page.click('#chat-back');
  await page.waitForSelector('#chat-log li:nth-child(6) .bot');
  assert.doesNotMatch(await page.textContent('#chat-why') ?? '', new RegExp(`not ${g}`));

  // A bad turn shows a message and the conversation carries on.
  assert.match(await say('play the 42nd one', 7), /Sorry: there is no 42nd track on screen/);
  assert.match(await page.textContent('#error') ?? '', /no 42nd track/);
  assert.equal(await page.locator('#chat-log .you').count(), 7);
  assert.deepEqual(problems, []);
  await page.close();
});
