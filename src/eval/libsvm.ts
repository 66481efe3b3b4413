/**
 * A typed door to libsvm (libsvm-js: libsvm 3.22 compiled to wasm, the solver scikit-learn's SVC
 * and SVR wrap). libsvm-js is CommonJS and its emscripten glue has two habits we undo at load:
 * it tries `fetch()` on a file path first (fails in Node and prints a warning before falling back),
 * and it installs a process-wide `unhandledRejection` handler that silently exits with code 1.
 */
import { createRequire } from 'node:module';

export type KernelName = 'linear' | 'rbf';

/** One SVM configuration. `gamma` is used by the RBF kernel only; `epsilon` by SVR only. */
export interface SvmParams {
  kernel: KernelName;
  C: number;
  gamma?: number;
  epsilon?: number;
  /** SVC only: per-class multipliers of C (libsvm -wi), e.g. balanced weights against imbalance. */
  classWeights?: Record<number, number>;
}

interface LibsvmInstance {
  train(samples: number[][], labels: number[]): void;
  /** The command line libsvm-js passes to libsvm (it reads samples[0].length only when no gamma is set). */
  getCommand(samples: number[][]): string;
  predictOne(sample: number[]): number;
  free(): void;
}
interface LibsvmClass {
  new (options: Record<string, unknown>): LibsvmInstance;
  SVM_TYPES: { C_SVC: string; EPSILON_SVR: string };
  KERNEL_TYPES: { LINEAR: string; RBF: string };
}

let loading: Promise<LibsvmClass> | undefined;

/** Load the wasm build once (idempotent; ~50 ms). */
export function loadLibsvm(): Promise<LibsvmClass> {
  if (!loading) {
    loading = (async () => {
      const require = createRequire(import.meta.url);
      const before = new Set(process.listeners('unhandledRejection'));
      const g = globalThis as { fetch?: unknown };
      const savedFetch = g.fetch;
      g.fetch = undefined; // emscripten then reads the .wasm with fs, without the noisy fallback
      let pending: Promise<LibsvmClass>;
      try {
        pending = require('libsvm-js/wasm') as Promise<LibsvmClass>;
      } finally {
        g.fetch = savedFetch;
      }
      for (const l of process.listeners('unhandledRejection')) {
        if (!before.has(l)) process.removeListener('unhandledRejection', l);
      }
      return pending;
    })();
  }
  return loading;
}

/** A trained SVM. Call `free()` when done: libsvm's memory lives in the wasm heap, outside the GC. */
export interface SvmModel {
  /** Predict rows of `x` (`[n, d]` row-major). */
  predict(x: Float64Array, n: number): Float64Array;
  free(): void;
}

function rows(x: Float64Array, n: number, d: number, order?: number[]): number[][] {
  const out: number[][] = new Array(n);
  for (let i = 0; i < n; i++) {
    const r = order ? (order[i] as number) : i;
    out[i] = Array.from(x.subarray(r * d, r * d + d));
  }
  return out;
}

/**
 * libsvm-js hands its options to libsvm as one command line that js-interfaces.c copies into a
 * 256-byte stack buffer without a bound: a longer one (nine balanced class weights at full float
 * precision already is) overflows it, and libsvm then trains on garbled options or exits the whole
 * process (code 1, no message). So options equal to libsvm's own defaults are left out, numbers are
 * written with 7 significant digits (fewer if needed), and a command that still does not fit (as
 * libsvm-js itself writes it) is a RangeError here.
 */
const COMMAND_LIMIT = 255;

/** libsvm's own epsilon (js-interfaces.c), left out of the command; its tolerance 1e-3 and shrinking are scikit-learn's too. */
const DEFAULT_EPSILON = 0.1;

/** `x` with `digits` significant digits (as a number, so libsvm-js writes it compactly). */
function compact(x: number, digits: number): number {
  return Number(x.toPrecision(digits));
}

