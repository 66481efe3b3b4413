/**
 * Probes: how much of a label a frozen representation carries, measured the way the papers do —
 * an SVM (genre: C-SVC) or epsilon-SVR (valence, arousal) on standardised features, its kernel and
 * C chosen by k-fold cross-validation inside the training data only, scored once on held-out data.
 *
 * Standardisation (and, for SVR, target scaling) is refitted on every training subset, like a
 * scikit-learn Pipeline inside GridSearchCV, so no held-out statistic ever reaches a fit.
 */
import { DatasetError } from '../util/errors.js';
import { assignFolds, assignGroupedFolds, foldSplit } from './folds.js';
import { trainSvc, trainSvr, type SvmParams } from './libsvm.js';
import { accuracy, meanStd, r2 } from './metrics.js';
import { applyStandardizer, fitStandardizer, targetScaler } from './standardize.js';
import { TASK_METRIC, type FeatureMatrix, type MetricName, type SplitMode, type TaskName } from './types.js';

export type ProbeKind = 'classification' | 'regression';

/** A kernel in the grid; RBF gamma is given relative to the feature count (gamma = scale / d). */
export type KernelSpec = { kernel: 'linear' } | { kernel: 'rbf'; gammaScale: number };

export interface ProbeGrid {
  C: number[];
  kernels: KernelSpec[];
}

/**
 * The paper's grid: C in {0.1, 2, 8, 32}; linear, or RBF with gamma in {0.1, 1, 10}/d (1/d is
 * scikit-learn's 'scale' on standardised features). Listed simplest first: ties keep the earlier.
 */
export const DEFAULT_GRID: ProbeGrid = {
  C: [0.1, 2, 8, 32],
  kernels: [{ kernel: 'linear' }, { kernel: 'rbf', gammaScale: 0.1 }, { kernel: 'rbf', gammaScale: 1 }, { kernel: 'rbf', gammaScale: 10 }],
};

/**
 * A smaller grid for --quick runs and tests. It stops at C = 8: a linear-kernel SVR at C = 32 can
 * run libsvm to its 10M-iteration cap (measured 23 s for one fit on 137 x 80 MFCC features;
 * scikit-learn's SVR takes 16 s on the same data, so this is the solver, not the port).
 */
export const QUICK_GRID: ProbeGrid = {
  C: [0.1, 2, 8],
  kernels: [{ kernel: 'linear' }, { kernel: 'rbf', gammaScale: 1 }],
};

export interface ProbeOptions {
  grid?: ProbeGrid;
  /** Folds of the inner cross-validation that picks the grid point (default 5). */
  folds?: number;
  /** Seed of the fold assignment. */
  seed?: number;
  /** SVR epsilon, in units of the standardised target (default 0.1, sklearn's default). */
  epsilon?: number;
  /**
   * Group code (artist, album) of every row of `x`: the inner folds then never split a group,
   * so the grid is chosen for unseen artists, as the outer folds score it.
   */
  groups?: ArrayLike<number>;
  /** 'balanced': SVC class weights n / (classes × n_c) from each fit's training rows (sklearn's class_weight='balanced'). */
  classWeight?: 'balanced';
}

/** sklearn's balanced class weights for labels `y`: n / (classes × count of c). */
export function balancedClassWeights(y: readonly number[]): Record<number, number> {
  const counts = new Map<number, number>();
  for (const c of y) counts.set(c, (counts.get(c) ?? 0) + 1);
  const out: Record<number, number> = {};
  for (const [c, m] of counts) out[c] = y.length / (counts.size * m);
  return out;
}

export interface GridPoint {
  params: SvmParams;
  /** Out-of-fold accuracy or r² pooled over the inner folds. */
  cvScore: number;
}

export interface ProbeFit {
  metric: MetricName;
  /** Accuracy or r² on the held-out rows. */
  score: number;
  chosen: SvmParams;
  cvScore: number;
  grid: GridPoint[];
  /** Predictions for the held-out rows, in the order given. */
  predictions: Float64Array;
}

