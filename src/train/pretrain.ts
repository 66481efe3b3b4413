/**
 * The whole pre-training recipe, as a library function (the CLI and the evaluation call it):
 *
 *   corpus → log-mel patches (cached)
 *   stage 1  AudioEncoder on tags (BCE) and/or contrastive → OUT/audio-encoder/   (reused if done)
 *            (plus any extra unlabeled audio)
 *   frozen encoder → patch vectors (cached) → toSegments
 *   stage 2  MusicBert with the chosen objectives         → OUT/musicbert/
 *
 * Both stages checkpoint periodically with optimizer and trainer state, and a re-run with the same
 * options resumes where the last checkpoint left off (or returns at once when already finished).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ready } from '../tensor/backend.js';
import { loadCorpus, type Corpus, type TrackRecord } from '../data/corpus.js';
import { cachedEmbeddings, corpusPatches, defaultCacheDir, weightsHash, type PatchSet } from '../data/cache.js';
import { describeOrder } from '../data/batches.js';
import { AudioEncoder } from '../model/audioEncoder.js';
import { MusicBert } from '../model/musicbert.js';
import { audioEncoderConfig, musicBertConfig, type AudioEncoderConfig, type MusicBertConfig } from '../model/config.js';
import { loadAudioEncoder, loadCheckpoint, loadMusicBert, saveCheckpoint } from '../model/checkpoint.js';
import { toSegments } from '../model/segments.js';
import { Tokenizer } from '../text/tokenizer.js';
import { seedFrom } from '../util/rng.js';
import { CheckpointError, UsageError } from '../util/errors.js';
import type { TensorMap } from '../util/safetensors.js';
import { train, type StepRecord, type TrainerSnapshot, type TrainerState, type ValidationRecord } from './trainer.js';
import { encoderLossSettings, encoderStepLoss, encoderValidation, patchPool, twoViewStepLoss, twoViewValidation, type EncoderObjective } from './encoderStage.js';
import { extraAudioTracks } from '../data/extraAudio.js';
import { OBJECTIVES, meanVariance, parseWeights, stepLoss, validationLoss, type LossSettings, type MusicItem, type ObjectiveName } from './musicbertLoss.js';
import { preset as getPreset, type PresetName } from './presets.js';

/** Reviews longer than this many tokens are cut (the rest is rarely about the music). */
const MAX_REVIEW_TOKENS = 512;

export interface PretrainOptions {
  /** Corpus directory (generator output or a public layout). */
  data: string;
  /** Output directory: audio-encoder/ and musicbert/ checkpoints go here. */
  out: string;
  objectives?: readonly ObjectiveName[];
  weights?: Partial<Record<ObjectiveName, number>>;
  seed?: number;
  config?: PresetName;
  /** Stage-2 updates (default from the preset). */
  steps?: number;
  batch?: number;
  lr?: number;
  /** Stage-1 updates; 0 keeps the randomly initialised encoder (an ablation). */
  encoderSteps?: number;
  encoderBatch?: number;
  encoderLr?: number;
  /**
   * Stage-1 objectives: `tags` (the corpus tags, else genres, as multi-label BCE) and/or
   * `contrastive` (two patches of a track, self-supervised). Default: tags when the corpus has
   * tags or genres, else contrastive.
   */
  encoderObjectives?: readonly EncoderObjective[];
  /** Folders/files of extra unlabeled audio added to stage 1 only (useful with `contrastive`). */
  extraAudio?: readonly string[];
  /** Use this trained encoder checkpoint instead of running stage 1 (shares one encoder across variants). */
  encoderFrom?: string;
  /** Overrides of the preset's model shapes. */
  encoderConfig?: Partial<AudioEncoderConfig>;
  modelConfig?: Partial<MusicBertConfig>;
  /** Patch/vector cache; default `<data>/.musicbert-cache` (or `<out>/cache` if that is read-only). */
  cacheDir?: string;
  checkpointEvery?: number;
  evalEvery?: number;
  /** Stop stage 2 after this many updates, as if killed (tests, time boxes); a re-run resumes. */
  stopAt?: number;
  /** An already loaded corpus (skips loadCorpus). */
  corpus?: Corpus;
  quiet?: boolean;
}

export interface StageSummary {
  steps: number;
  seconds: number;
  /** Per part: mean of the first and of the last few training steps' values. */
  losses: Record<string, { first: number; last: number }>;
  validation: ValidationRecord[];
  /** True when a finished checkpoint was reused instead of training. */
  reused: boolean;
}

