/**
 * The few tensor ops the models are built from, each with a gradient that stays on the wasm
 * backend's fast path. Measured on this machine (ARCHITECTURE.md): only the plain product A·B
 * runs through XNNPACK (~20 GFLOP/s); tf.matMul's own gradient uses transposed products that
 * fall back to a naive loop (8–10x slower), and any batched product ([N,M,K]·[N,K,P] with N > 1)
 * takes that naive loop too (~1–2 GFLOP/s). So:
 *  - every 2-D product goes through `matMul`/`linear`, whose gradients are plain products of
 *    explicitly transposed operands;
 *  - batched products go through `batchMatMul`, which on wasm runs N plain XNNPACK products over
 *    views into the operands' memory (no copies);
 *  - attention's q/k/v split, LayerNorm and the conv filter gradient's im2col are one-pass kernels
 *    on the wasm heap (wasmKernels.ts, which also replaces tfjs' slow Transpose and leading-axis
 *    Sum); other backends run the same maths from tfjs ops;
 *  - LayerNorm, GELU and the convolution have hand-written gradients.
 * Every custom gradient is checked against finite differences in test/ops.test.ts.
 */
import { tf } from './backend.js';
import { Rng } from '../util/rng.js';
import { BATCH_MATMUL_KERNEL, IM2COL_T_KERNEL, LAYER_NORM_GRAD_KERNEL, LAYER_NORM_KERNEL, QKV_SPLIT_KERNEL, installWasmKernels, nativeKernelsActive } from './wasmKernels.js';

installWasmKernels();

type T = tf.Tensor;
type Save = (tensors: T[]) => void;
type GradResult = { value: T; gradFunc: (dy: T, saved: T[]) => T | T[] };
/** tf.customGrad with loose typing: tfjs does not export its CustomGradientFunc type. */
const customGrad = tf.customGrad as unknown as (f: (...args: never[]) => GradResult) => (...inputs: T[]) => T;

// ---------------------------------------------------------------------------------------------
// 2-D products

/**
 * Weight gradient aᵀ·g for a [M,K], g [M,N] (M = rows of the batch, usually the largest). XNNPACK
 * packs the right operand on every call, and packing a large fresh matrix costs real time:
 * measured [2048,256]ᵀ·[2048,1024] 59 ms vs (gᵀ·a)ᵀ 46 ms, and the reverse when K > N. So the
 * smaller of a and g goes on the right.
 */
function weightGrad(a: tf.Tensor2D, g: tf.Tensor2D): tf.Tensor2D {
  if (nativeKernelsActive()) return tf.matMul(a, g, true, false); // OpenBLAS reads aᵀ in place
  return a.shape[1] < g.shape[1] ? (tf.transpose(tf.matMul(tf.transpose(g), a)) as tf.Tensor2D) : tf.matMul(tf.transpose(a), g);
}

/** Input gradient g·bᵀ for g [M,N], b [K,N]; the native kernels read bᵀ in place, wasm needs it explicit. */
function inputGrad(g: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return nativeKernelsActive() ? tf.matMul(g, b, false, true) : tf.matMul(g, tf.transpose(b));
}

/** [M,K]·[K,N] → [M,N]; gradient: dA = dY·transpose(B), dB = transpose(A)·dY, all plain products. */
const matMulGrad = customGrad((a: T, b: T, save: Save) => {
  save([a, b]);
  return {
    value: tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
    gradFunc: (dy: T, saved: T[]) => {
      const [sa, sb] = saved as [tf.Tensor2D, tf.Tensor2D];
      return [inputGrad(dy as tf.Tensor2D, sb), weightGrad(sa, dy as tf.Tensor2D)];
    },
  };
});

export function matMul(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return matMulGrad(a, b) as tf.Tensor2D;
}