/** Marker in SvmParams.classWeights: computed per fit from its training labels (fitPredict). */
const BALANCED: Record<number, number> = Object.freeze({}) as Record<number, number>;

function gridPoints(grid: ProbeGrid, d: number, kind: ProbeKind, epsilon: number, classWeight?: 'balanced'): SvmParams[] {
  const out: SvmParams[] = [];
  for (const k of grid.kernels) {
    for (const C of grid.C) {
      const p: SvmParams = k.kernel === 'rbf' ? { kernel: 'rbf', C, gamma: k.gammaScale / d } : { kernel: 'linear', C };
      if (kind === 'regression') p.epsilon = epsilon;
      if (kind === 'classification' && classWeight === 'balanced') p.classWeights = BALANCED;
      out.push(p);
    }
  }
  if (out.length === 0) throw new RangeError('probe grid is empty');
  return out;
}

/**
 * Fit on rows `train` of `x` `[n, d]` and predict rows `test`: standardise with train statistics,
 * scale regression targets likewise (so epsilon means the same on every target), map back.
 */
export async function fitPredict(kind: ProbeKind, x: ArrayLike<number>, d: number, y: ArrayLike<number>, train: readonly number[], test: readonly number[], params: SvmParams): Promise<Float64Array> {
  const s = fitStandardizer(x, d, train);
  const xtr = applyStandardizer(s, x, d, train);
  const xte = applyStandardizer(s, x, d, test);
  const ytr = train.map((i) => y[i] as number);
  if (kind === 'classification') {
    const m = await trainSvc(xtr, train.length, d, ytr, params.classWeights === BALANCED ? { ...params, classWeights: balancedClassWeights(ytr) } : params);
    try {
      return m.predict(xte, test.length);
    } finally {
      m.free();
    }
  }
  const t = targetScaler(ytr);
  const m = await trainSvr(xtr, train.length, d, ytr.map((v) => (v - t.mean) / t.scale), params);
  try {
    const p = m.predict(xte, test.length);
    for (let i = 0; i < p.length; i++) p[i] = (p[i] as number) * t.scale + t.mean;
    return p;
  } finally {
    m.free();
  }
}

function score(kind: ProbeKind, truth: ArrayLike<number>, pred: ArrayLike<number>): number {
  return kind === 'classification' ? accuracy(truth, pred) : r2(truth, pred);
}

/** Pick the grid point with the best pooled out-of-fold score over rows `train` (seeded folds). */
export async function selectParams(kind: ProbeKind, x: ArrayLike<number>, d: number, y: ArrayLike<number>, train: readonly number[], opts: ProbeOptions = {}): Promise<{ best: GridPoint; grid: GridPoint[] }> {
  const ytrain = train.map((i) => y[i] as number);
  const strata = kind === 'classification' ? ytrain : undefined;
  let fold: Int32Array;
  let k: number;
  if (opts.groups) {
    const g = train.map((i) => opts.groups![i] as number);
    k = Math.min(opts.folds ?? 5, new Set(g).size);
    if (k < 2) throw new DatasetError('grouped probe needs training rows from at least 2 groups');
    fold = assignGroupedFolds(g, k, opts.seed ?? 0, strata);
  } else {
    k = Math.min(opts.folds ?? 5, train.length);
    fold = assignFolds(train.length, k, opts.seed ?? 0, strata);
  }
  const splits = Array.from({ length: k }, (_, f) => foldSplit(fold, f));
  const grid: GridPoint[] = [];
  for (const params of gridPoints(opts.grid ?? DEFAULT_GRID, d, kind, opts.epsilon ?? 0.1, opts.classWeight)) {
    const oof = new Float64Array(train.length);
    for (const sp of splits) {
      if (sp.test.length === 0 || sp.train.length === 0) continue;
      const pred = await fitPredict(kind, x, d, y, sp.train.map((i) => train[i] as number), sp.test.map((i) => train[i] as number), params);
      sp.test.forEach((i, j) => (oof[i] = pred[j] as number));
    }
    grid.push({ params, cvScore: score(kind, ytrain, oof) });
  }
  let best = grid[0] as GridPoint;
  for (const g of grid) if (g.cvScore > best.cvScore + 1e-12) best = g;
  return { best, grid };
}

