/**
 * Rows 4–8: representations from our own pre-trained models (src/train pretrain).
 *
 *   vggish    the stage-1 audio encoder's patch vectors, mean and std over the track (256-d)
 *   audioset  the encoder's concept probabilities, sigmoid(conceptLogits), mean over patches
 *   mlm, mim  the shared Transformer pre-trained with that single objective; the pooled
 *             contextual music vector of a music-only pass
 *   full      the same with every objective, text alignment included
 *
 * Per seed, one encoder is trained (trainEncoder) and every MusicBERT variant of
 * that seed starts from it (`encoderFrom`), so the mlm / mim / full rows differ only in the
 * objective. Pre-training sees only the training corpus (held-out tracks removed).
 */
import type { TrackRecord } from '../../data/corpus.js';
import { loadAudioEncoder, loadMusicBert } from '../../model/checkpoint.js';
import type { AudioEncoder } from '../../model/audioEncoder.js';
import { toSegments } from '../../model/segments.js';
import { tf } from '../../tensor/backend.js';
import { pretrain, trainEncoder } from '../../train/pretrain.js';
import { evalPretrainCacheDir, evalRunDir } from '../../util/runDirs.js';
import type { ObjectiveName } from '../../train/musicbertLoss.js';
import { OBJECTIVES } from '../../train/musicbertLoss.js';
import type { PresetName } from '../../train/presets.js';
import type { FeatureMatrix, RepName } from '../types.js';
import { spreadPatches } from './frontend.js';
import type { RepContext, Representation } from './types.js';

/** Every patch of a track (30 s of audio is 31 patches; this caps pathological lengths). */
const MAX_PATCHES = 1024;

function presetFor(ctx: RepContext): PresetName {
  return ctx.quick ? 'tiny' : 'small';
}

/** A short, stable name for the training set, so runs on different training data never share a directory. */
function runDir(ctx: RepContext, what: string): string {
  return evalRunDir(ctx.cacheDir, { preset: presetFor(ctx), seed: ctx.seed, key: trainingKey(ctx) }, what);
}

