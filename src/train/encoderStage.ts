/**
 * Stage 1: the audio encoder learns multi-label concept tags from single log-mel patches
 * (binary cross-entropy per tag), the way VGGish was trained on AudioSet labels. Every patch
 * inherits its track's tags. Afterwards the encoder is frozen and only its 128-d vectors are used.
 */
import { tf } from '../tensor/backend.js';
import type { AudioEncoder } from '../model/audioEncoder.js';
import { batchIndices, multiHot } from '../data/batches.js';
import type { PatchSet } from '../data/cache.js';
import { UsageError } from '../util/errors.js';
import { bceWithLogits } from './objectives.js';
import type { LossOutput, StepContext } from './trainer.js';

const PATCH = 96 * 64;

/** A flat list of (track, patch) pairs with each track's tag indices. */
export interface PatchPool {
  patches: PatchSet[];
  tags: number[][];
  /** [track, patch] pairs, in a fixed order. */
  index: Int32Array; // [n, 2]
  size: number;
}

export function patchPool(patches: PatchSet[], tags: number[][]): PatchPool {
  const pairs: number[] = [];
  patches.forEach((p, t) => {
    for (let k = 0; k < p.count; k++) pairs.push(t, k);
  });
  return { patches, tags, index: Int32Array.from(pairs), size: pairs.length / 2 };
}

/** Copy the chosen pool entries into one [B, 96, 64] buffer and their multi-hot tags [B, C]. */
export function gatherPatches(pool: PatchPool, rows: ArrayLike<number>, classes: number): { x: Float32Array; y: Float32Array } {
  const x = new Float32Array(rows.length * PATCH);
  const labels: number[][] = [];
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] as number;
    const t = pool.index[2 * r] as number;
    const k = pool.index[2 * r + 1] as number;
    x.set((pool.patches[t] as PatchSet).data.subarray(k * PATCH, (k + 1) * PATCH), i * PATCH);
    labels.push(pool.tags[t] as number[]);
  }
  return { x, y: multiHot(labels, classes) };
}

function conceptLoss(encoder: AudioEncoder, x: Float32Array, y: Float32Array, n: number, training: boolean): LossOutput {
  const c = encoder.config.numConcepts;
  const emb = encoder.embed(tf.tensor3d(x, [n, 96, 64])); // [n, 128]
  const loss = bceWithLogits(encoder.conceptLogits(emb), tf.tensor2d(y, [n, c]));
  return { loss, parts: { concept: loss } };
}

export function encoderStepLoss(encoder: AudioEncoder, pool: PatchPool, batch: number, seed: number): (ctx: StepContext) => LossOutput {
  if (pool.size === 0) throw new UsageError('no training patches: every training track is shorter than one 0.96 s patch');
  const b = Math.min(batch, pool.size);
  return (ctx) => {
    const rows = batchIndices(pool.size, b, seed, ctx.step);
    const { x, y } = gatherPatches(pool, rows, encoder.config.numConcepts);
    return conceptLoss(encoder, x, y, b, true);
  };
}

/** Validation over up to `max` held-out patches spread evenly over the pool (fixed across evaluations). */
export function encoderValidation(encoder: AudioEncoder, pool: PatchPool, max = 128, chunk = 64): (() => LossOutput) | undefined {
  if (pool.size === 0) return undefined;
  const n = Math.min(max, pool.size);
  const rows = Array.from({ length: n }, (_, i) => Math.floor((i * pool.size) / n));
  return () => {
    const losses: tf.Scalar[] = [];
    const sizes: number[] = [];
    for (let s = 0; s < n; s += chunk) {
      const part = rows.slice(s, s + chunk);
      const { x, y } = gatherPatches(pool, part, encoder.config.numConcepts);
      losses.push(tf.mul(conceptLoss(encoder, x, y, part.length, false).loss, part.length) as tf.Scalar);
      sizes.push(part.length);
    }
    const loss = tf.div(tf.addN(losses), n) as tf.Scalar;
    return { loss, parts: { concept: loss } };
  };
}
