/**
 * Finite-difference gradient checks for every custom op / custom gradient in src/tensor/ops.ts,
 * plus one whole Transformer block. The scalar under test is L = sum(f(inputs) * R) for a fixed
 * random R (so every output element matters), summed in float64 on the host to keep round-off out
 * of the differences. Analytic gradients come from tf.grads; numeric ones from central differences
 * on a sample of elements of each input.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf, ready } from '../src/tensor/backend.js';
import { Rng } from '../src/util/rng.js';
import { dropoutMask, splitHeads, batchMatMul, conv3x3, conv3x3Relu, maxPool2x2, embedding, gelu, im2col3x3, im2colT3x3, layerNorm, layerNormOps, linear, matMul, maskedMean, l2Normalize, dropout } from '../src/tensor/ops.js';
import { block, stackSpecs, keyPaddingBias } from '../src/model/transformer.js';
import { initParams, disposeParams } from '../src/model/params.js';
import { nativeKernelsActive, setNativeKernels } from '../src/tensor/wasmKernels.js';

function randn(shape: number[], rng: Rng, scale = 1): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = rng.normal() * scale;
  return tf.tensor(d, shape);
}

interface GradCheckOptions {
  eps?: number;
  /** Max elements of each input to perturb. */
  samples?: number;
  rtol?: number;
  atol?: number;
  seed?: number;
}

function gradCheck(name: string, f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], opts: GradCheckOptions = {}): void {
  const { eps = 1e-2, samples = 12, rtol = 2e-2, atol = 2e-3, seed = 1 } = opts;
  const rng = new Rng(seed);
  const out = tf.tidy(() => f(...inputs));
  const r = randn(out.shape, rng);
  const rData = r.dataSync();
  out.dispose();
  const loss = (xs: tf.Tensor[]): number => {
    const y = tf.tidy(() => f(...xs));
    const yd = y.dataSync();
    y.dispose();
    let s = 0;
    for (let i = 0; i < yd.length; i++) s += (yd[i] as number) * (rData[i] as number);
    return s;
  };
  const grads = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(...xs), r)))(inputs);
  inputs.forEach((x, k) => {
    const g = grads[k]!.dataSync();
    assert.deepEqual(grads[k]!.shape, x.shape, `${name}: gradient ${k} shape`);
    const base = x.dataSync().slice();
    const idx = new Set<number>();
    const want = Math.min(samples, base.length);
    while (idx.size < want) idx.add(rng.int(0, base.length - 1));
    for (const i of idx) {
      const plus = base.slice();
      plus[i] = (plus[i] as number) + eps;
      const minus = base.slice();
      minus[i] = (minus[i] as number) - eps;
      const xp = inputs.map((t, j) => (j === k ? tf.tensor(plus, x.shape) : t));
      const xm = inputs.map((t, j) => (j === k ? tf.tensor(minus, x.shape) : t));
      const num = (loss(xp) - loss(xm)) / (2 * eps);
      xp[k]!.dispose();
      xm[k]!.dispose();
      const ana = g[i] as number;
      const tol = atol + rtol * Math.max(Math.abs(num), Math.abs(ana));
      assert.ok(Math.abs(num - ana) <= tol, `${name}: d/dinput${k}[${i}] analytic ${ana} vs numeric ${num}`);
    }
  });
  r.dispose();
  grads.forEach((g) => g.dispose());
}

before(async () => {
  await ready();
});

test('matMul: values match tf.matMul and gradients match finite differences', () => {
  const rng = new Rng(10);
  const a = randn([5, 7], rng) as tf.Tensor2D;
  const b = randn([7, 4], rng) as tf.Tensor2D;
  const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(matMul(a, b), tf.matMul(a, b)))).dataSync()[0]!);
  assert.ok(diff < 1e-5, `max diff ${diff}`);
  gradCheck('matMul (K > N: aᵀ·dy)', (x, y) => matMul(x as tf.Tensor2D, y as tf.Tensor2D), [a, b]);
  const wide = randn([7, 9], rng) as tf.Tensor2D;
  gradCheck('matMul (K < N: (dyᵀ·a)ᵀ)', (x, y) => matMul(x as tf.Tensor2D, y as tf.Tensor2D), [a, wide]);
  tf.dispose([a, b, wide]);
});

