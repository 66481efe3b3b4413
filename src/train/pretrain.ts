/**
 * The whole pre-training recipe, as library functions (the CLI and the evaluation call them):
 *
 *   corpus → log-mel patches (cached)                                    stages.ts
 *   trainEncoder    AudioEncoder on tags (BCE) and/or contrastive → OUT/audio-encoder/   encoderStage.ts
 *   frozen encoder → patch vectors (cached) → toSegments
 *   trainMusicBert  MusicBert with the chosen objectives → OUT/musicbert/
 *   pretrain        the two in a row, sharing the loaded data
 *
 * Both stages checkpoint periodically with optimizer and trainer state. Each applies one rule to
 * what it finds in its directory (stages.ts): same steps, seed, data and config → reuse if
 * finished, resume if not; anything else differing → a CheckpointError.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ready } from '../tensor/backend.js';
import type { TrackRecord } from '../data/corpus.js';
import { cachedEmbeddings, weightsHash, type PatchSet, type VectorSet } from '../data/cache.js';
import { describeOrder } from '../data/batches.js';
import { MusicBert } from '../model/musicbert.js';
import { musicBertConfig, type MusicBertConfig } from '../model/config.js';
import { AudioEncoder } from '../model/audioEncoder.js';
import { saveCheckpoint } from '../model/checkpoint.js';
import { toSegments } from '../model/segments.js';
import { Tokenizer } from '../text/tokenizer.js';
import { seedFrom } from '../util/rng.js';
import { CheckpointError, UsageError } from '../util/errors.js';
import { modelDirs } from '../util/runDirs.js';
import { train, type StepRecord, type TrainerSnapshot } from './trainer.js';
import { encoderStage, type EncoderOptions } from './encoderStage.js';
import { OBJECTIVES, meanVariance, parseWeights, stepLoss, validationLoss, type LossSettings, type MusicItem, type ObjectiveName } from './musicbertLoss.js';
import { preset as getPreset, type PresetName } from './presets.js';
import { modelVocabulary, saveVocabulary } from '../model/vocabulary.js';
import { MusicBertPipeline } from '../model/pipeline.js';
import { PROTOTYPES_FILE, savePrototypes, tagPrototypes } from '../model/prototypes.js';
import { readPreviousRun, reuseRule, stageData, stageSummary, type StageData, type StageSummary } from './stages.js';

export { trainEncoder, type EncoderOptions, type EncoderResult } from './encoderStage.js';
export { summarizeHistory, type StageSummary } from './stages.js';

/** Reviews longer than this many tokens are cut (the rest is rarely about the music). */
const MAX_REVIEW_TOKENS = 512;

export interface PretrainOptions extends EncoderOptions {
  objectives?: readonly ObjectiveName[];
  weights?: Partial<Record<ObjectiveName, number>>;
  /** Stage-2 updates (default from the preset). */
  steps?: number;
  batch?: number;
  lr?: number;
  /** Use this trained encoder checkpoint instead of running stage 1 (shares one encoder across variants). */
  encoderFrom?: string;
  /** Overrides of the preset's model shape. */
  modelConfig?: Partial<MusicBertConfig>;
  /** Stop stage 2 after this many updates, as if killed (tests, time boxes); a re-run resumes. */
  stopAt?: number;
}

export interface MusicBertResult {
  modelDir: string;
  history: StepRecord[];
  summary: StageSummary;
  tracks: { train: number; valid: number; skipped: number };
  embeddingsReused: boolean;
  /** Set when stage 2 stopped at `stopAt` before its last step. */
  stopped: boolean;
}

export interface PretrainResult {
  encoderDir: string;
  modelDir: string;
  history: { encoder: StepRecord[]; model: StepRecord[] };
  summary: {
    objectives: ObjectiveName[];
    seed: number;
    config: PresetName;
    tracks: { train: number; valid: number; skipped: number };
    encoder: StageSummary;
    model: StageSummary;
    cache: { dir: string; embeddingsReused: boolean };
    seconds: number;
    /** Set when stage 2 stopped at `stopAt` before its last step. */
    stopped: boolean;
  };
}

/** Stage 2 alone, over the encoder in `encoderFrom` (default OUT/audio-encoder/, which must exist). */
export async function trainMusicBert(opts: PretrainOptions): Promise<MusicBertResult> {
  await ready();
  const encoderDir = resolve(opts.encoderFrom ?? modelDirs(resolve(opts.out)).encoder);
  if (!existsSync(join(encoderDir, 'config.json'))) throw new UsageError(`${encoderDir}: no trained audio encoder here; run trainEncoder (or pretrain) first, or pass encoderFrom`);
  return musicBertStage(opts, await stageData(opts), encoderDir);
}

