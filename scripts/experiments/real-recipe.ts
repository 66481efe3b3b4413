/**
 * The real-music recipe experiment (issue 11, part B): artist-grouped 5-fold CV on real_dev.
 * Per fold, pre-training sees only that fold's training clips (audio, tags and mood-word text),
 * then every clip is embedded with the frozen fold model and probed (standardised features →
 * SVC, kernel and C by inner CV on the fold's training clips only).
 *
 *   node --import tsx scripts/experiments/real-recipe.ts [--data ../shared/data/real_dev]
 *        [--cache DIR] [--out DIR] [--folds 5] [--rows mfcc,encoder,full,local,mlm,mim]
 *        [--encoder-objectives contrastive,tags] [--extra-audio DIR] [--config real]
 *        [--encoder-steps N] [--steps N] [--only-fold F | --probe-only] [--json FILE]
 *
 * `--only-fold F` pre-trains and embeds one fold and saves its features (run the folds as
 * parallel processes); `--probe-only` then probes the saved features of every fold.
 *
 * Rows: mfcc (the product's mfccStats), encoder (stage-1 patch vectors, mean+std over the clip),
 * full / local (all stage-2 objectives with full / local attention; contextual music states,
 * mean+std over positions), mlm / mim (one stage-2 objective). Tasks: quadrant (accuracy),
 * valence and arousal sign (balanced accuracy), genre9 (accuracy and macro-F1, 152 clips).
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { mfcc, mfccStats } from '../../src/audio/index.js';
import { cachedEmbeddings, corpusPatches, weightsHash, type PatchSet } from '../../src/data/cache.js';
import { loadSafetensors, saveSafetensors, type TensorMap } from '../../src/util/safetensors.js';
import type { Corpus } from '../../src/data/corpus.js';
import { probe, type ProbeGrid } from '../../src/eval/probes.js';
import { AudioEncoder } from '../../src/model/audioEncoder.js';
import { MusicBert } from '../../src/model/musicbert.js';
import { toSegments } from '../../src/model/segments.js';
import { ready, tf } from '../../src/tensor/backend.js';
import { parseEncoderObjectives } from '../../src/train/encoderStage.js';
import { OBJECTIVES, type ObjectiveName } from '../../src/train/musicbertLoss.js';
import { pretrain } from '../../src/train/pretrain.js';
import type { PresetName } from '../../src/train/presets.js';
import { Rng } from '../../src/util/rng.js';
import { loadRealDev, type RealClip } from './realDev.js';

const ROWS = ['mfcc', 'encoder', 'full', 'local', 'mlm', 'mim'] as const;
type Row = (typeof ROWS)[number];
const TASKS = ['quadrant', 'valence', 'arousal', 'genre9'] as const;
type Task = (typeof TASKS)[number];

/** Words on fewer fold-train clips than this are not tags (too rare to learn from). */
const MIN_TAG_CLIPS = 5;
/** The probe grid of REAL-MUSIC.md: linear / RBF (gamma 1/d), C in {0.1, 1, 10}. */
const GRID: ProbeGrid = { C: [0.1, 1, 10], kernels: [{ kernel: 'linear' }, { kernel: 'rbf', gammaScale: 1 }] };

const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: '../shared/data/real_dev' },
    cache: { type: 'string', default: '.tmp_real/cache' },
    out: { type: 'string', default: '.tmp_real/runs' },
    folds: { type: 'string', default: '5' },
    rows: { type: 'string', default: ROWS.join(',') },
    'encoder-objectives': { type: 'string', default: 'contrastive,tags' },
    'extra-audio': { type: 'string', multiple: true },
    config: { type: 'string', default: 'real' },
    'encoder-steps': { type: 'string' },
    steps: { type: 'string' },
    'only-fold': { type: 'string' },
    'probe-only': { type: 'boolean' },
    tasks: { type: 'string', default: TASKS.join(',') },
    /** Use these encoders instead of stage 1 ("{f}" is replaced by the fold), e.g. a time-boxed checkpoint. */
    'encoder-from': { type: 'string' },
    seed: { type: 'string', default: '0' },
    json: { type: 'string' },
  },
});

