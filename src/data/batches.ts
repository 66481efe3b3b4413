/**
 * Batching as pure functions of (seed, step): which items go into a batch never depends on what
 * happened before, so a resumed run sees exactly the batches an uninterrupted run would have.
 * Also the padding of variable-length sequences into dense [B, S, D] arrays with masks.
 */
import { Rng, seedFrom } from '../util/rng.js';

/** The permutation of [0, n) used in epoch `epoch` (a fresh seeded shuffle per epoch). */
export function epochOrder(n: number, seed: number, epoch: number): Int32Array {
  const order = Array.from({ length: n }, (_, i) => i);
  new Rng(seedFrom(seed, `epoch:${epoch}`)).shuffle(order);
  return Int32Array.from(order);
}

/**
 * Item indices of batch `step`: positions step·B … step·B + B − 1 of the endless sequence formed by
 * concatenating epoch permutations. Every item is seen once per epoch; a batch that straddles an
 * epoch boundary takes the tail of one permutation and the head of the next.
 */
export function batchIndices(n: number, batch: number, seed: number, step: number): Int32Array {
  if (n <= 0) throw new RangeError('batchIndices: no items to sample from');
  const out = new Int32Array(batch);
  let cachedEpoch = -1;
  let order: Int32Array = new Int32Array(0);
  for (let i = 0; i < batch; i++) {
    const pos = step * batch + i;
    const epoch = Math.floor(pos / n);
    if (epoch !== cachedEpoch) {
      order = epochOrder(n, seed, epoch);
      cachedEpoch = epoch;
    }
    out[i] = order[pos - epoch * n] as number;
  }
  return out;
}

/** A description of the data order for checkpoints: resuming with a different one is refused. */
export interface OrderDescription {
  kind: 'epoch-permutations';
  seed: number;
  items: number;
  batch: number;
}

export function describeOrder(n: number, batch: number, seed: number): OrderDescription {
  return { kind: 'epoch-permutations', seed, items: n, batch };
}

export interface PaddedBatch {
  /** [B, S, D] row-major, zeros at padding. */
  data: Float32Array;
  /** [B, S]: 1 real, 0 padding. */
  mask: Float32Array;
  batch: number;
  len: number;
  dim: number;
}

/**
 * Pad sequences of D-vectors (each [count_i, D]) to one [B, S, D] array, S = min(maxLen,
 * longest). Longer sequences are truncated (the caller normally pooled them to ≤ maxLen already).
 */
export function padSequences(seqs: readonly { data: Float32Array; count: number }[], dim: number, maxLen: number): PaddedBatch {
  const b = seqs.length;
  const len = Math.max(1, Math.min(maxLen, Math.max(0, ...seqs.map((s) => s.count))));
  const data = new Float32Array(b * len * dim);
  const mask = new Float32Array(b * len);
  seqs.forEach((s, i) => {
    const n = Math.min(len, s.count);
    data.set(s.data.subarray(0, n * dim), i * len * dim);
    mask.fill(1, i * len, i * len + n);
  });
  return { data, mask, batch: b, len, dim };
}

/** Stack token id rows (each already padded to `len`) into one [B, len] array. */
export function stackIds(rows: readonly Int32Array[], len: number): Int32Array {
  const out = new Int32Array(rows.length * len);
  rows.forEach((r, i) => out.set(r.subarray(0, len), i * len));
  return out;
}

/** Multi-hot rows [B, C] from per-item class index lists. */
export function multiHot(labels: readonly (readonly number[])[], classes: number): Float32Array {
  const out = new Float32Array(labels.length * classes);
  labels.forEach((ls, i) => {
    for (const c of ls) if (c >= 0 && c < classes) out[i * classes + c] = 1;
  });
  return out;
}
