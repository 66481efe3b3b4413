/**
 * Stage 2: the step loss of the shared MusicBert over frozen segment vectors and album reviews.
 * Builds one batch from (seed, step), runs only the passes the chosen objectives need, and
 * returns the weighted sum plus each objective's own value:
 *
 *   music pass  [CLS] music' [SEP]  → mlm (reconstruct masked vectors), mim (InfoNCE),
 *                                       concept (tags BCE on the pooled output), align (music side)
 *   text pass   [CLS] text' [SEP]   → text-mlm, align (text side, CLIP-style InfoNCE)
 *   joint pass  [CLS] text [SEP] music [SEP], half the pairs mismatched → align-match
 *
 * music' / text' are BERT-corrupted (15% of positions) only when mlm/mim resp. text-mlm are
 * trained; the pooled outputs of those same passes feed concept and align, as BERT's NSP shares
 * the MLM pass. That is 3 passes per step instead of 5, which matters on a 2-core CPU; the 15%
 * corruption acts as mild augmentation for the pooled objectives.
 */
import { tf } from '../tensor/backend.js';
import type { MusicBert } from '../model/musicbert.js';
import type { Tokenizer } from '../text/tokenizer.js';
import { Rng } from '../util/rng.js';
import { UsageError } from '../util/errors.js';
import { batchIndices, multiHot, padSequences, stackIds } from '../data/batches.js';
import { maskMusic, maskTokens } from './masking.js';
import { bceWithLogits, infoNce, maskedCrossEntropy, maskedRegression, selectRows, symmetricInfoNce } from './objectives.js';
import type { LossOutput, StepContext } from './trainer.js';

export const OBJECTIVES = ['mlm', 'mim', 'concept', 'text-mlm', 'align'] as const;
export type ObjectiveName = (typeof OBJECTIVES)[number];

/** One training item: a track's frozen segment vectors with its labels and its album's reviews. */
export interface MusicItem {
  id: string;
  /** [count, musicDim] segment vectors (already pooled to ≤ maxMusicLen). */
  segments: Float32Array;
  count: number;
  /** Indices into the concept vocabulary. */
  tags: number[];
  /** Album index (for pairing reviews and grouping same-album positives), −1 when none. */
  album: number;
  /** The album's reviews as whole token sequences (no padding; any length; empty when none). */
  reviews: Int32Array[];
}

export interface LossSettings {
  objectives: readonly ObjectiveName[];
  weights: Record<ObjectiveName, number>;
  batch: number;
  /** InfoNCE temperature of the MIM (music vector prediction). */
  mimTemperature: number;
  /** Temperature of the text–music contrastive alignment. */
  alignTemperature: number;
  /** Average per-dimension variance of the music vectors: divides the MLM error so 1.0 = predicting the mean. */
  musicVariance: number;
}

export function parseObjectives(text: string): ObjectiveName[] {
  const names = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new UsageError(`no objectives given (choose from ${OBJECTIVES.join(', ')})`);
  for (const n of names) {
    if (!(OBJECTIVES as readonly string[]).includes(n)) throw new UsageError(`unknown objective "${n}" (choose from ${OBJECTIVES.join(', ')})`);
  }
  return [...new Set(names)] as ObjectiveName[];
}

/** "mlm=1,mim=0.5" → weights; objectives not named keep weight 1. */
export function parseWeights(text: string | undefined): Record<ObjectiveName, number> {
  const w = Object.fromEntries(OBJECTIVES.map((o) => [o, 1])) as Record<ObjectiveName, number>;
  if (!text) return w;
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [name, value] = part.split('=');
    if (!name || value === undefined || !(OBJECTIVES as readonly string[]).includes(name.trim())) {
      throw new UsageError(`bad weight "${part}" (expected name=number with name in ${OBJECTIVES.join(', ')})`);
    }
    const v = Number(value);
    if (!Number.isFinite(v) || v < 0) throw new UsageError(`weight of ${name} must be a non-negative number, got "${value}"`);
    w[name.trim() as ObjectiveName] = v;
  }
  return w;
}

