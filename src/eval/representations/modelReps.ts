/**
 * Rows 4–8: representations from our own pre-trained models (src/train pretrain).
 *
 *   vggish    the stage-1 audio encoder's patch vectors, mean and std over the track (256-d)
 *   layers    the same encoder's every layer (conv blocks averaged over time and frequency, dense
 *             hidden layers), mean and std over the track: Choi et al.'s all-layer transfer
 *   audioset  the encoder's concept probabilities, sigmoid(conceptLogits), mean over patches
 *   mlm, mim  the shared Transformer pre-trained with that single objective; the pooled
 *             contextual music vector of a music-only pass
 *   full      the same with every objective, text alignment included
 *   local     `full` with local attention (a band of ±LOCAL_WINDOW positions within each
 *             modality): the proposal's hypothesis that softmax attention blurs music vectors
 *             across time and sparse attention helps
 *
 * Per seed, one encoder is trained (trainEncoder) and every MusicBERT variant of
 * that seed starts from it (`encoderFrom`), so the mlm / mim / full rows differ only in the
 * objective. Pre-training sees only the training corpus (held-out tracks removed).
 */
import { createHash } from 'node:crypto';
import type { TrackRecord } from '../../data/corpus.js';
import { MusicBertPipeline, type PatchVectors } from '../../model/pipeline.js';
import { tf } from '../../tensor/backend.js';
import type { EncoderOptions } from '../../train/encoderStage.js';
import { pretrain, trainEncoder } from '../../train/pretrain.js';
import { evalPretrainCacheDir, evalRowDir, evalRunDir } from '../../util/runDirs.js';
import type { ObjectiveName } from '../../train/musicbertLoss.js';
import { OBJECTIVES } from '../../train/musicbertLoss.js';
import { preset, type PresetName } from '../../train/presets.js';
import type { FeatureMatrix, RepName } from '../types.js';
import type { LogMelSource } from './frontend.js';
import { trainingStamp, type StampScope } from './cache.js';
import type { PretrainRecipe, RepContext, Representation } from './types.js';

function presetFor(ctx: RepContext): PresetName {
  return ctx.recipe?.config ?? (ctx.quick ? 'tiny' : 'small');
}

/**
 * The recipe's real overrides: entries equal to the preset's own value (and the preset name, which
 * the run key holds already) are dropped, so a recipe that spells out the preset shares its runs and
 * features (`{"encoderSteps":1200}` once the preset is 1,200 steps).
 */
function overrides(ctx: RepContext): PretrainRecipe {
  const base = preset(presetFor(ctx)) as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(ctx.recipe ?? {})) {
    if (k === 'config' || v === undefined || JSON.stringify(v) === JSON.stringify(base[k])) continue;
    out[k] = v;
  }
  return out as PretrainRecipe;
}

/** Recipe entries only stage 2 reads: changing one retrains no encoder. */
const STAGE2_ONLY: ReadonlySet<string> = new Set(['steps', 'batch', 'lr', 'weights', 'modelConfig'] satisfies Array<Exclude<keyof PretrainRecipe, keyof EncoderOptions>>);

