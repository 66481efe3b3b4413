/**
 * Parity with scikit-learn: the same features and the same SVM parameters must give the same
 * predictions from our probe (libsvm-js) as from sklearn.svm.SVC / SVR behind a StandardScaler.
 * Skips cleanly where Debian's python3-sklearn is not installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../src/util/rng.js';
import { fitPredict } from '../src/eval/probes.js';
import { accuracy, r2 } from '../src/eval/metrics.js';
import type { SvmParams } from '../src/eval/libsvm.js';
import { PYTHON, pythonHas } from '../bench/peers.js';

const hasSklearn = pythonHas('sklearn');
const skip = hasSklearn ? false : `${PYTHON} cannot import sklearn (apt install python3-sklearn)`;

const SCRIPT = `
import json, sys
import numpy as np
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, SVR
d = sys.argv[1]
meta = json.load(open(d + '/meta.json'))
n, dim = meta['n'], meta['dim']
x = np.fromfile(d + '/x.f32', dtype='<f4').reshape(n, dim).astype(np.float64)
tr, te = np.array(meta['train']), np.array(meta['test'])
out = []
for job in meta['jobs']:
    y = np.array(job['y'], dtype=np.float64)
    sc = StandardScaler().fit(x[tr])
    xtr, xte = sc.transform(x[tr]), sc.transform(x[te])
    p = job['params']
    kw = dict(kernel=p['kernel'], C=p['C'], gamma=p.get('gamma', 'scale'), tol=1e-3, shrinking=True, cache_size=200)
    if job['kind'] == 'classification':
        cw = {int(k): v for k, v in p['classWeights'].items()} if 'classWeights' in p else None
        pred = SVC(class_weight=cw, **kw).fit(xtr, y[tr].astype(int)).predict(xte)
    else:
        m, s = y[tr].mean(), y[tr].std()
        pred = SVR(epsilon=p.get('epsilon', 0.1), **kw).fit(xtr, (y[tr] - m) / s).predict(xte) * s + m
    out.append([float(v) for v in pred])
print(json.dumps({'predictions': out}))
`;

test('SVC and SVR probes agree with scikit-learn on the same features and parameters', { skip }, async () => {
  const rng = new Rng(11);
  const n = 240;
  const dim = 12;
  const x = new Float32Array(n * dim);
  const cls = new Float64Array(n);
  const val = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 4;
    cls[i] = c;
    let s = 0;
    for (let j = 0; j < dim; j++) {
      // overlapping classes and unequal column scales, so scaling and the solver both matter
      const v = rng.normal(j === c ? 1.2 : 0, 1) * (1 + j);
      x[i * dim + j] = v;
      s += Math.sin(v / (1 + j)) * (j % 3);
    }
    val[i] = s + rng.normal(0, 0.3);
  }
  const train = Array.from({ length: 180 }, (_, i) => i);
  const testRows = Array.from({ length: 60 }, (_, i) => 180 + i);
  const jobs: Array<{ kind: 'classification' | 'regression'; y: Float64Array; params: SvmParams }> = [
    { kind: 'classification', y: cls, params: { kernel: 'rbf', C: 2, gamma: 1 / dim } },
    { kind: 'classification', y: cls, params: { kernel: 'rbf', C: 32, gamma: 10 / dim } },
    { kind: 'classification', y: cls, params: { kernel: 'linear', C: 0.1 } },
    // full-precision weights, as balanced class weights are (libsvm-js gets them rounded to fit its command line)
    { kind: 'classification', y: cls, params: { kernel: 'rbf', C: 2, gamma: 1 / dim, classWeights: { 0: 1 / 3, 1: 2 / 3, 2: 1 / 7, 3: 10 / 7 } } },
    { kind: 'regression', y: val, params: { kernel: 'rbf', C: 8, gamma: 1 / dim, epsilon: 0.1 } },
    { kind: 'regression', y: val, params: { kernel: 'linear', C: 2, epsilon: 0.1 } },
  ];
  const dir = await mkdtemp(join(tmpdir(), 'mb-sklearn-'));
  try {
    await writeFile(join(dir, 'x.f32'), new Uint8Array(x.buffer));
    await writeFile(join(dir, 'meta.json'), JSON.stringify({ n, dim, train, test: testRows, jobs: jobs.map((j) => ({ ...j, y: Array.from(j.y) })) }));
    await writeFile(join(dir, 'peer.py'), SCRIPT);
    const r = spawnSync(PYTHON, [join(dir, 'peer.py'), dir], { encoding: 'utf8', maxBuffer: 1 << 24 });
    assert.equal(r.status, 0, r.stderr);
    const peer = JSON.parse(r.stdout.trim().split('\n').pop() as string) as { predictions: number[][] };
    for (const [k, job] of jobs.entries()) {
      const ours = await fitPredict(job.kind, x, dim, job.y, train, testRows, job.params);
      const theirs = peer.predictions[k] as number[];
      const truth = testRows.map((i) => job.y[i] as number);
      const what = `${job.kind} ${JSON.stringify(job.params)}`;
      if (job.kind === 'classification') {
        assert.deepEqual(Array.from(ours), theirs, `${what}: predicted labels differ`);
        assert.equal(accuracy(truth, ours), accuracy(truth, theirs));
      } else {
        const maxDiff = Math.max(...theirs.map((v, i) => Math.abs(v - (ours[i] as number))));
        assert.ok(maxDiff < 1e-3, `${what}: predictions differ by up to ${maxDiff}`);
        assert.ok(Math.abs(r2(truth, ours) - r2(truth, theirs)) < 1e-4, `${what}: r² ${r2(truth, ours)} vs sklearn ${r2(truth, theirs)}`);
      }
    }
    // The fixture must be non-trivial, or agreement would prove little.
    const acc = accuracy(testRows.map((i) => cls[i] as number), peer.predictions[0] as number[]);
    assert.ok(acc > 0.4 && acc < 0.98, `fixture accuracy ${acc} should be informative but imperfect`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