/** x·W + b on 2-D x with XNNPACK's fused bias (and optional ReLU) in the forward pass. */
function makeLinear(activation: 'linear' | 'relu'): (x: T, w: T, b: T) => T {
  return customGrad((x: T, w: T, b: T, save: Save) => {
    const y = tf.fused.matMul({ a: x as tf.Tensor2D, b: w as tf.Tensor2D, bias: b, activation });
    save(activation === 'relu' ? [x, w, y] : [x, w]);
    return {
      value: y,
      gradFunc: (dy: T, saved: T[]) => {
        const [sx, sw, sy] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D | undefined];
        const g = (sy ? tf.mul(dy, tf.step(sy)) : dy) as tf.Tensor2D;
        return [inputGrad(g, sw), weightGrad(sx, g), tf.sum(g, 0)];
      },
    };
  }) as (x: T, w: T, b: T) => T;
}
const linearBias = makeLinear('linear');
const linearBiasRelu = makeLinear('relu');

/**
 * Dense layer over the last axis: x [..., in] · w [in, out] (+ b [out]) → [..., out].
 * `relu` fuses the activation into the product.
 */
export function linear<R extends tf.Rank>(x: tf.Tensor<R>, w: tf.Tensor2D, b?: tf.Tensor1D, activation: 'linear' | 'relu' = 'linear'): tf.Tensor<R> {
  const inDim = x.shape[x.shape.length - 1] as number;
  const outShape = [...x.shape.slice(0, -1), w.shape[1]] as number[];
  const x2 = x.rank === 2 ? (x as unknown as tf.Tensor2D) : tf.reshape(x, [-1, inDim]) as tf.Tensor2D;
  let y: T;
  if (b) y = (activation === 'relu' ? linearBiasRelu : linearBias)(x2, w, b);
  else {
    y = matMul(x2, w);
    if (activation === 'relu') y = tf.relu(y);
  }
  return (x.rank === 2 ? y : tf.reshape(y, outShape)) as unknown as tf.Tensor<R>;
}

// ---------------------------------------------------------------------------------------------
// Batched products

function rawBatchMatMul(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  if (a.shape[0] !== b.shape[0] || a.shape[2] !== b.shape[1]) {
    throw new Error(`batchMatMul: shapes [${a.shape}] and [${b.shape}] do not multiply`);
  }
  if (tf.getBackend() !== 'wasm' || a.dtype !== 'float32' || b.dtype !== 'float32') return tf.matMul(a, b);
  return tf.engine().runKernel(BATCH_MATMUL_KERNEL, { a, b }, {}) as tf.Tensor3D;
}

const batchMatMulGrad = customGrad((a: T, b: T, save: Save) => {
  save([a, b]);
  return {
    value: rawBatchMatMul(a as tf.Tensor3D, b as tf.Tensor3D),
    gradFunc: (dy: T, saved: T[]) => {
      const [sa, sb] = saved as [tf.Tensor3D, tf.Tensor3D];
      const d = dy as tf.Tensor3D;
      if (nativeKernelsActive()) return [tf.matMul(d, sb, false, true), tf.matMul(sa, d, true, false)]; // transposes read in place
      return [rawBatchMatMul(d, tf.transpose(sb, [0, 2, 1])), rawBatchMatMul(tf.transpose(sa, [0, 2, 1]), d)];
    },
  };
});

/** [N,M,K]·[N,K,P] → [N,M,P], fast on wasm in both directions. */
export function batchMatMul(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  return batchMatMulGrad(a, b) as tf.Tensor3D;
}

/**
 * Split the fused q/k/v projection [B,T,3D] (columns [q | k | v], each head-major) into the
 * attention operands: q·scale [B*H,T,dh], kᵀ [B*H,dh,T], v [B*H,T,dh]. One pass on wasm
 * (wasmKernels.ts); plain reshapes and transposes elsewhere. Differentiable.
 */
