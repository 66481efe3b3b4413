/**
 * `evaluateGrouped`: the real-catalogue experiment. Folds are grouped by artist (or album) and
 * stratified by the first categorical label, shared by every row and task; tasks come from the
 * catalogue's label columns (categorical → SVC: accuracy, macro-F1, balanced accuracy;
 * numeric → SVR: r²). Probes choose their grid by inner CV grouped the same way.
 *
 *   catalogue ─ grouped folds ─┬─ mfcc (once) ───────────────────────────────┐
 *                              └─ learned row: pre-train on the other folds ─┴→ probes on fold f
 *                                 (or once on --train-data minus the evaluated files)
 *
 * A learned row scored on fold f never saw fold f's audio or text: its pre-training corpus is the
 * other folds (the 4Q quadrants were derived from mood words, so text of a scored clip leaks its
 * label). The joint space of the `full` row is measured the same way: mood-word text→music
 * retrieval (mAP, P@10 beside chance) and zero-shot genre (beside the majority-class rate) on the
 * fold's clips, with the model trained without them.
 */
import { join, resolve } from 'node:path';
import type { Corpus, LabelColumn, TrackRecord } from '../data/corpus.js';
import { loadCorpus } from '../data/datasets/index.js';
import { stratifiedSplit } from '../data/datasets/split.js';
import type { ColumnMapping } from '../data/datasets/catalogue.js';
import { JointSpace } from '../search/jointSpace.js';
import { tagRetrievalMetrics } from '../search/metrics.js';
import { DEFAULT_TEMPLATE, fitTemplate, promptFor } from '../search/zeroShot.js';
import { dot } from '../search/vectors.js';
import { ready } from '../tensor/backend.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import { DatasetError, MusicBertError, UsageError } from '../util/errors.js';
import { assignGroupedFolds, foldSplit } from './folds.js';
import { accuracy, balancedAccuracy, macroF1, meanStd, r2 } from './metrics.js';
import { DEFAULT_GRID, QUICK_GRID, probe, type ProbeGrid, type ProbeKind } from './probes.js';
import { cachedRepresentation } from './representations/cache.js';
import { LogMelSource } from './representations/frontend.js';
import { representation } from './representations/index.js';
import { musicBertDirs } from './representations/modelReps.js';
import { evalPretrainCacheDir } from '../util/runDirs.js';
import { trackPatches } from '../data/cache.js';
import type { PretrainRecipe, RepContext, RepProgress } from './representations/types.js';
import { REP_LABELS, type FeatureMatrix, type RepName } from './types.js';

export interface JointEvalOptions {
  /** Mood words (tags) on at least this many clips of the catalogue become queries (default 15). */
  minClips?: number;
  /** Query template (default "{label} music"). */
  queryTemplate?: string;
  /** Zero-shot prompt template (default "a {label} track"). */
  genreTemplate?: string;
}

export interface GroupedEvalOptions {
  /** Catalogue folder (or any corpus directory). */
  data: string;
  /** Report directory: real.{json,md}. */
  out: string;
  columns?: ColumnMapping;
  groupBy?: 'artist' | 'album';
  /** Outer folds (default 5). */
  folds?: number;
  /** Inner folds of the probe grid search (default 3). */
  innerFolds?: number;
  /** Rows (default: mfcc only). */
  reps?: RepName[];
  /** Seed of folds and pre-training (default 0). */
  seed?: number;
  quick?: boolean;
  grid?: ProbeGrid;
  /** SVC class weights (default 'balanced': the genre classes are imbalanced). */
  classWeight?: 'balanced' | 'none';
  /** Pre-training recipe of the learned rows (preset, steps, ...). */
  recipe?: PretrainRecipe;
  /** Pre-train the learned rows once on this corpus (the evaluated files removed) instead of per fold. */
  trainData?: string;
  trainCorpus?: Corpus;
  /** Joint-space figures for the `full` row (default on when it is a row; false: skip). */
  joint?: JointEvalOptions | false;
  cacheDir?: string;
  corpus?: Corpus;
  onProgress?: (p: RepProgress) => void;
  verbose?: boolean;
}

