/**
 * BERT-style corruption of a batch, on typed arrays with an explicit Rng (no tensors): which
 * positions to predict, and what the model sees there. Deterministic for a given Rng state.
 */
import type { Rng } from '../util/rng.js';

export interface MaskingOptions {
  /** Fraction of real positions selected for prediction (BERT: 0.15). */
  prob: number;
  /** Of the selected: fraction replaced by the [MASK] token / learned [MASK] vector (BERT: 0.8). */
  maskFrac: number;
  /** Of the selected: fraction replaced by a random other token / vector (BERT: 0.1). The rest keep their input. */
  randomFrac: number;
  /** Select at least this many positions in every row that has more real positions than this, so no row is idle. */
  minPerRow: number;
}

export const BERT_MASKING: MaskingOptions = { prob: 0.15, maskFrac: 0.8, randomFrac: 0.1, minPerRow: 1 };

export interface MusicMasking {
  /** The model's input after corruption, [B, S, D] (random-swapped rows changed, others as given). */
  input: Float32Array;
  /** [B, S]: 1 where the learned [MASK] vector replaces the input. */
  maskFlags: Float32Array;
  /** [B, S]: 1 at positions the loss predicts. */
  selected: Float32Array;
  /** Flat indices b·S + s of the selected positions, ascending. */
  selectedIndex: Int32Array;
}

/** Choose positions per row: each real position with probability `prob`, topped up to `minPerRow`. */
function choosePositions(real: ArrayLike<number>, rows: number, len: number, rng: Rng, opts: MaskingOptions): Uint8Array {
  const chosen = new Uint8Array(rows * len);
  for (let b = 0; b < rows; b++) {
    const realPos: number[] = [];
    for (let s = 0; s < len; s++) if ((real[b * len + s] as number) > 0) realPos.push(s);
    let count = 0;
    for (const s of realPos) {
      if (rng.next() < opts.prob) {
        chosen[b * len + s] = 1;
        count++;
      }
    }
    // A row with a single real position is left alone: masking it would leave no context at all.
    if (realPos.length > opts.minPerRow) {
      while (count < opts.minPerRow) {
        const s = rng.pick(realPos);
        if (!chosen[b * len + s]) {
          chosen[b * len + s] = 1;
          count++;
        }
      }
    }
  }
  return chosen;
}

/**
 * Corrupt a batch of music vectors. music [B, S, D], real [B, S] (1 real, 0 padding).
 * Selected positions: `maskFrac` get the [MASK] flag, `randomFrac` get a copy of a random other
 * real vector of the batch (any track, any position), the rest are kept unchanged.
 */
export function maskMusic(
  music: Float32Array,
  real: ArrayLike<number>,
  batch: number,
  len: number,
  dim: number,
  rng: Rng,
  opts: MaskingOptions = BERT_MASKING,
): MusicMasking {
  if (music.length !== batch * len * dim) throw new RangeError(`maskMusic: music has ${music.length} values, expected ${batch}x${len}x${dim}`);
  const chosen = choosePositions(real, batch, len, rng, opts);
  const allReal: number[] = [];
  for (let i = 0; i < batch * len; i++) if ((real[i] as number) > 0) allReal.push(i);
  const input = music.slice();
  const maskFlags = new Float32Array(batch * len);
  const selected = new Float32Array(batch * len);
  const idx: number[] = [];
  for (let i = 0; i < batch * len; i++) {
    if (!chosen[i]) continue;
    selected[i] = 1;
    idx.push(i);
    const u = rng.next();
    if (u < opts.maskFrac) {
      maskFlags[i] = 1;
    } else if (u < opts.maskFrac + opts.randomFrac && allReal.length > 1) {
      let j = i;
      while (j === i) j = rng.pick(allReal);
      input.set(music.subarray(j * dim, (j + 1) * dim), i * dim);
    }
  }
  return { input, maskFlags, selected, selectedIndex: Int32Array.from(idx) };
}

export interface TokenMasking {
  /** Token ids after corruption, [B, L]. */
  input: Int32Array;
  /** Flat indices b·L + l of the selected positions, ascending. */
  selectedIndex: Int32Array;
  /** The original token at each selected position (the prediction target). */
  targets: Int32Array;
}

/**
 * Corrupt a batch of token ids [B, L] (0 = padding, never selected). `special` ids (PAD, UNK, CLS,
 * SEP, MASK) are never chosen as random replacements; [UNK] positions are not selected either,
 * since predicting "unknown" teaches nothing.
 */
export function maskTokens(
  ids: Int32Array,
  batch: number,
  len: number,
  vocab: { size: number; maskId: number; special: readonly number[]; unkId?: number },
  rng: Rng,
  opts: MaskingOptions = BERT_MASKING,
): TokenMasking {
  if (ids.length !== batch * len) throw new RangeError(`maskTokens: ${ids.length} ids, expected ${batch}x${len}`);
  const specials = new Set(vocab.special);
  const ordinary: number[] = [];
  for (let t = 0; t < vocab.size; t++) if (!specials.has(t)) ordinary.push(t);
  const real = new Uint8Array(ids.length);
  for (let i = 0; i < ids.length; i++) real[i] = ids[i] !== 0 && ids[i] !== vocab.unkId && !specials.has(ids[i] as number) ? 1 : 0;
  const chosen = choosePositions(real, batch, len, rng, opts);
  const input = ids.slice();
  const idx: number[] = [];
  const targets: number[] = [];
  for (let i = 0; i < ids.length; i++) {
    if (!chosen[i]) continue;
    idx.push(i);
    targets.push(ids[i] as number);
    const u = rng.next();
    if (u < opts.maskFrac) input[i] = vocab.maskId;
    else if (u < opts.maskFrac + opts.randomFrac && ordinary.length > 0) input[i] = rng.pick(ordinary);
  }
  return { input, selectedIndex: Int32Array.from(idx), targets: Int32Array.from(targets) };
}
