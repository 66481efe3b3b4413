/**
 * Faster kernels for the tfjs wasm backend, where its own are slow for the shapes a Transformer
 * step uses (measured on this machine, 2M-element float32 tensors):
 *   - Transpose: the wasm kernel moves ~10 ns/element (20 ms for [2048,1024]) and ~60 ns/element
 *     for rank 5 (120 ms for the [B,T,3,H,dh] → [3,B,H,T,dh] split of fused q/k/v). Here: a
 *     blocked 2-D transpose and row-block copies in JS straight on the wasm heap.
 *   - Sum over leading axes (bias and LayerNorm parameter gradients): the wasm kernel transposes
 *     first (22 ms for [2048,1024] → [1024]); here one streaming pass.
 *   - Batched matmul ([N,M,K]·[N,K,P], N > 1): the wasm kernel's naive loop runs at ~1–2
 *     GFLOP/s; here N plain XNNPACK products over views into the operands (see ops.ts).
 *   - Attention's q/k/v split, and LayerNorm forward/backward: one pass each instead of a chain
 *     of elementwise kernels.
 *   - Identity: shares the data instead of copying it (see makeIdentity).
 *   - GatherV2 along axis 0 (embedding lookups): one block copy per row.
 * Transpose, Sum, Identity and GatherV2 REPLACE the registered wasm kernels (so tfjs' own gradients benefit
 * too) and fall back to the original kernel for every case they do not handle.
 * test/ops.test.ts checks them against the original kernels.
 *
 * With the optional native addon (native.ts: OpenBLAS on the same heap), installNativeKernels()
 * also routes the products (BatchMatMul, _FusedMatMul, MusicbertBatchMatMul) through cblas_sgemm,
 * transposes included, falling back per call to the wasm kernel for anything it does not handle,
 * the JS loops of Transpose, Sum, LayerNorm, the q/k/v split and im2colᵀ run as C
 * (native/kernels.c) on the same heap, and so does the 2x2 max-pool gradient; test/native.test.ts
 * checks all of them against the wasm/JS kernels.
 */
import { tf } from './backend.js';
import { loadNative, type NativeAddon } from './native.js';

interface WasmTensorData {
  id: number;
  memoryOffset: number;
}
/** The parts of tfjs-backend-wasm's BackendWasm these kernels touch (version pinned: 4.22.0). */
interface WasmBackend {
  dataIdNextNumber: number;
  disposeData(dataId: object): boolean;
  dataIdMap: { get(dataId: object): WasmTensorData };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  wasm: {
    HEAPF32: Float32Array;
    HEAP32: Int32Array;
    cwrap(name: string, ret: null, args: string[]): (...args: unknown[]) => void;
    tfjs: { registerTensor(id: number, size: number, offset: number): void; disposeData(id: number): void };
  };
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };
type KernelFn = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];

export const BATCH_MATMUL_KERNEL = 'MusicbertBatchMatMul';

const product = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

// ---------------------------------------------------------------------------------------------
// Batched matmul over heap views

interface BmmState {
  fn: (...args: unknown[]) => void;
  /** Three tensor ids reserved once from the backend's counter and reused for every view. */
  ids: [number, number, number];
}
const bmmState = new WeakMap<object, BmmState>();

/**
 * N plain [1,M,K]·[1,K,P] products, each over views registered at offsets inside the operands'
 * heap memory, so each takes XNNPACK's fully-connected path instead of the naive batched loop.
 * The views are unregistered right after, which also frees the XNNPACK operator cached on them
 * (so reusing the same three ids never hits a stale operator).
 */
