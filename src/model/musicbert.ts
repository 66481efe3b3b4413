/**
 * MusicBert: one BERT-style Transformer over text tokens and music vectors together.
 *
 * Input sequence (either modality may be absent):
 *
 *     [CLS] t_1 … t_L [SEP] m_1 … m_S [SEP]
 *     └─── text side, type 0 ───┘ └─ music, type 1 ─┘
 *
 *  - t_i are word ids (0 = [PAD]); m_k are FROZEN audio-encoder vectors [musicDim] (one per patch,
 *    or per segment of patches for long audio, see segments.ts), projected to dModel by a linear
 *    layer. `maskedMusic` swaps chosen m_k for a learned [MASK] vector (music MLM / MIM).
 *  - Embedding = token (word or projected music) + position + type, then LayerNorm and dropout.
 *    Positions count within each side and are per sample: the text [SEP] takes position
 *    (real text length + 1) and the music [SEP] position (real music length), so padding never
 *    changes what a real token sees.
 *  - Pre-LN Transformer blocks (transformer.ts) with `full` or `local` (banded) attention, then a
 *    final LayerNorm.
 *
 * Outputs are the final hidden states, the [CLS] state, each side's states and their masked means.
 * The task heads live here too, so one checkpoint carries everything pre-training learned.
 */
