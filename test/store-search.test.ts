/**
 * The store's search path: an in-memory view of the rows (exact JS scan, or the usearch graph the
 * indexer builds and saves beside the table), filters by genre / tag / group and excluded ids,
 * reloads when the table changes (in this process or another), and a saved graph that no longer
 * matches the rows is never used.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VectorStore, type TrackEntry } from '../src/search/store.js';
import { exactSearch, normalize, recallAtK } from '../src/search/vectors.js';
import { Rng } from '../src/util/rng.js';

const DIM = 16;
const GENRES = ['jazz', 'rock', 'pop', 'folk'];

function entries(rng: Rng, n: number, from = 0): TrackEntry[] {
  return Array.from({ length: n }, (_, j) => {
    const i = from + j;
    return {
      id: `t${i}`,
      path: `/c/t${i}.wav`,
      vector: normalize(Float32Array.from({ length: DIM }, () => rng.normal())),
      genre: GENRES[i % GENRES.length],
      tags: i % 3 === 0 ? ['piano', 'slow'] : ['guitar'],
      durationS: 30,
      albumId: `a${i % 25}`,
    };
  });
}

/** The brute-force answer: ids of the k best entries passing `keep`, by inner product. */
function bruteForce(all: TrackEntry[], q: Float32Array, k: number, keep: (e: TrackEntry) => boolean = () => true): string[] {
  const sub = all.filter(keep);
  const m = new Float32Array(sub.length * DIM);
  sub.forEach((e, i) => m.set(e.vector, i * DIM));
  return exactSearch(m, DIM, q, k).map((h) => sub[h.index]!.id);
}

async function fresh(n: number, seed = 5): Promise<{ dir: string; store: VectorStore; all: TrackEntry[]; rng: Rng }> {
  const dir = await mkdtemp(join(tmpdir(), 'mb-store-search-'));
  const rng = new Rng(seed);
  const store = await VectorStore.open(join(dir, 'db'), { create: { dim: DIM } });
  const all = entries(rng, n);
  await store.add(all);
  return { dir, store, all, rng };
}

