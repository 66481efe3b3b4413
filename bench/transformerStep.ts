/**
 * One training step of the shared Transformer stack (src/model/transformer.ts) against PyTorch
 * doing the same step (../shared/peers/torch_transformer_step.py): 2 pre-LN layers, width 256,
 * 4 heads, FFN 1024, sequence 128, batch 16, MSE on the output, Adam.
 * Difference, for honesty: our blocks have biases (the peer's have none), i.e. slightly more
 * work on our side. Both use ReLU in the FFN.
 *
 * Measured in one run: our step with the native OpenBLAS kernels on 1 and 2 threads (when the
 * addon is built; src/tensor/native.ts), two data-parallel workers (1 thread each), the wasm-only
 * kernels (the fallback), and PyTorch on 1 and 2 threads; ratios compare like thread counts.
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
import { loadNative, nativeUnavailableReason, setNativeThreads } from '../src/tensor/native.js';
import { nativeKernelsActive, setNativeKernels } from '../src/tensor/wasmKernels.js';

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
  setNativeThreads(1); // one core per worker
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

/** Same number of steps for the single-thread run and the workers, so their parameters can be compared. */
const STEPS = 4;

export const transformerStepBenchmark: Benchmark = {
  name: 'transformerStep',
  summary: `one Adam training step, ${L} pre-LN layers d=${D} h=${H} ffn=${F}, batch ${B} x seq ${T}: musicbert (tfjs-wasm + native OpenBLAS kernels) vs PyTorch, 1 and 2 threads`,
  async run() {
    await ready();
    const native = nativeKernelsActive();
    const gflops = (s: number) => round(stepFlops() / s / 1e9, 1);
    const out: Record<string, unknown> = {
      step_gflop: round(stepFlops() / 1e9, 2),
      musicbert_native: native ? `OpenBLAS ${loadNative()?.info().corename ?? ''}`.trim() : `off: ${nativeUnavailableReason() ?? 'not installed'}`,
    };
    // The default path: native kernels on 1 thread when built, else the wasm kernels.
    if (native) setNativeThreads(1);
    const ours = await measureTransformerStep(STEPS);
    Object.assign(out, {
      musicbert_train_step_s: round(ours.trainStepS),
      musicbert_train_step_min_s: round(ours.minStepS), // the least disturbed step (the machine is shared)
      musicbert_fwd_s: round(ours.fwdS),
      musicbert_gflops: round(ours.gflops, 1),
    });
    let two: Awaited<ReturnType<typeof measureTransformerStep>> | undefined;
    let wasm: Awaited<ReturnType<typeof measureTransformerStep>> = ours;
    if (native) {
      setNativeThreads(2);
      try {
        two = await measureTransformerStep(STEPS);
      } finally {
        setNativeThreads(1);
      }
      out.musicbert_native_2threads_train_step_s = round(two.trainStepS);
      out.musicbert_native_2threads_gflops = round(two.gflops, 1);
      // The fallback everyone without the addon gets (fewer steps: ~1 s each).
      setNativeKernels(false);
      try {
        wasm = await measureTransformerStep(2);
      } finally {
        setNativeKernels(true);
      }
      out.musicbert_wasm_train_step_s = round(wasm.trainStepS);
      out.musicbert_wasm_gflops = round(wasm.gflops, 1);
    }
    const dp = await measureDataParallel(2, STEPS);
    // Same steps on the same batch: the replicas must land where the single thread did.
    let drift = 0;
    dp.watched.forEach((v, i) => (drift = Math.max(drift, Math.abs(v - (ours.watched[i] as number)))));
    Object.assign(out, {
      musicbert_2workers_train_step_s: round(dp.trainStepS),
      musicbert_2workers_gflops: gflops(dp.trainStepS),
      musicbert_2workers_max_param_drift: drift,
    });
    const peerArgs = ['--B', String(B), '--T', String(T), '--D', String(D), '--F', String(F), '--H', String(H), '--L', String(L)];
    const peer1 = runPeer('torch_transformer_step.py', ['--threads', '1', ...peerArgs]);
    const peer2 = runPeer('torch_transformer_step.py', ['--threads', '2', ...peerArgs]);
    if (peer1.ok) {
      const ps = Number(peer1.result.train_step_s);
      Object.assign(out, { peer: peer1.result.peer, peer_train_step_s: ps, peer_fwd_s: peer1.result.fwd_s, peer_gflops: gflops(ps) });
      out.ratio_train_step = round(ours.trainStepS / ps, 2);
      if (native) out.ratio_wasm_train_step = round(wasm.trainStepS / ps, 2);
    } else {
      out.peer = `not run: ${peer1.reason}`;
    }
    if (peer2.ok) {
      const ps2 = Number(peer2.result.train_step_s);
      Object.assign(out, { peer_2threads_train_step_s: ps2, peer_2threads_gflops: gflops(ps2) });
      if (two) out.ratio_native_2threads_vs_peer_2threads = round(two.trainStepS / ps2, 2);
      out.ratio_2workers_vs_peer_2threads = round(dp.trainStepS / ps2, 2);
    }
    // Best against best: the fastest way we have to run the step vs PyTorch's fastest thread count.
    const oursBest = Math.min(...[out.musicbert_train_step_s, out.musicbert_native_2threads_train_step_s, out.musicbert_2workers_train_step_s].filter((v): v is number => typeof v === 'number'));
    const peerBest = Math.min(...[out.peer_train_step_s, out.peer_2threads_train_step_s].filter((v): v is number => typeof v === 'number'));
    if (Number.isFinite(peerBest)) out.ratio_best_vs_peer_best = round(oursBest / peerBest, 2);
    const row = (label: string, key: string, ratioKey?: string) => {
      const sec = out[key];
      if (typeof sec !== 'number') return '';
      const ratio = ratioKey && typeof out[ratioKey] === 'number' ? `  ${out[ratioKey]}x PyTorch at the same threads` : '';
      return `  ${label.padEnd(32)} ${sec.toFixed(3)} s/step  ${gflops(sec).toFixed(1).padStart(6)} GFLOP/s${ratio}\n`;
    };
    process.stderr.write(
      row(native ? 'musicbert native, 1 thread' : 'musicbert wasm, 1 thread', 'musicbert_train_step_s', 'ratio_train_step') +
        row('musicbert native, 2 threads', 'musicbert_native_2threads_train_step_s', 'ratio_native_2threads_vs_peer_2threads') +
        row('musicbert 2 workers x 1 thread', 'musicbert_2workers_train_step_s', 'ratio_2workers_vs_peer_2threads') +
        (native ? row('musicbert wasm only, 1 thread', 'musicbert_wasm_train_step_s', 'ratio_wasm_train_step') : '') +
        row('PyTorch, 1 thread', 'peer_train_step_s') +
        row('PyTorch, 2 threads', 'peer_2threads_train_step_s') +
        (out.ratio_best_vs_peer_best !== undefined ? `  best vs best: ${out.ratio_best_vs_peer_best}x\n` : ''),
    );
    return out;
  },
};

function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
