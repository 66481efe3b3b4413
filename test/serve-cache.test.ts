/**
 * What makes search fast must not change its answers: the text-vector cache (bounded, keyed by
 * model + token ids, concurrent misses sharing one model call) and the server's result cache
 * (dropped when the store changes).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Catalogue, TextCache } from '../src/search/catalogue.js';
import { startServer, type RunningServer } from '../src/serve/server.js';
import { searchFixture } from './search-fixture.js';

/** A fake model: a text's vector is made from its length; counts calls and texts. */
function countingEmbedder() {
  const calls: string[][] = [];
  return {
    calls,
    async embedText(texts: string | readonly string[]): Promise<Float32Array[]> {
      const list = typeof texts === 'string' ? [texts] : [...texts];
      calls.push(list);
      await new Promise((r) => setTimeout(r, 5));
      if (list.includes('boom')) throw new Error('model failed');
      return list.map((t) => Float32Array.from([t.length, 1]));
    },
  };
}

test('TextCache: keyed by the key function, bounded, one model call for concurrent misses, failures not kept', async () => {
  const m = countingEmbedder();
  const c = new TextCache(m, 3, (t) => t.toLowerCase().replace(/\s+/g, ' '));
  const [a] = await c.embedText('Slow  Piano');
  const [b] = await c.embedText('slow piano');
  assert.equal(m.calls.length, 1, 'texts with one key share an entry');
  assert.deepEqual(b, a, 'the cached vector is returned');
  // Concurrent misses of one key: one model call between them.
  const both = await Promise.all([c.embedText('jazz'), c.embedText('JAZZ'), c.embedText(['jazz', 'rock'])]);
  assert.equal(m.calls.length, 3, `two calls for the concurrent requests (jazz, then rock), got ${JSON.stringify(m.calls)}`);
  assert.deepEqual(both[0][0], both[2][0], 'concurrent requests get the same vector');
  for (const t of ['a', 'bb', 'ccc', 'dddd']) await c.embedText(t);
  assert.equal(c.size, 3, `never more than capacity entries (holds ${c.size})`);
  const before = m.calls.length;
  await c.embedText('slow piano');
  assert.equal(m.calls.length, before + 1, 'an evicted text is embedded again');
  await assert.rejects(c.embedText('boom'), /model failed/, 'a failing model call rejects');
  await assert.rejects(c.embedText('boom'), /model failed/, 'and is tried again, not cached');
  assert.throws(() => new TextCache(m, 0), /capacity/, 'a zero capacity is refused');
});

let fxDb: string;
let scratch: string;
let cat: Catalogue;
let srv: RunningServer;

before(async () => {
  const fx = await searchFixture();
  scratch = await mkdtemp(join(tmpdir(), 'mb-serve-cache-'));
  // A copy: this file adds a track, the shared fixture must keep its 30.
  fxDb = join(scratch, 'db');
  await cp(fx.db, fxDb, { recursive: true });
  cat = await Catalogue.open({ db: fxDb });
  srv = await startServer({ catalogue: cat, port: 0, workers: 0 });
});

after(async () => {
  await srv?.close();
  cat?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

test('textKey ignores what the tokenizer drops, and a cached vector is bit-identical to a fresh one', async () => {
  const space = cat.space;
  assert.equal(space.textKey('Slow   SAD piano'), space.textKey('slow sad piano'), 'case and spacing do not change the key');
  assert.notEqual(space.textKey('slow sad piano'), space.textKey('fast happy drums'), 'other words, another key');
  const cache = new TextCache(space, 8, (t) => space.textKey(t));
  const [cached] = await cache.embedText('slow sad piano');
  const [again] = await cache.embedText('Slow   SAD piano');
  const [fresh] = await space.embedText('Slow   SAD piano');
  assert.equal(cache.misses, 1, 'the second text came from the cache');
  assert.deepEqual(Array.from(again!), Array.from(fresh!), 'cached and fresh vectors are equal bit for bit');
  assert.deepEqual(Array.from(cached!), Array.from(fresh!), 'whatever text filled the entry');
});

async function search(q: string, extra = ''): Promise<{ status: number; body: { hits: { id: string; score: number }[]; query: string } }> {
  const res = await fetch(`${srv.url}/api/search?q=${encodeURIComponent(q)}&k=5${extra}`);
  return { status: res.status, body: (await res.json()) as { hits: { id: string; score: number }[]; query: string } };
}

test('server: cached answers equal uncached ones, filters apply, and a store change drops the cached results', async () => {
  const first = await search('slow sad piano');
  assert.equal(first.status, 200, 'search answers');
  const second = await search('slow sad piano');
  assert.deepEqual(second.body, first.body, 'a repeated query (from the caches) gets the same answer');
  const other = await search('SLOW sad   piano');
  assert.deepEqual(other.body.hits, first.body.hits, 'a query with the same words gets the same hits');
  assert.equal(other.body.query, 'SLOW sad   piano', 'and its own text back');
  const exact = await cat.searchText('slow sad piano', 5, { exact: true });
  assert.deepEqual(first.body.hits.map((h) => h.id), exact.map((h) => h.id), 'the server answers what the exact scan does');

  const genre = exact[0]!.genre!;
  const filtered = await search('slow sad piano', `&genre=${encodeURIComponent(genre)}`);
  assert.equal(filtered.status, 200, 'a filtered search answers');
  assert.ok(filtered.body.hits.length > 0 && filtered.body.hits.every((h) => (h as { genre?: string }).genre === genre), `every hit is ${genre}`);

  // A track whose vector is the query's own: once stored, it must come first.
  const [v] = await cat.space.embedText('slow sad piano');
  await cat.store.add([{ id: 'planted', path: join(scratch, 'planted.wav'), vector: v!, tags: [], durationS: 3 }]);
  const after = await search('slow sad piano');
  assert.equal(after.body.hits[0]?.id, 'planted', `the cached result was dropped with the commit (top: ${after.body.hits[0]?.id})`);
});