/** A libsvm-js instance for `p` whose command line fits libsvm's buffer. */
function svmFor(lib: LibsvmClass, type: 'svc' | 'svr', p: SvmParams, d: number): LibsvmInstance {
  if (!(p.C > 0) || !Number.isFinite(p.C)) throw new RangeError(`SVM cost C must be a finite number > 0, got ${p.C}`);
  // libsvm-js writes a gamma for every kernel (1/d at full precision when not given), so one is always passed
  const gamma = p.kernel === 'rbf' ? (p.gamma ?? 1 / d) : 1 / d;
  if (!(gamma > 0) || !Number.isFinite(gamma)) throw new RangeError(`SVM gamma must be a finite number > 0, got ${gamma}`);
  const epsilon = p.epsilon ?? DEFAULT_EPSILON;
  if (!(epsilon >= 0) || !Number.isFinite(epsilon)) throw new RangeError(`SVR epsilon must be a finite number >= 0, got ${epsilon}`);
  const weights = type === 'svc' && p.classWeights ? Object.entries(p.classWeights) : [];
  for (const [label, w] of weights) {
    if (!Number.isInteger(Number(label)) || !(w > 0) || !Number.isFinite(w)) throw new RangeError(`SVM class weight of class ${label} must be a finite number > 0, got ${w}`);
  }
  let length = 0;
  for (const digits of [7, 5, 4]) {
    const svm = new lib({
      type: type === 'svc' ? lib.SVM_TYPES.C_SVC : lib.SVM_TYPES.EPSILON_SVR,
      kernel: p.kernel === 'rbf' ? lib.KERNEL_TYPES.RBF : lib.KERNEL_TYPES.LINEAR,
      cost: compact(p.C, digits),
      gamma: compact(gamma, digits),
      ...(type === 'svr' && epsilon !== DEFAULT_EPSILON ? { epsilon: compact(epsilon, digits) } : {}),
      cacheSize: 200,
      quiet: true,
      ...(weights.length > 0 ? { weight: Object.fromEntries(weights.map(([label, w]) => [label, compact(w, digits)])) } : {}),
    });
    length = svm.getCommand([[]]).length; // the samples are read only for a missing gamma
    if (length <= COMMAND_LIMIT) return svm;
  }
  throw new RangeError(`libsvm options do not fit libsvm-js's ${COMMAND_LIMIT + 1}-byte command line (${length} characters with ${weights.length} class weights); use fewer classes or no class weights`);
}

function wrap(svm: LibsvmInstance, d: number): SvmModel {
  let freed = false;
  return {
    predict(x: Float64Array, n: number): Float64Array {
      if (freed) throw new Error('SvmModel.predict after free()');
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = svm.predictOne(Array.from(x.subarray(i * d, i * d + d)));
      return out;
    },
    free(): void {
      if (!freed) svm.free();
      freed = true;
    },
  };
}

/**
 * Train a C-SVC on `x` `[n, d]` with integer class labels. Rows are stably sorted by label first:
 * libsvm orders classes by first appearance (which decides one-vs-one vote ties), scikit-learn by
 * value, so sorting makes both agree and makes ties deterministic (the smaller label wins).
 */
export async function trainSvc(x: Float64Array, n: number, d: number, labels: ArrayLike<number>, p: SvmParams): Promise<SvmModel> {
  const lib = await loadLibsvm();
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (labels[a] as number) - (labels[b] as number) || a - b);
  const svm = svmFor(lib, 'svc', p, d);
  svm.train(rows(x, n, d, order), order.map((i) => labels[i] as number));
  return wrap(svm, d);
}

/** Train an epsilon-SVR on `x` `[n, d]` with real targets. */
export async function trainSvr(x: Float64Array, n: number, d: number, targets: ArrayLike<number>, p: SvmParams): Promise<SvmModel> {
  const lib = await loadLibsvm();
  const svm = svmFor(lib, 'svr', p, d);
  svm.train(rows(x, n, d), Array.from(targets));
  return wrap(svm, d);
}