test('linear: bias and fused-ReLU variants, any leading rank, gradients', () => {
  const rng = new Rng(11);
  const x = randn([2, 3, 6], rng);
  const w = randn([6, 5], rng, 0.5) as tf.Tensor2D;
  const b = randn([5], rng) as tf.Tensor1D;
  const y = linear(x as tf.Tensor3D, w, b);
  assert.deepEqual(y.shape, [2, 3, 5]);
  const ref = tf.add(tf.reshape(tf.matMul(tf.reshape(x, [6, 6]) as tf.Tensor2D, w), [2, 3, 5]), b);
  assert.ok(tf.max(tf.abs(tf.sub(y, ref))).dataSync()[0]! < 1e-5);
  gradCheck('linear+bias', (xi, wi, bi) => linear(xi as tf.Tensor3D, wi as tf.Tensor2D, bi as tf.Tensor1D), [x, w, b]);
  gradCheck('linear+bias, wide', (xi, wi, bi) => linear(xi as tf.Tensor3D, wi as tf.Tensor2D, bi as tf.Tensor1D), [x, randn([6, 11], rng, 0.5), randn([11], rng)]);
  gradCheck('linear no bias', (xi, wi) => linear(xi as tf.Tensor3D, wi as tf.Tensor2D), [x, w]);
  // ReLU: a large bias keeps every unit active so finite differences never cross the kink...
  const big = tf.add(b, 20) as tf.Tensor1D;
  gradCheck('linear+relu (active)', (xi, wi, bi) => linear(xi as tf.Tensor3D, wi as tf.Tensor2D, bi as tf.Tensor1D, 'relu'), [x, w, big]);
  // ...and a large negative one switches every unit off: the gradient must vanish.
  const off = tf.sub(b, 50) as tf.Tensor1D;
  const g = tf.grads((xi: tf.Tensor, wi: tf.Tensor) => tf.sum(linear(xi as tf.Tensor3D, wi as tf.Tensor2D, off, 'relu')))([x, w]);
  for (const t of g) assert.equal(tf.max(tf.abs(t)).dataSync()[0], 0);
  tf.dispose([x, w, b, y, ref, big, off, ...g]);
});

test('batchMatMul: values match tf.matMul (wasm view kernel) and gradients', () => {
  const rng = new Rng(12);
  const a = randn([3, 4, 5], rng) as tf.Tensor3D;
  const b = randn([3, 5, 6], rng) as tf.Tensor3D;
  const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(batchMatMul(a, b), tf.matMul(a, b)))).dataSync()[0]!);
  assert.ok(diff < 1e-5, `max diff ${diff}`);
  gradCheck('batchMatMul', (x, y) => batchMatMul(x as tf.Tensor3D, y as tf.Tensor3D), [a, b], { samples: 16 });
  assert.throws(() => batchMatMul(a, a), /do not multiply/);
  tf.dispose([a, b]);
});

test('layerNorm: normalises rows and its hand-written gradient is right', () => {
  const rng = new Rng(13);
  const x = randn([2, 3, 8], rng, 3);
  const g = tf.add(randn([8], rng, 0.3), 1) as tf.Tensor1D;
  const b = randn([8], rng, 0.3) as tf.Tensor1D;
  const y = layerNorm(x as tf.Tensor3D, tf.ones([8]) as tf.Tensor1D, tf.zeros([8]) as tf.Tensor1D);
  const m = tf.moments(y, -1);
  assert.ok(tf.max(tf.abs(m.mean)).dataSync()[0]! < 1e-5);
  assert.ok(tf.max(tf.abs(tf.sub(m.variance, 1))).dataSync()[0]! < 1e-3);
  gradCheck('layerNorm', (xi, gi, bi) => layerNorm(xi as tf.Tensor3D, gi as tf.Tensor1D, bi as tf.Tensor1D), [x, g, b], { eps: 1e-2, samples: 16 });
  gradCheck('layerNormOps', (xi, gi, bi) => layerNormOps(xi as tf.Tensor3D, gi as tf.Tensor1D, bi as tf.Tensor1D), [x, g, b], { eps: 1e-2, samples: 16 });
  // The one-pass wasm kernels agree with the tfjs-ops version, values and gradients.
  const both = [layerNorm, layerNormOps].map((fn) => tf.grads((xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor) => tf.sum(tf.mul(fn(xi as tf.Tensor3D, gi as tf.Tensor1D, bi as tf.Tensor1D), tf.range(0, 8))))([x, g, b]));
  both[0]!.forEach((t, i) => assert.ok(tf.max(tf.abs(tf.sub(t, both[1]![i]!))).dataSync()[0]! < 1e-4, `gradient ${i}`));
  const ya = layerNorm(x as tf.Tensor3D, g, b);
  const yb = layerNormOps(x as tf.Tensor3D, g, b);
  assert.ok(tf.max(tf.abs(tf.sub(ya, yb))).dataSync()[0]! < 1e-5);
  tf.dispose([x, g, b, y, m.mean, m.variance, ya, yb, ...both.flat()]);
});