/** Artist-grouped folds: artists shuffled (seeded), each dealt to the currently smallest fold. */
export function groupedFolds(groups: readonly string[], k: number, seed: number): Int32Array {
  const artists = [...new Set(groups)].sort();
  new Rng(seed).shuffle(artists);
  const size = new Map<string, number>();
  for (const g of groups) size.set(g, (size.get(g) ?? 0) + 1);
  const load = new Array<number>(k).fill(0);
  const foldOf = new Map<string, number>();
  for (const a of artists) {
    let f = 0;
    for (let j = 1; j < k; j++) if ((load[j] as number) < (load[f] as number)) f = j;
    foldOf.set(a, f);
    load[f] = (load[f] as number) + (size.get(a) as number);
  }
  return Int32Array.from(groups, (g) => foldOf.get(g) as number);
}

function balancedAccuracy(truth: number[], pred: number[]): number {
  const classes = [...new Set(truth)];
  return classes.reduce((s, c) => {
    const idx = truth.map((t, i) => (t === c ? i : -1)).filter((i) => i >= 0);
    return s + idx.filter((i) => pred[i] === c).length / idx.length;
  }, 0) / classes.length;
}

function macroF1(truth: number[], pred: number[]): number {
  const classes = [...new Set(truth)];
  return classes.reduce((s, c) => {
    const tp = truth.filter((t, i) => t === c && pred[i] === c).length;
    const fp = truth.filter((t, i) => t !== c && pred[i] === c).length;
    const fn = truth.filter((t, i) => t === c && pred[i] !== c).length;
    return s + (tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn));
  }, 0) / classes.length;
}

/** Column means and stds of [count, dim] → [2·dim]. */
function meanStd(data: Float32Array, count: number, dim: number): Float32Array {
  const out = new Float32Array(2 * dim);
  for (let j = 0; j < dim; j++) {
    let s = 0;
    for (let i = 0; i < count; i++) s += data[i * dim + j] as number;
    const m = s / count;
    let v = 0;
    for (let i = 0; i < count; i++) v += ((data[i * dim + j] as number) - m) ** 2;
    out[j] = m;
    out[dim + j] = Math.sqrt(v / count);
  }
  return out;
}

type Features = Float32Array[]; // one row per clip

/** Label of a clip for a task (undefined: not in the task). */
function label(c: RealClip, task: Task): string | undefined {
  if (task === 'quadrant') return c.quadrant;
  if (task === 'valence') return String(c.valenceSign);
  if (task === 'arousal') return String(c.arousalSign);
  return c.genre9;
}

/**
 * The fold's pre-training corpus: every clip (so the frozen vectors of all 380 are computed once,
 * in pretrain's own embedding cache), the fold's test clips in split "test" with no tags and no
 * text, which pretrain never trains on. Tags = mood words and genres on ≥ MIN_TAG_CLIPS train
 * clips; text = the train clips' mood words.
 */
function foldCorpus(all: Corpus, clips: readonly RealClip[], isTrain: (i: number) => boolean): Corpus {
  const counts = new Map<string, number>();
  clips.forEach((c, i) => {
    if (isTrain(i)) for (const w of new Set([...c.moods, ...c.genres])) counts.set(w, (counts.get(w) ?? 0) + 1);
  });
  const vocab = [...counts].filter(([, n]) => n >= MIN_TAG_CLIPS).map(([w]) => w).sort();
  const inVocab = new Set(vocab);
  const tracks = all.tracks.map((t, i) => ({
    ...t,
    split: isTrain(i) ? ('train' as const) : ('test' as const),
    tags: isTrain(i) ? [...clips[i]!.moods, ...clips[i]!.genres].filter((w) => inVocab.has(w)) : [],
  }));
  const albums = all.albums.map((a, i) => (isTrain(i) ? a : { ...a, reviews: [], genres: [] }));
  return { root: all.root, tracks, albums, genres: [], tagVocabulary: vocab, problems: [] };
}

/** One file per (fold, rows run), so rows of one fold can run as parallel processes. */
const featurePath = (out: string, f: number, rows: readonly Row[]): string => join(out, `features-f${f}-${rows.join('+')}.safetensors`);
const featureFiles = async (out: string, f: number): Promise<string[]> =>
  (await readdir(out)).filter((n) => n.startsWith(`features-f${f}-`) && n.endsWith('.safetensors')).sort().map((n) => join(out, n));

