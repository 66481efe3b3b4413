import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../src/util/rng.js';
import { DatasetError } from '../src/util/errors.js';
import { assignFolds } from '../src/eval/folds.js';
import { accuracy, r2, meanStd } from '../src/eval/metrics.js';
import { applyStandardizer, fitStandardizer } from '../src/eval/standardize.js';
import { fitPredict, outerSplits, probe, runProbes, QUICK_GRID, type LabelledTrack } from '../src/eval/probes.js';
import { trainSvc } from '../src/eval/libsvm.js';

/** Gaussian clusters: class c centred at 3·e_c (plus noise) in d dims. */
function clusters(n: number, d: number, classes: number, seed: number, spread = 0.5): { x: Float32Array; y: Float64Array } {
  const rng = new Rng(seed);
  const x = new Float32Array(n * d);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    y[i] = c;
    for (let j = 0; j < d; j++) x[i * d + j] = rng.normal(j === c ? 3 : 0, spread);
  }
  return { x, y };
}

const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);

test('metrics match their definitions', () => {
  assert.equal(accuracy([1, 2, 3, 4], [1, 2, 0, 4]), 0.75);
  assert.equal(r2([1, 2, 3], [1, 2, 3]), 1);
  // predicting the mean gives 0; r² can go negative
  assert.equal(r2([1, 2, 3], [2, 2, 2]), 0);
  assert.ok(r2([1, 2, 3], [3, 2, 1]) < 0);
  assert.deepEqual(meanStd([1, 3]), { mean: 2, std: Math.SQRT2, n: 2 });
  assert.throws(() => accuracy([1], [1, 2]), RangeError);
});

test('standardiser uses only the rows it is fitted on', () => {
  const x = new Float32Array([0, 10, 2, 10, 4, 10, 1000, -5]); // [4, 2]; last row is a held-out outlier
  const s = fitStandardizer(x, 2, [0, 1, 2]);
  assert.deepEqual(Array.from(s.mean), [2, 10]);
  assert.ok(Math.abs((s.scale[0] as number) - Math.sqrt(8 / 3)) < 1e-12);
  assert.equal(s.scale[1], 1, 'a constant column keeps scale 1 instead of dividing by zero');
  const z = applyStandardizer(s, x, 2, [0, 1, 2]);
  assert.ok(Math.abs((z[0] as number) + Math.sqrt(3 / 2)) < 1e-12);
  assert.equal(z[1], 0);
});

test('held-out rows never influence the fit (predictions unchanged when a test outlier moves)', async () => {
  const { x, y } = clusters(60, 4, 3, 1);
  const train = range(0, 48);
  const params = { kernel: 'rbf' as const, C: 2, gamma: 0.25 };
  const a = await fitPredict('classification', x, 4, y, train, [48, 49, 50, 51], params);
  const x2 = x.slice();
  x2.fill(1e6, 51 * 4, 52 * 4); // an absurd test row
  const b = await fitPredict('classification', x2, 4, y, train, [48, 49, 50, 51], params);
  assert.deepEqual(Array.from(a.subarray(0, 3)), Array.from(b.subarray(0, 3)));
});

test('separable clusters give near-perfect accuracy; shuffled labels give chance', async () => {
  const { x, y } = clusters(160, 8, 4, 2);
  const train = range(0, 120);
  const testIdx = range(120, 160);
  const good = await probe('classification', x, 8, y, train, testIdx, { grid: QUICK_GRID, folds: 3, seed: 1 });
  assert.equal(good.metric, 'accuracy');
  assert.ok(good.score >= 0.95, `accuracy ${good.score}`);
  assert.equal(good.predictions.length, 40);

  const noise = new Rng(3);
  const yn = Float64Array.from(y, () => noise.int(0, 3));
  const bad = await probe('classification', x, 8, yn, train, testIdx, { grid: QUICK_GRID, folds: 3, seed: 1 });
  assert.ok(bad.score < 0.5 && bad.score > 0.05, `noise accuracy ${bad.score} should be near chance 0.25`);
  assert.ok(bad.cvScore < 0.45, `inner CV on noise ${bad.cvScore}`);
});

test('a linear target gives r² near 1 and the grid picks the linear kernel; a nonlinear one picks RBF', async () => {
  const rng = new Rng(4);
  const n = 220;
  const d = 5;
  const x = new Float32Array(n * d);
  const lin = new Float64Array(n);
  const ring = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    let q = 0;
    for (let j = 0; j < d; j++) {
      const v = rng.normal(0, 2);
      x[i * d + j] = v;
      s += (j + 1) * v;
      if (j < 2) q += v * v;
    }
    lin[i] = 0.5 * s + 3 + rng.normal(0, 0.05);
    ring[i] = q < 4 ? 1 : 0; // inside/outside a circle: no linear boundary
  }
  const train = range(0, 160);
  const testIdx = range(160, n);
  const reg = await probe('regression', x, d, lin, train, testIdx, { grid: QUICK_GRID, folds: 3, seed: 0 });
  assert.equal(reg.metric, 'r2');
  assert.ok(reg.score > 0.98, `r² ${reg.score}`);
  assert.equal(reg.chosen.kernel, 'linear');
  assert.equal(reg.grid.length, QUICK_GRID.C.length * QUICK_GRID.kernels.length);
  const cls = await probe('classification', x, d, ring, train, testIdx, { grid: QUICK_GRID, folds: 3, seed: 0 });
  assert.equal(cls.chosen.kernel, 'rbf');
  assert.ok(cls.score > 0.8, `ring accuracy ${cls.score}`);
  const linCv = cls.grid.filter((g) => g.params.kernel === 'linear').map((g) => g.cvScore);
  assert.ok(Math.max(...linCv) < cls.cvScore, 'the chosen RBF point beats every linear point in CV');
});