/** Mean over dimensions of the per-dimension variance of all segment vectors. */
export function meanVariance(items: readonly MusicItem[], dim: number): number {
  const sum = new Float64Array(dim);
  const sq = new Float64Array(dim);
  let n = 0;
  for (const it of items) {
    for (let r = 0; r < it.count; r++) {
      for (let d = 0; d < dim; d++) {
        const x = it.segments[r * dim + d] as number;
        sum[d]! += x;
        sq[d]! += x * x;
      }
      n++;
    }
  }
  if (n < 2) return 1;
  let v = 0;
  for (let d = 0; d < dim; d++) v += sq[d]! / n - (sum[d]! / n) ** 2;
  return Math.max(v / dim, 1e-8);
}

/**
 * A random window of `len` tokens from a review (0-padded when shorter). Reviews run longer
 * than maxTextLen and open with chit-chat as often as with music; a fixed prefix would hide most
 * of the descriptive text, while random windows show all of it over the epochs (and vary it).
 *
 * With a sentence-end id, a share `sentenceRate` of the views is one whole sentence instead:
 * queries and zero-shot prompts ("a jazz track", "slow sad piano") are a few words long, and a
 * text encoder that only ever saw 48-token windows places such short texts near each other
 * rather than near their music.
 */
export function cropTokens(ids: Int32Array, len: number, rng: Rng, sentenceEnd = -1, sentenceRate = 0.4): Int32Array {
  const out = new Int32Array(len);
  if (sentenceEnd >= 0 && rng.bool(sentenceRate)) {
    const starts = [0];
    for (let i = 0; i + 1 < ids.length; i++) if (ids[i] === sentenceEnd) starts.push(i + 1);
    const k = rng.int(0, starts.length - 1);
    const start = starts[k] as number;
    const end = k + 1 < starts.length ? (starts[k + 1] as number) : ids.length;
    out.set(ids.subarray(start, Math.min(end, start + len)));
    return out;
  }
  const start = ids.length > len ? rng.int(0, ids.length - len) : 0;
  out.set(ids.subarray(start, start + len));
  return out;
}

/** One stage-2 batch: padded music, tags and (for rows whose album has reviews) token windows. */
export interface MusicTextBatch {
  items: MusicItem[];
  music: Float32Array; // [B, S, D]
  mask: Float32Array; // [B, S]
  len: number;
  tags: Float32Array; // [B, C]
  /** Rows that have a review, and that review's ids [Bt, L]. */
  textRows: number[];
  textIds: Int32Array;
}

/** `sentenceEnd`: the "." token id, for single-sentence text views (see cropTokens); -1 for none. */
export function makeBatch(items: readonly MusicItem[], rows: ArrayLike<number>, model: MusicBert, rng: Rng, sentenceEnd = -1): MusicTextBatch {
  const cfg = model.config;
  const picked = Array.from(rows, (i) => items[i] as MusicItem);
  const padded = padSequences(picked.map((it) => ({ data: it.segments, count: it.count })), cfg.musicDim, cfg.maxMusicLen);
  const textRows: number[] = [];
  const texts: Int32Array[] = [];
  picked.forEach((it, b) => {
    if (it.reviews.length === 0) return;
    textRows.push(b);
    texts.push(cropTokens(it.reviews[rng.int(0, it.reviews.length - 1)] as Int32Array, cfg.maxTextLen, rng, sentenceEnd));
  });
  return {
    items: picked,
    music: padded.data,
    mask: padded.mask,
    len: padded.len,
    tags: multiHot(picked.map((it) => it.tags), cfg.numConcepts),
    textRows,
    textIds: stackIds(texts, cfg.maxTextLen),
  };
}