export interface PretrainResult {
  encoderDir: string;
  modelDir: string;
  history: { encoder: StepRecord[]; model: StepRecord[] };
  summary: {
    objectives: ObjectiveName[];
    encoderObjectives: EncoderObjective[];
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

/** Mean of the first and last k values of every logged part (k = a quarter of the run, 1..10). */
export function summarizeHistory(history: readonly StepRecord[]): Record<string, { first: number; last: number }> {
  const out: Record<string, { first: number; last: number }> = {};
  if (history.length === 0) return out;
  const k = Math.max(1, Math.min(10, Math.floor(history.length / 4)));
  const names = new Set<string>(['total']);
  for (const h of history) for (const n of Object.keys(h.parts)) names.add(n);
  const value = (h: StepRecord, n: string): number | undefined => (n === 'total' ? h.loss : h.parts[n]);
  for (const n of names) {
    const mean = (xs: readonly StepRecord[]): number => {
      const v = xs.map((h) => value(h, n)).filter((x): x is number => x !== undefined);
      return v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN;
    };
    out[n] = { first: mean(history.slice(0, k)), last: mean(history.slice(-k)) };
  }
  return out;
}

/**
 * Tags as concept indices; corpora without tags fall back to the genre as a single tag, and
 * corpora with neither get an empty vocabulary (only self-supervised objectives apply).
 */
function conceptLabels(corpus: Corpus): { vocabulary: string[]; labels: Map<string, number[]> } {
  const hasTags = corpus.tagVocabulary.length > 0 && corpus.tracks.some((t) => t.tags.length > 0);
  const vocabulary = hasTags ? corpus.tagVocabulary : corpus.genres;
  const index = new Map(vocabulary.map((v, i) => [v, i]));
  const labels = new Map<string, number[]>();
  for (const t of corpus.tracks) {
    const names = hasTags ? t.tags : t.genre ? [t.genre] : [];
    labels.set(t.id, names.map((n) => index.get(n)).filter((i): i is number => i !== undefined));
  }
  return { vocabulary, labels };
}

async function readState(dir: string): Promise<{ state: TrainerState; optimizer?: TensorMap } | undefined> {
  if (!existsSync(join(dir, 'config.json'))) return undefined;
  const ck = await loadCheckpoint(dir);
  const state = ck.state as TrainerState | undefined;
  if (!state || state.kind !== 'trainer-state') throw new CheckpointError('checkpoint has no trainer state to resume from (not written by pretrain?)', dir);
  return { state, optimizer: ck.optimizer };
}

function stageSummary(history: StepRecord[], validation: ValidationRecord[], seconds: number, reused: boolean): StageSummary {
  return { steps: history.length, seconds, losses: summarizeHistory(history), validation, reused };
}

export async function pretrain(opts: PretrainOptions): Promise<PretrainResult> {
  const started = Date.now();
  await ready();
  const configName = opts.config ?? 'small';
  const p = getPreset(configName);
  const seed = opts.seed ?? 0;
  const objectives = [...(opts.objectives ?? OBJECTIVES)];
  if (objectives.length === 0) throw new UsageError('no objectives given');
  const weights = { ...parseWeights(undefined), ...opts.weights };
  const out = resolve(opts.out);
  const encoderDir = opts.encoderFrom ? resolve(opts.encoderFrom) : join(out, 'audio-encoder');
  const modelDir = join(out, 'musicbert');
  const quiet = opts.quiet ?? false;

  const corpus = opts.corpus ?? (await loadCorpus(opts.data));
  const { vocabulary, labels } = conceptLabels(corpus);
  const cacheDir = opts.cacheDir ? resolve(opts.cacheDir) : await defaultCacheDir(opts.data, join(out, 'cache'));
  const tracks = corpus.tracks;
  const patches = await corpusPatches(tracks, cacheDir, { quiet, label: 'patches' });
  const usable = (split: TrackRecord['split']): TrackRecord[] => tracks.filter((t) => t.split === split && (patches.get(t.id)?.count ?? 0) > 0);
  const trainTracks = usable('train');
  const validTracks = usable('valid');
  if (trainTracks.length === 0) throw new UsageError(`${corpus.root}: no training tracks with at least one 0.96 s patch of audio`);
  const encObjectives = [...(opts.encoderObjectives ?? (vocabulary.length > 0 ? ['tags'] : ['contrastive']))] as EncoderObjective[];
  if (encObjectives.length === 0) throw new UsageError('no encoder objectives given');
  if (encObjectives.includes('tags') && vocabulary.length === 0) {
    throw new UsageError(`${corpus.root}: the corpus has neither tags nor genres for the encoder objective "tags" (use --encoder-objectives contrastive)`);
  }

  // ---- stage 1: the audio encoder ------------------------------------------------------------
  const encSteps = opts.encoderSteps ?? p.encoderSteps;
  const encSeed = seedFrom(seed, 'encoder');
  // A concept head of at least one unit keeps the checkpoint layout the same without tags.
  const encCfg = audioEncoderConfig({ ...p.encoder, ...opts.encoderConfig, numConcepts: Math.max(1, vocabulary.length) });
  let encoder: AudioEncoder;
  let encHistory: StepRecord[] = [];
  let encSummary: StageSummary;
  const previous = opts.encoderFrom ? undefined : await readState(encoderDir);
  if (opts.encoderFrom || (previous && previous.state.step >= previous.state.totalSteps)) {
    // Done before (this run or another): reuse as is.
    encoder = await loadAudioEncoder(encoderDir);
    const st = opts.encoderFrom ? (await readState(encoderDir).catch(() => undefined))?.state : previous?.state;
    encHistory = st?.history ?? [];
    encSummary = stageSummary(encHistory, st?.validation ?? [], 0, true);
  } else {
    const t0 = Date.now();
    const extra = opts.extraAudio?.length ? await extraAudioTracks(opts.extraAudio) : [];
    const extraPatches = extra.length ? await corpusPatches(extra, cacheDir, { quiet, label: 'extra audio patches' }) : new Map<string, PatchSet>();
    const stageTracks = [...trainTracks, ...extra.filter((t) => (extraPatches.get(t.id)?.count ?? 0) > 0)];
    const patchesOf = (t: TrackRecord): PatchSet => (patches.get(t.id) ?? extraPatches.get(t.id)) as PatchSet;
    const pool = patchPool(stageTracks.map(patchesOf), stageTracks.map((t) => labels.get(t.id) ?? []));
    const validPool = patchPool(validTracks.map(patchesOf), validTracks.map((t) => labels.get(t.id) ?? []));
    extraPatches.clear();
    encoder = previous ? await loadAudioEncoder(encoderDir) : AudioEncoder.create(encCfg, encSeed);
    if (encSteps > 0) {
      const batch = opts.encoderBatch ?? p.encoderBatch;
      // Tags alone keep the single-patch sampler; any contrastive mix samples tracks, two patches each.
      const tagsOnly = encObjectives.length === 1 && encObjectives[0] === 'tags';
      const settings = encoderLossSettings(encObjectives, Math.max(2, Math.floor(batch / 2)));
      const r = await train({
        params: encoder.params,
        loss: tagsOnly ? encoderStepLoss(encoder, pool, batch, encSeed) : twoViewStepLoss(encoder, pool, settings, encSeed),
        validate: tagsOnly ? encoderValidation(encoder, validPool) : twoViewValidation(encoder, validPool, settings, encSeed),
        steps: encSteps,
        seed: encSeed,
        lr: opts.encoderLr ?? p.encoderLr,
        evalEvery: opts.evalEvery ?? Math.max(1, Math.ceil(encSteps / 4)),
        checkpointEvery: opts.checkpointEvery ?? Math.max(1, Math.ceil(encSteps / 4)),
        data: tagsOnly
          ? { order: describeOrder(pool.size, Math.min(batch, pool.size), encSeed), concepts: vocabulary }
          : { order: describeOrder(stageTracks.length, settings.batch, encSeed), concepts: vocabulary, objectives: encObjectives, extra: extra.length },
        resume: previous?.optimizer ? { optimizer: previous.optimizer, state: previous.state } : undefined,
        save: (snap: TrainerSnapshot) => saveCheckpoint(encoderDir, { config: encoder.config, params: encoder.params, optimizer: snap.optimizer, state: snap.state }),
        label: 'stage 1 encoder',
        quiet,
      });
      encHistory = r.history;
      encSummary = stageSummary(r.history, r.validation, (Date.now() - t0) / 1000, false);
    } else {
      const state: TrainerState = { kind: 'trainer-state', step: 0, totalSteps: 0, seed: encSeed, rng: 'per-step(seed, step)', history: [], validation: [] };
      await saveCheckpoint(encoderDir, { config: encoder.config, params: encoder.params, state });
      encSummary = stageSummary([], [], 0, false);
    }
  }

  // ---- frozen vectors -> segments -------------------------------------------------------------
  const encHash = weightsHash(Object.fromEntries(Object.entries(encoder.params).map(([n, v]) => [n, { shape: v.shape, data: v.dataSync() as Float32Array }])));
  const embedTracks = tracks.filter((t) => (patches.get(t.id)?.count ?? 0) > 0);
  const emb = await cachedEmbeddings(
    embedTracks,
    encHash,
    encoder.config.embedDim,
    cacheDir,
    async (t) => {
      const ps = patches.get(t.id) as PatchSet;
      return { data: await encoder.embedPatches(ps.data, ps.count), count: ps.count };
    },
    { quiet, label: 'embed' },
  );
  const embedDim = encoder.config.embedDim;
  encoder.dispose();
  patches.clear();

  // ---- stage 2: MusicBert ---------------------------------------------------------------------
  const modelSeed = seedFrom(seed, 'musicbert');
  const prevModel = await readState(modelDir);
  let model: MusicBert;
  let tokenizer: Tokenizer | undefined;
  if (prevModel) {
    const loaded = await loadMusicBert(modelDir);
    model = loaded.model;
    tokenizer = loaded.tokenizer;
  } else {
    const albumsTrain = new Set(trainTracks.map((t) => t.albumId).filter((a): a is string => a !== undefined));
    const reviews = corpus.albums.filter((a) => albumsTrain.has(a.id)).flatMap((a) => a.reviews);
    tokenizer = Tokenizer.train(reviews, { vocabSize: p.vocabSize, minCount: 2 });
    // No reviews (an audio-only corpus): no words to learn, so no tokenizer is saved.
    if (tokenizer.size < 6) tokenizer = undefined;
    const cfg = musicBertConfig({
      ...p.model,
      ...opts.modelConfig,
      musicDim: embedDim,
      vocabSize: tokenizer?.size ?? 6,
      numConcepts: Math.max(1, vocabulary.length),
    });
    model = MusicBert.create(cfg, modelSeed);
  }
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
  const trainItems = trainTracks.map(toItem);
  const validItems = validTracks.map(toItem);
  const batch = Math.min(opts.batch ?? p.batch, trainItems.length);
  const settings: LossSettings = {
    objectives,
    weights,
    batch,
    mimTemperature: 0.1,
    alignTemperature: 0.1,
    musicVariance: meanVariance(trainItems, cfg.musicDim),
  };
  const steps = opts.steps ?? p.steps;
  const t2 = Date.now();
  let modelHistory: StepRecord[];
  let modelSummary: StageSummary;
  let stopped = false;
  const data = { order: describeOrder(trainItems.length, batch, modelSeed), objectives, weights, encoder: encHash };
  if (prevModel && prevModel.state.step >= prevModel.state.totalSteps && prevModel.state.totalSteps === steps && JSON.stringify(prevModel.state.data) === JSON.stringify(data)) {
    modelHistory = prevModel.state.history;
    modelSummary = stageSummary(modelHistory, prevModel.state.validation, 0, true);
  } else {
    const r = await train({
      params: model.params,
      loss: stepLoss(model, tokenizer, trainItems, settings, modelSeed),
      validate: validationLoss(model, tokenizer, validItems, settings, modelSeed),
      steps,
      seed: modelSeed,
      lr: opts.lr ?? p.lr,
      evalEvery: opts.evalEvery ?? Math.max(1, Math.ceil(steps / 4)),
      checkpointEvery: opts.checkpointEvery ?? Math.max(1, Math.ceil(steps / 4)),
      data,
      resume: prevModel?.optimizer ? { optimizer: prevModel.optimizer, state: prevModel.state } : undefined,
      stopAt: opts.stopAt,
      save: (snap: TrainerSnapshot) => saveCheckpoint(modelDir, { config: model.config, params: model.params, tokenizer, optimizer: snap.optimizer, state: snap.state }),
      label: 'stage 2 musicbert',
      quiet,
    });
    modelHistory = r.history;
    modelSummary = stageSummary(r.history, r.validation, (Date.now() - t2) / 1000, false);
    stopped = r.stopped;
  }
  model.dispose();

  return {
    encoderDir,
    modelDir,
    history: { encoder: encHistory, model: modelHistory },
    summary: {
      objectives,
      encoderObjectives: encObjectives,
      seed,
      config: configName,
      tracks: { train: trainItems.length, valid: validItems.length, skipped: tracks.length - embedTracks.length },
      encoder: encSummary,
      model: modelSummary,
      cache: { dir: cacheDir, embeddingsReused: emb.reused },
      seconds: (Date.now() - started) / 1000,
      stopped,
    },
  };
}