function batchMatMulKernel(args: KernelArgs): tf.TensorInfo {
  const be = args.backend as WasmBackend;
  let state = bmmState.get(be.wasm);
  if (!state) {
    const fn = be.wasm.cwrap('BatchMatMul', null, ['number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number']);
    state = { fn, ids: [be.dataIdNextNumber++, be.dataIdNextNumber++, be.dataIdNextNumber++] };
    bmmState.set(be.wasm, state);
  }
  const { fn, ids } = state;
  const [ia, ib, io] = ids;
  const a = args.inputs.a as tf.TensorInfo;
  const b = args.inputs.b as tf.TensorInfo;
  const [n, m, k] = a.shape as [number, number, number];
  const p = b.shape[2] as number;
  const out = be.makeOutput([n, m, p], 'float32');
  const aOff = be.dataIdMap.get(a.dataId).memoryOffset;
  const bOff = be.dataIdMap.get(b.dataId).memoryOffset;
  const oOff = be.dataIdMap.get(out.dataId).memoryOffset;
  const aShape = new Uint8Array(new Int32Array([1, m, k]).buffer);
  const bShape = new Uint8Array(new Int32Array([1, k, p]).buffer);
  const reg = be.wasm.tfjs;
  for (let i = 0; i < n; i++) {
    reg.registerTensor(ia, m * k, aOff + i * m * k * 4);
    reg.registerTensor(ib, k * p, bOff + i * k * p * 4);
    reg.registerTensor(io, m * p, oOff + i * m * p * 4);
    fn(ia, aShape, 3, ib, bShape, 3, 0, 0, io);
    reg.disposeData(ia);
    reg.disposeData(ib);
    reg.disposeData(io);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Transpose

/** Drop size-1 axes and merge input axes that stay adjacent and in order under `perm`. */
export function canonicalPermutation(shape: readonly number[], perm: readonly number[]): { shape: number[]; perm: number[] } {
  const keep = shape.map((d) => d !== 1);
  const remap: number[] = [];
  let next = 0;
  for (let i = 0; i < shape.length; i++) remap.push(keep[i] ? next++ : -1);
  let s = shape.filter((_, i) => keep[i]);
  let p = perm.filter((ax) => keep[ax]).map((ax) => remap[ax] as number);
  // Merge runs: output axes j, j+1 that read input axes a, a+1.
  let merged = true;
  while (merged && p.length > 1) {
    merged = false;
    for (let j = 0; j + 1 < p.length; j++) {
      const a = p[j] as number;
      if (p[j + 1] === a + 1) {
        s = [...s.slice(0, a), (s[a] as number) * (s[a + 1] as number), ...s.slice(a + 2)];
        p = [...p.slice(0, j + 1), ...p.slice(j + 2)].map((ax) => (ax > a ? ax - 1 : ax));
        merged = true;
        break;
      }
    }
  }
  return { shape: s, perm: p };
}

/**
 * dst[b, c, r] = src[b, r, c] for b < batch, in 64x64 tiles, writing sequentially within a tile
 * (measured 2x faster than reading sequentially). Works on the Int32 view for every 4-byte dtype:
 * a bit copy, and one element type keeps V8's access monomorphic.
 */
function transposeBatched2d(heap: Int32Array, src: number, dst: number, batch: number, rows: number, cols: number): void {
  const BS = 64;
  const plane = rows * cols;
  for (let b = 0; b < batch; b++) {
    const s0 = src + b * plane;
    const d0 = dst + b * plane;
    for (let r0 = 0; r0 < rows; r0 += BS) {
      const r1 = Math.min(r0 + BS, rows);
      for (let c0 = 0; c0 < cols; c0 += BS) {
        const c1 = Math.min(c0 + BS, cols);
        for (let c = c0; c < c1; c++) {
          let s = s0 + r0 * cols + c;
          let d = d0 + c * rows + r0;
          for (let r = r0; r < r1; r++, s += cols) heap[d++] = heap[s] as number;
        }
      }
    }
  }
}

/** Permutations that keep the last axis: copy contiguous rows of `inner` elements. */
function transposeRows(heap: Int32Array, src: number, dst: number, shape: number[], perm: number[]): void {
  const rank = shape.length;
  const inner = shape[rank - 1] as number;
  const inStrides = new Array<number>(rank);
  inStrides[rank - 1] = 1;
  for (let i = rank - 2; i >= 0; i--) inStrides[i] = (inStrides[i + 1] as number) * (shape[i + 1] as number);
  const outShape = perm.map((a) => shape[a] as number);
  const srcStride = perm.map((a) => inStrides[a] as number);
  const outer = rank - 1; // odometer over output axes 0..rank-2
  const idx = new Array<number>(outer).fill(0);
  const rowsTotal = outShape.slice(0, outer).reduce((x, y) => x * y, 1);
  let s = 0;
  let d = dst;
  for (let row = 0; row < rowsTotal; row++) {
    const from = src + s;
    for (let k = 0; k < inner; k++) heap[d + k] = heap[from + k] as number;
    d += inner;
    for (let ax = outer - 1; ax >= 0; ax--) {
      idx[ax] = (idx[ax] as number) + 1;
      s += srcStride[ax] as number;
      if ((idx[ax] as number) < (outShape[ax] as number)) break;
      s -= (srcStride[ax] as number) * (outShape[ax] as number);
      idx[ax] = 0;
    }
  }
}

function makeTranspose(original: KernelFn): KernelFn {
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const perm = (args.attrs as { perm: number[] }).perm;
    if (x.dtype !== 'float32' && x.dtype !== 'int32') return original(args);
    const c = canonicalPermutation(x.shape, perm);
    const r = c.perm.length;
    const batched2d = r >= 2 && c.perm.slice(0, r - 2).every((a, i) => a === i) && c.perm[r - 2] === r - 1 && c.perm[r - 1] === r - 2;
    const rowsCase = r >= 2 && c.perm[r - 1] === r - 1;
    if (!batched2d && !rowsCase) return original(args);
    const be = args.backend as WasmBackend;
    const out = be.makeOutput(perm.map((a) => x.shape[a] as number), x.dtype);
    const heap = be.wasm.HEAP32; // read after makeOutput: memory may have grown (new views)
    const src = be.dataIdMap.get(x.dataId).memoryOffset >> 2;
    const dst = be.dataIdMap.get(out.dataId).memoryOffset >> 2;
    const n = nativeKernels();
    if (batched2d) {
      const rows = c.shape[r - 2] as number;
      const cols = c.shape[r - 1] as number;
      const batch = product(c.shape.slice(0, r - 2));
      if (n) n.transpose2d(heap.buffer as ArrayBuffer, src * 4, dst * 4, batch, rows, cols);
      else transposeBatched2d(heap, src, dst, batch, rows, cols);
    } else if (n && r <= 6) {
      const pad = (xs: number[]) => [...xs, ...new Array<number>(6 - xs.length).fill(0)];
      n.permuteRows(heap.buffer as ArrayBuffer, src * 4, dst * 4, r, ...(pad(c.shape) as Six), ...(pad(c.perm) as Six));
    } else {
      transposeRows(heap, src, dst, c.shape, c.perm);
    }
    return out;
  };
}

// ---------------------------------------------------------------------------------------------
// Sum over leading axes

function makeSum(original: KernelFn): KernelFn {
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const attrs = args.attrs as { axis: number | number[]; keepDims: boolean };
    const rank = x.shape.length;
    const axes = (Array.isArray(attrs.axis) ? attrs.axis : [attrs.axis]).map((a) => (a < 0 ? a + rank : a)).sort((a, b) => a - b);
    // Only float32 reductions over a leading block of axes [0..k), k < rank.
    if (x.dtype !== 'float32' || axes.length === 0 || axes.length >= rank || !axes.every((a, i) => a === i)) return original(args);
    const rows = x.shape.slice(0, axes.length).reduce((a, b) => a * b, 1);
    const cols = x.shape.slice(axes.length).reduce((a, b) => a * b, 1);
    const outShape = attrs.keepDims ? x.shape.map((d, i) => (i < axes.length ? 1 : d)) : x.shape.slice(axes.length);
    const be = args.backend as WasmBackend;
    const out = be.makeOutput(outShape, 'float32');
    const heap = be.wasm.HEAPF32;
    const src = be.dataIdMap.get(x.dataId).memoryOffset >> 2;
    const dst = be.dataIdMap.get(out.dataId).memoryOffset >> 2;
    const n = nativeKernels();
    if (n) {
      n.colSum(heap.buffer as ArrayBuffer, src * 4, dst * 4, rows, cols);
      return out;
    }
    // Accumulate in float64 blocks of columns so long reductions keep their precision.
    const BLOCK = 1024;
    const acc = new Float64Array(Math.min(BLOCK, cols));
    for (let c0 = 0; c0 < cols; c0 += BLOCK) {
      const w = Math.min(BLOCK, cols - c0);
      acc.fill(0);
      for (let r = 0; r < rows; r++) {
        const o = src + r * cols + c0;
        for (let j = 0; j < w; j++) acc[j] += heap[o + j] as number;
      }
      for (let j = 0; j < w; j++) heap[dst + c0 + j] = acc[j] as number;
    }
    return out;
  };
}