export interface GroupedTaskResult {
  task: string;
  kind: ProbeKind;
  classes?: string[];
  /** Labelled tracks (over all folds). */
  n: number;
  /** Mean over folds. */
  scores: Record<string, number>;
  foldScores: Array<Record<string, number>>;
  /** Majority-class accuracy (classification) or 0 (r² of a constant), mean over folds. */
  baseline: number;
}

export interface JointFigures {
  retrieval: { queries: number; words: string[]; mAP: number; pAt10: number; chance: { mAP: number; pAt10: number } } | null;
  /**
   * accuracy: argmax of cosine; standardisedAccuracy: argmax after each genre's similarities are
   * standardised over the fold's clips; balancedAccuracy: mean per-genre recall of the argmax (chance
   * 1 / genres present), which a model naming the majority genre for every clip cannot inflate;
   * predicted: how many clips the argmax gave each genre.
   */
  zeroShot: { tracks: number; genres: string[]; accuracy: number; standardisedAccuracy: number; majority: number; balancedAccuracy: number; balancedChance: number; predicted: Record<string, number> } | null;
  /** Clips of the scored folds the model could not embed. */
  skipped: number;
}

export interface GroupedRow {
  rep: RepName;
  label: string;
  dim: number;
  learned: boolean;
  tasks: GroupedTaskResult[];
  seconds: number;
  joint?: JointFigures;
}

export interface GroupedReport {
  format: 'musicbert-grouped-eval';
  version: 1;
  data: string;
  tracks: number;
  groups: number;
  folds: number;
  seed: number;
  quick: boolean;
  stratifiedBy: string | null;
  trainData: string | null;
  recipe: PretrainRecipe | null;
  tasks: LabelColumn[];
  rows: GroupedRow[];
  seconds: number;
}

const codes = (values: readonly string[]): { codes: Int32Array; classes: string[] } => {
  const classes = [...new Set(values)].sort();
  const index = new Map(classes.map((c, i) => [c, i] as const));
  return { codes: Int32Array.from(values, (v) => index.get(v) as number), classes };
};

/** Group code of every track: its artist/album, or itself when it has none. */
export function groupCodes(tracks: readonly TrackRecord[]): Int32Array {
  return codes(tracks.map((t) => (t.group !== undefined ? `g:${t.group}` : `t:${t.id}`))).codes;
}

/** The first categorical label column every track has (folds are stratified by it), or undefined. */
export function stratifyColumn(corpus: Corpus): string | undefined {
  return (corpus.labelColumns ?? []).find((c) => c.kind === 'categorical' && corpus.tracks.every((t) => t.labels?.[c.name] !== undefined))?.name;
}

/** Outer folds shared by every row and task: grouped, stratified where a full label column allows. */
export function catalogueFolds(corpus: Corpus, k: number, seed: number): { fold: Int32Array; stratifiedBy: string | undefined } {
  const col = stratifyColumn(corpus);
  const strata = col ? codes(corpus.tracks.map((t) => String(t.labels?.[col]))).codes : undefined;
  return { fold: assignGroupedFolds(groupCodes(corpus.tracks), k, seed, strata), stratifiedBy: col };
}

/**
 * What a learned row may pre-train on for fold f: the other folds' tracks (their audio, tags and
 * text only), split train/valid by group; tag vocabulary, genres and text rebuilt from them.
 */
export function foldTrainingCorpus(corpus: Corpus, fold: Int32Array, f: number, seed: number): Corpus {
  const kept = corpus.tracks.filter((_, i) => fold[i] !== f);
  const splits = stratifiedSplit(kept, () => '', seed, { ratios: { train: 0.9, valid: 0.1, test: 0 }, group: (t) => t.group ?? `track:${t.id}` });
  const tracks = kept.map((t, i) => ({ ...t, split: splits[i] as TrackRecord['split'] }));
  const ids = new Set(tracks.map((t) => t.id));
  return {
    ...corpus,
    tracks,
    albums: corpus.albums.map((a) => ({ ...a, trackIds: a.trackIds.filter((id) => ids.has(id)) })).filter((a) => a.trackIds.length > 0),
    tagVocabulary: [...new Set(tracks.flatMap((t) => t.tags))].sort(),
    genres: [...new Set(tracks.map((t) => t.genre).filter((g): g is string => g !== undefined))].sort(),
    problems: [],
  };
}