/** The loss of one batch. Call inside a tape/tidy. */
export function batchLoss(model: MusicBert, tokenizer: Tokenizer | undefined, batch: MusicTextBatch, s: LossSettings, rng: Rng, training: boolean): LossOutput {
  const cfg = model.config;
  const B = batch.items.length;
  const S = batch.len;
  const D = cfg.musicDim;
  const want = new Set(s.objectives);
  const parts: Record<string, tf.Scalar> = {};
  const weighted: tf.Scalar[] = [];
  const add = (name: string, objective: ObjectiveName, value: tf.Scalar): void => {
    parts[name] = value;
    weighted.push(tf.mul(value, s.weights[objective]) as tf.Scalar);
  };
  const fwdSeed = (): number => rng.nextU32();
  const musicT = (): tf.Tensor3D => tf.tensor3d(batch.music, [B, S, D]);
  const maskT = (): tf.Tensor2D => tf.tensor2d(batch.mask, [B, S]);

  const musicObjectives = want.has('mlm') || want.has('mim') || want.has('concept') || want.has('align');
  let pooledMusic: tf.Tensor2D | null = null;
  if (musicObjectives) {
    const masking = want.has('mlm') || want.has('mim');
    const m = masking ? maskMusic(batch.music, batch.mask, B, S, D, rng) : null;
    const out = model.forward(
      m ? { music: tf.tensor3d(m.input, [B, S, D]), musicMask: maskT(), maskedMusic: tf.tensor2d(m.maskFlags, [B, S]) } : { music: musicT(), musicMask: maskT() },
      { training, seed: fwdSeed() },
    );
    pooledMusic = out.pooledMusic!; // [B, dModel]
    if (m) {
      const dModel = out.musicHidden!.shape[2];
      const h = selectRows(tf.reshape(out.musicHidden!, [B * S, dModel]) as tf.Tensor2D, m.selectedIndex); // [M, dModel]
      const targets = new Float32Array(m.selectedIndex.length * D);
      m.selectedIndex.forEach((flat, k) => targets.set(batch.music.subarray(flat * D, flat * D + D), k * D));
      if (want.has('mlm')) {
        const pred = model.musicReconstruction(h) as tf.Tensor2D; // [M, D]
        const mse = maskedRegression(pred, tf.tensor2d(targets, [m.selectedIndex.length, D]), tf.ones([m.selectedIndex.length]));
        add('mlm', 'mlm', tf.div(mse, s.musicVariance) as tf.Scalar);
      }
      if (want.has('mim')) {
        // Keys: every real (original, uncorrupted) vector of the batch; query k's positive is its own.
        const realIdx: number[] = [];
        const where = new Int32Array(B * S).fill(-1);
        for (let i = 0; i < B * S; i++) {
          if ((batch.mask[i] as number) > 0) {
            where[i] = realIdx.length;
            realIdx.push(i);
          }
        }
        const keys = new Float32Array(realIdx.length * D);
        realIdx.forEach((flat, k) => keys.set(batch.music.subarray(flat * D, flat * D + D), k * D));
        const q = model.mimProjection(h) as tf.Tensor2D; // [M, D]
        const positives = Array.from(m.selectedIndex, (flat) => where[flat] as number);
        add('mim', 'mim', infoNce(q, tf.tensor2d(keys, [realIdx.length, D]), positives, s.mimTemperature));
      }
    }
    if (want.has('concept')) add('concept', 'concept', bceWithLogits(model.conceptLogits(pooledMusic), tf.tensor2d(batch.tags, [B, cfg.numConcepts])));
  }

  const Bt = batch.textRows.length;
  const L = cfg.maxTextLen;
  const textMlm = want.has('text-mlm') && tokenizer !== undefined;
  const align = want.has('align') && pooledMusic !== null && Bt > 1;
  let pooledText: tf.Tensor2D | null = null;
  if ((textMlm || align) && Bt > 0) {
    let input = batch.textIds;
    let tm: ReturnType<typeof maskTokens> | null = null;
    if (textMlm && tokenizer) {
      const special = [tokenizer.padId, tokenizer.unkId, tokenizer.clsId, tokenizer.sepId, tokenizer.maskId];
      tm = maskTokens(batch.textIds, Bt, L, { size: tokenizer.size, maskId: tokenizer.maskId, unkId: tokenizer.unkId, special }, rng);
      input = tm.input;
    }
    const out = model.forward({ textIds: tf.tensor2d(input, [Bt, L], 'int32') }, { training, seed: fwdSeed() });
    pooledText = out.pooledText!; // [Bt, dModel]
    if (tm && tm.selectedIndex.length > 0) {
      const dModel = out.textHidden!.shape[2];
      const h = selectRows(tf.reshape(out.textHidden!, [Bt * L, dModel]) as tf.Tensor2D, tm.selectedIndex);
      const logits = model.textTokenLogits(h) as tf.Tensor2D; // [M, V]
      add('text-mlm', 'text-mlm', maskedCrossEntropy(logits, tm.targets));
    }
  }

  if (align && pooledMusic && pooledText) {
    const t = model.textProjection(pooledText); // [Bt, P]
    const mu = model.musicProjection(selectRows(pooledMusic, batch.textRows)); // [Bt, P]
    const groups = batch.textRows.map((b) => (batch.items[b]!.album >= 0 ? batch.items[b]!.album : -1 - b));
    add('align', 'align', symmetricInfoNce(t, mu, s.alignTemperature, groups));
    // Matched / mismatched head: half of the rows get the music of a track from another album.
    const partner = new Int32Array(Bt);
    const label = new Float32Array(Bt);
    for (let i = 0; i < Bt; i++) {
      const others = batch.textRows.filter((_, j) => groups[j] !== groups[i]);
      const b = batch.textRows[i] as number;
      if (others.length > 0 && rng.bool(0.5)) partner[i] = rng.pick(others);
      else {
        partner[i] = b;
        label[i] = 1;
      }
    }
    const pm = new Float32Array(Bt * S * D);
    const pmask = new Float32Array(Bt * S);
    partner.forEach((b, i) => {
      pm.set(batch.music.subarray(b * S * D, (b + 1) * S * D), i * S * D);
      pmask.set(batch.mask.subarray(b * S, (b + 1) * S), i * S);
    });
    const joint = model.forward(
      { textIds: tf.tensor2d(batch.textIds, [Bt, L], 'int32'), music: tf.tensor3d(pm, [Bt, S, D]), musicMask: tf.tensor2d(pmask, [Bt, S]) },
      { training, seed: fwdSeed() },
    );
    add('align-match', 'align', bceWithLogits(model.matchLogit(joint), tf.tensor1d(label)));
  }

  if (weighted.length === 0) {
    throw new UsageError(`no objective could be computed for this batch (objectives ${s.objectives.join(', ')}; text objectives need album reviews)`);
  }
  return { loss: tf.addN(weighted) as tf.Scalar, parts };
}

