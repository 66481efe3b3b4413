/**
 * Stage 1, `trainEncoder`: the audio encoder learns from single log-mel patches, with either or
 * both of
 *
 *   tags         multi-label concept tags (binary cross-entropy per tag), the way VGGish was
 *                trained on AudioSet labels; every patch inherits its track's tags, and tracks
 *                without tags (extra unlabeled audio) do not count in this loss;
 *   contrastive  COLA / SimCLR style: two patches of one track (anywhere in the whole track,
 *                each augmented) are positives, the other tracks of the batch negatives;
 *                symmetric InfoNCE over cosine similarities / τ. Needs no labels at all.
 *
 * Afterwards the encoder is frozen and only its 128-d vectors are used. The result is
 * OUT/audio-encoder/, reused or resumed by the rule in stages.ts.
 */
import { resolve } from 'node:path';
import { tf, ready } from '../tensor/backend.js';
import { AudioEncoder } from '../model/audioEncoder.js';
import { audioEncoderConfig, type AudioEncoderConfig } from '../model/config.js';
import { saveCheckpoint } from '../model/checkpoint.js';
import { batchIndices, describeOrder, multiHot } from '../data/batches.js';
import { corpusPatches } from '../data/cache.js';
import { extraAudioTracks } from '../data/extraAudio.js';
import type { Corpus } from '../data/corpus.js';
import type { PatchSet } from '../data/cache.js';
import { PATCH_FRAMES, MEL_BANDS, PATCH_SIZE } from '../audio/index.js';
import { UsageError } from '../util/errors.js';
import { Rng, seedFrom } from '../util/rng.js';
import { augmentPatch, DEFAULT_AUGMENT, NO_AUGMENT, type AugmentConfig } from './augment.js';
import { modelDirs } from '../util/runDirs.js';
import { bceWithLogits, selectRows, symmetricInfoNce } from './objectives.js';
import { preset as getPreset, type PresetName } from './presets.js';
import { readPreviousRun, reuseRule, stageData, stageSummary, type StageData, type StageSummary } from './stages.js';
import type { ConceptSpec } from './concepts.js';
import { train, type LossOutput, type StepContext, type StepRecord, type TrainerSnapshot, type TrainerState } from './trainer.js';

const PATCH = PATCH_SIZE;

export const ENCODER_OBJECTIVES = ['tags', 'contrastive'] as const;
export type EncoderObjective = (typeof ENCODER_OBJECTIVES)[number];

/** "contrastive,tags" → the objectives, deduplicated; unknown names are a UsageError. */
export function parseEncoderObjectives(text: string): EncoderObjective[] {
  const names = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new UsageError(`no encoder objectives given (choose from ${ENCODER_OBJECTIVES.join(', ')})`);
  for (const n of names) {
    if (!(ENCODER_OBJECTIVES as readonly string[]).includes(n)) throw new UsageError(`unknown encoder objective "${n}" (choose from ${ENCODER_OBJECTIVES.join(', ')})`);
  }
  return [...new Set(names)] as EncoderObjective[];
}

export interface EncoderLossSettings {
  objectives: readonly EncoderObjective[];
  /** Weight of each objective in the sum (default 1). */
  weights?: Partial<Record<EncoderObjective, number>>;
  /** Tracks per step; each gives two patches, so the encoder sees 2·batch patches. */
  batch: number;
  /** Temperature of the contrastive InfoNCE (SimCLR's 0.1–0.5 range). */
  temperature: number;
  augment: AugmentConfig;
}

export const CONTRASTIVE_TEMPERATURE = 0.2;



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
  /**
   * Objectives: `tags` (the corpus tags, else genres, as multi-label BCE) and/or `contrastive`
   * (two patches of a track, self-supervised). Default: tags when the corpus has tags or genres,
   * else contrastive.
   */
  encoderObjectives?: readonly EncoderObjective[];
  /** Folders/files of extra unlabeled audio added to this stage only (useful with `contrastive`). */
  extraAudio?: readonly string[];
  /** Where the concept targets come from (tags, genre, categorical labels) and how rare one may be; default the preset's. */
  concepts?: Partial<ConceptSpec>;
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

