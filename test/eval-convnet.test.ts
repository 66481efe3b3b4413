import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf, ready } from '../src/tensor/backend.js';
import { Rng } from '../src/util/rng.js';
import { ConvNet, convNetSpecs, type ConvNetConfig } from '../src/eval/representations/convnet.js';
import { fitConvNet } from '../src/eval/representations/convRep.js';

before(async () => {
  await ready();
});

const tiny: ConvNetConfig = {
  channels: [2, 3],
  pools: [true, false],
  hidden: 4,
  heads: [
    { name: 'tags', kind: 'sigmoid', size: 3 },
    { name: 'tempo', kind: 'softmax', size: 2 },
  ],
};

function randomArray(n: number, rng: Rng, std = 1): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal(0, std));
}

test('convnet: parameters follow the spec; the features and heads have their shapes', () => {
  const net = ConvNet.create(tiny, 3);
  const specs = convNetSpecs(tiny);
  assert.deepEqual(Object.keys(net.params).sort(), Object.keys(specs).sort());
  for (const [name, spec] of Object.entries(specs)) assert.deepEqual(net.params[name]!.shape, spec.shape, name);
  tf.tidy(() => {
    const out = net.forward(tf.zeros([5, 8, 6]) as tf.Tensor3D);
    assert.deepEqual(out.layerFeatures.map((f) => f.shape), [[5, 2], [5, 3]]);
    assert.deepEqual(out.hidden?.shape, [5, 4]);
    assert.deepEqual(out.logits.tags!.shape, [5, 3]);
    assert.deepEqual(out.logits.tempo!.shape, [5, 2]);
  });
  assert.throws(() => convNetSpecs({ ...tiny, pools: [true] }), /channels and pools/);
  net.dispose();
});

test('convnet: autograd through conv3x3/maxPool2x2/ELU matches finite differences of the masked head losses', () => {
  const rng = new Rng(2);
  const net = ConvNet.create(tiny, 3);
  const B = 3;
  const x = tf.tensor3d(randomArray(B * 8 * 6, rng), [B, 8, 6]);
  const targets = {
    tags: { y: tf.tensor2d([1, 0, 1, 0, 0, 1, 1, 1, 0], [B, 3]), mask: tf.ones([B]) as tf.Tensor1D },
    tempo: { y: tf.tensor2d([1, 0, 0, 1, 1, 0], [B, 2]), mask: tf.tensor1d([1, 0, 1]) },
  };
  const names = Object.keys(net.params);
  const lossOf = (): number => tf.tidy(() => net.loss(net.forward(x), targets).loss.dataSync()[0] as number);
  const { value, grads } = tf.variableGrads(() => net.loss(net.forward(x), targets).loss, names.map((n) => net.params[n]!));
  value.dispose();
  const byVar = new Map(names.map((n) => [n, grads[net.params[n]!.name]!.dataSync().slice() as Float32Array]));
  tf.dispose(Object.values(grads));
  const eps = 3e-3;
  let checked = 0;
  for (const name of names) {
    const p = net.params[name]!;
    const values = p.dataSync().slice() as Float32Array;
    const g = byVar.get(name)!;
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
  assert.ok(checked >= 3 * names.length, `checked ${checked} entries`);
  // A row with mask 0 contributes nothing: changing its tempo target leaves the loss unchanged.
  const flipped = { ...targets, tempo: { ...targets.tempo, y: tf.tensor2d([1, 0, 1, 0, 1, 0], [B, 2]) } };
  assert.equal(tf.tidy(() => net.loss(net.forward(x), flipped).loss.dataSync()[0]), lossOf());
  net.dispose();
  tf.dispose([x, targets.tags.y, targets.tags.mask, targets.tempo.y, targets.tempo.mask, flipped.tempo.y]);
});

test('convnet: training lowers the loss on a learnable task, is deterministic and leaks no tensors', async () => {
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
  const cfg: ConvNetConfig = { channels: [4, 4], pools: [true, false], hidden: 0, heads: [{ name: 'tags', kind: 'sigmoid', size: 1 }] };
  const data = { x, n, frames: T, bands: F, targets: { tags: { y, mask: new Float32Array(n).fill(1) } } };
  const settings = { epochs: 6, batchSize: 16, lr: 0.01, seed: 1 };
  const net = ConvNet.create(cfg, 5);
  const before = tf.memory().numTensors;
  const losses = await fitConvNet(net, data, settings);
  assert.equal(tf.memory().numTensors, before, 'tensor count is unchanged after training');
  assert.equal(losses.length, 6 * 3);
  const first = (losses[0]! + losses[1]! + losses[2]!) / 3;
  const last = (losses[15]! + losses[16]! + losses[17]!) / 3;
  assert.ok(last < 0.5 * first, `loss ${losses.map((l) => l.toFixed(3))}`);
  const net2 = ConvNet.create(cfg, 5);
  assert.deepEqual(await fitConvNet(net2, data, settings), losses);
  net.dispose();
  net2.dispose();
});