/** Select by inner CV on `train`, refit on all of `train`, score on `test`. */
export async function probe(kind: ProbeKind, x: ArrayLike<number>, d: number, y: ArrayLike<number>, train: readonly number[], test: readonly number[], opts: ProbeOptions = {}): Promise<ProbeFit> {
  if (train.length < 2) throw new DatasetError(`probe needs at least 2 training rows, got ${train.length}`);
  if (test.length < 1) throw new DatasetError('probe needs at least 1 held-out row');
  if (kind === 'classification' && new Set(train.map((i) => y[i])).size < 2) {
    throw new DatasetError('classification probe needs at least 2 classes among the training rows');
  }
  const { best, grid } = await selectParams(kind, x, d, y, train, opts);
  const predictions = await fitPredict(kind, x, d, y, train, test, best.params);
  return {
    metric: kind === 'classification' ? 'accuracy' : 'r2',
    score: score(kind, test.map((i) => y[i] as number), predictions),
    chosen: best.params,
    cvScore: best.cvScore,
    grid,
    predictions,
  };
}

// ---- task level: a representation's rows + the corpus labels -------------------------------

/** The label fields of a corpus track the probes use (a subset of data/corpus TrackRecord). */
export interface LabelledTrack {
  id: string;
  split: 'train' | 'valid' | 'test';
  genre?: string | undefined;
  valence?: number | undefined;
  arousal?: number | undefined;
}

export interface TaskResult {
  task: TaskName;
  metric: MetricName;
  /** Held-out score (mean over folds for cv10). */
  score: number;
  /** One score per outer fold (cv10) or the single held-out score. */
  foldScores: number[];
  /** The grid point chosen for each outer fold. */
  chosen: SvmParams[];
  /** Inner cross-validation score of each chosen point. */
  cvScores: number[];
  nTrain: number;
  nTest: number;
  /** Majority-class accuracy (genre) or 0 (r² of predicting a constant) on the same held-out rows. */
  baseline: number;
  classes?: string[];
}

export interface RunProbesOptions extends ProbeOptions {
  split?: SplitMode;
  /** Restrict to these tasks (default: every task some track has a label for). */
  tasks?: TaskName[];
  /** Called after each task with a short description. */
  onTask?: (task: TaskName, result: TaskResult) => void;
}

/**
 * Outer splits over all tracks, shared by every task so genre and mood are scored on the same
 * held-out tracks: `ff` uses the corpus split (valid joins train: model selection is the inner
 * CV), `random` a seeded 80/20 split, `cv10` ten seeded folds; random and cv10 stratify by genre
 * when every track has one.
 */
export function outerSplits(tracks: readonly LabelledTrack[], mode: SplitMode, seed: number): Array<{ train: number[]; test: number[] }> {
  if (mode === 'ff') {
    const train: number[] = [];
    const test: number[] = [];
    tracks.forEach((t, i) => (t.split === 'test' ? test : train).push(i));
    if (test.length === 0) throw new DatasetError("split 'ff' needs tracks in the test split; the corpus has none (try --split random or cv10)");
    return [{ train, test }];
  }
  const genres = tracks.every((t) => t.genre !== undefined) ? codeLabels(tracks.map((t) => t.genre as string)).codes : undefined;
  const k = mode === 'cv10' ? 10 : 5;
  const fold = assignFolds(tracks.length, k, seed, genres);
  if (mode === 'random') return [foldSplit(fold, 0)];
  return Array.from({ length: k }, (_, f) => foldSplit(fold, f));
}

function codeLabels(labels: readonly string[]): { codes: Int32Array; classes: string[] } {
  const classes = [...new Set(labels)].sort();
  const index = new Map(classes.map((c, i) => [c, i] as const));
  return { codes: Int32Array.from(labels, (l) => index.get(l) as number), classes };
}

