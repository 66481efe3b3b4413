import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf, ready } from '../src/tensor/backend.js';
import { AdamW, clipByGlobalNorm, defaultDecay } from '../src/train/optimizer.js';
import { learningRate, scheduleConfig } from '../src/train/schedule.js';
import { train, type TrainerSnapshot, type LossOutput, type StepContext } from '../src/train/trainer.js';
import { batchIndices, epochOrder, padSequences } from '../src/data/batches.js';
import { decodeSafetensors, encodeSafetensors } from '../src/util/safetensors.js';
import { CheckpointError, ConfigError, TrainingDivergedError } from '../src/util/errors.js';
import { Rng } from '../src/util/rng.js';

before(async () => {
  await ready();
});

const close = (a: number, b: number, tol: number, msg = ''): void => assert.ok(Math.abs(a - b) <= tol, `${msg} ${a} vs ${b}`);

test('AdamW: two steps equal the hand-computed decoupled update; biases are not decayed', () => {
  const w = tf.variable(tf.tensor2d([[1, -2]]), true);
  const b = tf.variable(tf.tensor1d([0.5]), true);
  const opt = new AdamW({ w, b }, { weightDecay: 0.1 });
  const g1 = { w: [0.5, -1], b: [2] };
  const g2 = { w: [-0.25, 3], b: [1] };
  const lr1 = 0.1, lr2 = 0.05;
  // reference in float64
  const ref = (p0: number[], gs: number[][], lrs: number[], decay: boolean): number[] => {
    const p = p0.slice(), m = p.map(() => 0), v = p.map(() => 0);
    gs.forEach((g, k) => {
      const t = k + 1;
      for (let i = 0; i < p.length; i++) {
        if (decay) p[i]! *= 1 - lrs[k]! * 0.1;
        m[i] = 0.9 * m[i]! + 0.1 * g[i]!;
        v[i] = 0.999 * v[i]! + 0.001 * g[i]! ** 2;
        p[i]! -= (lrs[k]! * (m[i]! / (1 - 0.9 ** t))) / (Math.sqrt(v[i]! / (1 - 0.999 ** t)) + 1e-8);
      }
    });
    return p;
  };
  tf.tidy(() => opt.step({ w: tf.tensor2d([g1.w]), b: tf.tensor1d(g1.b) }, lr1));
  // after one step the Adam direction is sign(g): w = p(1 − lr·wd) − lr·sign(g)
  const w1 = Array.from(w.dataSync());
  close(w1[0]!, 0.99 - 0.1, 1e-6);
  close(w1[1]!, -1.98 + 0.1, 1e-6);
  close(b.dataSync()[0]!, 0.5 - 0.1, 1e-6, 'bias: no decay');
  tf.tidy(() => opt.step({ w: tf.tensor2d([g2.w]), b: tf.tensor1d(g2.b) }, lr2));
  const rw = ref([1, -2], [g1.w, g2.w], [lr1, lr2], true);
  const rb = ref([0.5], [g1.b, g2.b], [lr1, lr2], false);
  Array.from(w.dataSync()).forEach((x, i) => close(x, rw[i]!, 1e-6, `w[${i}]`));
  close(b.dataSync()[0]!, rb[0]!, 1e-6, 'b');
  assert.equal(opt.steps, 2);
  opt.dispose();
  w.dispose();
  b.dispose();
});