test('probes are deterministic for a seed, and folds depend on the seed', async () => {
  const { x, y } = clusters(90, 6, 3, 5, 2.5); // overlapping, so choices are not trivial
  const train = range(0, 70);
  const testIdx = range(70, 90);
  const a = await probe('classification', x, 6, y, train, testIdx, { grid: QUICK_GRID, folds: 4, seed: 9 });
  const b = await probe('classification', x, 6, y, train, testIdx, { grid: QUICK_GRID, folds: 4, seed: 9 });
  assert.deepEqual(a.grid, b.grid);
  assert.deepEqual(Array.from(a.predictions), Array.from(b.predictions));
  assert.notDeepEqual(Array.from(assignFolds(70, 4, 9)), Array.from(assignFolds(70, 4, 10)));
  // stratified folds: each of 3 balanced classes spread evenly over 3 folds
  const f = assignFolds(90, 3, 1, y);
  for (let c = 0; c < 3; c++) {
    const counts = [0, 0, 0];
    for (let i = 0; i < 90; i++) if (y[i] === c) counts[f[i] as number]++;
    assert.deepEqual(counts, [10, 10, 10]);
  }
  assert.throws(() => assignFolds(3, 5, 0), RangeError);
});

test('runProbes scores every labelled task on the corpus split and supports cv10', async () => {
  const { x, y } = clusters(80, 4, 2, 6);
  const rng = new Rng(8);
  const tracks: LabelledTrack[] = range(0, 80).map((i) => ({
    id: `t${i}`,
    split: i % 5 === 0 ? 'test' : i % 5 === 1 ? 'valid' : 'train',
    genre: y[i] === 0 ? 'jazz' : 'rock',
    // valence follows feature 0; arousal missing on a quarter of the tracks
    valence: (x[i * 4] as number) + rng.normal(0, 0.1),
    arousal: i % 4 === 0 ? undefined : rng.normal(),
  }));
  const features = { ids: tracks.map((t) => t.id).reverse(), dim: 4, data: new Float32Array(80 * 4) };
  // rows in reverse order: runProbes must look rows up by id
  for (let i = 0; i < 80; i++) features.data.set(x.subarray(i * 4, i * 4 + 4), (79 - i) * 4);
  const res = await runProbes(features, tracks, { grid: QUICK_GRID, folds: 3, seed: 0, split: 'ff' });
  assert.deepEqual(Object.keys(res).sort(), ['arousal', 'genre', 'valence']);
  assert.equal(res.genre?.nTest, 16);
  assert.equal(res.genre?.nTrain, 64);
  assert.deepEqual(res.genre?.classes, ['jazz', 'rock']);
  assert.ok((res.genre?.score ?? 0) > 0.9);
  assert.ok((res.valence?.score ?? 0) > 0.9, `valence r² ${res.valence?.score}`);
  assert.ok((res.arousal?.score ?? 1) < 0.3, `arousal is noise, r² ${res.arousal?.score}`);
  assert.equal((res.arousal?.nTrain ?? 0) + (res.arousal?.nTest ?? 0), 60);

  const cv = await runProbes(features, tracks, { grid: { C: [2], kernels: [{ kernel: 'linear' }] }, folds: 3, seed: 0, split: 'cv10', tasks: ['genre'] });
  assert.equal(cv.genre?.foldScores.length, 10);
  assert.equal(cv.genre?.nTest, 8);
  assert.ok(Math.abs((cv.genre?.score ?? 0) - meanStd(cv.genre?.foldScores ?? []).mean) < 1e-12);

  assert.equal(outerSplits(tracks, 'random', 3)[0]?.test.length, 16);
  await assert.rejects(runProbes({ ...features, ids: features.ids.slice(1), data: features.data.subarray(4) }, tracks), DatasetError);
  await assert.rejects(runProbes(features, tracks.map((t) => ({ ...t, split: 'train' as const }))), /test split/);
});

test('libsvm options always fit libsvm-js: many full-precision class weights train, too many are a RangeError', async () => {
  // libsvm-js copies its options into a 256-byte C buffer; nine balanced weights at full precision
  // overflowed it, and libsvm then exited the process without a word.
  const k = 9;
  const dim = k;
  const n = k * 12;
  const x = new Float64Array(n * dim);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % k;
    for (let j = 0; j < dim; j++) x[i * dim + j] = (i % k === j ? 2 : 0) + ((i * 7919 + j * 104729) % 97) / 194; // one-hot + jitter
  }
  const weights = (m: number) => Object.fromEntries(Array.from({ length: m }, (_, c) => [c, 1 / (3 + c / 7)]));
  // the linear kernel too: libsvm-js writes a gamma (1/d) into its command for every kernel
  for (const kernel of ['rbf', 'linear'] as const) {
    const svm = await trainSvc(x, n, dim, y, { kernel, C: 10 / 3, gamma: 1 / 3, classWeights: weights(k) });
    try {
      const pred = svm.predict(x, n);
      assert.ok(accuracy(Array.from(y), Array.from(pred)) > 0.9, `${kernel}: nine separable classes are learned`);
    } finally {
      svm.free();
    }
  }
  await assert.rejects(trainSvc(x, n, dim, y, { kernel: 'rbf', C: 1, classWeights: weights(40) }), (e: unknown) => e instanceof RangeError && /command line/.test(e.message));
  await assert.rejects(trainSvc(x, n, dim, y, { kernel: 'rbf', C: Number.NaN }), (e: unknown) => e instanceof RangeError && /cost C/.test(e.message));
  await assert.rejects(trainSvc(x, n, dim, y, { kernel: 'rbf', C: 1, gamma: Infinity }), (e: unknown) => e instanceof RangeError && /gamma/.test(e.message));
});
