/**
 * The `--like` workload of bench/searchScale.ts: vectors drawn with the spread of a real model's
 * track vectors. The draws must be unit vectors, repeatable for a seed, and keep the sample's
 * effective dimension (a low-dimensional sample must not come out isotropic, or the benchmark
 * would measure the random case under another name).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { effectiveDimension, gaussianLike } from '../bench/searchScale.js';
import { normalize } from '../src/search/vectors.js';
import { Rng } from '../src/util/rng.js';

const DIM = 64;
const rows = (flat: Float32Array): Float32Array[] => Array.from({ length: flat.length / DIM }, (_, i) => flat.subarray(i * DIM, (i + 1) * DIM));

/** n unit vectors spread over `rank` random directions plus a little isotropic noise. */
function lowRank(n: number, rank: number, seed: number): Float32Array[] {
  const rng = new Rng(seed);
  const basis = Array.from({ length: rank }, () => Float32Array.from({ length: DIM }, () => rng.normal()));
  return Array.from({ length: n }, () => {
    const v = Float32Array.from({ length: DIM }, () => 0.02 * rng.normal());
    for (const b of basis) {
      const z = rng.normal();
      for (let j = 0; j < DIM; j++) v[j] = (v[j] as number) + z * (b[j] as number);
    }
    return normalize(v);
  });
}

test('effectiveDimension is 64-ish for isotropic vectors and about the rank for low-rank ones', () => {
  const rng = new Rng(1);
  const iso = Array.from({ length: 4000 }, () => normalize(Float32Array.from({ length: DIM }, () => rng.normal())));
  const d = effectiveDimension(iso);
  assert.ok(d > 55 && d <= 64, `isotropic effective dimension ${d} should be near 64`);
  const r = effectiveDimension(lowRank(2000, 4, 2));
  assert.ok(r > 2 && r < 5, `rank-4 effective dimension ${r} should be near 4`);
});

test('gaussianLike draws unit vectors with the sample\'s effective dimension, the same for a seed', () => {
  const sample = lowRank(380, 6, 3);
  const a = gaussianLike(sample, 3000, new Rng(7));
  const b = gaussianLike(sample, 3000, new Rng(7));
  assert.deepEqual(a, b, 'the same seed gives the same vectors');
  assert.notDeepEqual(gaussianLike(sample, 3000, new Rng(8)), a, 'another seed gives other vectors');
  for (const v of rows(a)) {
    const norm = Math.hypot(...v);
    assert.ok(Math.abs(norm - 1) < 1e-5, `draws are unit vectors (norm ${norm})`);
  }
  const want = effectiveDimension(sample);
  const got = effectiveDimension(rows(a));
  assert.ok(Math.abs(got - want) / want < 0.25, `draws keep the sample's effective dimension (${got} vs ${want})`);
  assert.ok(got < 10, `a rank-6 sample must not come out isotropic (${got})`);
});
