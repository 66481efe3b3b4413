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

function options(lib: LibsvmClass, type: 'svc' | 'svr', p: SvmParams, d: number): Record<string, unknown> {
  if (!(p.C > 0)) throw new RangeError(`SVM cost C must be > 0, got ${p.C}`);
  const gamma = p.kernel === 'rbf' ? (p.gamma ?? 1 / d) : 1 / d;
  return {
    type: type === 'svc' ? lib.SVM_TYPES.C_SVC : lib.SVM_TYPES.EPSILON_SVR,
    kernel: p.kernel === 'rbf' ? lib.KERNEL_TYPES.RBF : lib.KERNEL_TYPES.LINEAR,
    cost: p.C,
    gamma,
    epsilon: p.epsilon ?? 0.1,
    // scikit-learn's defaults, so the same inputs give the same model
    tolerance: 1e-3,
    shrinking: true,
    cacheSize: 200,
    quiet: true,
    ...(type === 'svc' && p.classWeights ? { weight: p.classWeights } : {}),
  };
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
  const svm = new lib(options(lib, 'svc', p, d));
  svm.train(rows(x, n, d, order), order.map((i) => labels[i] as number));
  return wrap(svm, d);
}

/** Train an epsilon-SVR on `x` `[n, d]` with real targets. */
export async function trainSvr(x: Float64Array, n: number, d: number, targets: ArrayLike<number>, p: SvmParams): Promise<SvmModel> {
  const lib = await loadLibsvm();
  const svm = new lib(options(lib, 'svr', p, d));
  svm.train(rows(x, n, d), Array.from(targets));
  return wrap(svm, d);
}