/** Both stages: trainEncoder (unless `encoderFrom` names a trained one), then trainMusicBert. */
export async function pretrain(opts: PretrainOptions): Promise<PretrainResult> {
  const started = Date.now();
  await ready();
  const objectives = [...(opts.objectives ?? OBJECTIVES)];
  if (objectives.length === 0) throw new UsageError('no objectives given');
  const d = await stageData(opts);
  const enc = opts.encoderFrom ? await reusedEncoder(resolve(opts.encoderFrom)) : await encoderStage(opts, d);
  const bert = await musicBertStage(opts, d, enc.encoderDir);
  // Label vocabularies travel with the model: zero-shot defaults come from the training data.
  await saveVocabulary(resolve(opts.out), modelVocabulary(d.corpus.genres, d.vocabulary));
  return {
    encoderDir: enc.encoderDir,
    modelDir: bert.modelDir,
    history: { encoder: enc.history, model: bert.history },
    summary: {
      objectives,
      seed: opts.seed ?? 0,
      config: opts.config ?? 'small',
      tracks: bert.tracks,
      encoder: enc.summary,
      model: bert.summary,
      cache: { dir: d.cacheDir, embeddingsReused: bert.embeddingsReused },
      seconds: (Date.now() - started) / 1000,
      stopped: bert.stopped,
    },
  };
}

/** A trained encoder named by the caller: used as it is; its history is reported when it has one. */
async function reusedEncoder(encoderDir: string): Promise<{ encoderDir: string; history: StepRecord[]; summary: StageSummary }> {
  const st = (await readPreviousRun(encoderDir).catch(() => undefined))?.state;
  return { encoderDir, history: st?.history ?? [], summary: stageSummary(st?.history ?? [], st?.validation ?? [], 0, true) };
}

/** Hash of the review text stage 2 learns from (the tokenizer is trained on it). */
function reviewsHash(d: StageData): string {
  const albums = new Set([...d.train, ...d.valid].map((t) => t.albumId).filter((a): a is string => a !== undefined));
  const h = createHash('sha256');
  for (const a of d.corpus.albums) if (albums.has(a.id)) h.update(`${a.id}\n${a.reviews.join('\n')}\n`);
  return h.digest('hex').slice(0, 32);
}