export function splitHeads(qkv: tf.Tensor3D, heads: number, scale: number): { q: tf.Tensor3D; kT: tf.Tensor3D; v: tf.Tensor3D } {
  const [b, t, d3] = qkv.shape;
  const dh = d3 / 3 / heads;
  if (!Number.isInteger(dh)) throw new Error(`splitHeads: width ${d3} is not 3 x ${heads} heads`);
  if (tf.getBackend() === 'wasm' && qkv.dtype === 'float32') {
    const [q, kT, v] = tf.engine().runKernel(QKV_SPLIT_KERNEL, { x: qkv }, { heads, scale }) as tf.Tensor3D[];
    return { q: q as tf.Tensor3D, kT: kT as tf.Tensor3D, v: v as tf.Tensor3D };
  }
  return tf.tidy(() => {
    const x = tf.transpose(tf.reshape(qkv, [b, t, 3, heads, dh]), [2, 0, 3, 1, 4]); // [3,B,H,T,dh]
    const [q5, k5, v5] = tf.split(x, 3, 0) as [tf.Tensor, tf.Tensor, tf.Tensor];
    return {
      q: tf.mul(tf.reshape(q5, [b * heads, t, dh]), scale) as tf.Tensor3D,
      kT: tf.transpose(tf.reshape(k5, [b * heads, t, dh]), [0, 2, 1]) as tf.Tensor3D,
      v: tf.reshape(v5, [b * heads, t, dh]) as tf.Tensor3D,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Normalisation and activations

/**
 * LayerNorm over the last axis: (x - mean) / sqrt(var + eps) * gamma + beta.
 * Backward (per row, g = dy·gamma, x̂ the normalised input, r = 1/std):
 *   dx = r · (g - mean(g) - x̂ · mean(g · x̂));  dgamma = Σ dy·x̂;  dbeta = Σ dy.
 */
export function layerNorm<R extends tf.Rank>(x: tf.Tensor<R>, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps = 1e-5): tf.Tensor<R> {
  if (tf.getBackend() === 'wasm' && x.dtype === 'float32') {
    // One kernel each way (wasmKernels.ts); same formulas as below.
    const f = customGrad((xi: T, g: T, b: T, save: Save) => {
      const [y, mean, rstd] = tf.engine().runKernel(LAYER_NORM_KERNEL, { x: xi, gamma: g, beta: b }, { eps }) as T[];
      save([xi, g, mean as T, rstd as T]);
      return {
        value: y as T,
        gradFunc: (dy: T, saved: T[]) => {
          const [sx, sg, sm, sr] = saved as [T, T, T, T];
          return tf.engine().runKernel(LAYER_NORM_GRAD_KERNEL, { dy, x: sx, gamma: sg, mean: sm, rstd: sr }, {}) as T[];
        },
      };
    });
    return f(x, gamma, beta) as tf.Tensor<R>;
  }
  return layerNormOps(x, gamma, beta, eps);
}

/** The same LayerNorm from tfjs ops (other backends, and the reference in tests). */
export function layerNormOps<R extends tf.Rank>(x: tf.Tensor<R>, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps = 1e-5): tf.Tensor<R> {
  const d = x.shape[x.shape.length - 1] as number;
  const f = customGrad((xi: T, g: T, b: T, save: Save) => {
    const mean = tf.mean(xi, -1, true);
    const xc = tf.sub(xi, mean);
    const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(xc), -1, true), eps));
    const xhat = tf.mul(xc, rstd);
    save([xhat, rstd, g]);
    return {
      value: tf.add(tf.mul(xhat, g), b),
      gradFunc: (dy: T, saved: T[]) => {
        const [sxhat, srstd, sg] = saved as [T, T, T];
        const gy = tf.mul(dy, sg);
        const dx = tf.mul(srstd, tf.sub(tf.sub(gy, tf.mean(gy, -1, true)), tf.mul(sxhat, tf.mean(tf.mul(gy, sxhat), -1, true))));
        const dy2 = tf.reshape(dy, [-1, d]);
        const dgamma = tf.sum(tf.mul(dy2, tf.reshape(sxhat, [-1, d])), 0);
        return [dx, dgamma, tf.sum(dy2, 0)];
      },
    };
  });
  return f(x, gamma, beta) as tf.Tensor<R>;
}

const GELU_C = Math.sqrt(2 / Math.PI);
const GELU_A = 0.044715;

/** GELU, tanh form: 0.5·x·(1 + tanh(c·(x + a·x³))); derivative written out by hand. */
export const gelu = customGrad((x: T, save: Save) => {
  const x2 = tf.square(x);
  const t = tf.tanh(tf.mul(tf.mul(x, tf.add(tf.mul(x2, GELU_A), 1)), GELU_C));
  save([x, x2, t]);
  return {
    value: tf.mul(tf.mul(x, 0.5), tf.add(t, 1)),
    gradFunc: (dy: T, saved: T[]) => {
      const [sx, sx2, st] = saved as [T, T, T];
      // d/dx = 0.5(1+t) + 0.5·x·(1-t²)·c·(1+3a·x²)
      const inner = tf.mul(tf.add(tf.mul(sx2, 3 * GELU_A), 1), GELU_C);
      const sech2 = tf.sub(1, tf.square(st));
      const grad = tf.add(tf.mul(tf.add(st, 1), 0.5), tf.mul(tf.mul(tf.mul(sx, 0.5), sech2), inner));
      return [tf.mul(dy, grad)];
    },
  };
}) as <R extends tf.Rank>(x: tf.Tensor<R>) => tf.Tensor<R>;

/**
 * The inverted-dropout mask for `size` elements: 0 with probability `rate`, else 1/(1-rate).
 * Generated on the host with xorshift32 (seeded through splitmix), ~1 ns per element: tfjs'
 * randomUniform + compare + cast + scale took ~8 ms per [16,200,256] activation, several times a
 * step. Backend-independent, so the same seed gives the same mask everywhere.
 */
export function dropoutMask(size: number, rate: number, seed: number): Float32Array {
  const mask = new Float32Array(size);
  const scale = 1 / (1 - rate);
  const threshold = Math.floor(rate * 4294967296);
  let s = new Rng(seed).nextU32() || 0x9e3779b9; // xorshift state must be non-zero
  for (let i = 0; i < size; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    if (s >>> 0 >= threshold) mask[i] = scale;
  }
  return mask;
}

/**
 * Inverted dropout with an explicit seed, so a training step is reproducible: the same seed gives
 * the same mask. rate 0 (or not training) is the identity.
 */
export function dropout<R extends tf.Rank>(x: tf.Tensor<R>, rate: number, seed: number): tf.Tensor<R> {
  if (rate <= 0) return x;
  if (rate >= 1) throw new RangeError(`dropout rate must be < 1 (got ${rate})`);
  return tf.tidy(() => tf.mul(x, tf.tensor(dropoutMask(x.size, rate, seed), x.shape, 'float32')));
}

// ---------------------------------------------------------------------------------------------
// Embeddings and pooling

/**
 * Row lookup table[ids] → [...ids.shape, D]. The gradient is a scatter-add into the table's rows
 * (tf.gather's own gradient needs UnsortedSegmentSum, which the wasm backend lacks).
 */
export function embedding(table: tf.Tensor2D, ids: tf.Tensor): tf.Tensor {
  const [v, d] = table.shape;
  const flat = tf.reshape(ids, [-1]) as tf.Tensor1D;
  const f = customGrad((tab: T, save: Save) => {
    save([flat]);
    return {
      value: tf.gather(tab, flat),
      gradFunc: (dy: T, saved: T[]) => {
        const idx = tf.reshape(saved[0] as T, [-1, 1]);
        return [tf.scatterND(idx, tf.reshape(dy, [-1, d]), [v, d])];
      },
    };
  });
  return tf.reshape(f(table), [...ids.shape, d]);
}

/** Mean of x [B,T,D] over positions where mask [B,T] is 1 → [B,D]; all-masked rows give 0. */
export function maskedMean(x: tf.Tensor3D, mask: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const m = tf.expandDims(mask, 2); // [B,T,1]
    const sum = tf.sum(tf.mul(x, m), 1); // [B,D]
    const n = tf.maximum(tf.sum(mask, 1, true), 1); // [B,1]
    return tf.div(sum, n) as tf.Tensor2D;
  });
}