test('in-memory search equals the brute-force scan, with filters by genre, tag, group and excluded ids', async () => {
  const { dir, store, all, rng } = await fresh(400);
  try {
    for (let i = 0; i < 10; i++) {
      const q = normalize(Float32Array.from({ length: DIM }, () => rng.normal()));
      const hits = await store.search(q, 10);
      assert.deepEqual(hits.map((h) => h.id), bruteForce(all, q, 10), 'unfiltered hits are the exact top 10');
      const byId = new Map(all.map((e) => [e.id, e]));
      for (const h of hits) {
        const e = byId.get(h.id)!;
        const cos = e.vector.reduce((s, v, j) => s + v * q[j]!, 0);
        assert.ok(Math.abs(h.score - cos) < 1e-5, `score of ${h.id} is its cosine (${h.score} vs ${cos})`);
        assert.equal(h.path, e.path, 'hits carry their metadata');
      }
      const jazz = await store.search(q, 5, { genre: 'jazz' });
      assert.deepEqual(jazz.map((h) => h.id), bruteForce(all, q, 5, (e) => e.genre === 'jazz'), 'genre filter');
      const piano = await store.search(q, 5, { tag: 'piano', exclude: new Set([jazz[0]!.id]) });
      assert.deepEqual(piano.map((h) => h.id), bruteForce(all, q, 5, (e) => e.tags.includes('piano') && e.id !== jazz[0]!.id), 'tag filter with an excluded id');
      const both = await store.search(q, 3, { group: 'a3', tag: 'guitar' });
      assert.deepEqual(both.map((h) => h.id), bruteForce(all, q, 3, (e) => e.albumId === 'a3' && e.tags.includes('guitar')), 'group and tag together');
    }
    assert.deepEqual(await store.search(all[0]!.vector, 3, { genre: 'no such genre' }), [], 'an unknown genre matches nothing');
    const self = await store.search(all[7]!.vector, 3, { exclude: new Set(['t7']) });
    assert.ok(!self.some((h) => h.id === 't7'), 'an excluded id never comes back');
  } finally {
    store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('the approximate index: built and saved atomically beside the table, loaded on open, extended when tracks are added', async () => {
  const { dir, store, all, rng } = await fresh(1500);
  const db = join(dir, 'db');
  try {
    assert.equal(await store.usesApproximateIndex(), false, 'no graph before buildIndex: exact scans');
    assert.equal(await store.buildIndex({ minRows: 1 }), true, 'built');
    const files = await readdir(db);
    assert.ok(files.includes('ann.usearch') && files.includes('ann.json'), `graph and metadata saved (${files.join(', ')})`);
    assert.ok(!files.some((f) => f.endsWith('.tmp')), 'no temporary file left behind');
    assert.equal(store.ann?.rows, 1500, 'the store records the graph');
    store.close();

    const again = await VectorStore.open(db);
    assert.equal(await again.usesApproximateIndex(), true, 'a reopened store searches through the saved graph');
    let recall = 0;
    const queries = Array.from({ length: 20 }, () => normalize(Float32Array.from({ length: DIM }, () => rng.normal())));
    for (const q of queries) {
      const approx = (await again.search(q, 10)).map((h) => h.id);
      const exact = (await again.search(q, 10, { exact: true })).map((h) => h.id);
      assert.deepEqual(exact, bruteForce(all, q, 10), 'exact: true is the brute-force scan');
      recall += recallAtK(approx, exact) / queries.length;
      // A genre is a small subset: scanned exactly even with a graph.
      assert.deepEqual((await again.search(q, 5, { genre: 'rock' })).map((h) => h.id), bruteForce(all, q, 5, (e) => e.genre === 'rock'), 'filtered search with a graph');
    }
    assert.ok(recall >= 0.95, `recall@10 through the graph ${recall} ≥ 0.95`);

    // Tracks added after the graph was built are searched at once (inserted into the loaded graph)...
    const more = entries(rng, 10, 1500);
    await again.add(more);
    const hit = await again.search(more[4]!.vector, 1);
    assert.equal(hit[0]?.id, 't1504', 'a track added after the build is found');
    // ...and the next buildIndex extends the saved graph rather than rebuilding it.
    assert.equal(await again.buildIndex({ minRows: 1 }), true, 'extended');
    assert.equal(JSON.parse(await readFile(join(db, 'ann.json'), 'utf8')).rows, 1510, 'the saved graph holds every row');
    again.close();
  } finally {
    store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a saved graph over other rows, or an unreadable one, is not used: exact scans and a message saying why', async () => {
  const { dir, store, all, rng } = await fresh(300);
  const db = join(dir, 'db');
  try {
    await store.buildIndex({ minRows: 1 });
    store.close();
    const metaPath = join(db, 'ann.json');
    const meta = JSON.parse(await readFile(metaPath, 'utf8'));
    await writeFile(metaPath, JSON.stringify({ ...meta, key: 'rows of another table' }));
    const q = normalize(Float32Array.from({ length: DIM }, () => rng.normal()));
    const a = await VectorStore.open(db);
    assert.deepEqual((await a.search(q, 10)).map((h) => h.id), bruteForce(all, q, 10), 'exact results despite the stale graph');
    assert.equal(await a.usesApproximateIndex(), false, 'the stale graph is not used');
    assert.match(a.annProblem ?? '', /other rows/, 'annProblem says why');
    a.close();
    await writeFile(metaPath, JSON.stringify(meta));
    await writeFile(join(db, 'ann.usearch'), 'not a graph');
    const b = await VectorStore.open(db);
    assert.deepEqual((await b.search(q, 10)).map((h) => h.id), bruteForce(all, q, 10), 'exact results despite the broken graph');
    assert.match(b.annProblem ?? '', /ann\.usearch|approximate index/, `annProblem names the file (${b.annProblem})`);
    b.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('searches see commits: at once for this process, after the version check for another writer', async () => {
  const { dir, store, rng } = await fresh(50);
  const db = join(dir, 'db');
  try {
    const g0 = await store.sync();
    const [extra] = entries(rng, 1, 50);
    await store.add([extra!]);
    assert.equal((await store.search(extra!.vector, 1))[0]?.id, 't50', 'own commit seen by the next search');
    assert.notEqual(await store.sync(), g0, 'the generation moved with the commit');

    // Another writer (a second handle stands in for an `index` process).
    const other = await VectorStore.open(db);
    const [late] = entries(rng, 1, 51);
    await other.add([late!]);
    other.close();
    const seen = await VectorStore.open(db, { viewCheckMs: 0 });
    await seen.search(late!.vector, 1); // view loaded
    const [later] = entries(rng, 1, 52);
    const writer = await VectorStore.open(db);
    await writer.add([later!]);
    writer.close();
    assert.equal((await seen.search(later!.vector, 1))[0]?.id, 't52', "another handle's commit is seen once the version is checked");
    seen.close();
  } finally {
    store.close();
    await rm(dir, { recursive: true, force: true });
  }
});