/** Stage 2 on prepared data over the encoder in `encoderDir`. */
async function musicBertStage(opts: PretrainOptions, d: StageData, encoderDir: string): Promise<MusicBertResult> {
  const configName = opts.config ?? 'small';
  const p = getPreset(configName);
  const objectives = [...(opts.objectives ?? OBJECTIVES)];
  if (objectives.length === 0) throw new UsageError('no objectives given');
  const weights = { ...parseWeights(undefined), ...opts.weights };
  const modelDir = modelDirs(resolve(opts.out)).model;
  const quiet = opts.quiet ?? false;
  const { corpus, labels } = d;

  // ---- frozen vectors -> segments -------------------------------------------------------------
  const encoder = await AudioEncoder.load(encoderDir);
  const encHash = weightsHash(Object.fromEntries(Object.entries(encoder.params).map(([n, v]) => [n, { shape: v.shape, data: v.dataSync() as Float32Array }])));
  const embedDim = encoder.config.embedDim;
  let emb: Awaited<ReturnType<typeof cachedEmbeddings>>;
  try {
    emb = await cachedEmbeddings(
      d.embeddable,
      encHash,
      embedDim,
      d.cacheDir,
      async (t) => {
        const ps = d.patches.get(t.id) as PatchSet;
        return { data: await encoder.embedPatches(ps.data, ps.count), count: ps.count };
      },
      { quiet, label: 'embed' },
    );
  } finally {
    encoder.dispose();
  }
  d.patches.clear();

  const modelSeed = seedFrom(opts.seed ?? 0, 'musicbert');
  const steps = opts.steps ?? p.steps;
  const batch = Math.min(opts.batch ?? p.batch, d.train.length);
  const lr = opts.lr ?? p.lr;
  const tracks = { train: d.train.length, valid: d.valid.length, skipped: corpus.tracks.length - d.embeddable.length };
  const data = {
    order: describeOrder(d.train.length, batch, modelSeed),
    fingerprint: d.fingerprint,
    reviews: reviewsHash(d),
    objectives,
    weights,
    encoder: encHash,
    config: { preset: configName, model: opts.modelConfig ?? {}, lr },
  };
  const previous = await readPreviousRun(modelDir);
  const verdict = reuseRule(previous, { steps, seed: modelSeed, data }, modelDir);
  if (verdict === 'reuse') {
    const st = previous!.state;
    if (!existsSync(join(resolve(opts.out), PROTOTYPES_FILE))) await writePrototypes(resolve(opts.out), encoderDir, modelDir, d.train, emb.vectors);
    return { modelDir, history: st.history, summary: stageSummary(st.history, st.validation, 0, true), tracks, embeddingsReused: emb.reused, stopped: false };
  }

  // ---- stage 2: MusicBert ---------------------------------------------------------------------
  let model: MusicBert;
  let tokenizer: Tokenizer | undefined;
  if (verdict === 'resume') {
    model = await MusicBert.load(modelDir);
    tokenizer = model.tokenizer;
  } else {
    const albumsTrain = new Set(d.train.map((t) => t.albumId).filter((a): a is string => a !== undefined));
    const reviews = corpus.albums.filter((a) => albumsTrain.has(a.id)).flatMap((a) => a.reviews);
    tokenizer = Tokenizer.train(reviews, { vocabSize: p.vocabSize, minCount: 2 });
    // No reviews (an audio-only corpus): no words to learn, so no tokenizer is saved.
    if (tokenizer.size < 6) tokenizer = undefined;
    const cfg = musicBertConfig({ ...p.model, ...opts.modelConfig, musicDim: embedDim, vocabSize: tokenizer?.size ?? 6, numConcepts: Math.max(1, d.vocabulary.length) });
    model = MusicBert.create(cfg, modelSeed);
  }
  let result: MusicBertResult;
  try {
    const cfg = model.config;
    if (cfg.musicDim !== embedDim) throw new CheckpointError(`musicbert checkpoint expects ${cfg.musicDim}-d music vectors but the encoder gives ${embedDim}-d`, modelDir);
    const albumIndex = new Map(corpus.albums.map((a, i) => [a.id, i]));
    const reviewIds = new Map<number, Int32Array[]>();
    const reviewsOf = (album: number): Int32Array[] => {
      if (album < 0 || !tokenizer) return [];
      let r = reviewIds.get(album);
      if (!r) {
        // Whole reviews (up to a generous cap); batches take random maxTextLen windows of them.
        r = corpus.albums[album]!.reviews
          .map((text) => tokenizer!.encode(text, MAX_REVIEW_TOKENS))
          .map((ids) => ids.subarray(0, ids.indexOf(0) < 0 ? ids.length : ids.indexOf(0)))
          .filter((ids) => ids.length > 0);
        reviewIds.set(album, r);
      }
      return r;
    };
    const toItem = (t: TrackRecord): MusicItem => {
      const v = emb.vectors.get(t.id)!;
      const seg = toSegments(v.data, v.count, cfg.maxMusicLen);
      const album = t.albumId !== undefined ? (albumIndex.get(t.albumId) ?? -1) : -1;
      return { id: t.id, segments: seg.data, count: seg.count, tags: labels.get(t.id) ?? [], album, reviews: reviewsOf(album) };
    };
    const trainItems = d.train.map(toItem);
    const validItems = d.valid.map(toItem);
    const settings: LossSettings = { objectives, weights, batch, mimTemperature: 0.1, alignTemperature: cfg.alignTemperature, musicVariance: meanVariance(trainItems, cfg.musicDim) };
    const t0 = Date.now();
    const r = await train({
      params: model.params,
      loss: stepLoss(model, tokenizer, trainItems, settings, modelSeed),
      validate: validationLoss(model, tokenizer, validItems, settings, modelSeed),
      steps,
      seed: modelSeed,
      lr,
      evalEvery: opts.evalEvery ?? Math.max(1, Math.ceil(steps / 4)),
      checkpointEvery: opts.checkpointEvery ?? Math.max(1, Math.ceil(steps / 4)),
      data,
      resume: previous?.optimizer ? { optimizer: previous.optimizer, state: previous.state } : undefined,
      stopAt: opts.stopAt,
      save: (snap: TrainerSnapshot) => saveCheckpoint(modelDir, { config: model.config, params: model.params, tokenizer, optimizer: snap.optimizer, state: snap.state }),
      label: 'stage 2 musicbert',
      quiet,
    });
    result = { modelDir, history: r.history, summary: stageSummary(r.history, r.validation, (Date.now() - t0) / 1000, false), tracks, embeddingsReused: emb.reused, stopped: r.stopped };
  } finally {
    model.dispose();
  }
  if (!result.stopped) await writePrototypes(resolve(opts.out), encoderDir, modelDir, d.train, emb.vectors);
  return result;
}

/**
 * The music prototypes of the training tracks' tags (model/prototypes.ts), saved beside the
 * checkpoints: each training track's joint vector through the trained model, from its cached
 * encoder vectors by the path embedAudio takes (toSegments, then the music-only pass).
 */
async function writePrototypes(out: string, encoderDir: string, modelDir: string, tracks: readonly TrackRecord[], vectors: ReadonlyMap<string, VectorSet>): Promise<void> {
  const pipeline = await MusicBertPipeline.loadParts({ encoder: encoderDir, musicbert: modelDir });
  try {
    const items: { vector: Float32Array; tags: readonly string[] }[] = [];
    for (const t of tracks) {
      const v = vectors.get(t.id);
      if (!v || v.count === 0 || t.tags.length === 0) continue;
      const [vector] = await pipeline.embedSegments([toSegments(v.data, v.count, pipeline.model.config.maxMusicLen)]);
      items.push({ vector: vector as Float32Array, tags: t.tags });
    }
    await savePrototypes(out, tagPrototypes(items, pipeline.dim));
  } finally {
    pipeline.dispose();
  }
}
