/**
 * Pre-LayerNorm Transformer blocks (as in GPT-2 / most modern BERTs: normalise the branch input,
 * add the branch output to the residual stream), and the attention masks they take.
 *
 *   h = h + Dropout(Attn(LN1(h)))
 *   h = h + Dropout(W2 · ReLU(W1 · LN2(h)))
 *
 * ReLU rather than BERT's GELU in the FFN: it fuses into XNNPACK's product for free, while GELU's
 * tanh alone took ~75 ms per [16,128,1024] tensor on the wasm backend (a third of the layer's
 * forward time), for no measurable benefit at these model sizes.
 * Speed notes (wasm backend, see src/tensor/ops.ts): q, k and v come from ONE fused [D, 3D]
 * product, split in one pass straight into the layouts the products need (q pre-scaled by
 * 1/sqrt(dh), k already transposed); all heads run together as [B*H, T, dh] batched products, so
 * every product is a plain A·B.
 */
import { tf } from '../tensor/backend.js';
import { batchMatMul, dropout, layerNorm, linear, splitHeads } from '../tensor/ops.js';
import type { ParamSpecs, Params } from './params.js';

export interface StackShape {
  dModel: number;
  layers: number;
  ffn: number;
}

export interface BlockOptions {
  heads: number;
  /** Residual dropout rate (applied only when `training`). */
  dropout: number;
  training: boolean;
  /** Fresh seed for each dropout mask, so a step is reproducible from one seed. */
  nextSeed: () => number;
}

/** Parameter specs of `layers` blocks under `prefix` (`blocks.0.…`); BERT init N(0, 0.02). */
export function stackSpecs(shape: StackShape, prefix = 'blocks'): ParamSpecs {
  const { dModel: d, ffn: f } = shape;
  const w = (rows: number, cols: number) => ({ shape: [rows, cols], init: { kind: 'normal' as const, std: 0.02 } });
  const zeros = (n: number) => ({ shape: [n], init: { kind: 'zeros' as const } });
  const ones = (n: number) => ({ shape: [n], init: { kind: 'ones' as const } });
  const specs: ParamSpecs = {};
  for (let l = 0; l < shape.layers; l++) {
    const p = `${prefix}.${l}`;
    specs[`${p}.norm1.weight`] = ones(d);
    specs[`${p}.norm1.bias`] = zeros(d);
    specs[`${p}.attn.qkv.weight`] = w(d, 3 * d); // columns: [q | k | v], each head-major
    specs[`${p}.attn.qkv.bias`] = zeros(3 * d);
    specs[`${p}.attn.out.weight`] = w(d, d);
    specs[`${p}.attn.out.bias`] = zeros(d);
    specs[`${p}.norm2.weight`] = ones(d);
    specs[`${p}.norm2.bias`] = zeros(d);
    specs[`${p}.ffn.in.weight`] = w(d, f);
    specs[`${p}.ffn.in.bias`] = zeros(f);
    specs[`${p}.ffn.out.weight`] = w(f, d);
    specs[`${p}.ffn.out.bias`] = zeros(d);
  }
  return specs;
}

function param<R extends tf.Rank>(params: Params, name: string): tf.Tensor<R> {
  const v = params[name];
  if (!v) throw new Error(`transformer: parameter "${name}" does not exist`);
  return v as unknown as tf.Tensor<R>;
}

/**
 * Multi-head self-attention. x [B,T,D]; bias is added to the scores before the softmax and is
 * [B,1,1,T] (key padding only) or [B,1,T,T] (a band mask too): 0 = may attend, -1e9 = may not.
 */
export function selfAttention(params: Params, prefix: string, x: tf.Tensor3D, bias: tf.Tensor4D, heads: number): tf.Tensor3D {
  const [b, t, d] = x.shape;
  const dh = d / heads;
  const qkv = linear(x, param(params, `${prefix}.qkv.weight`), param(params, `${prefix}.qkv.bias`)); // [B,T,3D]
  const { q, kT, v } = splitHeads(qkv, heads, 1 / Math.sqrt(dh)); // [BH,T,dh], [BH,dh,T], [BH,T,dh]
  const scores = tf.add(tf.reshape(batchMatMul(q, kT), [b, heads, t, t]), bias); // [B,H,T,T]
  const probs = tf.reshape(tf.softmax(scores), [b * heads, t, t]) as tf.Tensor3D;
  const ctx = batchMatMul(probs, v); // [BH,T,dh]
  const merged = tf.reshape(tf.transpose(tf.reshape(ctx, [b, heads, t, dh]), [0, 2, 1, 3]), [b, t, d]) as tf.Tensor3D;
  return linear(merged, param(params, `${prefix}.out.weight`), param(params, `${prefix}.out.bias`));
}

