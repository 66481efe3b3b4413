import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf, ready } from '../src/tensor/backend.js';
import { Rng } from '../src/util/rng.js';
import { ConvNet, convFilterGrad, convInputGrad, type ConvNetConfig } from '../src/eval/representations/convnet.js';
import { headLosses, trainConvNet } from '../src/eval/representations/convTrain.js';

before(async () => {
  await ready();
});

const tiny: ConvNetConfig = {
  channels: [2, 3],
  pools: [[2, 2], [1, 1]],
  hidden: 4,
  heads: [
    { name: 'tags', kind: 'sigmoid', size: 3 },
    { name: 'tempo', kind: 'softmax', size: 2 },
  ],
};

function randomArray(n: number, rng: Rng, std = 1): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal(0, std));
}

test('conv gradient helpers equal the definitions of dx and dW for a 3x3 same conv', () => {
  const rng = new Rng(1);
  const [b, t, f, ci, co] = [2, 5, 4, 2, 3];
  const x = randomArray(b * t * f * ci, rng);
  const w = randomArray(9 * ci * co, rng);
  const dy = randomArray(b * t * f * co, rng);
  const at = (a: Float32Array, i: number, j: number, k: number, l: number, s: number[]): number => {
    if (j < 0 || k < 0 || j >= (s[1] as number) || k >= (s[2] as number)) return 0;
    return a[((i * (s[1] as number) + j) * (s[2] as number) + k) * (s[3] as number) + l] as number;
  };
  // brute force: y[b,t,f,o] = Σ x[b,t+i-1,f+j-1,c] W[i,j,c,o]
  const dW = new Float64Array(9 * ci * co);
  const dx = new Float64Array(b * t * f * ci);
  for (let n = 0; n < b; n++) for (let p = 0; p < t; p++) for (let q = 0; q < f; q++) for (let o = 0; o < co; o++) {
    const g = at(dy, n, p, q, o, [b, t, f, co]);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) for (let c = 0; c < ci; c++) {
      const pi = p + i - 1;
      const qj = q + j - 1;
      dW[((i * 3 + j) * ci + c) * co + o] += g * at(x, n, pi, qj, c, [b, t, f, ci]);
      if (pi >= 0 && qj >= 0 && pi < t && qj < f) dx[((n * t + pi) * f + qj) * ci + c] += g * (w[((i * 3 + j) * ci + c) * co + o] as number);
    }
  }
  const [gW, gx] = tf.tidy(() => {
    const xt = tf.tensor4d(x, [b, t, f, ci]);
    const dyt = tf.tensor4d(dy, [b, t, f, co]);
    return [convFilterGrad(xt, dyt).dataSync(), convInputGrad(dyt, tf.tensor4d(w, [3, 3, ci, co])).dataSync()];
  });
  for (let i = 0; i < dW.length; i++) assert.ok(Math.abs((gW[i] as number) - (dW[i] as number)) < 1e-4, `dW[${i}] ${gW[i]} vs ${dW[i]}`);
  for (let i = 0; i < dx.length; i++) assert.ok(Math.abs((gx[i] as number) - (dx[i] as number)) < 1e-4, `dx[${i}] ${gx[i]} vs ${dx[i]}`);
});

test('ConvNet.backward matches finite differences of the head losses for every parameter', () => {
  const rng = new Rng(2);
  const net = ConvNet.create(tiny, 3);
  const B = 3;
  const x = tf.tensor4d(randomArray(B * 8 * 6, rng), [B, 8, 6, 1]);
  const targets = {
    tags: { y: tf.tensor2d([1, 0, 1, 0, 0, 1, 1, 1, 0], [B, 3]), mask: tf.ones([B, 1]) as tf.Tensor2D },
    tempo: { y: tf.tensor2d([1, 0, 0, 1, 1, 0], [B, 2]), mask: tf.tensor2d([1, 0, 1], [B, 1]) },
  };
  const lossOf = (): number => tf.tidy(() => headLosses(net, net.forward(x).logits, targets).loss.dataSync()[0] as number);
  const analytic = new Map<string, Float32Array>();
  tf.tidy(() => {
    const fwd = net.forward(x);
    const grads = net.backward(fwd.tape, headLosses(net, fwd.logits, targets).dLogits);
    for (const [k, g] of grads) analytic.set(k, g.dataSync().slice() as Float32Array);
  });
  assert.deepEqual([...analytic.keys()].sort(), [...net.params.keys()].sort());
  const eps = 3e-3;
  let checked = 0;
  for (const [name, p] of net.params) {
    const values = p.dataSync().slice() as Float32Array;
    const g = analytic.get(name) as Float32Array;
    for (const i of [0, Math.floor(values.length / 2), values.length - 1]) {
      const orig = values[i] as number;
      values[i] = orig + eps;
      tf.tidy(() => p.assign(tf.tensor(values, p.shape)));
      const up = lossOf();
      values[i] = orig - eps;
      tf.tidy(() => p.assign(tf.tensor(values, p.shape)));
      const down = lossOf();
      values[i] = orig;
      tf.tidy(() => p.assign(tf.tensor(values, p.shape)));
      const numeric = (up - down) / (2 * eps);
      const a = g[i] as number;
      assert.ok(Math.abs(a - numeric) <= 2e-3 + 0.03 * Math.abs(numeric), `${name}[${i}]: analytic ${a} vs numeric ${numeric}`);
      checked++;
    }
  }
  assert.ok(checked >= 3 * net.params.size);
  net.dispose();
  tf.dispose([x, targets.tags.y, targets.tags.mask, targets.tempo.y, targets.tempo.mask]);
});

test('training lowers the loss on a learnable task and leaks no tensors', () => {
  // A tag is on when the patch has energy in the upper half of the bands.
  const rng = new Rng(4);
  const n = 48;
  const [T, F] = [8, 8];
  const x = new Float32Array(n * T * F);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const on = i % 2;
    y[i] = on;
    for (let t = 0; t < T; t++) for (let f = 0; f < F; f++) x[(i * T + t) * F + f] = rng.normal(0, 0.3) + (on && f >= 4 ? 1.5 : 0);
  }
  const cfg: ConvNetConfig = { channels: [4, 4], pools: [[2, 2], [1, 1]], hidden: 0, heads: [{ name: 'tags', kind: 'sigmoid', size: 1 }] };
  const net = ConvNet.create(cfg, 5);
  const before = tf.memory().numTensors;
  const losses = trainConvNet(net, { x, n, frames: T, bands: F, targets: { tags: { y } } }, { epochs: 6, batchSize: 16, lr: 0.01, seed: 1 });
  assert.equal(tf.memory().numTensors, before, 'tensor count is unchanged after training');
  assert.equal(losses.length, 6);
  assert.ok((losses[5] as number) < 0.5 * (losses[0] as number), `loss ${losses.map((l) => l.toFixed(3))}`);
  // deterministic for a seed
  const net2 = ConvNet.create(cfg, 5);
  const losses2 = trainConvNet(net2, { x, n, frames: T, bands: F, targets: { tags: { y } } }, { epochs: 6, batchSize: 16, lr: 0.01, seed: 1 });
  assert.deepEqual(losses2, losses);
  net.dispose();
  net2.dispose();
});