/** A separate pre-training corpus with every evaluated audio file removed. */
function withoutEvaluated(train: Corpus, evaluated: Corpus): Corpus {
  const files = new Set(evaluated.tracks.map((t) => resolve(t.audioPath)));
  const tracks = train.tracks.filter((t) => !files.has(resolve(t.audioPath))).map((t) => (t.split === 'test' ? { ...t, split: 'train' as const } : t));
  if (tracks.length === 0) throw new UsageError(`${train.root}: every track of --train-data is also evaluated; nothing is left to pre-train on`);
  return { ...train, tracks };
}

function scoreFold(kind: ProbeKind, truth: number[], pred: ArrayLike<number>): Record<string, number> {
  if (kind === 'regression') return { r2: r2(truth, pred) };
  return { accuracy: accuracy(truth, pred), macroF1: macroF1(truth, pred), balancedAccuracy: balancedAccuracy(truth, pred) };
}

function majority(train: number[], test: number[]): number {
  const counts = new Map<number, number>();
  for (const c of train) counts.set(c, (counts.get(c) ?? 0) + 1);
  const best = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0];
  return test.filter((c) => c === best).length / test.length;
}

interface TaskData {
  column: LabelColumn;
  /** Track indices with this label. */
  rows: number[];
  y: Float64Array;
  classes?: string[];
  groups: Int32Array;
}

function taskData(corpus: Corpus): TaskData[] {
  const g = groupCodes(corpus.tracks);
  const out: TaskData[] = [];
  for (const column of corpus.labelColumns ?? []) {
    const rows = corpus.tracks.map((t, i) => (t.labels?.[column.name] !== undefined ? i : -1)).filter((i) => i >= 0);
    if (rows.length === 0) continue;
    const values = rows.map((i) => corpus.tracks[i]!.labels![column.name]!);
    let y: Float64Array;
    let classes: string[] | undefined;
    if (column.kind === 'categorical') {
      const c = codes(values.map(String));
      if (c.classes.length < 2) continue;
      y = Float64Array.from(c.codes);
      classes = c.classes;
    } else y = Float64Array.from(values.map(Number));
    out.push({ column, rows, y, ...(classes ? { classes } : {}), groups: Int32Array.from(rows, (i) => g[i] as number) });
  }
  return out;
}

/** Probe every task on the folds `only` (default all), from features of all tracks. Returns per-task, per-fold scores. */
async function probeFolds(features: FeatureMatrix, tasks: TaskData[], fold: Int32Array, only: number[], opts: { grid: ProbeGrid; innerFolds: number; seed: number; classWeight: 'balanced' | 'none' }): Promise<Map<string, { scores: Array<Record<string, number>>; baselines: number[] }>> {
  const d = features.dim;
  const out = new Map<string, { scores: Array<Record<string, number>>; baselines: number[] }>();
  for (const task of tasks) {
    const kind: ProbeKind = task.column.kind === 'categorical' ? 'classification' : 'regression';
    const x = new Float32Array(task.rows.length * d);
    task.rows.forEach((ti, p) => x.set(features.data.subarray(ti * d, ti * d + d), p * d));
    const taskFold = Int32Array.from(task.rows, (ti) => fold[ti] as number);
    const res = { scores: [] as Array<Record<string, number>>, baselines: [] as number[] };
    for (const f of only) {
      const { train, test } = foldSplit(taskFold, f);
      if (test.length === 0 || train.length < 2) continue;
      if (kind === 'classification' && new Set(train.map((i) => task.y[i])).size < 2) continue;
      const fit = await probe(kind, x, d, task.y, train, test, {
        grid: opts.grid,
        folds: opts.innerFolds,
        seed: opts.seed,
        groups: task.groups,
        ...(opts.classWeight === 'balanced' ? { classWeight: 'balanced' as const } : {}),
      });
      const truth = test.map((i) => task.y[i] as number);
      res.scores.push(scoreFold(kind, truth, fit.predictions));
      res.baselines.push(kind === 'classification' ? majority(train.map((i) => task.y[i] as number), truth) : 0);
    }
    out.set(task.column.name, res);
  }
  return out;
}