/** The tasks some track has a label for, in table order. */
export function availableTasks(tracks: readonly LabelledTrack[]): TaskName[] {
  const out: TaskName[] = [];
  if (tracks.some((t) => t.genre !== undefined)) out.push('genre');
  if (tracks.some((t) => Number.isFinite(t.valence))) out.push('valence');
  if (tracks.some((t) => Number.isFinite(t.arousal))) out.push('arousal');
  return out;
}

/**
 * Run every available probe on one representation. `features.ids` must cover every track id.
 * Tracks without a task's label are left out of that task only.
 */
export async function runProbes(features: FeatureMatrix, tracks: readonly LabelledTrack[], opts: RunProbesOptions = {}): Promise<Partial<Record<TaskName, TaskResult>>> {
  const row = new Map(features.ids.map((id, i) => [id, i] as const));
  const rowOf = tracks.map((t) => {
    const r = row.get(t.id);
    if (r === undefined) throw new DatasetError(`no feature vector for track "${t.id}"`);
    return r;
  });
  const d = features.dim;
  const seed = opts.seed ?? 0;
  const splits = outerSplits(tracks, opts.split ?? 'ff', seed);
  const out: Partial<Record<TaskName, TaskResult>> = {};
  for (const task of opts.tasks ?? availableTasks(tracks)) {
    const has = (t: LabelledTrack): boolean => (task === 'genre' ? t.genre !== undefined : Number.isFinite(t[task]));
    const labelled = tracks.map((t, i) => (has(t) ? i : -1)).filter((i) => i >= 0);
    if (labelled.length === 0) continue;
    const kind: ProbeKind = task === 'genre' ? 'classification' : 'regression';
    // Gather this task's rows into a compact matrix; index spaces below are positions in it.
    const pos = new Map(labelled.map((ti, p) => [ti, p] as const));
    const x = new Float32Array(labelled.length * d);
    labelled.forEach((ti, p) => x.set(features.data.subarray((rowOf[ti] as number) * d, (rowOf[ti] as number) * d + d), p * d));
    let y: Float64Array;
    let classes: string[] | undefined;
    if (kind === 'classification') {
      const coded = codeLabels(labelled.map((ti) => tracks[ti]?.genre as string));
      y = Float64Array.from(coded.codes);
      classes = coded.classes;
    } else {
      y = Float64Array.from(labelled, (ti) => tracks[ti]?.[task as 'valence' | 'arousal'] as number);
    }
    const res: TaskResult = { task, metric: TASK_METRIC[task], score: NaN, foldScores: [], chosen: [], cvScores: [], nTrain: 0, nTest: 0, baseline: NaN };
    const baselines: number[] = [];
    for (const sp of splits) {
      const train = sp.train.filter((i) => pos.has(i)).map((i) => pos.get(i) as number);
      const test = sp.test.filter((i) => pos.has(i)).map((i) => pos.get(i) as number);
      if (test.length === 0) continue;
      const fit = await probe(kind, x, d, y, train, test, opts);
      res.foldScores.push(fit.score);
      res.chosen.push(fit.chosen);
      res.cvScores.push(fit.cvScore);
      res.nTrain += train.length;
      res.nTest += test.length;
      baselines.push(kind === 'classification' ? majorityAccuracy(train.map((i) => y[i] as number), test.map((i) => y[i] as number)) : 0);
    }
    if (res.foldScores.length === 0) continue;
    res.score = meanStd(res.foldScores).mean;
    res.baseline = meanStd(baselines).mean;
    // For cv10 the counts are per fold on average.
    res.nTrain = Math.round(res.nTrain / res.foldScores.length);
    res.nTest = Math.round(res.nTest / res.foldScores.length);
    if (classes) res.classes = classes;
    out[task] = res;
    opts.onTask?.(task, res);
  }
  return out;
}

function majorityAccuracy(train: number[], test: number[]): number {
  const counts = new Map<number, number>();
  for (const c of train) counts.set(c, (counts.get(c) ?? 0) + 1);
  let best = train[0] as number;
  for (const [c, n] of counts) if (n > (counts.get(best) as number) || (n === counts.get(best) && c < best)) best = c;
  return test.filter((c) => c === best).length / test.length;
}
