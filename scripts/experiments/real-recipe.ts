/**
 * The real-music recipe experiment (issue 11, part B): artist-grouped 5-fold CV on real_dev.
 * Per fold, pre-training sees only that fold's training clips (audio, tags and mood-word text),
 * then every clip is embedded with the frozen fold model and probed (standardised features →
 * SVC, kernel and C by inner CV on the fold's training clips only).
 *
 *   node --import tsx scripts/experiments/real-recipe.ts [--data ../shared/data/real_dev]
 *        [--cache DIR] [--out DIR] [--folds 5] [--rows mfcc,encoder,full,local,mlm,mim]
 *        [--encoder-objectives contrastive,tags] [--extra-audio DIR] [--config real]
 *        [--encoder-steps N] [--steps N] [--only-fold F] [--json FILE]
 *
 * Rows: mfcc (the product's mfccStats), encoder (stage-1 patch vectors, mean+std over the clip),
 * full / local (all stage-2 objectives with full / local attention; contextual music states,
 * mean+std over positions), mlm / mim (one stage-2 objective). Tasks: quadrant (accuracy),
 * valence and arousal sign (balanced accuracy), genre9 (accuracy and macro-F1, 152 clips).
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { mfcc, mfccStats } from '../../src/audio/index.js';
import { corpusPatches, type PatchSet } from '../../src/data/cache.js';
import type { Corpus } from '../../src/data/corpus.js';
import { probe, type ProbeGrid } from '../../src/eval/probes.js';
import { loadAudioEncoder, loadMusicBert } from '../../src/model/checkpoint.js';
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

/** The fold-train corpus: tags = mood words and genres on ≥ MIN_TAG_CLIPS train clips; text = mood words. */
function foldCorpus(all: Corpus, clips: readonly RealClip[], train: readonly number[]): Corpus {
  const counts = new Map<string, number>();
  for (const i of train) for (const w of new Set([...clips[i]!.moods, ...clips[i]!.genres])) counts.set(w, (counts.get(w) ?? 0) + 1);
  const vocab = [...counts].filter(([, n]) => n >= MIN_TAG_CLIPS).map(([w]) => w).sort();
  const inVocab = new Set(vocab);
  const tracks = train.map((i) => ({ ...all.tracks[i]!, tags: [...clips[i]!.moods, ...clips[i]!.genres].filter((w) => inVocab.has(w)) }));
  const albums = train.map((i) => all.albums[i]!);
  return { root: all.root, tracks, albums, genres: [], tagVocabulary: vocab, problems: [] };
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
  const encObjectives = parseEncoderObjectives(args['encoder-objectives'] as string);
  const config = args.config as PresetName;
  const seed = Number(args.seed);
  const { corpus, clips } = await loadRealDev(dataDir);
  const cacheDir = resolve(args.cache as string);
  const patches = await corpusPatches(corpus.tracks, cacheDir, { label: 'patches' });
  const patchOf = (i: number): PatchSet => patches.get(clips[i]!.id) as PatchSet;
  const fold = groupedFolds(clips.map((c) => c.artist), k, seed);

  // Per row and task, pooled out-of-fold predictions (codes) for every clip in the task.
  const features: Partial<Record<Row, Features[]>> = {}; // [fold][clip]
  const times: Record<string, number[]> = {};
  const timed = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    const r = await f();
    (times[name] ??= []).push((Date.now() - t0) / 1000);
    return r;
  };
  if (rows.includes('mfcc')) {
    const m = clips.map((_, i) => mfccStats(mfcc(patchOf(i).data, patchOf(i).count * 96), patchOf(i).count * 96));
    features.mfcc = Array.from({ length: k }, () => m);
  }
  const onlyFold = args['only-fold'] === undefined ? undefined : Number(args['only-fold']);
  const learned = rows.filter((r) => r !== 'mfcc');
  for (let f = 0; f < k; f++) {
    if (learned.length === 0 || (onlyFold !== undefined && f !== onlyFold)) continue;
    const train = clips.map((_, i) => i).filter((i) => fold[i] !== f);
    const fc = foldCorpus(corpus, clips, train);
    const out = resolve(args.out as string, `${config}-s${seed}-k${k}-f${f}-${encObjectives.join('+')}`);
    const base = {
      data: dataDir,
      corpus: fc,
      seed,
      config,
      cacheDir,
      quiet: false,
      encoderObjectives: encObjectives,
      extraAudio: args['extra-audio'],
      encoderSteps: args['encoder-steps'] === undefined ? undefined : Number(args['encoder-steps']),
      steps: args.steps === undefined ? undefined : Number(args.steps),
    };
    const enc = await timed('encoder', () => pretrain({ ...base, out: join(out, 'encoder'), objectives: ['mlm'], stopAt: 0 }));
    console.log(`fold ${f}: ${train.length} train clips, ${fc.tagVocabulary.length} tags, encoder ${enc.summary.encoder.seconds.toFixed(0)} s`, JSON.stringify(enc.summary.encoder.losses));
    const encoder = await loadAudioEncoder(enc.encoderDir);
    const vectors = await Promise.all(clips.map(async (_, i) => ({ data: await encoder.embedPatches(patchOf(i).data, patchOf(i).count), count: patchOf(i).count })));
    const dim = encoder.config.embedDim;
    encoder.dispose();
    if (rows.includes('encoder')) (features.encoder ??= [])[f] = vectors.map((v) => meanStd(v.data, v.count, dim));
    const variants: Array<[Row, readonly ObjectiveName[], 'full' | 'local']> = [
      ['full', OBJECTIVES, 'full'],
      ['local', OBJECTIVES, 'local'],
      ['mlm', ['mlm'], 'full'],
      ['mim', ['mim'], 'full'],
    ];
    for (const [row, objectives, attention] of variants) {
      if (!rows.includes(row)) continue;
      const r = await timed(`stage2-${row}`, () =>
        pretrain({ ...base, out: join(out, row), objectives, encoderFrom: enc.encoderDir, modelConfig: { attention: { kind: attention, window: 4 } } }),
      );
      console.log(`fold ${f} ${row}: stage 2 ${r.summary.model.seconds.toFixed(0)} s`, JSON.stringify(r.summary.model.losses));
      const { model } = await loadMusicBert(r.modelDir);
      const d = model.config.dModel;
      (features[row] ??= [])[f] = vectors.map((v) => {
        const seg = toSegments(v.data, v.count, model.config.maxMusicLen);
        return tf.tidy(() => {
          const o = model.forward({ music: tf.tensor3d(seg.data, [1, seg.count, model.config.musicDim]) }, { training: false });
          return meanStd(o.musicHidden!.dataSync() as Float32Array, seg.count, d);
        });
      });
      model.dispose();
    }
  }

  // ---- probes ---------------------------------------------------------------------------------
  const report: Record<string, Record<string, { score: number; f1?: number; folds: number[] }>> = {};
  for (const row of rows) {
    const perFold = features[row];
    if (!perFold) continue;
    report[row] = {};
    for (const task of TASKS) {
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
  for (const [row, r] of Object.entries(report)) {
    console.log(`${row.padEnd(9)} ${fmt(r.quadrant!.score)}        | ${fmt(r.valence!.score)}           | ${fmt(r.arousal!.score)}           | ${fmt(r.genre9!.score)} / ${fmt(r.genre9!.f1!)}`);
  }
  console.log('seconds per fold:', JSON.stringify(Object.fromEntries(Object.entries(times).map(([n, t]) => [n, t.map((s) => Math.round(s))]))));
  if (args.json) {
    await mkdir(resolve(args.json as string, '..'), { recursive: true });
    await writeFile(resolve(args.json as string), JSON.stringify({ args, report, times }, null, 2));
  }
}

await main();