/** Default stage-1 settings for a list of objectives (the augmentations only matter to contrastive). */
export function encoderLossSettings(objectives: readonly EncoderObjective[], batch: number): EncoderLossSettings {
  return { objectives, batch, temperature: CONTRASTIVE_TEMPERATURE, augment: objectives.includes('contrastive') ? DEFAULT_AUGMENT : NO_AUGMENT };
}

/** Tracks of the pool that have at least one patch (indices into pool.patches). */
function usableTracks(pool: PatchPool): number[] {
  return pool.patches.map((p, t) => (p.count > 0 ? t : -1)).filter((t) => t >= 0);
}

const patchOf = (p: PatchSet, k: number): Float32Array => p.data.subarray(k * PATCH, (k + 1) * PATCH);

/** Two distinct patch indices of a track with `count` patches (the same one when count is 1). */
function twoPatches(count: number, rng: Rng): [number, number] {
  const a = rng.int(0, count - 1);
  if (count === 1) return [0, 0];
  const b = (a + rng.int(1, count - 1)) % count;
  return [a, b];
}

/**
 * One two-view batch: rows [0, B) are view A and [B, 2B) view B of tracks `tracks` (pool
 * indices), each view one patch of the track, augmented; mixup partners are view A's patch of
 * the next track in the batch. Returns x [2B, 96, 64], tags [2B, C] and tag weights [2B, 1]
 * (0 for tracks without tags).
 */
export function twoViewBatch(pool: PatchPool, tracks: ArrayLike<number>, classes: number, augment: AugmentConfig, rng: Rng): { x: Float32Array; y: Float32Array; w: Float32Array } {
  const b = tracks.length;
  const x = new Float32Array(2 * b * PATCH);
  const picks: Array<[number, number]> = [];
  for (let i = 0; i < b; i++) picks.push(twoPatches((pool.patches[tracks[i] as number] as PatchSet).count, rng));
  for (let i = 0; i < b; i++) {
    const p = pool.patches[tracks[i] as number] as PatchSet;
    const j = (i + 1) % b;
    const other = b > 1 ? patchOf(pool.patches[tracks[j] as number] as PatchSet, (picks[j] as [number, number])[0]) : undefined;
    const [ka, kb] = picks[i] as [number, number];
    x.set(augmentPatch(patchOf(p, ka), other, augment, rng), i * PATCH);
    x.set(augmentPatch(patchOf(p, kb), other, augment, rng), (b + i) * PATCH);
  }
  const labels = Array.from({ length: 2 * b }, (_, r) => pool.tags[tracks[r % b] as number] ?? []);
  const w = Float32Array.from(labels, (l) => (l.length > 0 ? 1 : 0));
  return { x, y: multiHot(labels, classes), w };
}

/**
 * The stage-1 loss of a two-view batch: weighted sum of the chosen objectives, each also
 * reported as a part. `groups` [B] are the batch's track ids, so a track drawn twice (at an
 * epoch boundary) is not its own negative.
 */
export function twoViewLoss(encoder: AudioEncoder, batch: { x: Float32Array; y: Float32Array; w: Float32Array }, groups: ArrayLike<number>, settings: EncoderLossSettings): LossOutput {
  const b = groups.length;
  const c = encoder.config.numConcepts;
  const emb = encoder.embed(tf.tensor3d(batch.x, [2 * b, PATCH_FRAMES, MEL_BANDS])); // [2B, D]
  const parts: Record<string, tf.Scalar> = {};
  const terms: tf.Scalar[] = [];
  const weight = (o: EncoderObjective): number => settings.weights?.[o] ?? 1;
  if (settings.objectives.includes('contrastive')) {
    const a = selectRows(emb, Array.from({ length: b }, (_, i) => i)); // [B, D]
    const p = selectRows(emb, Array.from({ length: b }, (_, i) => b + i)); // [B, D]
    parts.contrastive = symmetricInfoNce(a, p, settings.temperature, groups);
    terms.push(tf.mul(parts.contrastive, weight('contrastive')) as tf.Scalar);
  }
  if (settings.objectives.includes('tags')) {
    parts.tags = bceWithLogits(encoder.conceptLogits(emb), tf.tensor2d(batch.y, [2 * b, c]), tf.tensor2d(batch.w, [2 * b, 1]));
    terms.push(tf.mul(parts.tags, weight('tags')) as tf.Scalar);
  }
  if (terms.length === 0) throw new UsageError('no encoder objectives given');
  return { loss: tf.addN(terms) as tf.Scalar, parts };
}