test('AdamW: default decay excludes rank-1, embeddings and norms; state round-trips through safetensors', () => {
  assert.equal(defaultDecay('blocks.0.attn.wqkv', [4, 12]), true);
  assert.equal(defaultDecay('blocks.0.attn.bqkv', [12]), false);
  assert.equal(defaultDecay('wordEmbedding', [100, 8]), false);
  assert.equal(defaultDecay('ln1.gamma', [8]), false);
  const mk = (): tf.Variable => tf.variable(tf.tensor2d([[0.3, -0.7], [1.1, 0.2]]), true);
  const p1 = mk(), p2 = mk();
  const a = new AdamW({ p: p1 });
  const b = new AdamW({ p: p2 });
  const g = (): Record<string, tf.Tensor> => ({ p: tf.tensor2d([[0.1, -0.4], [0.2, 0.9]]) });
  tf.tidy(() => a.step(g(), 0.01));
  tf.tidy(() => b.step(g(), 0.01));
  // b loses its state and gets a's back through bytes
  const bytes = encodeSafetensors(a.exportState());
  const b2 = new AdamW({ p: p2 });
  b2.importState(decodeSafetensors(bytes).tensors);
  tf.tidy(() => a.step(g(), 0.01));
  tf.tidy(() => b2.step(g(), 0.01));
  assert.deepEqual(Array.from(p1.dataSync()), Array.from(p2.dataSync()), 'bit-identical after import');
  const bad = a.exportState();
  bad['m.p'] = { dtype: 'F32', shape: [4], data: new Float32Array(4) };
  assert.throws(() => b2.importState(bad, 'ckpt/optimizer.safetensors'), (e: unknown) => e instanceof CheckpointError && /m\.p.*shape/.test((e as Error).message) && /ckpt/.test((e as Error).message));
  assert.throws(() => new AdamW({ p: p1 }, { beta1: 1 }), ConfigError);
  for (const o of [a, b, b2]) o.dispose();
  p1.dispose();
  p2.dispose();
});

test('global-norm clipping scales all gradients together', () => {
  const grads = { a: tf.tensor1d([3]), b: tf.tensor2d([[4, 0]]) };
  const c = clipByGlobalNorm(grads, 1);
  close(c.norm, 5, 1e-6);
  close(c.grads.a!.dataSync()[0]!, 0.6, 1e-5);
  close(c.grads.b!.dataSync()[0]!, 0.8, 1e-5);
  const d = clipByGlobalNorm(grads, 10);
  assert.deepEqual(Array.from(d.grads.b!.dataSync()), [4, 0]);
  tf.dispose([...Object.values(grads), ...Object.values(c.grads), ...Object.values(d.grads)]);
});

test('schedule: linear warm-up then cosine to the floor', () => {
  const cfg = scheduleConfig({ peakLr: 1, warmupSteps: 10, totalSteps: 111, minRatio: 0.1 });
  close(learningRate(0, cfg), 0.1, 1e-12);
  close(learningRate(4, cfg), 0.5, 1e-12);
  close(learningRate(9, cfg), 1, 1e-12);
  close(learningRate(10, cfg), 1, 1e-12);
  close(learningRate(60, cfg), 0.55, 1e-12, 'midpoint of the cosine');
  close(learningRate(110, cfg), 0.1, 1e-12);
  close(learningRate(500, cfg), 0.1, 1e-12);
  for (let s = 11; s < 111; s++) assert.ok(learningRate(s, cfg) < learningRate(s - 1, cfg));
  assert.throws(() => scheduleConfig({ totalSteps: 0 }), ConfigError);
});