/** The "." id when the vocabulary has it (reviews always do), else -1. */
function sentenceEndId(tokenizer: Tokenizer | undefined): number {
  if (!tokenizer) return -1;
  const id = tokenizer.id('.');
  return id === tokenizer.unkId ? -1 : id;
}

/** The trainer's loss closure over the training items: batch of step s = batchIndices(seed, s). */
export function stepLoss(model: MusicBert, tokenizer: Tokenizer | undefined, items: readonly MusicItem[], s: LossSettings, seed: number): (ctx: StepContext) => LossOutput {
  if (items.length === 0) throw new UsageError('no training tracks with audio: nothing to pre-train on');
  const sentenceEnd = sentenceEndId(tokenizer);
  return (ctx) => {
    const rows = batchIndices(items.length, Math.min(s.batch, items.length), seed, ctx.step);
    return batchLoss(model, tokenizer, makeBatch(items, rows, model, ctx.rng, sentenceEnd), s, ctx.rng, true);
  };
}

/** Validation: fixed batches over the held-out items, fixed masking, no dropout; mean over batches. */
export function validationLoss(model: MusicBert, tokenizer: Tokenizer | undefined, items: readonly MusicItem[], s: LossSettings, seed: number, maxBatches = 2): (() => LossOutput) | undefined {
  if (items.length === 0) return undefined;
  const size = Math.min(s.batch, items.length);
  const nb = Math.min(maxBatches, Math.ceil(items.length / size));
  return () => {
    const outs: LossOutput[] = [];
    for (let k = 0; k < nb; k++) {
      const rows = Array.from({ length: size }, (_, i) => (k * size + i) % items.length);
      const rng = new Rng(seed + 7919 * (k + 1));
      outs.push(batchLoss(model, tokenizer, makeBatch(items, rows, model, rng), s, rng, false));
    }
    const names = Object.keys(outs[0]!.parts);
    const mean = (xs: tf.Scalar[]): tf.Scalar => tf.div(tf.addN(xs), xs.length) as tf.Scalar;
    const parts: Record<string, tf.Scalar> = {};
    for (const n of names) {
      const xs = outs.map((o) => o.parts[n]).filter((x): x is tf.Scalar => x !== undefined);
      parts[n] = mean(xs);
    }
    return { loss: mean(outs.map((o) => o.loss)), parts };
  };
}