/** x / ||x|| over the last axis. */
export function l2Normalize<R extends tf.Rank>(x: tf.Tensor<R>, eps = 1e-12): tf.Tensor<R> {
  return tf.tidy(() => tf.mul(x, tf.rsqrt(tf.add(tf.sum(tf.square(x), -1, true), eps))));
}

// ---------------------------------------------------------------------------------------------
// Convolutions

/**
 * im2col for a 3x3 'same' convolution: x [N,H,W,C] → [N*H*W, 9*C], columns ordered (ky, kx, c)
 * to match a [3,3,C,Cout] filter reshaped to [9*C, Cout].
 */
export function im2col3x3(x: tf.Tensor4D): tf.Tensor2D {
  const [n, h, w, c] = x.shape;
  const xp = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]);
  const parts: tf.Tensor4D[] = [];
  for (let ky = 0; ky < 3; ky++) for (let kx = 0; kx < 3; kx++) parts.push(tf.slice(xp, [0, ky, kx, 0], [n, h, w, c]));
  return tf.reshape(tf.concat(parts, 3), [n * h * w, 9 * c]);
}

/** im2col3x3(x)ᵀ → [9*C, N*H*W], one pass on wasm (wasmKernels.ts). Not differentiable (a gradient operand). */
export function im2colT3x3(x: tf.Tensor4D): tf.Tensor2D {
  if (tf.getBackend() === 'wasm' && x.dtype === 'float32') return tf.engine().runKernel(IM2COL_T_KERNEL, { x }, {}) as tf.Tensor2D;
  return tf.tidy(() => tf.transpose(im2col3x3(x)));
}

