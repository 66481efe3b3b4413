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
 */
import { tf } from './backend.js';

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
    if (batched2d) {
      const rows = c.shape[r - 2] as number;
      const cols = c.shape[r - 1] as number;
      transposeBatched2d(heap, src, dst, c.shape.slice(0, r - 2).reduce((a, b) => a * b, 1), rows, cols);
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
    const original = tf.getKernel(name, 'wasm');
    if (!original) continue;
    tf.unregisterKernel(name, 'wasm');
    const config: tf.KernelConfig = { kernelName: name, backendName: 'wasm', kernelFunc: make(original.kernelFunc as unknown as KernelFn) as unknown as tf.KernelFunc };
    if (original.setupFunc) config.setupFunc = original.setupFunc;
    if (original.disposeFunc) config.disposeFunc = original.disposeFunc;
    tf.registerKernel(config);
  }
}