/** Pre-train on fold f's training clips, embed every clip with each row's frozen model, save. */
async function runFold(f: number, ctx: { corpus: Corpus; clips: RealClip[]; fold: Int32Array; out: string; cacheDir: string; rows: Row[] }): Promise<void> {
  const { corpus, clips, fold, rows } = ctx;
  const encObjectives = parseEncoderObjectives(args['encoder-objectives'] as string);
  const config = args.config as PresetName;
  const seed = Number(args.seed);
  const fc = foldCorpus(corpus, clips, (i) => fold[i] !== f);
  const dir = join(ctx.out, `f${f}`);
  const base = {
    data: corpus.root,
    corpus: fc,
    seed,
    config,
    cacheDir: ctx.cacheDir,
    quiet: false,
    encoderObjectives: encObjectives,
    extraAudio: args['extra-audio'],
    encoderSteps: args['encoder-steps'] === undefined ? undefined : Number(args['encoder-steps']),
    steps: args.steps === undefined ? undefined : Number(args.steps),
  };
  const t0 = Date.now();
  const encoderFrom = (args['encoder-from'] as string | undefined)?.replaceAll('{f}', String(f));
  const enc = await pretrain({ ...base, out: join(dir, 'encoder'), objectives: ['mlm'], stopAt: 0, ...(encoderFrom ? { encoderFrom: resolve(encoderFrom) } : {}) });
  const log: Record<string, unknown> = { fold: f, trainClips: fc.tracks.filter((t) => t.split === 'train').length, tags: fc.tagVocabulary.length, encoder: enc.summary.encoder };
  console.log(`fold ${f}: encoder ${enc.summary.encoder.seconds.toFixed(0)} s`, JSON.stringify(enc.summary.encoder.losses));
  const encoder = await AudioEncoder.load(enc.encoderDir);
  const dim = encoder.config.embedDim;
  const encHash = weightsHash(Object.fromEntries(Object.entries(encoder.params).map(([n, v]) => [n, { shape: v.shape, data: v.dataSync() as Float32Array }])));
  encoder.dispose();
  // The vectors pretrain just cached for every clip (never recomputed here).
  const emb = await cachedEmbeddings(fc.tracks, encHash, dim, ctx.cacheDir, () => Promise.reject(new Error('embeddings missing from the cache')));
  const vectors = fc.tracks.map((t) => emb.vectors.get(t.id)!);
  const tensors: TensorMap = {};
  const put = (row: Row, feats: Float32Array[]): void => {
    const d = feats[0]!.length;
    const data = new Float32Array(feats.length * d);
    feats.forEach((v, i) => data.set(v, i * d));
    tensors[row] = { dtype: 'F32', shape: [feats.length, d], data };
  };
  if (rows.includes('encoder')) put('encoder', vectors.map((v) => meanStd(v.data, v.count, dim)));
  const variants: Array<[Row, readonly ObjectiveName[], 'full' | 'local']> = [
    ['full', OBJECTIVES, 'full'],
    ['local', OBJECTIVES, 'local'],
    ['mlm', ['mlm'], 'full'],
    ['mim', ['mim'], 'full'],
  ];
  for (const [row, objectives, attention] of variants) {
    if (!rows.includes(row)) continue;
    const r = await pretrain({ ...base, out: join(dir, row), objectives, encoderFrom: enc.encoderDir, modelConfig: { attention: { kind: attention, window: 2 } } });
    log[row] = r.summary.model;
    console.log(`fold ${f} ${row}: stage 2 ${r.summary.model.seconds.toFixed(0)} s`, JSON.stringify(r.summary.model.losses));
    const model = await MusicBert.load(r.modelDir);
    const d = model.config.dModel;
    put(row, vectors.map((v) => {
      const seg = toSegments(v.data, v.count, model.config.maxMusicLen);
      return tf.tidy(() => {
        const o = model.forward({ music: tf.tensor3d(seg.data, [1, seg.count, model.config.musicDim]) }, { training: false });
        return meanStd(o.musicHidden!.dataSync() as Float32Array, seg.count, d);
      });
    }));
    model.dispose();
  }
  log.seconds = (Date.now() - t0) / 1000;
  await saveSafetensors(featurePath(ctx.out, f, rows.filter((r) => r !== 'mfcc')), tensors, { log: JSON.stringify(log) });
}