import { join } from 'node:path';
import { tf } from '../tensor/backend.js';
import { dropout, embedding, gelu, l2Normalize, layerNorm, linear, maskedMean, matMul } from '../tensor/ops.js';
import { UsageError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { CheckpointError } from '../util/errors.js';
import { CLS_ID, SEP_ID, type Tokenizer } from '../text/tokenizer.js';
import type { MusicBertConfig } from './config.js';
import { CHECKPOINT_FILES, loadCheckpointOf, saveCheckpoint, type TrainingState } from './checkpoint.js';
import { disposeParams, initParams, paramsFromWeights, type ParamSpecs, type Params } from './params.js';
import { keyPaddingBias, localBandBias, stack, stackSpecs, type SequenceLayout } from './transformer.js';
import type { TensorMap } from '../util/safetensors.js';

export interface MusicBertInput {
  /** int32 [B,L] word ids, 0 = [PAD]; no [CLS]/[SEP] (the model adds them). */
  textIds?: tf.Tensor2D;
  /** [B,S,musicDim] frozen encoder vectors. */
  music?: tf.Tensor3D;
  /** [B,S] 1 real, 0 padding (default: all real). */
  musicMask?: tf.Tensor2D;
  /** [B,S] 1 where the learned [MASK] vector replaces the input vector. */
  maskedMusic?: tf.Tensor2D;
}

export interface MusicBertOutput {
  hidden: tf.Tensor3D; // [B,T,D]
  cls: tf.Tensor2D; // [B,D]
  textHidden: tf.Tensor3D | null; // [B,L,D]
  musicHidden: tf.Tensor3D | null; // [B,S,D]
  pooledText: tf.Tensor2D | null; // [B,D] mean over real text tokens
  pooledMusic: tf.Tensor2D | null; // [B,D] mean over real music positions
}

/** Every parameter of the model and its heads, with BERT's N(0, 0.02) init. */
export function musicBertSpecs(c: MusicBertConfig): ParamSpecs {
  const d = c.dModel;
  const normal = (shape: number[]) => ({ shape, init: { kind: 'normal' as const, std: 0.02 } });
  const zeros = (n: number) => ({ shape: [n], init: { kind: 'zeros' as const } });
  const ones = (n: number) => ({ shape: [n], init: { kind: 'ones' as const } });
  return {
    'embeddings.word': normal([c.vocabSize, d]),
    'embeddings.textPosition': normal([c.maxTextLen + 2, d]), // [CLS], L tokens, [SEP]
    'embeddings.musicPosition': normal([c.maxMusicLen + 1, d]), // S vectors, [SEP]
    'embeddings.type': normal([2, d]),
    'embeddings.musicProjection.weight': normal([c.musicDim, d]),
    'embeddings.musicProjection.bias': zeros(d),
    'embeddings.musicMask': normal([d]),
    'embeddings.norm.weight': ones(d),
    'embeddings.norm.bias': zeros(d),
    ...stackSpecs(c),
    'finalNorm.weight': ones(d),
    'finalNorm.bias': zeros(d),
    // Music MLM: reconstruct the masked input vector (BERT-style transform + output layer).
    'heads.musicRecon.dense.weight': normal([d, d]),
    'heads.musicRecon.dense.bias': zeros(d),
    'heads.musicRecon.norm.weight': ones(d),
    'heads.musicRecon.norm.bias': zeros(d),
    'heads.musicRecon.out.weight': normal([d, c.musicDim]),
    'heads.musicRecon.out.bias': zeros(c.musicDim),
    'heads.mim.weight': normal([d, c.musicDim]),
    'heads.mim.bias': zeros(c.musicDim),
    'heads.concept.weight': normal([d, c.numConcepts]),
    'heads.concept.bias': zeros(c.numConcepts),
    // Text MLM: transform, then the tied word embeddings as the output matrix.
    'heads.textMlm.dense.weight': normal([d, d]),
    'heads.textMlm.dense.bias': zeros(d),
    'heads.textMlm.norm.weight': ones(d),
    'heads.textMlm.norm.bias': zeros(d),
    'heads.textMlm.bias': zeros(c.vocabSize),
    'heads.textProjection.weight': normal([d, c.projDim]),
    'heads.textProjection.bias': zeros(c.projDim),
    'heads.musicProjection.weight': normal([d, c.projDim]),
    'heads.musicProjection.bias': zeros(c.projDim),
    'heads.match.weight': normal([2 * d, 1]),
    'heads.match.bias': zeros(1),
  };
}

export class MusicBert {
  readonly config: MusicBertConfig;
  readonly params: Params;
  /** The word vocabulary the text side was trained with (saved as vocab.txt); none for an audio-only model. */
  readonly tokenizer: Tokenizer | undefined;
  /** Dropout seeds when forward() is given none: deterministic per model seed and call order. */
  private readonly rng: Rng;

  private constructor(config: MusicBertConfig, params: Params, seed: number, tokenizer: Tokenizer | undefined) {
    if (tokenizer && tokenizer.size !== config.vocabSize) {
      throw new UsageError(`MusicBert: the tokenizer has ${tokenizer.size} tokens but the config says vocabSize ${config.vocabSize}`);
    }
    this.config = config;
    this.params = params;
    this.tokenizer = tokenizer;
    this.rng = new Rng(seed ^ 0x5eed);
  }

  static create(config: MusicBertConfig, seed: number, tokenizer?: Tokenizer): MusicBert {
    return new MusicBert(config, initParams(musicBertSpecs(config), seed), seed, tokenizer);
  }

  /** Rebuild from checkpoint weights (validated against the config; CheckpointError names the offender). */
  static fromWeights(config: MusicBertConfig, weights: TensorMap, source = 'weights', tokenizer?: Tokenizer): MusicBert {
    return new MusicBert(config, paramsFromWeights(musicBertSpecs(config), weights, source), 0, tokenizer);
  }

  /**
   * Load a checkpoint directory written by `save` (or by pre-training): config, weights and, when
   * present, vocab.txt. Reload is bit-identical; a bad file is a CheckpointError naming it.
   */
  static async load(dir: string): Promise<MusicBert> {
    const ck = await loadCheckpointOf(dir, 'musicbert');
    if (ck.tokenizer && ck.tokenizer.size !== ck.config.vocabSize) {
      throw new CheckpointError(`vocabulary has ${ck.tokenizer.size} tokens but the config says vocabSize ${ck.config.vocabSize}`, join(dir, CHECKPOINT_FILES.vocab));
    }
    return MusicBert.fromWeights(ck.config, ck.weights, ck.weightsPath, ck.tokenizer);
  }

  /** Write this model (and its tokenizer) as a checkpoint directory, atomically; `training` adds the resume state. */
  save(dir: string, training: TrainingState = {}): Promise<void> {
    return saveCheckpoint(dir, { config: this.config, params: this.params, ...(this.tokenizer ? { tokenizer: this.tokenizer } : {}), ...training });
  }

  private p<R extends tf.Rank>(name: string): tf.Tensor<R> {
    const v = this.params[name];
    if (!v) throw new Error(`MusicBert: parameter "${name}" does not exist`);
    return v as unknown as tf.Tensor<R>;
  }

  forward(input: MusicBertInput, opts: { training?: boolean; seed?: number } = {}): MusicBertOutput {
    const c = this.config;
    const training = opts.training ?? false;
    const seeds = new Rng(opts.seed ?? this.rng.nextU32());
    const nextSeed = () => seeds.nextU32();
    const { textIds, music } = input;
    if (!textIds && !music) throw new UsageError('MusicBert.forward: give textIds, music, or both');
    const batch = (textIds?.shape[0] ?? music?.shape[0]) as number;
    const L = textIds ? textIds.shape[1] : 0;
    const S = music ? music.shape[1] : 0;
    this.checkInput(input, batch, L, S);

    // Host-side bookkeeping: which tokens are real, and every token's position in its side.
    const textKeep = textIds ? (textIds.dataSync() as Int32Array) : new Int32Array(0); // [B*L]
    const musicKeep = music ? (input.musicMask ? input.musicMask.dataSync() : new Float32Array(batch * S).fill(1)) : new Float32Array(0);
    const textSide = 1 + (textIds ? L + 1 : 0); // [CLS] (+ L tokens + [SEP])
    const musicSide = music ? S + 1 : 0; // S vectors + [SEP]
    const T = textSide + musicSide;
    const layout: SequenceLayout = {
      batch,
      length: T,
      keep: new Uint8Array(batch * T),
      segment: new Int32Array(T),
      position: new Int32Array(T),
      special: new Uint8Array(T),
    };
    const textPos = new Int32Array(batch * textSide);
    const musicPos = new Int32Array(batch * musicSide);
    for (let b = 0; b < batch; b++) {
      let nText = 0;
      for (let i = 0; i < L; i++) if (textKeep[b * L + i] !== 0) nText++;
      let nMusic = 0;
      for (let k = 0; k < S; k++) if (musicKeep[b * S + k]! > 0) nMusic++;
      const row = b * T;
      layout.keep[row] = 1; // [CLS]
      if (textIds) {
        for (let i = 0; i < L; i++) {
          layout.keep[row + 1 + i] = textKeep[b * L + i] !== 0 ? 1 : 0;
          textPos[b * textSide + 1 + i] = i + 1;
        }
        layout.keep[row + L + 1] = 1;
        textPos[b * textSide + L + 1] = nText + 1;
      }
      if (music) {
        for (let k = 0; k < S; k++) {
          layout.keep[row + textSide + k] = musicKeep[b * S + k]! > 0 ? 1 : 0;
          musicPos[b * musicSide + k] = k;
        }
        layout.keep[row + T - 1] = 1;
        musicPos[b * musicSide + S] = nMusic;
      }
    }
    layout.special[0] = 1;
    for (let i = 1; i <= L; i++) layout.position[i] = i;
    if (textIds) {
      layout.special[L + 1] = 1;
      layout.position[L + 1] = L + 1;
    }
    for (let k = 0; k < musicSide; k++) {
      layout.segment[textSide + k] = 1;
      layout.position[textSide + k] = k;
    }
    if (music) layout.special[T - 1] = 1;

    return tf.tidy(() => {
      const d = c.dModel;
      const word = this.p<tf.Rank.R2>('embeddings.word');
      const type = this.p<tf.Rank.R2>('embeddings.type');
      // Text side: [CLS] t_1..t_L [SEP] → [B, textSide, D]
      const cls = tf.fill([batch, 1], CLS_ID, 'int32');
      const ids = textIds ? tf.concat([cls, tf.cast(textIds, 'int32'), tf.fill([batch, 1], SEP_ID, 'int32')], 1) : cls;
      let textEmb = tf.add(embedding(word, ids), embedding(this.p('embeddings.textPosition'), tf.tensor2d(textPos, [batch, textSide], 'int32')));
      textEmb = tf.add(textEmb, tf.slice(type, [0, 0], [1, d]));
      const parts: tf.Tensor[] = [textEmb];
      if (music) {
        // Music side: W·m_k + b (or [MASK]) … [SEP] → [B, S+1, D]
        let proj = linear(music, this.p('embeddings.musicProjection.weight'), this.p('embeddings.musicProjection.bias')); // [B,S,D]
        if (input.maskedMusic) {
          const m = tf.expandDims(tf.cast(input.maskedMusic, 'float32'), 2); // [B,S,1]
          proj = tf.add(tf.mul(proj, tf.sub(1, m)), tf.mul(m, this.p('embeddings.musicMask')));
        }
        const sep = tf.tile(tf.reshape(tf.slice(word, [SEP_ID, 0], [1, d]), [1, 1, d]), [batch, 1, 1]);
        let musicEmb = tf.add(tf.concat([proj, sep], 1), embedding(this.p('embeddings.musicPosition'), tf.tensor2d(musicPos, [batch, musicSide], 'int32')));
        musicEmb = tf.add(musicEmb, tf.slice(type, [1, 0], [1, d]));
        parts.push(musicEmb);
      }
      let h = (parts.length === 1 ? parts[0] : tf.concat(parts, 1)) as tf.Tensor3D; // [B,T,D]
      h = layerNorm(h, this.p('embeddings.norm.weight'), this.p('embeddings.norm.bias'));
      if (training && c.dropout > 0) h = dropout(h, c.dropout, nextSeed());

      const bias = c.attention.kind === 'local' ? localBandBias(layout, c.attention.window) : keyPaddingBias(layout);
      h = stack(this.params, c, h, bias, { heads: c.heads, dropout: c.dropout, training, nextSeed });
      const hidden = layerNorm(h, this.p('finalNorm.weight'), this.p('finalNorm.bias')); // [B,T,D]

      const clsOut = tf.reshape(tf.slice(hidden, [0, 0, 0], [batch, 1, d]), [batch, d]) as tf.Tensor2D;
      let textHidden: tf.Tensor3D | null = null;
      let pooledText: tf.Tensor2D | null = null;
      if (textIds) {
        textHidden = tf.slice(hidden, [0, 1, 0], [batch, L, d]);
        pooledText = maskedMean(textHidden, tf.tensor2d(Float32Array.from(textKeep, (x) => (x !== 0 ? 1 : 0)), [batch, L]));
      }
      let musicHidden: tf.Tensor3D | null = null;
      let pooledMusic: tf.Tensor2D | null = null;
      if (music) {
        musicHidden = tf.slice(hidden, [0, textSide, 0], [batch, S, d]);
        pooledMusic = maskedMean(musicHidden, tf.tensor2d(Float32Array.from(musicKeep, (x) => (x > 0 ? 1 : 0)), [batch, S]));
      }
      return { hidden, cls: clsOut, textHidden, musicHidden, pooledText, pooledMusic } as unknown as tf.TensorContainerObject;
    }) as unknown as MusicBertOutput;
  }

  private checkInput(input: MusicBertInput, batch: number, L: number, S: number): void {
    const c = this.config;
    if (input.textIds) {
      if (input.textIds.rank !== 2) throw new UsageError(`MusicBert.forward: textIds must be [B,L] (got [${input.textIds.shape}])`);
      if (L > c.maxTextLen) throw new UsageError(`MusicBert.forward: text length ${L} exceeds maxTextLen ${c.maxTextLen}`);
    }
    if (input.music) {
      const [b, , m] = input.music.shape;
      if (input.music.rank !== 3 || m !== c.musicDim) throw new UsageError(`MusicBert.forward: music must be [B,S,${c.musicDim}] (got [${input.music.shape}])`);
      if (S > c.maxMusicLen) throw new UsageError(`MusicBert.forward: music length ${S} exceeds maxMusicLen ${c.maxMusicLen}`);
      if (b !== batch) throw new UsageError(`MusicBert.forward: textIds and music disagree on batch size (${batch} vs ${b})`);
    }
    for (const [name, t] of [['musicMask', input.musicMask], ['maskedMusic', input.maskedMusic]] as const) {
      if (!t) continue;
      if (!input.music) throw new UsageError(`MusicBert.forward: ${name} given without music`);
      if (t.shape[0] !== batch || t.shape[1] !== S) throw new UsageError(`MusicBert.forward: ${name} must be [${batch},${S}] (got [${t.shape}])`);
    }
  }

  // ------------------------------------------------------------------------------------------
  // Heads

  /** [..., D] → [..., musicDim]: the masked input vector, reconstructed (music MLM). */
  musicReconstruction(h: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const x = layerNorm(gelu(linear(h, this.p('heads.musicRecon.dense.weight'), this.p('heads.musicRecon.dense.bias'))), this.p('heads.musicRecon.norm.weight'), this.p('heads.musicRecon.norm.bias'));
      return linear(x, this.p('heads.musicRecon.out.weight'), this.p('heads.musicRecon.out.bias'));
    });
  }

  /** [..., D] → [..., musicDim]: the InfoNCE query compared against candidate input vectors. */
  mimProjection(h: tf.Tensor): tf.Tensor {
    return linear(h, this.p('heads.mim.weight'), this.p('heads.mim.bias'));
  }

  /** [B,D] → [B,numConcepts] multi-label logits. */
  conceptLogits(pooled: tf.Tensor2D): tf.Tensor2D {
    return linear(pooled, this.p('heads.concept.weight'), this.p('heads.concept.bias'));
  }

  /** [..., D] → [..., vocabSize] word logits; the output matrix is the (tied) word embedding table. */
  textTokenLogits(h: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const x = layerNorm(gelu(linear(h, this.p('heads.textMlm.dense.weight'), this.p('heads.textMlm.dense.bias'))), this.p('heads.textMlm.norm.weight'), this.p('heads.textMlm.norm.bias'));
      const d = this.config.dModel;
      const x2 = tf.reshape(x, [-1, d]) as tf.Tensor2D;
      const logits = tf.add(matMul(x2, tf.transpose(this.p<tf.Rank.R2>('embeddings.word'))), this.p('heads.textMlm.bias'));
      return tf.reshape(logits, [...h.shape.slice(0, -1), this.config.vocabSize]);
    });
  }

  /** [B,D] → [B,projDim], unit length: the shared retrieval space, text side. */
  textProjection(pooled: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => l2Normalize(linear(pooled, this.p('heads.textProjection.weight'), this.p('heads.textProjection.bias'))));
  }

  /** [B,D] → [B,projDim], unit length: the shared retrieval space, music side. */
  musicProjection(pooled: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => l2Normalize(linear(pooled, this.p('heads.musicProjection.weight'), this.p('heads.musicProjection.bias'))));
  }

  /**
   * Joint pass ([CLS] text [SEP] music [SEP]) → [B] logit that text and music belong together,
   * from [CLS] and the product of the pooled text and music states ([B,2D] features). [CLS]
   * alone never left chance (loss ≈ ln 2) in 300 CPU steps: it has to learn cross-attention
   * from scratch, while the product lets the head compare the two sides at once and the
   * attention refine it.
   */
  matchLogit(joint: Pick<MusicBertOutput, 'cls' | 'pooledText' | 'pooledMusic'>): tf.Tensor1D {
    if (!joint.pooledText || !joint.pooledMusic) throw new UsageError('matchLogit needs a joint pass with both text and music');
    const { cls, pooledText, pooledMusic } = joint;
    return tf.tidy(() => {
      const feats = tf.concat([cls, tf.mul(pooledText, pooledMusic)], 1) as tf.Tensor2D; // [B,2D]
      return tf.reshape(linear(feats, this.p('heads.match.weight'), this.p('heads.match.bias')), [-1]) as tf.Tensor1D;
    });
  }

  dispose(): void {
    disposeParams(this.params);
  }
}
