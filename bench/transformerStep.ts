/**
 * One training step of the shared Transformer stack (src/model/transformer.ts) against PyTorch
 * doing the same step (../shared/peers/torch_transformer_step.py, one thread): 2 pre-LN layers,
 * width 256, 4 heads, FFN 1024, sequence 128, batch 16, MSE on the output, Adam.
 * Difference, for honesty: our blocks have biases (the peer's have none), i.e. slightly more
 * work on our side. Both use ReLU in the FFN.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { once } from 'node:events';
import type { Benchmark } from './benchmarks.js';
import { runPeer } from './peers.js';
import { tf, ready } from '../src/tensor/backend.js';
import { initParams, disposeParams, type Params } from '../src/model/params.js';
import { keyPaddingBias, stack, stackSpecs } from '../src/model/transformer.js';
import { Rng } from '../src/util/rng.js';
import { AllReduce, allReduceBuffers, type AllReduceBuffers } from '../src/tensor/allReduce.js';

const B = 16;
const T = 128;
const D = 256;
const F = 1024;
const H = 4;
const L = 2;

/** Matmul FLOPs of one training step (forward ×3 for forward + both backward products). */
function stepFlops(): number {
  const dense = 2 * B * T * (D * 3 * D + D * D + 2 * D * F); // qkv, out, ffn in/out
  const attention = 2 * 2 * B * H * T * T * (D / H); // q·kᵀ and p·v
  return 3 * L * (dense + attention);
}

const SHAPE = { dModel: D, layers: L, ffn: F };
const WATCH = 'blocks.1.ffn.out.weight';

/** Params, data and a step closure over rows [from, to) of the batch (all seeded, so every worker agrees). */
async function setup(from = 0, to = B) {
  await ready();
  const params = initParams(stackSpecs(SHAPE), 0);
  const rng = new Rng(1);
  const rand = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
  const xAll = rand(B * T * D);
  const yAll = rand(B * T * D);
  const rows = to - from;
  const x = tf.tensor3d(xAll.subarray(from * T * D, to * T * D), [rows, T, D]);
  const y = tf.tensor3d(yAll.subarray(from * T * D, to * T * D), [rows, T, D]);
  const layout = { batch: rows, length: T, keep: new Uint8Array(rows * T).fill(1), segment: new Int32Array(T), position: new Int32Array(T), special: new Uint8Array(T) };
  const bias = keyPaddingBias(layout);
  const opts = { heads: H, dropout: 0, training: true, nextSeed: () => 0 };
  const opt = tf.train.adam(1e-3);
  const names = Object.keys(params);
  const vars = names.map((n) => params[n] as tf.Variable);
  const loss = () => tf.losses.meanSquaredError(y, stack(params, SHAPE, x, bias, opts)) as tf.Scalar;
  // Returns nothing from the tidy: tidy walks whatever it returns, element by element for typed arrays.
  const forward = () => tf.tidy(() => {
    stack(params, SHAPE, x, bias, { ...opts, training: false }).dataSync();
  });
  const dispose = () => {
    tf.dispose([x, y, bias]);
    opt.dispose();
    disposeParams(params);
  };
  return { params, names, vars, opt, loss, forward, dispose };
}

/** Single thread: the plain Adam step every trainer runs. */
export async function measureTransformerStep(steps = 3): Promise<{ trainStepS: number; minStepS: number; fwdS: number; gflops: number; watched: Float32Array }> {
  const s = await setup();
  const step = () => {
    const l = s.opt.minimize(s.loss, true, s.vars);
    l?.dataSync();
    l?.dispose();
  };
  step();
  step();
  let minStepS = Infinity;
  let t0 = performance.now();
  for (let i = 0; i < steps; i++) {
    const t1 = performance.now();
    step();
    minStepS = Math.min(minStepS, (performance.now() - t1) / 1000);
  }
  const trainStepS = (performance.now() - t0) / 1000 / steps;
  s.forward();
  t0 = performance.now();
  for (let i = 0; i < steps; i++) s.forward();
  const fwdS = (performance.now() - t0) / 1000 / steps;
  const watched = (s.params[WATCH] as tf.Variable).dataSync() as Float32Array;
  s.dispose();
  return { trainStepS, minStepS, fwdS, gflops: stepFlops() / trainStepS / 1e9, watched };
}

// ---------------------------------------------------------------------------------------------
// Data parallel: one worker thread (its own wasm instance) per core, each on B/world rows,
// averaging gradients through src/tensor/allReduce.ts and applying the same Adam update, so the
// replicas stay identical without shipping parameters around.

interface WorkerSetup {
  role: 'transformerStepWorker';
  rank: number;
  buffers: AllReduceBuffers;
}

