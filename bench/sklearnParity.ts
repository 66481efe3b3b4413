/**
 * Probe speed and agreement against scikit-learn: the same features, the same grid (C x kernel),
 * the same folds. musicbert: libsvm-js (wasm) driven by src/eval/probes; peer: sklearn SVC inside
 * a StandardScaler pipeline, one fit per (grid point, fold) like ours. Reports both wall times,
 * their ratio, the chosen grid points and the held-out accuracies.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../src/util/rng.js';
import { assignFolds } from '../src/eval/folds.js';
import { DEFAULT_GRID, probe } from '../src/eval/probes.js';
import type { Benchmark } from './benchmarks.js';
import { PYTHON, pythonHas } from './peers.js';

const PEER = `
import json, sys, time
import numpy as np
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
d = sys.argv[1]
m = json.load(open(d + '/meta.json'))
x = np.fromfile(d + '/x.f32', dtype='<f4').reshape(m['n'], m['dim']).astype(np.float64)
y = np.array(m['y'])
tr, te, fold = np.array(m['train']), np.array(m['test']), np.array(m['fold'])
t0 = time.perf_counter()
best, best_score = None, -1
for p in m['grid']:
    oof = np.zeros(len(tr))
    for f in range(m['k']):
        a, b = tr[fold != f], tr[fold == f]
        sc = StandardScaler().fit(x[a])
        kw = dict(kernel=p['kernel'], C=p['C'], gamma=p.get('gamma', 'scale'))
        oof[fold == f] = SVC(**kw).fit(sc.transform(x[a]), y[a]).predict(sc.transform(x[b]))
    s = float((oof == y[tr]).mean())
    if s > best_score + 1e-12:
        best, best_score = p, s
sc = StandardScaler().fit(x[tr])
kw = dict(kernel=best['kernel'], C=best['C'], gamma=best.get('gamma', 'scale'))
pred = SVC(**kw).fit(sc.transform(x[tr]), y[tr]).predict(sc.transform(x[te]))
print(json.dumps({'seconds': time.perf_counter() - t0, 'chosen': best, 'cv': best_score, 'accuracy': float((pred == y[te]).mean())}))
`;

export const sklearnParity: Benchmark = {
  name: 'sklearnParity',
  summary: 'SVM probe grid search (libsvm-js) vs scikit-learn: time and agreement',
  async run() {
    // GTZAN-sized: 10 genres, 500 tracks, 160-d features with overlapping classes.
    const n = 500;
    const dim = 160;
    const k = 5;
    const rng = new Rng(3);
    const x = new Float32Array(n * dim);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const c = i % 10;
      y[i] = c;
      for (let j = 0; j < dim; j++) x[i * dim + j] = rng.normal(j % 10 === c ? 0.6 : 0, 1) * (1 + (j % 7));
    }
    const train = Array.from({ length: 400 }, (_, i) => i);
    const test = Array.from({ length: 100 }, (_, i) => 400 + i);
    const t0 = performance.now();
    const ours = await probe('classification', x, dim, y, train, test, { grid: DEFAULT_GRID, folds: k, seed: 0 });
    const oursSeconds = (performance.now() - t0) / 1000;
    const result: Record<string, unknown> = {
      n,
      dim,
      gridPoints: ours.grid.length,
      folds: k,
      musicbertSeconds: Number(oursSeconds.toFixed(2)),
      musicbertChosen: ours.chosen,
      musicbertAccuracy: ours.score,
    };
    if (!pythonHas('sklearn')) return { ...result, peer: `skipped: ${PYTHON} cannot import sklearn` };
    const dir = await mkdtemp(join(tmpdir(), 'mb-bench-sk-'));
    try {
      // The same stratified folds over the training rows as the probe drew.
      const fold = Array.from(assignFolds(train.length, k, 0, train.map((i) => y[i] as number)));
      await writeFile(join(dir, 'x.f32'), new Uint8Array(x.buffer));
      await writeFile(join(dir, 'meta.json'), JSON.stringify({ n, dim, y: Array.from(y), train, test, fold, k, grid: ours.grid.map((g) => g.params) }));
      await writeFile(join(dir, 'peer.py'), PEER);
      const r = spawnSync(PYTHON, [join(dir, 'peer.py'), dir], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } });
      if (r.status !== 0) return { ...result, peer: `failed: ${r.stderr.trim().split('\n').pop()}` };
      const peer = JSON.parse(r.stdout.trim().split('\n').pop() as string) as { seconds: number; chosen: unknown; cv: number; accuracy: number };
      return {
        ...result,
        sklearnSeconds: Number(peer.seconds.toFixed(2)),
        sklearnChosen: peer.chosen,
        sklearnAccuracy: peer.accuracy,
        sameChoice: JSON.stringify(peer.chosen) === JSON.stringify(ours.chosen),
        cvScoreDiff: Math.abs(peer.cv - ours.cvScore),
        timeRatio: Number((oursSeconds / peer.seconds).toFixed(2)),
      };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