test('batches: epoch permutations cover every item once per epoch, pure in (seed, step)', () => {
  const n = 10, B = 4;
  const seen: number[] = [];
  for (let s = 0; s < 5; s++) seen.push(...batchIndices(n, B, 3, s)); // 20 items = 2 epochs
  assert.deepEqual(seen.slice(0, 10).sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(seen.slice(10).sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(Array.from(epochOrder(n, 3, 0)), seen.slice(0, 10));
  assert.notDeepEqual(Array.from(epochOrder(n, 3, 1)), seen.slice(0, 10));
  assert.deepEqual(batchIndices(n, B, 3, 3), batchIndices(n, B, 3, 3));
  const p = padSequences([{ data: Float32Array.from([1, 2]), count: 1 }, { data: Float32Array.from([3, 4, 5, 6, 7, 8]), count: 3 }], 2, 2);
  assert.equal(p.len, 2);
  assert.deepEqual(Array.from(p.data), [1, 2, 0, 0, 3, 4, 5, 6]);
  assert.deepEqual(Array.from(p.mask), [1, 0, 1, 1]);
});

/** A toy regression problem: y = x·w* + b* + noise, with a random dropout-like input mask from ctx.rng. */
function toyProblem(seed: number, initSeed = seed): {
  params: Record<string, tf.Variable>;
  loss: (ctx: StepContext) => LossOutput;
  validate: () => LossOutput;
  dispose: () => void;
} {
  const n = 64, d = 5;
  const r = new Rng(1234); // the data is fixed; `seed` drives init, order and noise
  const x = Float32Array.from({ length: n * d }, () => r.normal());
  const wTrue = Float32Array.from({ length: d }, () => r.normal());
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0.5;
    for (let j = 0; j < d; j++) s += x[i * d + j]! * wTrue[j]!;
    y[i] = s;
  }
  const init = new Rng(initSeed);
  const params = {
    w: tf.tidy(() => tf.variable(tf.tensor2d(Float32Array.from({ length: d }, () => init.normal(0, 0.1)), [d, 1]), true)),
    bias: tf.tidy(() => tf.variable(tf.zeros([1]), true)),
  };
  const forward = (rows: ArrayLike<number>, rng: Rng | null): LossOutput => {
    const xs = new Float32Array(rows.length * d);
    const ys = new Float32Array(rows.length);
    Array.from(rows).forEach((row, i) => {
      xs.set(x.subarray(row * d, row * d + d), i * d);
      ys[i] = y[row]!;
    });
    // a little randomness per step, so determinism/resume tests exercise the per-step Rng
    const keep = Float32Array.from({ length: rows.length * d }, () => (rng && rng.next() < 0.1 ? 0 : 1));
    const pred = tf.add(tf.matMul(tf.mul(tf.tensor2d(xs, [rows.length, d]), tf.tensor2d(keep, [rows.length, d])), params.w), params.bias);
    const mse = tf.mean(tf.square(tf.sub(pred, tf.tensor2d(ys, [rows.length, 1])))) as tf.Scalar;
    const l1 = tf.mean(tf.abs(params.w)) as tf.Scalar;
    return { loss: mse, parts: { mse, l1 } };
  };
  return {
    params,
    loss: (ctx) => forward(batchIndices(n, 8, seed, ctx.step), ctx.rng),
    validate: () => forward(Array.from({ length: n }, (_, i) => i), null),
    dispose: () => tf.dispose(Object.values(params)),
  };
}

test('trainer: loss falls, validation recorded, deterministic per seed, no tensor leaks', async () => {
  const run = async (seed: number, steps: number) => {
    const p = toyProblem(seed);
    const counts: number[] = [];
    const r = await train({
      params: p.params, loss: p.loss, validate: p.validate, steps, seed, lr: 0.05, warmupSteps: 2, evalEvery: 10, quiet: true,
      onStep: () => counts.push(tf.memory().numTensors),
    });
    const w = Array.from(p.params.w!.dataSync());
    p.dispose();
    return { r, counts, w };
  };
  const before = tf.memory().numTensors;
  const a = await run(7, 40);
  assert.equal(tf.memory().numTensors, before, 'all trainer and optimizer tensors released');
  assert.equal(new Set(a.counts.slice(1)).size, 1, `tensor count flat across steps: ${a.counts.slice(0, 5)}`);
  const losses = a.r.history.map((h) => h.loss);
  assert.ok(losses.slice(-5).reduce((s, x) => s + x) < 0.3 * losses.slice(0, 5).reduce((s, x) => s + x), `loss fell: ${losses[0]} → ${losses.at(-1)}`);
  assert.deepEqual(a.r.validation.map((v) => v.step), [10, 20, 30, 40]);
  assert.ok(a.r.validation[3]!.loss < a.r.validation[0]!.loss);
  assert.deepEqual(Object.keys(a.r.history[0]!.parts), ['mse', 'l1']);
  close(a.r.history[0]!.parts.mse!, a.r.history[0]!.loss, 0);
  const b = await run(7, 40);
  assert.deepEqual(b.r.history.map((h) => h.loss), losses, 'same seed → same losses bit for bit');
  assert.deepEqual(b.w, a.w);
  const c = await run(8, 40);
  assert.notDeepEqual(c.r.history.map((h) => h.loss), losses);
});

test('trainer: 6 steps straight equals 3 steps + kill + resume + 3 steps, weights bit-identical', async () => {
  const steps = 6, seed = 21;
  const common = { steps, seed, lr: 0.05, warmupSteps: 2, checkpointEvery: 3, quiet: true, data: { toy: 64 } };
  // uninterrupted
  const a = toyProblem(seed);
  const ra = await train({ params: a.params, loss: a.loss, ...common });
  const wa = Array.from(a.params.w!.dataSync());
  const ba = Array.from(a.params.bias!.dataSync());
  // killed after the checkpoint at step 3: keep what a checkpoint would hold, as bytes/JSON
  const k = toyProblem(seed);
  let saved: { weights: Uint8Array; optimizer: Uint8Array; state: string } | undefined;
  const rk = await train({
    params: k.params, loss: k.loss, ...common, stopAt: 4,
    save: async (snap: TrainerSnapshot) => {
      saved = {
        weights: encodeSafetensors(Object.fromEntries(Object.entries(k.params).map(([n, v]) => [n, { dtype: 'F32' as const, shape: v.shape, data: v.dataSync() as Float32Array }]))),
        optimizer: encodeSafetensors(snap.optimizer),
        state: JSON.stringify(snap.state),
      };
    },
  });
  assert.equal(rk.stopped, true);
  assert.equal(rk.state.step, 4, 'one step after the checkpoint is lost with the kill');
  k.dispose();
  // a fresh process: new params (another init on purpose), weights loaded from the checkpoint
  const c = toyProblem(seed, 999);
  const w = decodeSafetensors(saved!.weights).tensors;
  for (const [n, v] of Object.entries(c.params)) v.assign(tf.tensor(w[n]!.data as Float32Array, w[n]!.shape));
  const state = JSON.parse(saved!.state);
  assert.equal(state.step, 3);
  const rc = await train({ params: c.params, loss: c.loss, ...common, resume: { optimizer: decodeSafetensors(saved!.optimizer).tensors, state } });
  assert.deepEqual(Array.from(c.params.w!.dataSync()), wa, 'weights bit-identical');
  assert.deepEqual(Array.from(c.params.bias!.dataSync()), ba);
  assert.deepEqual(rc.history.map((h) => h.loss), ra.history.map((h) => h.loss), 'history continues seamlessly');
  c.dispose();
  a.dispose();
  // resuming with another seed or data order is refused
  const d = toyProblem(seed);
  await assert.rejects(train({ params: d.params, loss: d.loss, ...common, seed: 5, resume: { optimizer: decodeSafetensors(saved!.optimizer).tensors, state } }), CheckpointError);
  await assert.rejects(train({ params: d.params, loss: d.loss, ...common, data: { toy: 65 }, resume: { optimizer: decodeSafetensors(saved!.optimizer).tensors, state } }), CheckpointError);
  d.dispose();
});

test('trainer: divergence is reported, not trained through', async () => {
  const v = tf.variable(tf.scalar(1), true);
  await assert.rejects(
    train({ params: { v }, loss: () => { const l = tf.div(v, tf.scalar(0)) as tf.Scalar; return { loss: l, parts: {} }; }, steps: 2, seed: 1, quiet: true }),
    (e: unknown) => e instanceof TrainingDivergedError && e.code === 'TRAINING_DIVERGED' && e.step === 0 && /training diverged at step 0/.test(e.message),
  );
  v.dispose();
});