test('gelu: values of the tanh form and gradient', () => {
  const x = tf.tensor1d([-3, -1, -0.5, 0, 0.5, 1, 3]);
  const y = gelu(x).dataSync();
  const ref = [-0.00363752, -0.158808, -0.154286, 0, 0.345714, 0.841192, 2.99636];
  ref.forEach((r, i) => assert.ok(Math.abs(y[i]! - r) < 1e-4, `gelu(${x.dataSync()[i]}) = ${y[i]}, want ${r}`));
  gradCheck('gelu', (xi) => gelu(xi), [randn([4, 6], new Rng(14), 2)], { eps: 1e-3 });
  x.dispose();
});

test('embedding: lookup values and scatter-add gradient with repeated ids', () => {
  const rng = new Rng(15);
  const table = randn([6, 4], rng) as tf.Tensor2D;
  const ids = tf.tensor2d([[1, 3, 1], [0, 5, 1]], [2, 3], 'int32');
  const e = embedding(table, ids);
  assert.deepEqual(e.shape, [2, 3, 4]);
  assert.deepEqual(Array.from(tf.slice(e, [0, 1, 0], [1, 1, 4]).dataSync()), Array.from(tf.slice(table, [3, 0], [1, 4]).dataSync()));
  gradCheck('embedding', (t) => embedding(t as tf.Tensor2D, ids), [table], { samples: 24 });
  // Row 1 is used three times, row 2 never.
  const g = tf.grad((t: tf.Tensor) => tf.sum(embedding(t as tf.Tensor2D, ids)))(table).arraySync() as number[][];
  assert.deepEqual(g[1], [3, 3, 3, 3]);
  assert.deepEqual(g[2], [0, 0, 0, 0]);
  tf.dispose([table, ids, e]);
});

test('conv3x3Relu: forward matches tf.conv2d; im2col route gradients match finite differences', () => {
  const rng = new Rng(16);
  const x = randn([2, 5, 4, 3], rng) as tf.Tensor4D;
  const w = randn([3, 3, 3, 4], rng, 0.3) as tf.Tensor4D;
  const b = randn([4], rng) as tf.Tensor1D;
  const y = conv3x3Relu(x, w, b);
  const ref = tf.relu(tf.add(tf.conv2d(x, w, 1, 'same'), b));
  assert.deepEqual(y.shape, [2, 5, 4, 4]);
  assert.ok(tf.max(tf.abs(tf.sub(y, ref))).dataSync()[0]! < 1e-5);
  // im2col reproduces the convolution as one product.
  const viaCols = tf.reshape(tf.matMul(im2col3x3(x), tf.reshape(w, [27, 4]) as tf.Tensor2D), [2, 5, 4, 4]);
  assert.ok(tf.max(tf.abs(tf.sub(viaCols, tf.conv2d(x, w, 1, 'same')))).dataSync()[0]! < 1e-5);
  // The one-pass transposed im2col kernel is exactly the transpose of the tfjs-ops version.
  const colsT = im2colT3x3(x);
  assert.deepEqual(colsT.shape, [27, 40]);
  assert.deepEqual(Array.from(colsT.dataSync()), Array.from(tf.transpose(im2col3x3(x)).dataSync()));
  const active = tf.add(b, 30) as tf.Tensor1D;
  gradCheck('conv3x3Relu', (xi, wi, bi) => conv3x3Relu(xi as tf.Tensor4D, wi as tf.Tensor4D, bi as tf.Tensor1D), [x, w, active], { samples: 16 });
  // Inactive units pass no gradient.
  const off = tf.sub(b, 100) as tf.Tensor1D;
  const g = tf.grads((xi: tf.Tensor, wi: tf.Tensor) => tf.sum(conv3x3Relu(xi as tf.Tensor4D, wi as tf.Tensor4D, off)))([x, w]);
  for (const t of g) assert.equal(tf.max(tf.abs(t)).dataSync()[0], 0);
  tf.dispose([x, w, b, y, ref, viaCols, colsT, active, off, ...g]);
});