/** Backward through an activation from its output y: ReLU → [y > 0]; ELU → 1 for y ≥ 0, else y + 1 (= eˣ). */
function activationGrad(dy: T, y: T, activation: 'relu' | 'elu'): T {
  return activation === 'relu' ? tf.mul(dy, tf.step(y)) : tf.mul(dy, tf.add(tf.minimum(y, 0), 1));
}

function makeConv3x3(activation: 'relu' | 'elu'): (x: T, w: T, b: T) => T {
  return customGrad((x: T, w: T, b: T, save: Save) => {
    const y = tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, strides: 1, pad: 'same', bias: b, activation });
    save([x, w, y]);
    return {
      value: y,
      gradFunc: (dy: T, saved: T[]) => {
        const [sx, sw, sy] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
        const [n, h, wd, cin] = sx.shape;
        const cout = sw.shape[3];
        const g = activationGrad(dy, sy, activation) as tf.Tensor4D;
        const wRot = tf.transpose(tf.reverse(sw, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D; // [3,3,Cout,Cin]
        const dx = tf.conv2d(g, wRot, 1, 'same');
        const g2 = tf.reshape(g, [n * h * wd, cout]) as tf.Tensor2D;
        const dw = tf.reshape(tf.matMul(im2colT3x3(sx), g2), [3, 3, cin, cout]);
        return [dx, dw, tf.sum(g2, 0)];
      },
    };
  }) as (x: T, w: T, b: T) => T;
}
const conv3x3ByActivation = { relu: makeConv3x3('relu'), elu: makeConv3x3('elu') };