async function workerMain(w: WorkerSetup): Promise<void> {
  const per = B / w.buffers.world;
  const s = await setup(w.rank * per, (w.rank + 1) * per);
  const reduce = new AllReduce(w.buffers, w.rank);
  const flat = new Float32Array(w.buffers.size);
  const step = () => {
    const { value, grads } = tf.variableGrads(s.loss, s.vars);
    let off = 0;
    for (const v of s.vars) {
      const g = (grads[v.name] as tf.Tensor).dataSync(); // variableGrads keys on variable names
      flat.set(g, off);
      off += g.length;
    }
    tf.dispose([value, ...Object.values(grads)]);
    const mean = reduce.mean(flat);
    off = 0;
    const averaged = s.vars.map((v) => {
      const t = tf.tensor(mean.subarray(off, off + v.size), v.shape);
      off += v.size;
      return { name: v.name, tensor: t }; // the optimizer keys on variable names
    });
    s.opt.applyGradients(averaged);
    tf.dispose(averaged.map((a) => a.tensor));
  };
  const port = parentPort as NonNullable<typeof parentPort>;
  port.on('message', (msg: string) => {
    if (msg === 'step') {
      step();
      port.postMessage('done');
    } else if (msg === 'stop') {
      const watched = (s.params[WATCH] as tf.Variable).dataSync() as Float32Array;
      s.dispose();
      port.postMessage(watched);
      port.close();
    }
  });
  port.postMessage('ready');
}

export async function measureDataParallel(world = 2, steps = 3): Promise<{ trainStepS: number; watched: Float32Array }> {
  const shapes = stackSpecs(SHAPE);
  const total = Object.values(shapes).reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);
  const buffers = allReduceBuffers(world, total);
  const workers = Array.from({ length: world }, (_, rank) => {
    const data: WorkerSetup = { role: 'transformerStepWorker', rank, buffers };
    // Under tsx (bench/*.ts) the worker registers the TypeScript loader before importing this
    // module; the built JS (dist/bench) is imported directly.
    const tsxApi = import.meta.url.endsWith('.ts') ? import.meta.resolve('tsx/esm/api') : null;
    const boot = `const { workerData } = require('node:worker_threads');
      (async () => { if (workerData.tsxApi) (await import(workerData.tsxApi)).register(); await import(workerData.entry); })();`;
    return new Worker(boot, { eval: true, workerData: { ...data, tsxApi, entry: import.meta.url } });
  });
  try {
    await Promise.all(workers.map((wk) => once(wk, 'message')));
    const step = () => Promise.all(workers.map((wk) => (wk.postMessage('step'), once(wk, 'message'))));
    await step();
    await step();
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) await step();
    const trainStepS = (performance.now() - t0) / 1000 / steps;
    const [watched] = (await Promise.all(workers.map((wk) => (wk.postMessage('stop'), once(wk, 'message'))))).map((m) => m[0] as Float32Array);
    return { trainStepS, watched: watched as Float32Array };
  } finally {
    await Promise.all(workers.map((wk) => wk.terminate()));
  }
}

if (!isMainThread && (workerData as WorkerSetup | undefined)?.role === 'transformerStepWorker') {
  await workerMain(workerData as WorkerSetup);
}

export const transformerStepBenchmark: Benchmark = {
  name: 'transformerStep',
  summary: `one Adam training step, ${L} pre-LN layers d=${D} h=${H} ffn=${F}, batch ${B} x seq ${T}: musicbert (tfjs-wasm) vs PyTorch (1 thread)`,
  async run() {
    const ours = await measureTransformerStep();
    const dp = await measureDataParallel(2);
    // Same 5 steps on the same batch: the replicas must land where the single thread did.
    let drift = 0;
    dp.watched.forEach((v, i) => (drift = Math.max(drift, Math.abs(v - (ours.watched[i] as number)))));
    const peer = runPeer('torch_transformer_step.py', ['--threads', '1', '--B', String(B), '--T', String(T), '--D', String(D), '--F', String(F), '--H', String(H), '--L', String(L)]);
    const out: Record<string, unknown> = {
      musicbert_train_step_s: round(ours.trainStepS),
      musicbert_train_step_min_s: round(ours.minStepS), // the least disturbed step (the machine is shared)
      musicbert_fwd_s: round(ours.fwdS),
      musicbert_gflops: round(ours.gflops, 1),
      musicbert_2workers_train_step_s: round(dp.trainStepS),
      musicbert_2workers_gflops: round(stepFlops() / dp.trainStepS / 1e9, 1),
      musicbert_2workers_max_param_drift: drift,
      step_gflop: round(stepFlops() / 1e9, 2),
    };
    if (peer.ok) {
      const ps = Number(peer.result.train_step_s);
      out.peer = peer.result.peer;
      out.peer_train_step_s = ps;
      out.peer_fwd_s = peer.result.fwd_s;
      out.peer_gflops = round(stepFlops() / ps / 1e9, 1);
      out.ratio_train_step = round(ours.trainStepS / ps, 2);
      out.ratio_train_step_2workers = round(dp.trainStepS / ps, 2);
    } else {
      out.peer = `not run: ${peer.reason}`;
    }
    return out;
  },
};

function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