/** A short stable hex hash of the recipe overrides the scope's training reads ('' without any). */
function recipeKey(ctx: RepContext, scope: StampScope): string {
  const recipe = Object.fromEntries(Object.entries(overrides(ctx)).filter(([k]) => scope === 'model' || !STAGE2_ONLY.has(k)));
  if (Object.keys(recipe).length === 0) return '';
  const s = JSON.stringify(recipe, Object.keys(recipe).sort());
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/** A hex key of everything a stage's training depends on in this scope (data and recipe). */
async function stageKey(ctx: RepContext, scope: StampScope): Promise<string> {
  return `${createHash('sha256').update(await trainingStamp(ctx, scope)).digest('hex').slice(0, 16)}${recipeKey(ctx, scope)}`;
}

/**
 * A stage's directory, named by everything its training depends on (the training tracks' audio
 * content and annotations, the recipe), so runs on other data never share a directory and a finished
 * run is found again after the dataset is copied or re-mounted. The seed's run directory is named by
 * what stage 1 reads (no text, no stage-2 settings); each row's stage 2 sits in it under
 * `<row>-<key of everything>`, so new descriptions or stage-2 settings retrain stage 2 only.
 */
async function runDir(ctx: RepContext, stage: 'encoder' | MusicBertRow): Promise<string> {
  const run = { preset: presetFor(ctx), seed: ctx.seed, key: await stageKey(ctx, 'encoder') };
  return stage === 'encoder' ? evalRunDir(ctx.cacheDir, run, 'encoder') : evalRowDir(ctx.cacheDir, run, stage, await stageKey(ctx, 'model'));
}

function basePretrain(ctx: RepContext, objectives: readonly ObjectiveName[], out: string): Parameters<typeof pretrain>[0] {
  return {
    data: ctx.trainCorpus.root,
    corpus: ctx.trainCorpus,
    out,
    objectives,
    seed: ctx.seed,
    cacheDir: evalPretrainCacheDir(ctx.cacheDir),
    quiet: !ctx.verbose,
    ...ctx.recipe,
    config: presetFor(ctx),
  };
}

/** The seed's stage-1 encoder directory, training it on first use. */
async function encoderDir(ctx: RepContext, rep: RepName): Promise<string> {
  ctx.onProgress?.({ rep, seed: ctx.seed, stage: 'encoder', done: 0, total: 1 });
  const r = await trainEncoder(basePretrain(ctx, ['mlm'], await runDir(ctx, 'encoder')));
  ctx.onProgress?.({ rep, seed: ctx.seed, stage: 'encoder', done: 1, total: 1 });
  return r.encoderDir;
}

/** What a Table-1 row reads from the pipeline for one track. */
export type PipelineFeature = 'vggish' | 'layers' | 'audioset' | 'music';

/**
 * One feature vector per track, through the embedding pipeline search uses (model/pipeline.ts):
 *   vggish    mean and std of the patch vectors over the track (2 x musicDim)
 *   layers    mean and std over the track of every encoder layer's pooled activations (2 x layerFeatureDim)
 *   audioset  mean over patches of sigmoid(concept logits) (numConcepts)
 *   music     the pooled contextual music state of the music-only pass (dModel), the state the
 *             joint-space vector search stores is projected from (TrackEmbedding.state)
 * Log-mel comes from the evaluation's memo.
 */
export async function pipelineFeatures(
  pipeline: MusicBertPipeline,
  tracks: readonly TrackRecord[],
  frontend: LogMelSource,
  feature: PipelineFeature,
  onTrack?: (done: number) => void,
): Promise<FeatureMatrix> {
  const rows: Float32Array[] = [];
  for (let start = 0; start < tracks.length; start += TRACKS_PER_PASS) {
    const block = tracks.slice(start, start + TRACKS_PER_PASS); // a few log-mels in memory at a time
    // Each log-mel carries its file's name, so a clip too short for a patch is reported by path.
    const mels = await Promise.all(block.map(async (t) => ({ ...(await frontend.get(t.audioPath)), source: t.audioPath })));
    if (feature === 'music') {
      for (const e of await pipeline.embedTracks(mels)) rows.push(e.state);
    } else if (feature === 'layers') {
      for (const lm of mels) {
        const v = await pipeline.encodeAudioLayers(lm);
        rows.push(meanStd(v, v.dim));
      }
    } else {
      for (const lm of mels) {
        const v = await pipeline.encodeAudio(lm);
        rows.push(feature === 'vggish' ? meanStd(v, pipeline.encoder.config.embedDim) : conceptMean(pipeline, v));
      }
    }
    onTrack?.(rows.length);
  }
  const dim = rows[0]?.length ?? 0;
  const data = new Float32Array(tracks.length * dim);
  rows.forEach((r, i) => data.set(r, i * dim));
  return { ids: tracks.map((t) => t.id), dim, data };
}

/** Tracks per pipeline call when computing features (the pipeline batches them as search does). */
const TRACKS_PER_PASS = 4;

/** Column means and population stds of [count, dim] patch vectors → [2 * dim]. */
function meanStd(v: Pick<PatchVectors, 'data' | 'count'>, dim: number): Float32Array {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(tf.tensor2d(v.data, [v.count, dim]), 0); // [dim] each
    return tf.concat([mean, tf.sqrt(variance)]).dataSync() as Float32Array;
  });
}