/** One pre-LN block: [B,T,D] → [B,T,D]. */
export function block(params: Params, prefix: string, h: tf.Tensor3D, bias: tf.Tensor4D, opts: BlockOptions): tf.Tensor3D {
  const rate = opts.training ? opts.dropout : 0;
  const n1 = layerNorm(h, param(params, `${prefix}.norm1.weight`), param(params, `${prefix}.norm1.bias`));
  const a = selfAttention(params, `${prefix}.attn`, n1, bias, opts.heads);
  h = tf.add(h, rate > 0 ? dropout(a, rate, opts.nextSeed()) : a);
  const n2 = layerNorm(h, param(params, `${prefix}.norm2.weight`), param(params, `${prefix}.norm2.bias`));
  const inner = linear(n2, param(params, `${prefix}.ffn.in.weight`), param(params, `${prefix}.ffn.in.bias`), 'relu'); // [B,T,F]
  const f = linear(inner, param(params, `${prefix}.ffn.out.weight`), param(params, `${prefix}.ffn.out.bias`)); // [B,T,D]
  return tf.add(h, rate > 0 ? dropout(f, rate, opts.nextSeed()) : f);
}

/** `layers` blocks in sequence (no final LayerNorm: the caller owns it). */
export function stack(params: Params, shape: StackShape, h: tf.Tensor3D, bias: tf.Tensor4D, opts: BlockOptions, prefix = 'blocks'): tf.Tensor3D {
  for (let l = 0; l < shape.layers; l++) h = block(params, `${prefix}.${l}`, h, bias, opts);
  return h;
}

// ---------------------------------------------------------------------------------------------
// Masks

/** What the mask needs to know about each column of the sequence (the same for every row b). */
export interface SequenceLayout {
  /** [B*T] 1 where the token is real, 0 where it is padding. */
  keep: Uint8Array;
  batch: number;
  length: number;
  /** [T] modality segment of each column (0 text side incl. [CLS], 1 music). */
  segment: Int32Array;
  /** [T] position of each column within its segment. */
  position: Int32Array;
  /** [T] 1 for [CLS]/[SEP]: they stay visible to every position under local attention. */
  special: Uint8Array;
}

export const MASKED = -1e9;

/** Full attention: every position sees every real key. → [B,1,1,T]. */
export function keyPaddingBias(layout: SequenceLayout): tf.Tensor4D {
  const { batch: b, length: t, keep } = layout;
  const bias = new Float32Array(b * t);
  for (let i = 0; i < b * t; i++) bias[i] = keep[i] ? 0 : MASKED;
  return tf.tensor4d(bias, [b, 1, 1, t]);
}

/**
 * Local (banded, sparse) attention, the variant the proposal suggested because full softmax
 * attention blurred music vectors across a whole track: a non-special query at position p of
 * segment s sees only real keys of segment s within [p - window, p + window], plus the [CLS]/[SEP]
 * tokens. [CLS]/[SEP] queries see every real key (global tokens, as in Longformer), so [CLS] still
 * summarises the whole input. Implemented as a dense band mask: at these lengths (T ≤ a few
 * hundred) a mask over the [T,T] scores is cheaper on CPU than gathering blocks. → [B,1,T,T].
 */
export function localBandBias(layout: SequenceLayout, window: number): tf.Tensor4D {
  const { batch: b, length: t, keep, segment, position, special } = layout;
  const band = new Uint8Array(t * t); // [T(query), T(key)] 1 = allowed by position
  for (let i = 0; i < t; i++) {
    for (let j = 0; j < t; j++) {
      const ok = special[i] || special[j] || (segment[i] === segment[j] && Math.abs((position[i] as number) - (position[j] as number)) <= window);
      band[i * t + j] = ok ? 1 : 0;
    }
  }
  const bias = new Float32Array(b * t * t);
  for (let r = 0; r < b; r++) {
    for (let i = 0; i < t; i++) {
      const o = (r * t + i) * t;
      for (let j = 0; j < t; j++) bias[o + j] = band[i * t + j] && keep[r * t + j] ? 0 : MASKED;
    }
  }
  return tf.tensor4d(bias, [b, 1, t, t]);
}
