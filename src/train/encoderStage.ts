/**
 * Stage 1, `trainEncoder`: the audio encoder learns multi-label concept tags from single log-mel
 * patches (binary cross-entropy per tag), the way VGGish was trained on AudioSet labels. Every
 * patch inherits its track's tags. Afterwards the encoder is frozen and only its 128-d vectors are
 * used. The result is OUT/audio-encoder/, reused or resumed by the rule in stages.ts.
 */
import { resolve } from 'node:path';
import { tf, ready } from '../tensor/backend.js';
import { AudioEncoder } from '../model/audioEncoder.js';
import { audioEncoderConfig, type AudioEncoderConfig } from '../model/config.js';
import { saveCheckpoint } from '../model/checkpoint.js';
import { batchIndices, describeOrder, multiHot } from '../data/batches.js';
import type { Corpus } from '../data/corpus.js';
import type { PatchSet } from '../data/cache.js';
import { PATCH_FRAMES, MEL_BANDS, PATCH_SIZE } from '../audio/index.js';
import { UsageError } from '../util/errors.js';
import { seedFrom } from '../util/rng.js';
import { modelDirs } from '../util/runDirs.js';
import { bceWithLogits } from './objectives.js';
import { preset as getPreset, type PresetName } from './presets.js';
import { readPreviousRun, reuseRule, stageData, stageSummary, type StageData, type StageSummary } from './stages.js';
import { train, type LossOutput, type StepContext, type StepRecord, type TrainerSnapshot, type TrainerState } from './trainer.js';

const PATCH = PATCH_SIZE;

export interface EncoderOptions {
  /** Corpus directory (generator output or a public layout). */
  data: string;
  /** Output directory: the encoder checkpoint goes to OUT/audio-encoder/. */
  out: string;
  seed?: number;
  config?: PresetName;
  /** Updates; 0 keeps the randomly initialised encoder (an ablation). */
  encoderSteps?: number;
  encoderBatch?: number;
  encoderLr?: number;
  /** Overrides of the preset's encoder shape. */
  encoderConfig?: Partial<AudioEncoderConfig>;
  /** Patch/vector cache; default `<data>/.musicbert-cache` (or `<out>/cache` if that is read-only). */
  cacheDir?: string;
  checkpointEvery?: number;
  evalEvery?: number;
  /** An already loaded corpus (skips loadCorpus). */
  corpus?: Corpus;
  quiet?: boolean;
}

export interface EncoderResult {
  encoderDir: string;
  history: StepRecord[];
  summary: StageSummary;
}

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
  const emb = encoder.embed(tf.tensor3d(x, [n, PATCH_FRAMES, MEL_BANDS])); // [n, 128]
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

/** Stage 1 alone: train (or reuse, or resume) OUT/audio-encoder/ on the corpus's concept labels. */
export async function trainEncoder(opts: EncoderOptions): Promise<EncoderResult> {
  await ready();
  return encoderStage(opts, await stageData(opts));
}

/** Stage 1 on data already prepared (pretrain shares it with stage 2). */
export async function encoderStage(opts: EncoderOptions, d: StageData): Promise<EncoderResult> {
  const t0 = Date.now();
  const p = getPreset(opts.config ?? 'small');
  const encoderDir = modelDirs(resolve(opts.out)).encoder;
  const steps = opts.encoderSteps ?? p.encoderSteps;
  const seed = seedFrom(opts.seed ?? 0, 'encoder');
  const cfg = audioEncoderConfig({ ...p.encoder, ...opts.encoderConfig, numConcepts: d.vocabulary.length });
  const batch = opts.encoderBatch ?? p.encoderBatch;
  const lr = opts.encoderLr ?? p.encoderLr;
  const pool = patchPool(d.train.map((t) => d.patches.get(t.id) as PatchSet), d.train.map((t) => d.labels.get(t.id) ?? []));
  const validPool = patchPool(d.valid.map((t) => d.patches.get(t.id) as PatchSet), d.valid.map((t) => d.labels.get(t.id) ?? []));
  const data = { order: describeOrder(pool.size, Math.min(batch, pool.size), seed), fingerprint: d.fingerprint, concepts: d.vocabulary, config: { model: cfg, batch, lr } };
  const previous = await readPreviousRun(encoderDir);
  const verdict = reuseRule(previous, { steps, seed, data }, encoderDir);
  if (verdict === 'reuse') {
    const st = (previous as { state: TrainerState }).state;
    return { encoderDir, history: st.history, summary: stageSummary(st.history, st.validation, 0, true) };
  }
  const encoder = verdict === 'resume' ? await AudioEncoder.load(encoderDir) : AudioEncoder.create(cfg, seed);
  try {
    if (steps === 0) {
      const state: TrainerState = { kind: 'trainer-state', step: 0, totalSteps: 0, seed, rng: 'per-step(seed, step)', history: [], validation: [], data };
      await saveCheckpoint(encoderDir, { config: encoder.config, params: encoder.params, state });
      return { encoderDir, history: [], summary: stageSummary([], [], 0, false) };
    }
    const r = await train({
      params: encoder.params,
      loss: encoderStepLoss(encoder, pool, batch, seed),
      validate: encoderValidation(encoder, validPool),
      steps,
      seed,
      lr,
      evalEvery: opts.evalEvery ?? Math.max(1, Math.ceil(steps / 4)),
      checkpointEvery: opts.checkpointEvery ?? Math.max(1, Math.ceil(steps / 4)),
      data,
      resume: previous?.optimizer ? { optimizer: previous.optimizer, state: previous.state } : undefined,
      save: (snap: TrainerSnapshot) => saveCheckpoint(encoderDir, { config: encoder.config, params: encoder.params, optimizer: snap.optimizer, state: snap.state }),
      label: 'stage 1 encoder',
      quiet: opts.quiet ?? false,
    });
    return { encoderDir, history: r.history, summary: stageSummary(r.history, r.validation, (Date.now() - t0) / 1000, false) };
  } finally {
    encoder.dispose();
  }
}
