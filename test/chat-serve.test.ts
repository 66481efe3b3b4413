/**
 * Conversations over the real test fixture (a tiny trained model and its indexed corpus): the
 * library over a Catalogue, and POST /api/chat — sessions, bad input, limits, expiry.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadCorpus, type Corpus } from '../src/data/datasets/index.js';
import { Catalogue } from '../src/search/catalogue.js';
import { Conversation } from '../src/search/conversation.js';
import { startServer, type RunningServer } from '../src/serve/server.js';
import { chatRoute } from '../src/serve/chat.js';
import { publicMessage, readBody, sendJson, statusOf } from '../src/serve/http.js';
import { searchFixture, FIXTURE_TRACKS } from './search-fixture.js';

let cat: Catalogue;
let srv: RunningServer;
let corpus: Corpus;

before(async () => {
  const fx = await searchFixture();
  corpus = await loadCorpus(fx.data, { quiet: true });
  cat = await Catalogue.open({ db: fx.db });
  srv = await startServer({ catalogue: cat, port: 0 });
});

after(async () => {
  await srv?.close();
  cat?.close();
});

async function chat(body: unknown, base = srv.url, query = ''): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}/api/chat${query}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

test('library: a conversation over the catalogue, refined and undone', async () => {
  const c = await Conversation.open(cat, { k: 8 });
  const a = await c.turn('slow sad piano ballad');
  assert.equal(a.results.length, 8);
  assert.ok(a.results.every((r) => corpus.tracks.some((t) => t.id === r.id)));
  const genres = corpus.tracks.filter((t) => t.genre === a.results[0]!.genre).length;
  assert.ok(genres > 0);
  const not = await c.turn(`not ${a.results[0]!.genre}`);
  assert.ok(not.results.every((r) => r.genre !== a.results[0]!.genre), 'the excluded genre is gone');
  assert.equal(not.explanation.excludedLabels[0]!.tracks, genres);
  const back = await c.turn('back');
  assert.deepEqual(back.results, a.results);
  // A track id starts from that track, which is then in focus and not among its results.
  const id = corpus.tracks[4]!.id;
  const seeded = await c.turn(id);
  assert.equal(seeded.focus!.id, id);
  assert.ok(!seeded.results.some((r) => r.id === id));
});

test('POST /api/chat: a session across turns, with audio links and explanations', async () => {
  const first = await chat({ text: 'slow sad piano ballad', k: 5 });
  assert.equal(first.status, 200, JSON.stringify(first.body));
  const session = first.body.session as string;
  assert.match(session, /^[0-9a-f-]{36}$/);
  const results = first.body.results as Array<Record<string, unknown>>;
  assert.equal(results.length, 5);
  assert.equal(results[0]!.audio, `/audio/${encodeURIComponent(results[0]!.id as string)}`);
  assert.equal(results[0]!.path, undefined);
  const second = await chat({ text: 'more like the second one', session });
  assert.equal(second.status, 200);
  assert.equal(second.body.turn, 2);
  const terms = (second.body.explanation as { terms: Array<{ kind: string; trackId?: string }> }).terms;
  assert.deepEqual(terms.map((t) => t.kind), ['text', 'track']);
  assert.equal(terms[1]!.trackId, results[1]!.id);
  const q = await chat({ text: 'is it danceable?', session });
  assert.equal(q.status, 200);
  assert.ok(['yes', 'no'].includes((q.body.answer as { answer: string }).answer));

  // Bad input: 4xx, and the session carries on where it was.
  for (const bad of ['{not json', '[]', JSON.stringify({ text: '' }), JSON.stringify({ text: 3 }), JSON.stringify({ text: 'x', session: 5 }), JSON.stringify({ text: 'x', k: 0 }), JSON.stringify({ text: 'y'.repeat(501) })]) {
    const r = await chat(bad);
    assert.equal(r.status, 400, bad);
    assert.equal(typeof r.body.error, 'string');
  }
  const wrong = await chat({ text: 'play the 9th one', session });
  assert.equal(wrong.status, 400);
  assert.match(wrong.body.error as string, /no 9th track on screen \(5 shown\)/);
  assert.equal((await chat({ text: 'slower', session: 'nope' })).status, 404);
  const after = await chat({ text: 'back', session });
  assert.equal(after.status, 200);
  assert.equal(after.body.turn, 4, 'the failed turn did not count');
  assert.equal((await fetch(`${srv.url}/api/chat`)).status, 405);

  // A clip upload starts a session from its sound.
  const wav = new Uint8Array(await readFile(corpus.tracks[2]!.audioPath));
  const res = await fetch(`${srv.url}/api/chat?k=3&name=mine.wav`, { method: 'POST', body: wav, headers: { 'content-type': 'audio/wav' } });
  const clip = (await res.json()) as { focus: { id: string }; results: { id: string }[] };
  assert.equal(res.status, 200);
  assert.equal(clip.focus.id, 'clip:mine.wav');
  assert.equal(clip.results[0]!.id, corpus.tracks[2]!.id, 'the clip\'s own catalogue track is its nearest');
  const notAudio = await fetch(`${srv.url}/api/chat`, { method: 'POST', body: 'hello', headers: { 'content-type': 'text/plain' } });
  assert.equal(notAudio.status, 415);
});

test('chat sessions are bounded in number and expire', async () => {
  let clock = 0;
  const route = chatRoute({
    catalogue: cat,
    upload: async (req) => cat.space.embedAudio(new Uint8Array(await readBody(req, 1 << 20))),
    limits: { maxSessions: 2, ttlMs: 1000, maxTurnsPerSession: 3 },
    now: () => clock,
  });
  const server: Server = createServer((req, res) => {
    route(req, res, new URL(req.url ?? '/', 'http://x'), new AbortController().signal).catch((err: unknown) => sendJson(res, statusOf(err), { error: publicMessage(err) }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const a = (await chat({ text: 'piano' }, base)).body.session as string;
    const b = await chat({ text: 'sad piano' }, base);
    assert.equal(b.status, 200);
    const full = await chat({ text: 'slow piano' }, base);
    assert.equal(full.status, 503, 'a full table refuses new sessions');
    assert.match(full.body.error as string, /too many open chat sessions/);
    const live = await chat({ text: 'slower', session: a }, base);
    assert.equal(live.status, 200, JSON.stringify(live.body));
    assert.equal((await chat({ text: 'back', session: a }, base)).status, 200);
    assert.equal((await chat({ text: 'back', session: a }, base)).status, 429, 'turns per session are bounded');
    clock += 1001;
    assert.equal((await chat({ text: 'slower', session: a }, base)).status, 404, 'an idle session expires');
    assert.equal((await chat({ text: 'slow piano' }, base)).status, 200, 'expired sessions free their slots');
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
  assert.equal(FIXTURE_TRACKS, 30);
});