test('conv3x3 with ELU and maxPool2x2: forward matches tfjs, gradients match finite differences on every path', () => {
  const rng = new Rng(17);
  const x = randn([2, 6, 5, 3], rng) as tf.Tensor4D;
  const w = randn([3, 3, 3, 4], rng, 0.3) as tf.Tensor4D;
  const b = randn([4], rng, 0.5) as tf.Tensor1D;
  const y = conv3x3(x, w, b, 'elu');
  const ref = tf.elu(tf.add(tf.conv2d(x, w, 1, 'same'), b));
  assert.ok(tf.max(tf.abs(tf.sub(y, ref))).dataSync()[0]! < 1e-5, 'conv3x3 elu equals tf.elu(conv2d + b)');
  assert.ok(tf.min(y).dataSync()[0]! < 0, 'some units are on the negative (ELU) branch');
  gradCheck('conv3x3 elu', (xi, wi, bi) => conv3x3(xi as tf.Tensor4D, wi as tf.Tensor4D, bi as tf.Tensor1D, 'elu'), [x, w, b], { samples: 16 });
  // Max-pool: odd trailing column dropped; the gradient is checked with the native kernel and without it
  // (the wasm backend's own MaxPoolGrad misroutes some windows).
  const p = randn([2, 12, 7, 5], rng) as tf.Tensor4D;
  const pooled = maxPool2x2(p);
  assert.deepEqual(pooled.shape, [2, 6, 3, 5]);
  assert.deepEqual(Array.from(pooled.dataSync()), Array.from(tf.maxPool(p, 2, 2, 'valid').dataSync()));
  const was = setNativeKernels(true);
  try {
    for (const native of [true, false]) {
      setNativeKernels(native);
      gradCheck(`maxPool2x2 (native ${nativeKernelsActive()})`, (xi) => maxPool2x2(xi as tf.Tensor4D), [p], { samples: p.size, eps: 1e-3 });
    }
  } finally {
    setNativeKernels(was);
  }
  tf.dispose([x, w, b, y, ref, p, pooled]);
});

test('maskedMean, l2Normalize, dropout', () => {
  const x = tf.tensor3d([[[1, 2], [3, 4], [100, 100]]]);
  const m = tf.tensor2d([[1, 1, 0]]);
  assert.deepEqual(Array.from(maskedMean(x, m).dataSync()), [2, 3]);
  assert.deepEqual(Array.from(maskedMean(x, tf.zeros([1, 3]) as tf.Tensor2D).dataSync()), [0, 0]);
  const n = l2Normalize(tf.tensor2d([[3, 4]])).dataSync();
  assert.ok(Math.abs(n[0]! - 0.6) < 1e-6 && Math.abs(n[1]! - 0.8) < 1e-6);
  const ones = tf.ones([1000]);
  const d1 = dropout(ones, 0.25, 7).dataSync();
  const d2 = dropout(ones, 0.25, 7).dataSync();
  const d3 = dropout(ones, 0.25, 8).dataSync();
  assert.deepEqual(d1, d2, 'same seed, same mask');
  assert.notDeepEqual(d1, d3, 'other seed, other mask');
  const kept = Array.from(d1).filter((v) => v !== 0);
  assert.ok(kept.every((v) => Math.abs(v - 1 / 0.75) < 1e-6));
  assert.ok(kept.length > 700 && kept.length < 800, `kept ${kept.length}`);
  assert.equal(dropout(ones, 0, 1), ones);
  // Unbiased in expectation; kept fraction 1 - rate.
  const big = dropoutMask(200000, 0.1, 3);
  const mean = big.reduce((a, b) => a + b, 0) / big.length;
  assert.ok(Math.abs(mean - 1) < 0.01, `mask mean ${mean}`);
  const keptFrac = big.filter((v) => v !== 0).length / big.length;
  assert.ok(Math.abs(keptFrac - 0.9) < 0.005, `kept ${keptFrac}`);
  tf.dispose([x, m, ones]);
});