/** Mean over patches of the encoder's concept probabilities → [numConcepts]. */
function conceptMean(pipeline: MusicBertPipeline, v: PatchVectors): Float32Array {
  const enc = pipeline.encoder;
  return tf.tidy(() => {
    const probs = tf.sigmoid(enc.conceptLogits(tf.tensor2d(v.data, [v.count, enc.config.embedDim]))); // [P, numConcepts]
    return tf.mean(probs, 0).dataSync() as Float32Array;
  });
}

async function rowOf(ctx: RepContext, rep: RepName, parts: { encoder: string; musicbert?: string }, feature: PipelineFeature): Promise<FeatureMatrix> {
  const pipeline = await MusicBertPipeline.loadParts(parts);
  try {
    const total = ctx.corpus.tracks.length;
    return await pipelineFeatures(pipeline, ctx.corpus.tracks, ctx.frontend, feature, (done) => ctx.onProgress?.({ rep, seed: ctx.seed, stage: 'features', done, total }));
  } finally {
    pipeline.dispose();
  }
}

const settings = (ctx: RepContext): Record<string, unknown> => {
  const recipe = overrides(ctx);
  return { preset: presetFor(ctx), ...(Object.keys(recipe).length > 0 ? { recipe } : {}) };
};

function encoderRepresentation(name: 'vggish' | 'layers' | 'audioset'): Representation {
  return {
    name,
    learned: true,
    version: 2,
    settings,
    compute: async (ctx) => rowOf(ctx, name, { encoder: await encoderDir(ctx, name) }, name),
  };
}

export const vggishRepresentation = encoderRepresentation('vggish');
export const layersRepresentation = encoderRepresentation('layers');
export const audiosetRepresentation = encoderRepresentation('audioset');

export type MusicBertRow = 'mlm' | 'mim' | 'full' | 'local';

/** What each MusicBERT row pre-trains with. */
export const MUSICBERT_OBJECTIVES: Readonly<Record<MusicBertRow, readonly ObjectiveName[]>> = { mlm: ['mlm'], mim: ['mim'], full: OBJECTIVES, local: OBJECTIVES };

/**
 * The local row's attention band: ±2 positions, i.e. about ±2 segments of the second level
 * (a few seconds of a 30-s clip), narrow enough to differ from full attention over 16 vectors.
 */
export const LOCAL_WINDOW = 2;

/** The row's own model-shape overrides, over the recipe's. */
function rowModelConfig(ctx: RepContext, name: MusicBertRow): Parameters<typeof pretrain>[0]['modelConfig'] {
  if (name !== 'local') return ctx.recipe?.modelConfig;
  return { ...ctx.recipe?.modelConfig, attention: { kind: 'local', window: LOCAL_WINDOW } };
}

/**
 * The checkpoints a MusicBERT row of this context trains (training them on first use, as the
 * row does): the joint-space evaluation loads the very model the row was scored with.
 */
export async function musicBertDirs(ctx: RepContext, name: MusicBertRow): Promise<{ encoderDir: string; modelDir: string }> {
  const encDir = await encoderDir(ctx, name);
  const modelConfig = rowModelConfig(ctx, name);
  const r = await pretrain({ ...basePretrain(ctx, MUSICBERT_OBJECTIVES[name], await runDir(ctx, name)), encoderFrom: encDir, ...(modelConfig ? { modelConfig } : {}) });
  return { encoderDir: encDir, modelDir: r.modelDir };
}

function musicBertRepresentation(name: MusicBertRow): Representation {
  const objectives = MUSICBERT_OBJECTIVES[name];
  return {
    name,
    learned: true,
    version: 2,
    settings: (ctx) => ({ ...settings(ctx), objectives }),
    async compute(ctx: RepContext): Promise<FeatureMatrix> {
      ctx.onProgress?.({ rep: name, seed: ctx.seed, stage: 'pretrain', done: 0, total: 1 });
      const dirs = await musicBertDirs(ctx, name);
      ctx.onProgress?.({ rep: name, seed: ctx.seed, stage: 'pretrain', done: 1, total: 1 });
      return rowOf(ctx, name, { encoder: dirs.encoderDir, musicbert: dirs.modelDir }, 'music');
    },
  };
}

export const mlmRepresentation = musicBertRepresentation('mlm');
export const mimRepresentation = musicBertRepresentation('mim');
export const fullRepresentation = musicBertRepresentation('full');
export const localRepresentation = musicBertRepresentation('local');