function trainingKey(ctx: RepContext): string {
  let h = 0x811c9dc5;
  for (const t of ctx.trainCorpus.tracks) {
    const s = `${t.id}\t${t.audioPath}\t${t.split}\n`;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

function basePretrain(ctx: RepContext, objectives: readonly ObjectiveName[], out: string): Parameters<typeof pretrain>[0] {
  return {
    data: ctx.trainCorpus.root,
    corpus: ctx.trainCorpus,
    out,
    objectives,
    seed: ctx.seed,
    config: presetFor(ctx),
    cacheDir: evalPretrainCacheDir(ctx.cacheDir),
    quiet: !ctx.verbose,
  };
}

/** The seed's stage-1 encoder directory, training it on first use. */
async function encoderDir(ctx: RepContext, rep: RepName): Promise<string> {
  ctx.onProgress?.({ rep, seed: ctx.seed, stage: 'encoder', done: 0, total: 1 });
  const r = await trainEncoder(basePretrain(ctx, ['mlm'], runDir(ctx, 'encoder')));
  ctx.onProgress?.({ rep, seed: ctx.seed, stage: 'encoder', done: 1, total: 1 });
  return r.encoderDir;
}

async function withEncoder<T>(ctx: RepContext, rep: RepName, f: (enc: AudioEncoder) => Promise<T>): Promise<T> {
  const enc = await loadAudioEncoder(await encoderDir(ctx, rep));
  try {
    return await f(enc);
  } finally {
    enc.dispose();
  }
}

/** Encoder vectors [P, 128] of every patch of a track. */
async function trackVectors(ctx: RepContext, enc: AudioEncoder, t: TrackRecord): Promise<{ data: Float32Array; count: number }> {
  const p = spreadPatches(await ctx.frontend.get(t.audioPath), MAX_PATCHES, t.audioPath);
  return { data: await enc.embedPatches(p.data, p.count), count: p.count };
}

/** Column means (and optionally population stds) of a [count, dim] matrix. */
function pool(data: Float32Array, count: number, dim: number, withStd: boolean): Float32Array {
  const out = new Float32Array(withStd ? 2 * dim : dim);
  for (let j = 0; j < dim; j++) {
    let s = 0;
    for (let i = 0; i < count; i++) s += data[i * dim + j] as number;
    const m = s / count;
    out[j] = m;
    if (withStd) {
      let v = 0;
      for (let i = 0; i < count; i++) v += ((data[i * dim + j] as number) - m) ** 2;
      out[dim + j] = Math.sqrt(v / count);
    }
  }
  return out;
}

async function perTrack(ctx: RepContext, rep: RepName, f: (t: TrackRecord) => Promise<Float32Array>): Promise<FeatureMatrix> {
  const tracks = ctx.corpus.tracks;
  let dim = 0;
  let data = new Float32Array(0);
  for (const [i, t] of tracks.entries()) {
    const v = await f(t);
    if (i === 0) {
      dim = v.length;
      data = new Float32Array(tracks.length * dim);
    }
    data.set(v, i * dim);
    ctx.onProgress?.({ rep, seed: ctx.seed, stage: 'features', done: i + 1, total: tracks.length });
  }
  return { ids: tracks.map((t) => t.id), dim, data };
}

const settings = (ctx: RepContext): Record<string, unknown> => ({ preset: presetFor(ctx), maxPatches: MAX_PATCHES });

export const vggishRepresentation: Representation = {
  name: 'vggish',
  learned: true,
  version: 1,
  settings,
  compute: (ctx) =>
    withEncoder(ctx, 'vggish', (enc) =>
      perTrack(ctx, 'vggish', async (t) => {
        const v = await trackVectors(ctx, enc, t);
        return pool(v.data, v.count, enc.config.embedDim, true);
      }),
    ),
};

export const audiosetRepresentation: Representation = {
  name: 'audioset',
  learned: true,
  version: 1,
  settings,
  compute: (ctx) =>
    withEncoder(ctx, 'audioset', (enc) =>
      perTrack(ctx, 'audioset', async (t) => {
        const v = await trackVectors(ctx, enc, t);
        const probs = tf.tidy(() => tf.sigmoid(enc.conceptLogits(tf.tensor2d(v.data, [v.count, enc.config.embedDim]))).dataSync() as Float32Array);
        return pool(probs, v.count, enc.config.numConcepts, false);
      }),
    ),
};

function musicBertRepresentation(name: 'mlm' | 'mim' | 'full', objectives: readonly ObjectiveName[]): Representation {
  return {
    name,
    learned: true,
    version: 1,
    settings: (ctx) => ({ ...settings(ctx), objectives }),
    async compute(ctx: RepContext): Promise<FeatureMatrix> {
      const encDir = await encoderDir(ctx, name);
      ctx.onProgress?.({ rep: name, seed: ctx.seed, stage: 'pretrain', done: 0, total: 1 });
      const r = await pretrain({ ...basePretrain(ctx, objectives, runDir(ctx, name)), encoderFrom: encDir });
      ctx.onProgress?.({ rep: name, seed: ctx.seed, stage: 'pretrain', done: 1, total: 1 });
      const { model } = await loadMusicBert(r.modelDir);
      const enc = await loadAudioEncoder(encDir);
      try {
        return await perTrack(ctx, name, async (t) => {
          const v = await trackVectors(ctx, enc, t);
          const seg = toSegments(v.data, v.count, model.config.maxMusicLen);
          return tf.tidy(() => {
            const out = model.forward({ music: tf.tensor3d(seg.data, [1, seg.count, model.config.musicDim]) }, { training: false });
            if (!out.pooledMusic) throw new Error('MusicBert.forward returned no pooled music vector');
            return out.pooledMusic.dataSync().slice() as Float32Array;
          });
        });
      } finally {
        enc.dispose();
        model.dispose();
      }
    },
  };
}

export const mlmRepresentation = musicBertRepresentation('mlm', ['mlm']);
export const mimRepresentation = musicBertRepresentation('mim', ['mim']);
export const fullRepresentation = musicBertRepresentation('full', OBJECTIVES);
