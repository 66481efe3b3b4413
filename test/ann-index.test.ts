/** The in-process ANN index (usearch HNSW): recall against the exact scan, filters, persistence, updates. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AnnIndex, EXACT_SUBSET_ROWS, RERANK_FACTOR, RERANK_MIN } from '../src/search/annIndex.js';
import { exactSearch, normalize, recallAtK } from '../src/search/vectors.js';
import { IoError, UsageError } from '../src/util/errors.js';
import { Rng } from '../src/util/rng.js';
import { tempDir } from './shared.js';

const N = 4000, D = 16;
const rng = new Rng(11);
const data = new Float32Array(N * D);
for (let i = 0; i < N; i++) data.set(normalize(Float32Array.from({ length: D }, () => rng.normal())), i * D);
const queries = Array.from({ length: 30 }, () => normalize(Float32Array.from({ length: D }, () => rng.normal())));

/** Exact top k over the rows `allow` minus `exclude`. */
function truth(q: Float32Array, k: number, allow?: number[], exclude?: Set<number>): number[] {
  const rows = (allow ?? [...Array(N).keys()]).filter((r) => !exclude?.has(r));
  const sub = new Float32Array(rows.length * D);
  rows.forEach((r, i) => sub.set(data.subarray(r * D, (r + 1) * D), i * D));
  return exactSearch(sub, D, q, k).map((h) => rows[h.index] as number);
}

test('AnnIndex: recall@10 ≥ 0.95 against the exact scan, scores are exact inner products, best first', () => {
  const index = AnnIndex.build(data, D);
  assert.equal(index.rows, N);
  let recall = 0;
  for (const q of queries) {
    const hits = index.search(q, 10);
    assert.equal(hits.length, 10);
    for (let i = 1; i < hits.length; i++) assert.ok(hits[i]!.score <= hits[i - 1]!.score);
    const h0 = hits[0]!;
    const dot = data.subarray(h0.row * D, (h0.row + 1) * D).reduce((s, v, j) => s + v * q[j]!, 0);
    assert.ok(Math.abs(h0.score - dot) < 1e-6);
    recall += recallAtK(hits.map((h) => h.row), truth(q, 10)) / queries.length;
  }
  assert.ok(recall >= 0.95, `recall@10 ${recall}`);
  assert.throws(() => index.search(new Float32Array(D + 1), 10), UsageError);
  assert.throws(() => index.search(queries[0]!, 0), UsageError);
});

test('AnnIndex: re-ranking the graph\'s first RERANK_FACTOR·k candidates finds the top k that re-ranking every walked candidate does', () => {
  const index = AnnIndex.build(data, D); // i8 graph: its own order is only approximate
  // search(q, 64) re-ranks max(4·64, 32) = 256 candidates: all that ef 256 walks.
  assert.ok(RERANK_FACTOR * 64 >= 256 && RERANK_MIN < 256, 'the reference re-ranks every candidate, the k = 10 query fewer');
  let same = 0, total = 0;
  for (const q of queries) {
    const capped = index.search(q, 10).map((h) => h.row);
    const all = index.search(q, 64).slice(0, 10).map((h) => h.row);
    same += capped.filter((r) => all.includes(r)).length;
    total += 10;
  }
  assert.ok(same / total >= 0.99, `capped re-rank agrees with the full re-rank on ${same}/${total} hits`);
});

test('AnnIndex filters: a genre-sized subset (exact scan), a large subset (graph + oversampling), excluded rows', () => {
  const index = AnnIndex.build(data, D);
  const small = [...Array(N).keys()].filter((r) => r % 17 === 3); // ~6 %: below EXACT_SUBSET_ROWS
  assert.ok(small.length <= EXACT_SUBSET_ROWS);
  const large = [...Array(N).keys()].filter((r) => r % 5 !== 0); // 80 %
  const exclude = new Set([...Array(50).keys()].map((i) => i * 7));
  let recallLarge = 0;
  for (const q of queries) {
    const s = index.search(q, 10, { allow: small });
    assert.deepEqual(s.map((h) => h.row), truth(q, 10, small), 'a small subset is searched exactly');
    const l = index.search(q, 10, { allow: large, exclude });
    assert.equal(l.length, 10);
    assert.ok(l.every((h) => h.row % 5 !== 0 && !exclude.has(h.row)), 'every hit passes the filter');
    recallLarge += recallAtK(l.map((h) => h.row), truth(q, 10, large, exclude)) / queries.length;
    const top = index.search(q, 1)[0]!.row;
    assert.ok(!index.search(q, 10, { exclude: new Set([top]) }).some((h) => h.row === top));
  }
  assert.ok(recallLarge >= 0.95, `filtered recall@10 ${recallLarge}`);
});

test('AnnIndex persists atomically and is extended with rows the store gained after it was saved', async () => {
  const dir = tempDir('mb-ann-');
  const first = N - 500;
  const index = AnnIndex.build(data.subarray(0, first * D), D);
  await index.save(dir);
  assert.ok(AnnIndex.exists(dir));
  const loaded = await AnnIndex.load(dir, data, D); // the store now holds N rows
  assert.equal(loaded.rows, N);
  const q = data.slice((N - 3) * D, (N - 2) * D); // a row added after the save
  assert.equal(loaded.search(q, 1)[0]!.row, N - 3);
  await assert.rejects(AnnIndex.load(dir, data.subarray(0, 100 * D), D), IoError);
  await assert.rejects(AnnIndex.load(dir, new Float32Array(N * 8), 8), IoError);
});