/** Step loss of the two-view recipe (any objective mix that includes contrastive). */
export function twoViewStepLoss(encoder: AudioEncoder, pool: PatchPool, settings: EncoderLossSettings, seed: number): (ctx: StepContext) => LossOutput {
  const usable = usableTracks(pool);
  if (usable.length < 2) throw new UsageError(`the contrastive objective needs at least 2 training tracks with a 0.96 s patch (got ${usable.length})`);
  const b = Math.min(settings.batch, usable.length);
  return (ctx) => {
    const tracks = Array.from(batchIndices(usable.length, b, seed, ctx.step), (i) => usable[i] as number);
    const batch = twoViewBatch(pool, tracks, encoder.config.numConcepts, settings.augment, ctx.rng);
    return twoViewLoss(encoder, batch, tracks, settings);
  };
}

/** Validation of the two-view recipe: fixed batches of held-out tracks, fixed patches, no augmentation. */
export function twoViewValidation(encoder: AudioEncoder, pool: PatchPool, settings: EncoderLossSettings, seed: number, maxTracks = 64): (() => LossOutput) | undefined {
  const usable = usableTracks(pool).slice(0, maxTracks);
  if (usable.length < 2) return undefined;
  const plain = { ...settings, augment: NO_AUGMENT };
  return () => {
    const batch = twoViewBatch(pool, usable, encoder.config.numConcepts, NO_AUGMENT, new Rng(seedFrom(seed, 'validation')));
    return twoViewLoss(encoder, batch, usable, plain);
  };
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
  const objectives = [...(opts.encoderObjectives ?? (d.vocabulary.length > 0 ? ['tags'] : ['contrastive']))] as EncoderObjective[];
  if (objectives.length === 0) throw new UsageError('no encoder objectives given');
  if (objectives.includes('tags') && d.vocabulary.length === 0) {
    throw new UsageError(`${d.corpus.root}: the corpus has neither tags nor genres for the encoder objective "tags" (use --encoder-objectives contrastive)`);
  }
  // A concept head of at least one unit keeps the checkpoint layout the same without tags.
  const cfg = audioEncoderConfig({ ...p.encoder, ...opts.encoderConfig, numConcepts: Math.max(1, d.vocabulary.length) });
  const batch = opts.encoderBatch ?? p.encoderBatch;
  const lr = opts.encoderLr ?? p.encoderLr;
  const extra = opts.extraAudio?.length ? await extraAudioTracks(opts.extraAudio) : [];
  const extraPatches = extra.length ? await corpusPatches(extra, d.cacheDir, { quiet: opts.quiet ?? false, label: 'extra audio patches' }) : new Map<string, PatchSet>();
  const stageTracks = [...d.train, ...extra.filter((t) => (extraPatches.get(t.id)?.count ?? 0) > 0)];
  const patchesOf = (id: string): PatchSet => (d.patches.get(id) ?? extraPatches.get(id)) as PatchSet;
  const pool = patchPool(stageTracks.map((t) => patchesOf(t.id)), stageTracks.map((t) => d.labels.get(t.id) ?? []));
  const validPool = patchPool(d.valid.map((t) => d.patches.get(t.id) as PatchSet), d.valid.map((t) => d.labels.get(t.id) ?? []));
  extraPatches.clear();
  // Tags alone keep the single-patch sampler; any contrastive mix samples tracks, two patches each.
  const tagsOnly = objectives.length === 1 && objectives[0] === 'tags';
  const settings = encoderLossSettings(objectives, Math.max(2, Math.floor(batch / 2)));
  const data = tagsOnly
    ? { order: describeOrder(pool.size, Math.min(batch, pool.size), seed), fingerprint: d.fingerprint, concepts: d.vocabulary, config: { model: cfg, batch, lr } }
    : { order: describeOrder(stageTracks.length, settings.batch, seed), fingerprint: d.fingerprint, concepts: d.vocabulary, config: { model: cfg, batch, lr }, objectives, extra: extra.length };
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
      loss: tagsOnly ? encoderStepLoss(encoder, pool, batch, seed) : twoViewStepLoss(encoder, pool, settings, seed),
      validate: tagsOnly ? encoderValidation(encoder, validPool) : twoViewValidation(encoder, validPool, settings, seed),
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