function summarise(tasks: TaskData[], perTask: Map<string, { scores: Array<Record<string, number>>; baselines: number[] }>): GroupedTaskResult[] {
  return tasks.flatMap((t) => {
    const r = perTask.get(t.column.name);
    if (!r || r.scores.length === 0) return [];
    const names = Object.keys(r.scores[0] as Record<string, number>);
    const scores = Object.fromEntries(names.map((n) => [n, meanStd(r.scores.map((s) => s[n] as number)).mean]));
    const out: GroupedTaskResult = { task: t.column.name, kind: t.column.kind === 'categorical' ? 'classification' : 'regression', n: t.rows.length, scores, foldScores: r.scores, baseline: meanStd(r.baselines).mean };
    if (t.classes) out.classes = t.classes;
    return [out];
  });
}

/** Embed tracks with a joint space; those that fail to decode are counted, not fatal. */
async function embedAll(space: JointSpace, tracks: readonly TrackRecord[], frontend: LogMelSource): Promise<{ vectors: Float32Array[]; kept: TrackRecord[]; skipped: number }> {
  const vectors: Float32Array[] = [];
  const kept: TrackRecord[] = [];
  let skipped = 0;
  for (const t of tracks) {
    try {
      const enc = await space.encodeTrack({ ...(await frontend.get(t.audioPath)), source: t.audioPath });
      vectors.push((await space.embedSegments([enc]))[0] as Float32Array);
      kept.push(t);
    } catch (err) {
      if (!(err instanceof MusicBertError)) throw err;
      skipped++;
    }
  }
  return { vectors, kept, skipped };
}

/** Mood words on at least `minClips` clips, most frequent first (ties alphabetical). */
export function queryWords(tracks: readonly TrackRecord[], minClips: number): string[] {
  const counts = new Map<string, number>();
  for (const t of tracks) for (const w of new Set(t.tags.map((x) => x.toLowerCase()))) counts.set(w, (counts.get(w) ?? 0) + 1);
  return [...counts].filter(([, n]) => n >= minClips).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([w]) => w);
}

/** Joint-space figures of one fold's model on that fold's clips. */
/**
 * Zero-shot choices for sims [clip][label]: the argmax per clip, of the raw similarities or, with
 * `standardise`, of each label's similarities minus their mean over the clips, over their spread.
 */
export function zeroShotChoices(sims: readonly (readonly number[])[], standardise: boolean): number[] {
  const n = sims.length;
  const labels = sims[0]?.length ?? 0;
  const mean = Array.from({ length: labels }, (_, j) => sims.reduce((a, r) => a + r[j]!, 0) / n);
  const sd = Array.from({ length: labels }, (_, j) => Math.sqrt(sims.reduce((a, r) => a + (r[j]! - mean[j]!) ** 2, 0) / n) || 1);
  return sims.map((row) => {
    let best = 0;
    for (let j = 1; j < labels; j++) {
      const x = standardise ? (row[j]! - mean[j]!) / sd[j]! : row[j]!;
      const b = standardise ? (row[best]! - mean[best]!) / sd[best]! : row[best]!;
      if (x > b) best = j;
    }
    return best;
  });
}

/** Zero-shot figures over every scored clip's true genre and the raw and standardised choices. */
export function zeroShotFigures(genres: string[], truth: readonly string[], pred: readonly string[], predStandardised: readonly string[]): NonNullable<JointFigures['zeroShot']> {
  const n = truth.length;
  if (n === 0 || pred.length !== n || predStandardised.length !== n) throw new RangeError(`zeroShotFigures: ${n} genres, ${pred.length} and ${predStandardised.length} choices`);
  // One code space for the truth and both choices: [truth | raw | standardised].
  const all = codes([...truth, ...pred, ...predStandardised]).codes;
  const [t, raw, std] = [all.subarray(0, n), all.subarray(n, 2 * n), all.subarray(2 * n)];
  const counts = new Map<string, number>();
  for (const g of truth) counts.set(g, (counts.get(g) ?? 0) + 1);
  const predicted: Record<string, number> = {};
  for (const g of pred) predicted[g] = (predicted[g] ?? 0) + 1;
  return {
    tracks: n,
    genres,
    accuracy: accuracy(t, raw),
    standardisedAccuracy: accuracy(t, std),
    majority: Math.max(...counts.values()) / n,
    balancedAccuracy: balancedAccuracy(t, raw),
    balancedChance: 1 / counts.size,
    predicted,
  };
}