async function main(): Promise<void> {
  await ready();
  const dataDir = resolve(args.data as string);
  if (!existsSync(join(dataDir, 'labels.csv'))) {
    console.log(`skip: ${dataDir}/labels.csv not found`);
    return;
  }
  const k = Number(args.folds);
  const rows = (args.rows as string).split(',') as Row[];
  const seed = Number(args.seed);
  const out = resolve(args.out as string);
  const { corpus, clips } = await loadRealDev(dataDir);
  const cacheDir = resolve(args.cache as string);
  const fold = groupedFolds(clips.map((c) => c.artist), k, seed);
  const learned = rows.filter((r) => r !== 'mfcc');
  const onlyFold = args['only-fold'] === undefined ? undefined : Number(args['only-fold']);
  if (onlyFold !== undefined) {
    await runFold(onlyFold, { corpus, clips, fold, out, cacheDir, rows });
    return;
  }
  if (!args['probe-only'] && learned.length > 0) for (let f = 0; f < k; f++) await runFold(f, { corpus, clips, fold, out, cacheDir, rows });

  // ---- probes over the saved per-fold features ------------------------------------------------
  const features: Partial<Record<Row, Float32Array[][]>> = {}; // [fold][clip]
  const logs: unknown[] = [];
  if (rows.includes('mfcc')) {
    const patches = await corpusPatches(corpus.tracks, cacheDir, { label: 'patches' });
    const m = clips.map((c) => {
      const p = patches.get(c.id) as PatchSet;
      return mfccStats(mfcc(p.data, p.count * 96), p.count * 96);
    });
    features.mfcc = Array.from({ length: k }, () => m);
  }
  for (let f = 0; f < k && learned.length > 0; f++) {
    for (const file of await featureFiles(out, f)) {
      const { tensors, metadata } = await loadSafetensors(file);
      logs.push(JSON.parse(metadata.log ?? '{}'));
      for (const row of learned) {
        const t = tensors[row];
        if (!t) continue;
        const d = t.shape[1] as number;
        (features[row] ??= [])[f] = clips.map((_, i) => (t.data as Float32Array).subarray(i * d, (i + 1) * d));
      }
    }
  }
  const report: Record<string, Record<string, { score: number; f1?: number; folds: number[] }>> = {};
  // Rows scored on fewer folds than k (a run still going) are marked in the table.
  for (const row of rows) {
    const perFold = features[row];
    if (!perFold) continue;
    report[row] = {};
    for (const task of (args.tasks as string).split(',') as Task[]) {
      const members = clips.map((c, i) => (label(c, task) === undefined ? -1 : i)).filter((i) => i >= 0);
      const classes = [...new Set(members.map((i) => label(clips[i]!, task) as string))].sort();
      const truthAll: number[] = [];
      const predAll: number[] = [];
      const foldScores: number[] = [];
      for (let f = 0; f < k; f++) {
        const fx = perFold[f];
        if (!fx) continue;
        const d = fx[0]!.length;
        const x = new Float32Array(members.length * d);
        members.forEach((ci, p) => x.set(fx[ci]!, p * d));
        const y = Float64Array.from(members, (ci) => classes.indexOf(label(clips[ci]!, task) as string));
        const tr = members.map((ci, p) => (fold[ci] !== f ? p : -1)).filter((p) => p >= 0);
        const te = members.map((ci, p) => (fold[ci] === f ? p : -1)).filter((p) => p >= 0);
        const fit = await probe('classification', x, d, y, tr, te, { grid: GRID, folds: 3, seed });
        const truth = te.map((p) => y[p] as number);
        const pred = Array.from(fit.predictions);
        truthAll.push(...truth);
        predAll.push(...pred);
        foldScores.push(task === 'valence' || task === 'arousal' ? balancedAccuracy(truth, pred) : fit.score);
      }
      const score = task === 'valence' || task === 'arousal' ? balancedAccuracy(truthAll, predAll) : truthAll.filter((t, i) => t === predAll[i]).length / truthAll.length;
      report[row]![task] = { score, folds: foldScores, ...(task === 'genre9' ? { f1: macroF1(truthAll, predAll) } : {}) };
    }
  }
  const fmt = (x: number): string => x.toFixed(3);
  console.log('\nrow       quadrant acc | valence bal.acc | arousal bal.acc | genre9 acc / macro-F1   (pooled over folds)');
  const cell = (r: Record<string, { score: number; f1?: number }>, t: Task): string => (r[t] ? fmt(r[t]!.score) + (t === 'genre9' ? ` / ${fmt(r[t]!.f1!)}` : '') : '-');
  for (const [row, r] of Object.entries(report)) {
    const n = Math.min(...Object.values(r).map((x) => x.folds.length));
    console.log(`${row.padEnd(9)} ${cell(r, 'quadrant')}        | ${cell(r, 'valence')}           | ${cell(r, 'arousal')}           | ${cell(r, 'genre9')}${n < k ? `   (${n} of ${k} folds)` : ''}`);
  }
  if (args.json) {
    await mkdir(resolve(args.json as string, '..'), { recursive: true });
    await writeFile(resolve(args.json as string), JSON.stringify({ args, report, logs }, null, 2));
  }
}

await main();
