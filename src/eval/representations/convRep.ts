/**
 * What the two baseline convnets share: cut training patches from the training tracks, normalise
 * per mel band (statistics of the training patches), train with the shared trainer (seeded
 * batches, Adam at a constant rate: no warm-up, decay or clipping, as these baselines were
 * trained), then embed every corpus track as the mean of a per-patch feature over evenly spaced
 * patches.
 */
import { MEL_BANDS, PATCH_FRAMES } from '../../audio/index.js';
import { batchIndices } from '../../data/batches.js';
import type { TrackRecord } from '../../data/corpus.js';
import { tf } from '../../tensor/backend.js';
import { train } from '../../train/trainer.js';
import { DatasetError } from '../../util/errors.js';
import type { FeatureMatrix, RepName } from '../types.js';
import { ConvNet, type ConvNetConfig, type ConvNetOutput, type HeadBatch } from './convnet.js';
import { spreadPatches, type LogMel } from './frontend.js';
import type { RepContext } from './types.js';

export interface ConvRepSettings {
  epochs: number;
  batchSize: number;
  lr: number;
  /** Patches per training track per epoch pool (evenly spaced). */
  trainPatchesPerTrack: number;
  /** Patches averaged into a track's vector. */
  embedPatchesPerTrack: number;
  /** Tag vocabulary size (most frequent first), as the 50-tag MSD setup. */
  maxTags: number;
}

// 5 epochs, not more: the two convnet rows x 3 seeds dominate the main job, which must fit in
// about half an hour on 2 cores (8 epochs measured 177 s a run on 200 tracks x 10 s).
export const CONV_SETTINGS: ConvRepSettings = { epochs: 5, batchSize: 32, lr: 1e-3, trainPatchesPerTrack: 8, embedPatchesPerTrack: 32, maxTags: 50 };
export const CONV_SETTINGS_QUICK: ConvRepSettings = { epochs: 4, batchSize: 16, lr: 2e-3, trainPatchesPerTrack: 3, embedPatchesPerTrack: 6, maxTags: 50 };

export function convSettings(ctx: RepContext): ConvRepSettings {
  return ctx.quick ? CONV_SETTINGS_QUICK : CONV_SETTINGS;
}

/**
 * The training tags: those on at least two training tracks (a tag seen once cannot generalise),
 * most frequent first (ties by name), at most `max`.
 */
export function tagVocabulary(tracks: readonly TrackRecord[], max: number): string[] {
  const counts = new Map<string, number>();
  for (const t of tracks) for (const tag of new Set(t.tags)) counts.set(tag, (counts.get(tag) ?? 0) + 1);
  return [...counts]
    .filter(([, n]) => n >= 2)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, max)
    .map(([tag]) => tag);
}

export function requireTags(rep: RepName, vocab: string[]): void {
  if (vocab.length === 0) {
    throw new DatasetError(`representation "${rep}" trains on concept tags, but no tag occurs on two or more training tracks; evaluate with training data that has tags (evaluate({ trainData }) / --train-data)`);
  }
}

/** Per-track targets: for each head, a row of `size` values and a mask (1 = labelled). */
export type TrackTargets = Record<string, { y: ArrayLike<number>; mask: number }>;

export interface Normaliser {
  mean: Float32Array; // [64]
  std: Float32Array; // [64]
}

function normaliser(x: Float32Array): Normaliser {
  const mean = new Float64Array(MEL_BANDS);
  const sq = new Float64Array(MEL_BANDS);
  const rows = x.length / MEL_BANDS;
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < MEL_BANDS; b++) {
      const v = x[r * MEL_BANDS + b] as number;
      mean[b] = (mean[b] as number) + v;
      sq[b] = (sq[b] as number) + v * v;
    }
  }
  const m = new Float32Array(MEL_BANDS);
  const s = new Float32Array(MEL_BANDS);
  for (let b = 0; b < MEL_BANDS; b++) {
    m[b] = (mean[b] as number) / rows;
    s[b] = Math.sqrt(Math.max((sq[b] as number) / rows - (m[b] as number) ** 2, 1e-6));
  }
  return { mean: m, std: s };
}

function normalise(x: Float32Array, n: Normaliser): void {
  for (let i = 0; i < x.length; i++) {
    const b = i % MEL_BANDS;
    x[i] = ((x[i] as number) - (n.mean[b] as number)) / (n.std[b] as number);
  }
}

/** Training patches [n, frames, bands] (normalised) and per-patch targets per head: y [n, size], mask [n]. */
export interface TrainingSet {
  x: Float32Array;
  n: number;
  frames: number;
  bands: number;
  targets: Record<string, { y: Float32Array; mask: Float32Array }>;
}

function gatherRows(src: Float32Array, width: number, rows: ArrayLike<number>): Float32Array {
  const out = new Float32Array(rows.length * width);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] as number;
    out.set(src.subarray(r * width, r * width + width), i * width);
  }
  return out;
}

/** One step's batch as tensors: patches [B, T, F] and each head's targets. */
function batchTensors(net: ConvNet, data: TrainingSet, rows: ArrayLike<number>): { x: tf.Tensor3D; targets: Record<string, HeadBatch> } {
  const x = tf.tensor3d(gatherRows(data.x, data.frames * data.bands, rows), [rows.length, data.frames, data.bands]);
  const targets: Record<string, HeadBatch> = {};
  for (const h of net.config.heads) {
    const t = data.targets[h.name];
    if (t) targets[h.name] = { y: tf.tensor2d(gatherRows(t.y, h.size, rows), [rows.length, h.size]), mask: tf.tensor1d(gatherRows(t.mask, 1, rows)) };
  }
  return { x, targets };
}