async function jointFold(space: JointSpace, frontend: LogMelSource, test: readonly TrackRecord[], trainGenres: string[], words: string[], o: Required<JointEvalOptions>): Promise<{ ap: number[]; pk: number[]; cap: number[]; cpk: number[]; used: Set<string>; genreTruth: string[]; genrePred: string[]; genrePredStandardised: string[]; skipped: number }> {
  const { vectors, kept, skipped } = await embedAll(space, test, frontend);
  const acc = { ap: [] as number[], pk: [] as number[], cap: [] as number[], cpk: [] as number[], used: new Set<string>(), genreTruth: [] as string[], genrePred: [] as string[], genrePredStandardised: [] as string[], skipped };
  const qs: string[] = [];
  const rel: number[][] = [];
  for (const w of words) {
    const r = kept.map((t, i) => (t.tags.some((x) => x.toLowerCase() === w) ? i : -1)).filter((i) => i >= 0);
    if (r.length === 0) continue;
    qs.push(w);
    rel.push(r);
  }
  if (qs.length > 0 && kept.length > 0) {
    const template = fitTemplate(space, o.queryTemplate);
    const qv = await space.embedText(qs.map((w) => promptFor(w, template)));
    // Per query, so folds are pooled query by query (a fold is a sample of queries, not a unit).
    qs.forEach((w, q) => {
      const m = tagRetrievalMetrics([qv[q] as Float32Array], vectors, [rel[q] as number[]]);
      acc.ap.push(m.mAP);
      acc.pk.push(m.pAt10);
      acc.cap.push(m.chance.mAP);
      acc.cpk.push(m.chance.pAt10);
      acc.used.add(w);
    });
  }
  const withGenre = kept.map((t, i) => ({ g: t.genre, i })).filter((x): x is { g: string; i: number } => x.g !== undefined);
  if (trainGenres.length > 1 && withGenre.length > 0) {
    const template = fitTemplate(space, o.genreTemplate);
    const gv = await space.embedText(trainGenres.map((g) => promptFor(g, template)));
    // sims [clip, genre]; the standardised variant puts each genre's similarities on one scale over
    // the fold's clips (minus their mean, over their spread: no labels), as the chat does with its
    // terms, so a prompt that sits near every clip no longer takes them all.
    const sims = withGenre.map(({ i }) => gv.map((v) => dot(vectors[i] as Float32Array, v)));
    const raw = zeroShotChoices(sims, false);
    const std = zeroShotChoices(sims, true);
    withGenre.forEach(({ g }, n) => {
      acc.genreTruth.push(g);
      acc.genrePred.push(trainGenres[raw[n]!]!);
      acc.genrePredStandardised.push(trainGenres[std[n]!]!);
    });
  }
  return acc;
}