// ---------------------------------------------------------------------------------------------
// Attention head split / merge

export const QKV_SPLIT_KERNEL = 'MusicbertQkvSplit';
export const QKV_MERGE_KERNEL = 'MusicbertQkvMerge';

/**
 * Fused q/k/v product [B,T,3D] (columns [q | k | v], each head-major) → q·scale [B*H,T,dh],
 * kᵀ [B*H,dh,T] and v [B*H,T,dh]: exactly the operands attention multiplies, in one pass instead
 * of a rank-5 transpose, a split, a transpose of k and a scaling (and as many again backward).
 */
function qkvSplitKernel(args: KernelArgs): tf.TensorInfo[] {
  const be = args.backend as WasmBackend;
  const x = args.inputs.x as tf.TensorInfo;
  const { heads, scale } = args.attrs as { heads: number; scale: number };
  const [b, t, d3] = x.shape as [number, number, number];
  const d = d3 / 3;
  const dh = d / heads;
  const q = be.makeOutput([b * heads, t, dh], 'float32');
  const kT = be.makeOutput([b * heads, dh, t], 'float32');
  const v = be.makeOutput([b * heads, t, dh], 'float32');
  const heap = be.wasm.HEAPF32;
  const src = be.dataIdMap.get(x.dataId).memoryOffset >> 2;
  const qo = be.dataIdMap.get(q.dataId).memoryOffset >> 2;
  const ko = be.dataIdMap.get(kT.dataId).memoryOffset >> 2;
  const vo = be.dataIdMap.get(v.dataId).memoryOffset >> 2;
  const n = nativeKernels();
  if (n) {
    n.qkvSplit(heap.buffer as ArrayBuffer, src * 4, qo * 4, ko * 4, vo * 4, b, t, heads, dh, scale);
    return [q, kT, v];
  }
  for (let bi = 0; bi < b; bi++) {
    for (let ti = 0; ti < t; ti++) {
      const row = src + (bi * t + ti) * d3;
      for (let h = 0; h < heads; h++) {
        const head = bi * heads + h;
        const qd = qo + (head * t + ti) * dh;
        const vd = vo + (head * t + ti) * dh;
        const kd = ko + head * dh * t + ti;
        const c = row + h * dh;
        for (let j = 0; j < dh; j++) {
          heap[qd + j] = (heap[c + j] as number) * scale;
          heap[kd + j * t] = heap[c + d + j] as number;
          heap[vd + j] = heap[c + 2 * d + j] as number;
        }
      }
    }
  }
  return [q, kT, v];
}