test('a whole pre-LN Transformer block: parameter and input gradients match finite differences', () => {
  const shape = { dModel: 8, layers: 1, ffn: 12 };
  const params = initParams(stackSpecs(shape), 3);
  // Larger weights than the 0.02 init so the check exercises attention, not a near-identity.
  for (const v of Object.values(params)) if (v.rank === 2) v.assign(tf.mul(v, 20));
  const rng = new Rng(17);
  const x = randn([2, 5, 8], rng);
  const bias = keyPaddingBias({ batch: 2, length: 5, keep: Uint8Array.from([1, 1, 1, 1, 1, 1, 1, 1, 0, 0]), segment: new Int32Array(5), position: new Int32Array(5), special: new Uint8Array(5) });
  const opts = { heads: 2, dropout: 0, training: false, nextSeed: () => 0 };
  const names = ['blocks.0.attn.qkv.weight', 'blocks.0.attn.out.weight', 'blocks.0.ffn.in.weight', 'blocks.0.norm1.weight'];
  const f = (xi: tf.Tensor, ...ws: tf.Tensor[]): tf.Tensor => {
    const p = { ...params } as Record<string, tf.Variable>;
    names.forEach((n, i) => (p[n] = ws[i] as tf.Variable));
    return block(p, 'blocks.0', xi as tf.Tensor3D, bias, opts);
  };
  gradCheck('transformer block', f, [x, ...names.map((n) => params[n]!.clone())], { samples: 8, eps: 1e-2, rtol: 3e-2, atol: 3e-3 });
  tf.dispose([x, bias]);
  disposeParams(params);
});

// ------------------------------------------------------------------------------------------------
// wasm kernel replacements (src/tensor/wasmKernels.ts)

function refTranspose(data: ArrayLike<number>, shape: number[], perm: number[]): number[] {
  const rank = shape.length;
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const outShape = perm.map((p) => shape[p]!);
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Array<number>(n);
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < n; o++) {
    let s = 0;
    for (let ax = 0; ax < rank; ax++) s += idx[ax]! * strides[perm[ax]!]!;
    out[o] = data[s]!;
    for (let ax = rank - 1; ax >= 0; ax--) {
      if (++idx[ax]! < outShape[ax]!) break;
      idx[ax] = 0;
    }
  }
  return out;
}

test('Transpose kernel: every permutation of ranks 2-5 (with size-1 axes), float32 and int32', () => {
  const rng = new Rng(20);
  const perms = (r: number): number[][] => (r === 1 ? [[0]] : perms(r - 1).flatMap((p) => Array.from({ length: r }, (_, i) => [...p.slice(0, i), r - 1, ...p.slice(i)])));
  let checked = 0;
  for (const shape of [[3, 5], [1, 7], [2, 3, 4], [4, 1, 3], [2, 3, 2, 5], [3, 4, 1, 2, 3], [2, 2, 3, 2, 4]]) {
    const n = shape.reduce((a, b) => a * b, 1);
    const f = Float32Array.from({ length: n }, () => rng.normal());
    const i = Int32Array.from({ length: n }, (_, k) => k * 7 - 3);
    for (const perm of perms(shape.length)) {
      for (const [data, dtype] of [[f, 'float32'], [i, 'int32']] as const) {
        const x = tf.tensor(data, shape, dtype);
        const y = tf.transpose(x, perm);
        assert.deepEqual(y.shape, perm.map((p) => shape[p]));
        assert.deepEqual(Array.from(y.dataSync()), refTranspose(data, shape, perm), `shape [${shape}] perm [${perm}] ${dtype}`);
        tf.dispose([x, y]);
        checked++;
      }
    }
  }
  assert.ok(checked > 300);
  const b = tf.tensor([1, 0, 1, 1, 0, 0], [2, 3], 'bool'); // falls back to the original kernel
  assert.deepEqual(Array.from(tf.transpose(b).dataSync()), [1, 1, 0, 0, 1, 0]);
});