export async function evaluateGrouped(opts: GroupedEvalOptions): Promise<GroupedReport> {
  const started = Date.now();
  const k = opts.folds ?? 5;
  const seed = opts.seed ?? 0;
  const quick = opts.quick ?? false;
  const reps = opts.reps ?? ['mfcc'];
  if (!Number.isInteger(k) || k < 2) throw new UsageError(`--folds must be an integer >= 2, got ${k}`);
  await ready();
  const corpus = opts.corpus ?? (await loadCorpus(opts.data, { ...(opts.columns ? { columns: opts.columns } : {}), ...(opts.groupBy ? { groupBy: opts.groupBy } : {}) }));
  if (corpus.tracks.length === 0) throw new DatasetError('the catalogue has no usable tracks', opts.data);
  const tasks = taskData(corpus);
  if (tasks.length === 0) throw new DatasetError('no label column to evaluate (map some with --columns: "labels": {"column": "categorical"|"numeric"})', opts.data);
  const trainCorpus = opts.trainCorpus ?? (opts.trainData ? await loadCorpus(opts.trainData) : undefined);
  const { fold, stratifiedBy } = catalogueFolds(corpus, k, seed);
  const cacheDir = resolve(opts.cacheDir ?? join(opts.out, 'cache'));
  const frontend = new LogMelSource(join(cacheDir, 'frontend'));
  const probeOpts = { grid: opts.grid ?? (quick ? QUICK_GRID : DEFAULT_GRID), innerFolds: opts.innerFolds ?? 3, seed, classWeight: opts.classWeight ?? 'balanced' } as const;
  const allFolds = Array.from({ length: k }, (_, f) => f);
  const jointOpts: Required<JointEvalOptions> | undefined =
    opts.joint === false ? undefined : { minClips: 15, queryTemplate: '{label} music', genreTemplate: DEFAULT_TEMPLATE, ...(opts.joint ?? {}) };
  const words = jointOpts ? queryWords(corpus.tracks, jointOpts.minClips) : [];

  const rows: GroupedRow[] = [];
  for (const name of reps) {
    const t0 = Date.now();
    const rep = representation(name);
    const ctxFor = (train: Corpus): RepContext => {
      const ctx: RepContext = { corpus, trainCorpus: train, allowLabelTargets: true, seed, quick, cacheDir, frontend, verbose: opts.verbose ?? false };
      if (opts.recipe) ctx.recipe = opts.recipe;
      if (opts.onProgress) ctx.onProgress = opts.onProgress;
      return ctx;
    };
    const perTask = new Map<string, { scores: Array<Record<string, number>>; baselines: number[] }>();
    const merge = (m: Map<string, { scores: Array<Record<string, number>>; baselines: number[] }>) => {
      for (const [t, r] of m) {
        const e = perTask.get(t) ?? { scores: [], baselines: [] };
        e.scores.push(...r.scores);
        e.baselines.push(...r.baselines);
        perTask.set(t, e);
      }
    };
    let dim = 0;
    if (rep.learned) {
      // Pre-training reads patches from its own cache: fill it from the front end's spectrograms
      // so each file is decoded once for both.
      const dir = evalPretrainCacheDir(cacheDir);
      for (const t of trainCorpus ? [] : corpus.tracks) await trackPatches(t, dir, (p) => frontend.get(p));
    }
    // One model for all folds when it never saw any evaluated clip (deterministic rows, or --train-data).
    const contexts: Array<{ ctx: RepContext; folds: number[] }> =
      !rep.learned ? [{ ctx: ctxFor(corpus), folds: allFolds }]
      : trainCorpus ? [{ ctx: ctxFor(withoutEvaluated(trainCorpus, corpus)), folds: allFolds }]
      : allFolds.map((f) => ({ ctx: ctxFor(foldTrainingCorpus(corpus, fold, f, seed)), folds: [f] }));
    const joint = { ap: [] as number[], pk: [] as number[], cap: [] as number[], cpk: [] as number[], used: new Set<string>(), genreTruth: [] as string[], genrePred: [] as string[], genrePredStandardised: [] as string[], skipped: 0 };
    const wantJoint = jointOpts !== undefined && name === 'full';
    for (const { ctx, folds } of contexts) {
      const { features } = await cachedRepresentation(rep, ctx);
      dim = features.dim;
      merge(await probeFolds(features, tasks, fold, folds, probeOpts));
      if (wantJoint && jointOpts) {
        const dirs = await musicBertDirs(ctx, 'full');
        const space = await JointSpace.loadParts({ encoder: dirs.encoderDir, musicbert: dirs.modelDir });
        try {
          for (const f of folds) {
            const test = corpus.tracks.filter((_, i) => fold[i] === f);
            const r = await jointFold(space, frontend, test, ctx.trainCorpus.genres, words, jointOpts);
            joint.ap.push(...r.ap); joint.pk.push(...r.pk); joint.cap.push(...r.cap); joint.cpk.push(...r.cpk);
            for (const w of r.used) joint.used.add(w);
            joint.genreTruth.push(...r.genreTruth); joint.genrePred.push(...r.genrePred); joint.genrePredStandardised.push(...r.genrePredStandardised); joint.skipped += r.skipped;
          }
        } finally {
          space.dispose();
        }
      }
    }
    const row: GroupedRow = { rep: name, label: REP_LABELS[name], dim, learned: rep.learned, tasks: summarise(tasks, perTask), seconds: (Date.now() - t0) / 1000 };
    if (wantJoint) {
      const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
      row.joint = {
        retrieval: joint.ap.length ? { queries: joint.ap.length, words: [...joint.used].sort(), mAP: mean(joint.ap), pAt10: mean(joint.pk), chance: { mAP: mean(joint.cap), pAt10: mean(joint.cpk) } } : null,
        zeroShot: joint.genreTruth.length ? zeroShotFigures(corpus.genres, joint.genreTruth, joint.genrePred, joint.genrePredStandardised) : null,
        skipped: joint.skipped,
      };
    }
    rows.push(row);
  }
  frontend.clear();
  const report: GroupedReport = {
    format: 'musicbert-grouped-eval',
    version: 1,
    data: corpus.root,
    tracks: corpus.tracks.length,
    groups: new Set(groupCodes(corpus.tracks)).size,
    folds: k,
    seed,
    quick,
    stratifiedBy: stratifiedBy ?? null,
    trainData: trainCorpus ? trainCorpus.root : null,
    recipe: opts.recipe ?? null,
    tasks: tasks.map((t) => t.column),
    rows,
    seconds: (Date.now() - started) / 1000,
  };
  await writeGroupedReport(opts.out, report);
  return report;
}