/** The gradient of qkvSplit: (dq, dkᵀ, dv) → d(qkv) [B,T,3D]. */
function qkvMergeKernel(args: KernelArgs): tf.TensorInfo {
  const be = args.backend as WasmBackend;
  const dq = args.inputs.dq as tf.TensorInfo;
  const dkT = args.inputs.dkT as tf.TensorInfo;
  const dv = args.inputs.dv as tf.TensorInfo;
  const { heads, scale } = args.attrs as { heads: number; scale: number };
  const [bh, t, dh] = dq.shape as [number, number, number];
  const b = bh / heads;
  const d = heads * dh;
  const d3 = 3 * d;
  const out = be.makeOutput([b, t, d3], 'float32');
  const heap = be.wasm.HEAPF32;
  const dst = be.dataIdMap.get(out.dataId).memoryOffset >> 2;
  const qo = be.dataIdMap.get(dq.dataId).memoryOffset >> 2;
  const ko = be.dataIdMap.get(dkT.dataId).memoryOffset >> 2;
  const vo = be.dataIdMap.get(dv.dataId).memoryOffset >> 2;
  const n = nativeKernels();
  if (n) {
    n.qkvMerge(heap.buffer as ArrayBuffer, dst * 4, qo * 4, ko * 4, vo * 4, b, t, heads, dh, scale);
    return out;
  }
  for (let bi = 0; bi < b; bi++) {
    for (let ti = 0; ti < t; ti++) {
      const row = dst + (bi * t + ti) * d3;
      for (let h = 0; h < heads; h++) {
        const head = bi * heads + h;
        const qs = qo + (head * t + ti) * dh;
        const vs = vo + (head * t + ti) * dh;
        const ks = ko + head * dh * t + ti;
        const c = row + h * dh;
        for (let j = 0; j < dh; j++) {
          heap[c + j] = (heap[qs + j] as number) * scale;
          heap[c + d + j] = heap[ks + j * t] as number;
          heap[c + 2 * d + j] = heap[vs + j] as number;
        }
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// LayerNorm over the last axis, forward and backward, one kernel each (tfjs needs ~9 and ~12
// elementwise kernels, each a full pass over the activations).

export const LAYER_NORM_KERNEL = 'MusicbertLayerNorm';
export const LAYER_NORM_GRAD_KERNEL = 'MusicbertLayerNormGrad';

/** x [..., D], gamma [D], beta [D] → y [..., D], mean [rows], rstd [rows] (statistics in float64). */
function layerNormKernel(args: KernelArgs): tf.TensorInfo[] {
  const be = args.backend as WasmBackend;
  const x = args.inputs.x as tf.TensorInfo;
  const { eps } = args.attrs as { eps: number };
  const d = x.shape[x.shape.length - 1] as number;
  const rows = x.shape.slice(0, -1).reduce((a, b) => a * b, 1);
  const y = be.makeOutput([...x.shape], 'float32');
  const mean = be.makeOutput([rows], 'float32');
  const rstd = be.makeOutput([rows], 'float32');
  const heap = be.wasm.HEAPF32;
  const xo = be.dataIdMap.get(x.dataId).memoryOffset >> 2;
  const go = be.dataIdMap.get((args.inputs.gamma as tf.TensorInfo).dataId).memoryOffset >> 2;
  const bo = be.dataIdMap.get((args.inputs.beta as tf.TensorInfo).dataId).memoryOffset >> 2;
  const yo = be.dataIdMap.get(y.dataId).memoryOffset >> 2;
  const mo = be.dataIdMap.get(mean.dataId).memoryOffset >> 2;
  const ro = be.dataIdMap.get(rstd.dataId).memoryOffset >> 2;
  const n = nativeKernels();
  if (n) {
    n.layerNorm(heap.buffer as ArrayBuffer, xo * 4, go * 4, bo * 4, yo * 4, mo * 4, ro * 4, rows, d, eps);
    return [y, mean, rstd];
  }
  for (let r = 0; r < rows; r++) {
    const o = xo + r * d;
    let sum = 0;
    for (let j = 0; j < d; j++) sum += heap[o + j] as number;
    const mu = sum / d;
    let sq = 0;
    for (let j = 0; j < d; j++) {
      const c = (heap[o + j] as number) - mu;
      sq += c * c;
    }
    const rs = 1 / Math.sqrt(sq / d + eps);
    const out = yo + r * d;
    for (let j = 0; j < d; j++) heap[out + j] = ((heap[o + j] as number) - mu) * rs * (heap[go + j] as number) + (heap[bo + j] as number);
    heap[mo + r] = mu;
    heap[ro + r] = rs;
  }
  return [y, mean, rstd];
}

/**
 * dy, x, gamma, mean, rstd → dx, dgamma, dbeta. Per row, with x̂ = (x - mean)·rstd, g = dy·gamma:
 * dx = rstd · (g - mean(g) - x̂ · mean(g·x̂)); dgamma = Σ_rows dy·x̂; dbeta = Σ_rows dy.
 */
function layerNormGradKernel(args: KernelArgs): tf.TensorInfo[] {
  const be = args.backend as WasmBackend;
  const x = args.inputs.x as tf.TensorInfo;
  const d = x.shape[x.shape.length - 1] as number;
  const rows = x.shape.slice(0, -1).reduce((a, b) => a * b, 1);
  const dx = be.makeOutput([...x.shape], 'float32');
  const dgamma = be.makeOutput([d], 'float32');
  const dbeta = be.makeOutput([d], 'float32');
  const heap = be.wasm.HEAPF32;
  const off = (name: string) => be.dataIdMap.get((args.inputs[name] as tf.TensorInfo).dataId).memoryOffset >> 2;
  const dyo = off('dy');
  const xo = off('x');
  const go = off('gamma');
  const mo = off('mean');
  const ro = off('rstd');
  const dxo = be.dataIdMap.get(dx.dataId).memoryOffset >> 2;
  const n = nativeKernels();
  if (n) {
    const dgo = be.dataIdMap.get(dgamma.dataId).memoryOffset;
    const dbo = be.dataIdMap.get(dbeta.dataId).memoryOffset;
    n.layerNormGrad(heap.buffer as ArrayBuffer, dyo * 4, xo * 4, go * 4, mo * 4, ro * 4, dxo * 4, dgo, dbo, rows, d);
    return [dx, dgamma, dbeta];
  }
  const accG = new Float64Array(d);
  const accB = new Float64Array(d);
  for (let r = 0; r < rows; r++) {
    const o = r * d;
    const mu = heap[mo + r] as number;
    const rs = heap[ro + r] as number;
    let sg = 0;
    let sgx = 0;
    for (let j = 0; j < d; j++) {
      const dyj = heap[dyo + o + j] as number;
      const xh = ((heap[xo + o + j] as number) - mu) * rs;
      const g = dyj * (heap[go + j] as number);
      sg += g;
      sgx += g * xh;
      accG[j] += dyj * xh;
      accB[j] += dyj;
    }
    const mg = sg / d;
    const mgx = sgx / d;
    for (let j = 0; j < d; j++) {
      const xh = ((heap[xo + o + j] as number) - mu) * rs;
      const g = (heap[dyo + o + j] as number) * (heap[go + j] as number);
      heap[dxo + o + j] = rs * (g - mg - xh * mgx);
    }
  }
  const dgo = be.dataIdMap.get(dgamma.dataId).memoryOffset >> 2;
  const dbo = be.dataIdMap.get(dbeta.dataId).memoryOffset >> 2;
  for (let j = 0; j < d; j++) {
    heap[dgo + j] = accG[j] as number;
    heap[dbo + j] = accB[j] as number;
  }
  return [dx, dgamma, dbeta];
}

// ---------------------------------------------------------------------------------------------
// Transposed im2col for 3x3 'same' convolutions (the filter gradient's left operand)

export const IM2COL_T_KERNEL = 'MusicbertIm2ColT3x3';

/**
 * x [N,H,W,C] → colsᵀ [9C, N·H·W] with row (ky·3 + kx)·C + c holding x[n, h+ky-1, w+kx-1, c]
 * (0 outside the image). One pass with sequential writes; building it from pad + 9 slices + a
 * channel concat + a transpose took ~250 ms for a [32,96,64,1] batch.
 */
function im2colTKernel(args: KernelArgs): tf.TensorInfo {
  const be = args.backend as WasmBackend;
  const x = args.inputs.x as tf.TensorInfo;
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const cols = n * h * w;
  const out = be.makeOutput([9 * c, cols], 'float32');
  const heap = be.wasm.HEAP32; // bit copy
  const src = be.dataIdMap.get(x.dataId).memoryOffset >> 2;
  const dst = be.dataIdMap.get(out.dataId).memoryOffset >> 2;
  const nk = nativeKernels();
  if (nk) {
    nk.im2colT3x3(heap.buffer as ArrayBuffer, src * 4, dst * 4, n, h, w, c);
    return out;
  }
  for (let ky = 0; ky < 3; ky++) {
    for (let kx = 0; kx < 3; kx++) {
      for (let ci = 0; ci < c; ci++) {
        let d = dst + ((ky * 3 + kx) * c + ci) * cols;
        for (let ni = 0; ni < n; ni++) {
          for (let hi = 0; hi < h; hi++) {
            const y = hi + ky - 1;
            if (y < 0 || y >= h) {
              heap.fill(0, d, d + w);
              d += w;
              continue;
            }
            const rowBase = src + ((ni * h + y) * w) * c + ci;
            for (let wi = 0; wi < w; wi++) {
              const xx = wi + kx - 1;
              heap[d++] = xx < 0 || xx >= w ? 0 : (heap[rowBase + xx * c] as number);
            }
          }
        }
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Row gather (embedding lookups)

/**
 * Gather along axis 0 (embedding lookups): one block copy per index. The wasm GatherV2 kernel
 * took ~12 ms to look up 1,056 rows of 256 floats (~45 ns per element) in a MusicBert forward.
 */
function makeGather(original: KernelFn): KernelFn {
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const indices = args.inputs.indices as tf.TensorInfo;
    const { axis, batchDims } = args.attrs as { axis: number; batchDims: number };
    const ax = axis < 0 ? axis + x.shape.length : axis;
    if (ax !== 0 || (batchDims ?? 0) !== 0 || (x.dtype !== 'float32' && x.dtype !== 'int32') || indices.dtype !== 'int32' || x.shape.length < 1) return original(args);
    const be = args.backend as WasmBackend;
    const rows = x.shape[0] as number;
    const row = x.shape.slice(1).reduce((a, b) => a * b, 1);
    const count = indices.shape.reduce((a, b) => a * b, 1);
    const out = be.makeOutput([...indices.shape, ...x.shape.slice(1)], x.dtype);
    const heap = be.wasm.HEAP32; // bit copy for both dtypes
    const src = be.dataIdMap.get(x.dataId).memoryOffset >> 2;
    const ids = be.dataIdMap.get(indices.dataId).memoryOffset >> 2;
    const dst = be.dataIdMap.get(out.dataId).memoryOffset >> 2;
    for (let i = 0; i < count; i++) {
      const id = heap[ids + i] as number;
      if (id < 0 || id >= rows) {
        be.disposeData(out.dataId);
        throw new Error(`GatherV2: the index value ${id} is not in [0, ${rows - 1}]`);
      }
      heap.copyWithin(dst + i * row, src + id * row, src + (id + 1) * row);
    }
    return out;
  };
}

// ---------------------------------------------------------------------------------------------
// Identity without a copy

/**
 * tfjs clones every tensor it saves for the backward pass (tf.clone → Identity), and the wasm
 * Identity copies the data (~35 ms per Transformer training step here). Tensors are immutable,
 * so share the data by reference count instead, as tfjs' cpu backend and the wasm Reshape do.
 */
function makeIdentity(original: KernelFn): KernelFn {
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    if (x.dtype === 'string') return original(args);
    (args.backend as { incRef(dataId: object): void }).incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  };
}

// ---------------------------------------------------------------------------------------------
// Products through the native addon (OpenBLAS), in place on the wasm heap

const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1 };

/**
 * out[..., m, n] = act(op(a)·op(b) + bias) over the broadcast batch dims, or undefined when the
 * case is not handled here (the caller then runs the wasm kernel, which also reports shape errors).
 * Batch dims equal on both sides, or one side's batch 1, take one call (stride 0 for the
 * broadcast side, e.g. [B,T,D]·[D,F]); other broadcasts ([2,1]·[1,3]) one call per output matrix.
 * (The wasm kernels get two of these cases wrong in tfjs-backend-wasm 4.22: a two-sided batch
 * broadcast returns too few elements, and _FusedMatMul adds the bias wrongly when an operand is
 * transposed. test/native.test.ts pins both.)
 */
function nativeProduct(
  addon: NativeAddon,
  be: WasmBackend,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transA: boolean,
  transB: boolean,
  bias: tf.TensorInfo | undefined,
  activation: number,
): tf.TensorInfo | undefined {
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) return undefined;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const m = (transA ? a.shape[ra - 1] : a.shape[ra - 2]) as number;
  const k = (transA ? a.shape[ra - 2] : a.shape[ra - 1]) as number;
  const kb = (transB ? b.shape[rb - 1] : b.shape[rb - 2]) as number;
  const n = (transB ? b.shape[rb - 2] : b.shape[rb - 1]) as number;
  if (k !== kb) return undefined;
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  let outer: number[];
  try {
    outer = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
  } catch {
    return undefined;
  }
  if (bias && (bias.dtype !== 'float32' || bias.shape.length !== 1 || bias.shape[0] !== n)) return undefined;
  const batch = product(outer);
  const batchA = product(outerA);
  const batchB = product(outerB);
  const out = be.makeOutput([...outer, m, n], 'float32');
  // After makeOutput: growing the heap detaches the previous ArrayBuffer.
  const heap = be.wasm.HEAPF32.buffer as ArrayBuffer;
  const offset = (t: tf.TensorInfo) => be.dataIdMap.get(t.dataId).memoryOffset;
  const [aOff, bOff, cOff] = [offset(a), offset(b), offset(out)];
  const biasOff = bias ? offset(bias) : -1;
  const tA = transA ? 1 : 0;
  const tB = transB ? 1 : 0;
  if ((batchA === batch || batchA === 1) && (batchB === batch || batchB === 1)) {
    addon.gemm(heap, batch, m, n, k, tA, tB, aOff, bOff, cOff, batchA === 1 ? 0 : m * k, batchB === 1 ? 0 : k * n, biasOff, activation);
  } else {
    const ia = broadcastIndex(outer, outerA);
    const ib = broadcastIndex(outer, outerB);
    for (let i = 0; i < batch; i++) {
      addon.gemm(heap, 1, m, n, k, tA, tB, aOff + ia(i) * m * k * 4, bOff + ib(i) * k * n * 4, cOff + i * m * n * 4, 0, 0, biasOff, activation);
    }
  }
  nativeCalls++;
  return out;
}

/** For output batch index i over `outer`, the matching flat batch index in an operand of batch dims `dims` (broadcast). */
function broadcastIndex(outer: number[], dims: number[]): (i: number) => number {
  const pad = outer.length - dims.length;
  return (i) => {
    let rem = i;
    let idx = 0;
    let stride = 1;
    for (let ax = outer.length - 1; ax >= 0; ax--) {
      const d = outer[ax] as number;
      const c = rem % d;
      rem = (rem - c) / d;
      const own = ax >= pad ? (dims[ax - pad] as number) : 1;
      if (own > 1) idx += c * stride;
      stride *= own;
    }
    return idx;
  };
}

let nativeAddon: NativeAddon | undefined;
let nativeOn = false;
/** Products run natively so far (tests check that the native path, not the fallback, ran). */
let nativeCalls = 0;
let nativeInstalled = false;
type Six = [number, number, number, number, number, number];

/** The addon when native kernels are on (the JS heap kernels above then hand their work to it). */
function nativeKernels(): NativeAddon | undefined {
  return nativeOn ? nativeAddon : undefined;
}

function makeNativeBatchMatMul(original: KernelFn): KernelFn {
  return (args) => {
    if (!nativeOn || !nativeAddon) return original(args);
    const { transposeA, transposeB } = (args.attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean };
    const out = nativeProduct(nativeAddon, args.backend as WasmBackend, args.inputs.a as tf.TensorInfo, args.inputs.b as tf.TensorInfo, !!transposeA, !!transposeB, undefined, 0);
    return out ?? original(args);
  };
}

function makeNativeFusedMatMul(original: KernelFn): KernelFn {
  return (args) => {
    if (!nativeOn || !nativeAddon) return original(args);
    const { transposeA, transposeB, activation } = (args.attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean; activation?: string };
    const act = ACTIVATIONS[activation ?? 'linear'];
    if (act === undefined || args.inputs.preluActivationWeights != null) return original(args);
    const bias = (args.inputs.bias ?? undefined) as tf.TensorInfo | undefined;
    const out = nativeProduct(nativeAddon, args.backend as WasmBackend, args.inputs.a as tf.TensorInfo, args.inputs.b as tf.TensorInfo, !!transposeA, !!transposeB, bias, act);
    return out ?? original(args);
  };
}

/**
 * The gradient of a 2x2 stride-2 'valid' max-pool (ops.maxPool2x2) natively: the wasm
 * MaxPoolGrad took ~100 ms of a ~370 ms audio-encoder training step (batch 32, default widths).
 * Other pool shapes go to the wasm kernel.
 */
function makeNativeMaxPoolGrad(original: KernelFn): KernelFn {
  const isTwo = (v: unknown) => v === 2 || (Array.isArray(v) && v.length === 2 && v[0] === 2 && v[1] === 2);
  return (args) => {
    const nk = nativeKernels();
    const dy = args.inputs.dy as tf.TensorInfo;
    const x = args.inputs.input as tf.TensorInfo;
    const { filterSize, strides, pad, dimRoundingMode } = (args.attrs ?? {}) as { filterSize?: unknown; strides?: unknown; pad?: unknown; dimRoundingMode?: unknown };
    if (!nk || x.dtype !== 'float32' || dy.dtype !== 'float32' || x.shape.length !== 4 || !isTwo(filterSize) || !isTwo(strides) || pad !== 'valid' || dimRoundingMode != null) {
      return original(args);
    }
    const [n, h, w, c] = x.shape as [number, number, number, number];
    if (dy.shape.join() !== [n, h >> 1, w >> 1, c].join()) return original(args);
    const be = args.backend as WasmBackend;
    const dx = be.makeOutput([n, h, w, c], 'float32');
    const offset = (t: tf.TensorInfo) => be.dataIdMap.get(t.dataId).memoryOffset;
    nk.maxPool2x2Grad(be.wasm.HEAPF32.buffer as ArrayBuffer, offset(x), offset(dy), offset(dx), n, h, w, c);
    return dx;
  };
}

/**
 * Route the wasm backend's products and 2x2 max-pool gradient through the native addon when it
 * loads (native.ts), and let the heap kernels above (Transpose, Sum, LayerNorm, q/k/v split,
 * im2colᵀ) hand their loops to it; returns whether it did. Idempotent; called by backend.ts once the wasm backend is ready.
 */
export function installNativeKernels(): boolean {
  if (nativeInstalled) return nativeAddon !== undefined;
  nativeInstalled = true;
  nativeAddon = loadNative();
  if (!nativeAddon) return false;
  installWasmKernels(); // so MusicbertBatchMatMul exists to be wrapped, and is not re-registered over the wrapper later
  const wrappers = [
    ['BatchMatMul', makeNativeBatchMatMul],
    ['_FusedMatMul', makeNativeFusedMatMul],
    [BATCH_MATMUL_KERNEL, makeNativeBatchMatMul],
    ['MaxPoolGrad', makeNativeMaxPoolGrad],
  ] as const;
  for (const [name, make] of wrappers) {
    replaceKernel(name, make);
  }
  nativeOn = true;
  return true;
}

/**
 * Switch the native kernels (products and heap loops) on or off at run time: tests and the
 * benchmark compare both paths in one process. Returns the previous state; stays off when the
 * addon is not loaded.
 */
export function setNativeKernels(on: boolean): boolean {
  const was = nativeOn;
  nativeOn = on && nativeAddon !== undefined;
  return was;
}

/** Whether the native kernels are currently in use. */
export function nativeKernelsActive(): boolean {
  return nativeOn;
}

/** How many products have run through the addon in this thread. */
export function nativeProductCount(): number {
  return nativeCalls;
}

/** Replace the registered wasm kernel `name` by make(original), keeping its setup/dispose hooks. */
function replaceKernel(name: string, make: (original: KernelFn) => KernelFn): void {
  const original = tf.getKernel(name, 'wasm');
  if (!original) return;
  tf.unregisterKernel(name, 'wasm');
  const config: tf.KernelConfig = { kernelName: name, backendName: 'wasm', kernelFunc: make(original.kernelFunc as unknown as KernelFn) as unknown as tf.KernelFunc };
  if (original.setupFunc) config.setupFunc = original.setupFunc;
  if (original.disposeFunc) config.disposeFunc = original.disposeFunc;
  tf.registerKernel(config);
}

// ---------------------------------------------------------------------------------------------

let installed = false;

/** Register the kernels above for the wasm backend (idempotent). */
export function installWasmKernels(): void {
  if (installed) return;
  installed = true;
  tf.registerKernel({ kernelName: BATCH_MATMUL_KERNEL, backendName: 'wasm', kernelFunc: batchMatMulKernel as unknown as tf.KernelFunc });
  tf.registerKernel({ kernelName: QKV_SPLIT_KERNEL, backendName: 'wasm', kernelFunc: qkvSplitKernel as unknown as tf.KernelFunc });
  tf.registerKernel({ kernelName: QKV_MERGE_KERNEL, backendName: 'wasm', kernelFunc: qkvMergeKernel as unknown as tf.KernelFunc });
  tf.registerKernel({ kernelName: IM2COL_T_KERNEL, backendName: 'wasm', kernelFunc: im2colTKernel as unknown as tf.KernelFunc });
  tf.registerKernel({ kernelName: LAYER_NORM_KERNEL, backendName: 'wasm', kernelFunc: layerNormKernel as unknown as tf.KernelFunc });
  tf.registerKernel({ kernelName: LAYER_NORM_GRAD_KERNEL, backendName: 'wasm', kernelFunc: layerNormGradKernel as unknown as tf.KernelFunc });
  tf.registerGradient({
    kernelName: QKV_SPLIT_KERNEL,
    gradFunc: (dy: tf.Tensor | tf.Tensor[], _saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
      const [dq, dkT, dv] = dy as tf.Tensor[];
      return { x: () => tf.engine().runKernel(QKV_MERGE_KERNEL, { dq: dq as tf.Tensor, dkT: dkT as tf.Tensor, dv: dv as tf.Tensor }, attrs) as tf.Tensor };
    },
  });
  for (const [name, make] of [['Transpose', makeTranspose], ['Sum', makeSum], ['Identity', makeIdentity], ['GatherV2', makeGather]] as const) {
    replaceKernel(name, make);
  }
}
