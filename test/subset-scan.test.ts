/**
 * The filtered exact scan of the ANN index (src/search/subsetScan.ts): the same top k as a plain
 * scan of the allowed rows, with the native product and without, excluded rows left out, ties to
 * the lower row, blocks re-gathered when the matrix grows, kept from a list's second use and
 * dropped past the byte budget.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SubsetScanner } from '../src/search/subsetScan.js';
import { loadNative } from '../src/tensor/native.js';
import { normalize } from '../src/search/vectors.js';
import { Rng } from '../src/util/rng.js';

const D = 16;
function matrix(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const m = new Float32Array(n * D);
  for (let i = 0; i < n; i++) m.set(normalize(Float32Array.from({ length: D }, () => rng.normal())), i * D);
  return m;
}
function truth(data: Float32Array, allow: number[], q: Float32Array, k: number, exclude?: Set<number>): number[] {
  const dot = (r: number) => { let s = 0; for (let j = 0; j < D; j++) s += (data[r * D + j] as number) * (q[j] as number); return s; };
  return allow.filter((r) => !exclude?.has(r)).map((r) => ({ r, s: dot(r) })).sort((a, b) => b.s - a.s || a.r - b.r).slice(0, k).map((x) => x.r);
}

for (const [name, native] of [['JS loop', undefined], ['native product', loadNative()]] as const) {
  test(`subset scan (${name}) returns the exact top k of the allowed rows, less the excluded`, { skip: name === 'native product' && !native ? 'native addon not built' : false }, () => {
    const data = matrix(3000, 1);
    const scan = new SubsetScanner(D, 1 << 30, native);
    const allow = Array.from({ length: 3000 }, (_, i) => i).filter((i) => i % 7 === 3).reverse(); // any order
    const rng = new Rng(2);
    for (let t = 0; t < 5; t++) {
      const q = normalize(Float32Array.from({ length: D }, () => rng.normal()));
      const exclude = new Set([allow[5] as number, allow[9] as number, 1]);
      const got = scan.scan(data, allow, q, 10, t % 2 ? exclude : undefined);
      assert.deepEqual(got.map((h) => h.row), truth(data, allow, q, 10, t % 2 ? exclude : undefined), `query ${t}: exact top 10`);
      for (const h of got) assert.ok(allow.includes(h.row), `row ${h.row} is in the filter`);
      for (let i = 1; i < got.length; i++) assert.ok((got[i - 1] as { score: number }).score >= (got[i] as { score: number }).score, 'best first');
    }
    assert.equal(scan.cached.blocks, 1, 'one filter list used five times, one gathered block');
  });
}

test('subset scan breaks ties toward the lower row and re-gathers when the matrix is replaced', () => {
  const data = new Float32Array(10 * D);
  for (let r = 0; r < 10; r++) data[r * D] = 1; // every row scores the same
  const scan = new SubsetScanner(D, 1 << 30, undefined);
  const allow = [9, 4, 7, 2];
  const q = new Float32Array(D); q[0] = 1;
  assert.deepEqual(scan.scan(data, allow, q, 2).map((h) => h.row), [2, 4], 'equal scores: lower rows first');
  const grown = new Float32Array(11 * D);
  grown.set(data);
  grown[9 * D] = 5; // row 9 changed in the new matrix
  assert.deepEqual(scan.scan(grown, allow, q, 1).map((h) => h.row), [9], 'a new matrix is gathered again, not served stale');
});

test('subset scan keeps its blocks within the byte budget, newest kept', () => {
  const data = matrix(1000, 3);
  const lists = [0, 1, 2].map((o) => Array.from({ length: 300 }, (_, i) => i * 3 + o));
  const blockBytes = (300 * D + D + 300) * 4;
  const scan = new SubsetScanner(D, 2 * blockBytes, undefined);
  const q = normalize(Float32Array.from({ length: D }, (_, j) => j + 1));
  for (const l of lists) scan.scan(data, l, q, 3);
  assert.deepEqual(scan.cached, { blocks: 0, bytes: 0 }, 'a list seen once is scanned, not kept');
  for (const l of lists) scan.scan(data, l, q, 3);
  assert.deepEqual(scan.cached, { blocks: 2, bytes: 2 * blockBytes }, 'lists seen twice are kept; the oldest block was dropped');
  for (let t = 0; t < 5; t++) scan.scan(data, [...(lists[0] as number[])], q, 3); // a fresh array each query, as a combined filter's
  assert.deepEqual(scan.cached, { blocks: 2, bytes: 2 * blockBytes }, 'one-off lists never enter the cache');
  const tiny = new SubsetScanner(D, 10, undefined);
  assert.deepEqual(tiny.scan(data, lists[0] as number[], q, 3).map((h) => h.row), truth(data, lists[0] as number[], q, 3), 'a filter larger than the budget still scans');
});