test('Sum kernel: leading-axis reductions (fast path) and all others (fallback) match a reference', () => {
  const rng = new Rng(21);
  const shape = [3, 4, 5];
  const data = Float32Array.from({ length: 60 }, () => rng.normal());
  const x = tf.tensor3d(data, [3, 4, 5]);
  const ref = (axes: number[]): number[] => {
    const keep = [0, 1, 2].filter((a) => !axes.includes(a));
    const outShape = keep.map((a) => shape[a]!);
    const out = new Array<number>(outShape.reduce((a, b) => a * b, 1)).fill(0);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) for (let k = 0; k < 5; k++) {
      const id = [i, j, k];
      let o = 0;
      keep.forEach((a) => (o = o * shape[a]! + id[a]!));
      out[o] += data[(i * 4 + j) * 5 + k]!;
    }
    return out;
  };
  for (const axes of [[0], [0, 1], [1], [2], [1, 2], [0, 2]]) {
    for (const keepDims of [false, true]) {
      const y = tf.sum(x, axes, keepDims);
      const want = ref(axes);
      const got = y.dataSync();
      assert.equal(got.length, want.length);
      want.forEach((w, i) => assert.ok(Math.abs(got[i]! - w) < 1e-5, `axes [${axes}] keepDims ${keepDims}`));
      if (keepDims) assert.deepEqual(y.shape, shape.map((d, i) => (axes.includes(i) ? 1 : d)));
      y.dispose();
    }
  }
  assert.deepEqual(Array.from(tf.sum(tf.tensor2d([[1, 2], [3, 4]], [2, 2], 'int32'), 0).dataSync()), [4, 6]);
  assert.equal(tf.sum(x).dataSync()[0]!.toFixed(3), data.reduce((a, b) => a + b, 0).toFixed(3));
  x.dispose();
});

test('splitHeads: one-pass q/kT/v split matches reshapes and transposes, with its gradient', () => {
  const rng = new Rng(22);
  const [b, t, h, dh] = [2, 3, 2, 4];
  const qkv = randn([b, t, 3 * h * dh], rng) as tf.Tensor3D;
  const { q, kT, v } = splitHeads(qkv, h, 0.5);
  const x = tf.transpose(tf.reshape(qkv, [b, t, 3, h, dh]), [2, 0, 3, 1, 4]);
  const parts = tf.split(x, 3, 0).map((p) => tf.reshape(p, [b * h, t, dh]));
  assert.deepEqual(q.shape, [b * h, t, dh]);
  assert.deepEqual(kT.shape, [b * h, dh, t]);
  assert.ok(maxDiff(q, tf.mul(parts[0]!, 0.5)) < 1e-7);
  assert.ok(maxDiff(kT, tf.transpose(parts[1]!, [0, 2, 1])) < 1e-7);
  assert.ok(maxDiff(v, parts[2]!) < 1e-7);
  // Weight the three outputs differently so a mix-up in the gradient would show.
  gradCheck('splitHeads', (z) => {
    const s = splitHeads(z as tf.Tensor3D, h, 0.5);
    return tf.concat([tf.reshape(s.q, [-1]), tf.reshape(tf.mul(s.kT, 2), [-1]), tf.reshape(tf.mul(s.v, -3), [-1])]);
  }, [qkv], { samples: 24 });
  tf.dispose([qkv, q, kT, v, x, ...parts]);
});

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] as number);
}

test('GatherV2 kernel: axis-0 row gathers (fast path) and other axes (fallback), bounds checked', () => {
  const x = tf.tensor3d(Float32Array.from({ length: 24 }, (_, i) => i * 0.5 - 3), [4, 3, 2]);
  const ids = tf.tensor2d([[3, 0], [3, 1]], [2, 2], 'int32');
  const g = tf.gather(x, ids);
  assert.deepEqual(g.shape, [2, 2, 3, 2]);
  const xs = x.arraySync();
  assert.deepEqual(g.arraySync(), [[xs[3], xs[0]], [xs[3], xs[1]]]);
  const gi = tf.gather(tf.tensor2d([[1, 2], [3, 4], [5, 6]], [3, 2], 'int32'), tf.tensor1d([2, 2, 0], 'int32'));
  assert.deepEqual(gi.arraySync(), [[5, 6], [5, 6], [1, 2]]);
  const axis1 = tf.gather(x, tf.tensor1d([2, 0], 'int32'), 1); // fallback path
  assert.deepEqual(axis1.arraySync(), xs.map((plane) => [plane[2], plane[0]]));
  const before = tf.memory().numTensors;
  assert.throws(() => tf.gather(x, tf.tensor1d([4], 'int32')), /index value 4 is not in \[0, 3\]/);
  assert.ok(tf.memory().numTensors <= before + 1, 'a failed gather leaves at most its index tensor');
  tf.dispose([x, ids, g, gi, axis1]);
});