/**
 * Train `config` on the context's training tracks. `targetsFor` gives each track's targets per
 * head (called once per track with its log-mel).
 */
export async function trainConvRep(ctx: RepContext, rep: RepName, config: ConvNetConfig, targetsFor: (t: TrackRecord, lm: LogMel) => TrackTargets): Promise<{ net: ConvNet; norm: Normaliser; losses: number[] }> {
  const s = convSettings(ctx);
  const cell = PATCH_FRAMES * MEL_BANDS;
  const chunks: Float32Array[] = [];
  const perTrack: Array<{ targets: TrackTargets; count: number }> = [];
  for (const [i, t] of ctx.trainCorpus.tracks.entries()) {
    const lm = await ctx.frontend.get(t.audioPath);
    const p = spreadPatches(lm, s.trainPatchesPerTrack, t.audioPath);
    chunks.push(p.data);
    perTrack.push({ targets: targetsFor(t, lm), count: p.count });
    ctx.onProgress?.({ rep, seed: ctx.seed, stage: 'patches', done: i + 1, total: ctx.trainCorpus.tracks.length });
  }
  const n = perTrack.reduce((a, b) => a + b.count, 0);
  if (n === 0) throw new DatasetError(`representation "${rep}" has no training tracks`);
  const x = new Float32Array(n * cell);
  let off = 0;
  for (const c of chunks) {
    x.set(c, off);
    off += c.length;
  }
  const norm = normaliser(x);
  normalise(x, norm);
  const targets: TrainingSet['targets'] = {};
  for (const h of config.heads) {
    const y = new Float32Array(n * h.size);
    const mask = new Float32Array(n);
    let row = 0;
    for (const t of perTrack) {
      const tt = t.targets[h.name];
      for (let k = 0; k < t.count; k++, row++) {
        if (!tt) continue;
        for (let j = 0; j < h.size; j++) y[row * h.size + j] = tt.y[j] as number;
        mask[row] = tt.mask;
      }
    }
    targets[h.name] = { y, mask };
  }
  const net = ConvNet.create(config, ctx.seed);
  try {
    const losses = await fitConvNet(net, { x, n, frames: PATCH_FRAMES, bands: MEL_BANDS, targets }, {
      ...s,
      seed: ctx.seed + 1,
      onStep: (step, total, loss) => ctx.onProgress?.({ rep, seed: ctx.seed, stage: 'train', done: step, total, info: `loss ${loss.toFixed(4)}` }),
    });
    return { net, norm, losses };
  } catch (err) {
    net.dispose();
    throw err;
  }
}

/**
 * Train `net` in place for `epochs` passes over the patches (seeded epoch permutations,
 * data/batches.ts) with the shared trainer; returns every step's loss.
 */
export async function fitConvNet(
  net: ConvNet,
  data: TrainingSet,
  o: { epochs: number; batchSize: number; lr: number; seed: number; onStep?: (step: number, total: number, loss: number) => void },
): Promise<number[]> {
  const batch = Math.min(o.batchSize, data.n);
  const steps = Math.ceil(data.n / o.batchSize) * o.epochs;
  const r = await train({
    params: net.params,
    loss: ({ step }) => {
      const b = batchTensors(net, data, batchIndices(data.n, batch, o.seed, step));
      return net.loss(net.forward(b.x), b.targets);
    },
    steps,
    seed: o.seed,
    lr: o.lr,
    warmupSteps: 0,
    minLrRatio: 1,
    clipNorm: 0,
    optimizer: { weightDecay: 0 },
    label: 'convnet',
    quiet: true,
    onStep: (h) => o.onStep?.(h.step + 1, steps, h.loss),
  });
  return r.history.map((h) => h.loss);
}

/** Every corpus track → mean over its patches of `pick(forward)` ([B, D] per batch). */
export async function embedTracks(ctx: RepContext, rep: RepName, net: ConvNet, norm: Normaliser, pick: (f: ConvNetOutput) => tf.Tensor2D): Promise<FeatureMatrix> {
  const s = convSettings(ctx);
  const tracks = ctx.corpus.tracks;
  let dim = 0;
  let data = new Float32Array(0);
  for (const [i, t] of tracks.entries()) {
    const p = spreadPatches(await ctx.frontend.get(t.audioPath), s.embedPatchesPerTrack, t.audioPath);
    normalise(p.data, norm);
    const mean = tf.tidy(() => {
      const f = net.forward(tf.tensor3d(p.data, [p.count, PATCH_FRAMES, MEL_BANDS]));
      return tf.mean(pick(f), 0).dataSync() as Float32Array;
    });
    if (i === 0) {
      dim = mean.length;
      data = new Float32Array(tracks.length * dim);
    }
    data.set(mean, i * dim);
    ctx.onProgress?.({ rep, seed: ctx.seed, stage: 'features', done: i + 1, total: tracks.length });
  }
  return { ids: tracks.map((t) => t.id), dim, data };
}