const f3 = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(3));

/** The report as markdown: one row per representation, one column per task, then the joint space. */
export function renderGroupedMarkdown(r: GroupedReport): string {
  const heads = r.tasks.map((t) => (t.kind === 'categorical' ? `${t.name} acc / macro-F1` : `${t.name} r²`));
  const lines = [
    `# Grouped ${r.folds}-fold evaluation of ${r.data}`,
    '',
    `${r.tracks} tracks, ${r.groups} groups (no group is split across folds)${r.stratifiedBy ? `, folds stratified by ${r.stratifiedBy}` : ''}; seed ${r.seed}${r.quick ? ', quick' : ''}.`,
    r.trainData ? `Learned rows pre-trained once on ${r.trainData} (evaluated files removed).` : 'Learned rows pre-trained per fold on the other folds only.',
    '',
    `| representation | dim | ${heads.join(' | ')} |`,
    `|---|---|${heads.map(() => '---').join('|')}|`,
  ];
  for (const row of r.rows) {
    const cells = r.tasks.map((t) => {
      const res = row.tasks.find((x) => x.task === t.name);
      if (!res) return '–';
      return res.kind === 'classification' ? `${f3(res.scores.accuracy)} / ${f3(res.scores.macroF1)}` : f3(res.scores.r2);
    });
    lines.push(`| ${row.label} | ${row.dim} | ${cells.join(' | ')} |`);
  }
  const base = r.rows[0];
  if (base) {
    const cells = r.tasks.map((t) => {
      const res = base.tasks.find((x) => x.task === t.name);
      return res ? (res.kind === 'classification' ? `${f3(res.baseline)} (majority)` : '0 (constant)') : '–';
    });
    lines.push(`| baseline | – | ${cells.join(' | ')} |`);
  }
  const joints = r.rows.filter((row) => row.joint);
  if (joints.length > 0) {
    lines.push('', '## Joint space (text→music on clips the model never saw)', '', '| model | mood retrieval mAP (chance) | P@10 (chance) | queries | zero-shot genre acc (majority) | standardised over the fold | balanced acc (chance) |', '|---|---|---|---|---|---|---|');
    for (const row of joints) {
      const j = row.joint as JointFigures;
      const ret = j.retrieval ? `${f3(j.retrieval.mAP)} (${f3(j.retrieval.chance.mAP)}) | ${f3(j.retrieval.pAt10)} (${f3(j.retrieval.chance.pAt10)}) | ${j.retrieval.queries}` : '– | – | 0';
      const zs = j.zeroShot ? `${f3(j.zeroShot.accuracy)} (${f3(j.zeroShot.majority)}) | ${f3(j.zeroShot.standardisedAccuracy)} | ${f3(j.zeroShot.balancedAccuracy)} (${f3(j.zeroShot.balancedChance)})` : '– | – | –';
      lines.push(`| ${row.label} | ${ret} | ${zs} |`);
    }
  }
  lines.push('', `Classification: SVC, accuracy / macro-F1 (balanced accuracy in the JSON); regression: SVR, r². Mean over folds. ${r.seconds.toFixed(0)} s.`);
  return lines.join('\n') + '\n';
}

export async function writeGroupedReport(out: string, r: GroupedReport): Promise<void> {
  await writeJsonAtomic(join(out, 'real.json'), r);
  await writeFileAtomic(join(out, 'real.md'), renderGroupedMarkdown(r));
}