/**
 * 3x3 stride-1 'same' convolution + bias + activation (ReLU for VGGish, ELU for the Choi
 * convnets), trainable on wasm (which has no Conv2DBackpropFilter kernel). Forward: XNNPACK's
 * fused conv. Backward, with g = dy·act'(y):
 *   dx = conv(g, W rotated 180° with in/out channels swapped)   (exact for odd kernels, stride 1)
 *   dW = im2col(x)ᵀ · g                                           (one plain product)
 *   db = Σ g
 * Measured on a [32,48,32,16→32] layer: dx this way 18 ms vs 238 ms for tfjs' Conv2DBackpropInput
 * kernel; forward via XNNPACK 20 ms vs 85 ms as im2col + product. For dW, a forward conv of x
 * (batch as channels) with g as the filter was measured too (the old baseline convnets did that):
 * with the native addon im2col + product was faster on 5 of 6 Choi-net layers and level on the
 * largest ([32,48,32,32→32]); on plain wasm the conv form won that layer (626 vs 1768 ms).
 */
export function conv3x3(x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D, activation: 'relu' | 'elu' = 'relu'): tf.Tensor4D {
  return conv3x3ByActivation[activation](x, w, b) as tf.Tensor4D;
}

/** conv3x3 with ReLU (the VGGish layer). */
export function conv3x3Relu(x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D): tf.Tensor4D {
  return conv3x3(x, w, b, 'relu');
}

/**
 * Gradient of a 2x2 stride-2 max-pool from elementwise ops: each window's gradient goes to the
 * cell(s) equal to its max, split evenly over ties. x [N,H,W,C] (H, W even), y = pool(x).
 */
function maxPool2x2GradOps(dy: tf.Tensor4D, x: tf.Tensor4D, y: tf.Tensor4D): tf.Tensor4D {
  const [, h, w] = x.shape;
  // Nearest-neighbour resize by 2 repeats each cell over its window; ~40x faster on wasm than
  // the equivalent 6-D tile (measured 17 vs 700 ms on [32,48,32,32]).
  const up = (v: tf.Tensor4D): tf.Tensor4D => tf.image.resizeNearestNeighbor(v, [h, w], false, false);
  const hit = tf.cast(tf.equal(x, up(y)), 'float32') as tf.Tensor4D; // [N,H,W,C]
  const count = tf.mul(tf.avgPool(hit, 2, 2, 'valid'), 4); // hits per window
  return tf.mul(hit, up(tf.div(dy, count) as tf.Tensor4D)) as tf.Tensor4D;
}

const maxPool2x2Grad = customGrad((x: T, save: Save) => {
  const y = tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid');
  save([x, y]);
  return {
    value: y,
    gradFunc: (dy: T, saved: T[]) => {
      const [sx, sy] = saved as [tf.Tensor4D, tf.Tensor4D];
      if (nativeKernelsActive()) return [tf.engine().runKernel('MaxPoolGrad', { dy, input: sx, output: sy }, { filterSize: 2, strides: 2, pad: 'valid' }) as T];
      const [n, h, w, c] = sx.shape;
      const [he, we] = [h - (h % 2), w - (w % 2)];
      if (he === h && we === w) return [maxPool2x2GradOps(dy as tf.Tensor4D, sx, sy)];
      // Odd trailing rows/columns take no part in the pool: zero gradient there.
      const inner = maxPool2x2GradOps(dy as tf.Tensor4D, tf.slice(sx, [0, 0, 0, 0], [n, he, we, c]), sy);
      return [tf.pad(inner, [[0, 0], [0, h - he], [0, w - we], [0, 0]])];
    },
  };
});

/**
 * 2x2 max-pool, stride 2 (VGG); odd trailing rows/columns are dropped. The gradient is ours: the
 * wasm backend's MaxPoolGrad kernel routes some windows' gradient to the wrong cell (measured:
 * 3029 of 49,152 windows on [4,48,32,32], 3 of 72 on [3,8,6,2]), so without the native addon
 * (whose kernel is exact) it is computed from elementwise ops.
 */
export function maxPool2x2(x: tf.Tensor4D): tf.Tensor4D {
  return maxPool2x2Grad(x) as tf.Tensor4D;
}
