/**
 * `evaluate`: the Table-1 experiment end to end. For each representation and seed, compute (or
 * reuse from the cache) one vector per track, probe genre / valence / arousal with SVMs chosen by
 * cross-validation on training data only, aggregate mean ± std over seeds, write the report.
 *
 *   corpus ─ held-out split ─┬─ representation(seed) → features [n, d] (cached) ─ probes ─┐
 *                            └─ training tracks (never the held-out ones) ───────────────┘→ Table1
 */
import { resolve } from 'node:path';
import type { Corpus, TrackRecord } from '../data/corpus.js';
import { loadCorpus } from '../data/datasets/index.js';
import { ready } from '../tensor/backend.js';
import { DatasetError, UsageError } from '../util/errors.js';
import { evalCacheDir } from '../util/runDirs.js';
import { DEFAULT_GRID, QUICK_GRID, availableTasks, outerSplits, runProbes } from './probes.js';
import { summariseRow, writeReport, type RunResult, type Table1, type Table1Row } from './report.js';
import { cachedRepresentation } from './representations/cache.js';
import { LogMelSource } from './representations/frontend.js';
import { representation } from './representations/index.js';
import type { RepContext, RepProgress } from './representations/types.js';
import { DEFAULT_REPS, type RepName, type SplitMode, type TaskName } from './types.js';

export type EvalProgress = RepProgress | { rep: RepName; seed: number; stage: 'probe'; done: number; total: number; info?: string };

export interface EvaluateOptions {
  /** Corpus directory to evaluate (generator output or a public layout). */
  data: string;
  /** Report directory: table1.{json,md,svg}. */
  out: string;
  /** Rows to compute (default: all eight). */
  reps?: RepName[];
  /** Seeds per learned row (default 3). */
  seeds?: number;
  /** Short training and a small probe grid (smoke tests). */
  quick?: boolean;
  split?: SplitMode;
  /**
   * Corpus the learned representations train on (e.g. a tagged collection when evaluating on
   * GTZAN); default: the evaluated corpus without its held-out tracks.
   */
  trainData?: string;
  /** Feature and model cache (default OUT/cache). */
  cacheDir?: string;
  /** Seed of the probe folds and of the random/cv10 split (default 0). */
  probeSeed?: number;
  onProgress?: (p: EvalProgress) => void;
  /** Let pre-training print its own progress to stderr (default false). */
  verbose?: boolean;
  /** Already loaded corpora (skip loadCorpus). */
  corpus?: Corpus;
  trainCorpus?: Corpus;
}

/**
 * The corpus representations may learn from: the training corpus (or the evaluated one) minus
 * every held-out track, matched by audio file so a held-out file cannot slip back in through
 * --train-data. Kept tracks marked 'test' (random / cv10 splits ignore the corpus split) become
 * 'train'. Mood labels may be training targets unless the evaluated tracks are all training
 * tracks (cv10 without a separate training corpus).
 */
export function trainingCorpus(corpus: Corpus, split: SplitMode, probeSeed: number, trainCorpus?: Corpus): { corpus: Corpus; allowLabels: boolean } {
  const heldOut = new Set<string>();
  if (split !== 'cv10') for (const sp of outerSplits(corpus.tracks, split, probeSeed)) for (const i of sp.test) heldOut.add((corpus.tracks[i] as TrackRecord).audioPath);
  const source = trainCorpus ?? corpus;
  const tracks = source.tracks.filter((t) => !heldOut.has(t.audioPath)).map((t) => (t.split === 'test' ? { ...t, split: 'train' as const } : t));
  const evaluated = new Set(corpus.tracks.map((t) => t.audioPath));
  const overlaps = tracks.some((t) => evaluated.has(t.audioPath));
  return { corpus: { ...source, tracks }, allowLabels: split !== 'cv10' || !overlaps };
}

export async function evaluate(opts: EvaluateOptions): Promise<Table1> {
  const reps = opts.reps ?? [...DEFAULT_REPS];
  const seeds = opts.seeds ?? 3;
  const split = opts.split ?? 'ff';
  const quick = opts.quick ?? false;
  const probeSeed = opts.probeSeed ?? 0;
  if (!Number.isInteger(seeds) || seeds < 1) throw new UsageError(`seeds must be a positive integer, got ${seeds}`);
  if (reps.length === 0) throw new UsageError('no representations to evaluate');
  await ready();
  const corpus = opts.corpus ?? (await loadCorpus(opts.data));
  if (corpus.tracks.length === 0) throw new DatasetError('the corpus has no usable tracks', opts.data);
  const trainCorpus = opts.trainCorpus ?? (opts.trainData ? await loadCorpus(opts.trainData) : undefined);
  const learnFrom = trainingCorpus(corpus, split, probeSeed, trainCorpus);
  const cacheDir = resolve(opts.cacheDir ?? evalCacheDir(opts.out));
  const frontend = new LogMelSource();
  const grid = quick ? QUICK_GRID : DEFAULT_GRID;
  const nTasks = availableTasks(corpus.tracks).length;
  if (nTasks === 0) throw new DatasetError('no track has a genre, valence or arousal label to probe', opts.data);
  const folds = quick ? 3 : 5;

  const rows: Table1Row[] = [];
  for (const name of reps) {
    const rep = representation(name);
    const runs: RunResult[] = [];
    let dim = 0;
    const seedList = rep.learned ? Array.from({ length: seeds }, (_, i) => i) : [0];
    for (const seed of seedList) {
      const t0 = Date.now();
      const ctx: RepContext = { corpus, trainCorpus: learnFrom.corpus, allowLabelTargets: learnFrom.allowLabels, seed, quick, cacheDir, frontend, verbose: opts.verbose ?? false };
      if (opts.onProgress) ctx.onProgress = opts.onProgress;
      const { features, cached } = await cachedRepresentation(rep, ctx);
      dim = features.dim;
      let done = 0;
      const tasks = await runProbes(features, corpus.tracks, {
        split,
        seed: probeSeed,
        grid,
        folds,
        onTask: (task, r) => opts.onProgress?.({ rep: name, seed, stage: 'probe', done: ++done, total: nTasks, info: `${task} ${r.metric} ${r.score.toFixed(3)}` }),
      });
      runs.push({ seed, cached, seconds: (Date.now() - t0) / 1000, tasks });
    }
    rows.push(summariseRow(name, dim, rep.learned, runs));
  }
  frontend.clear();

  const first = rows[0]?.runs[0]?.tasks ?? {};
  const taskNames = (['genre', 'valence', 'arousal'] as const).filter((k) => rows.some((r) => r.scores[k] !== undefined));
  const baselines: Partial<Record<TaskName, number>> = {};
  for (const k of taskNames) baselines[k] = first[k]?.baseline ?? NaN;
  const splits = outerSplits(corpus.tracks, split, probeSeed);
  const table: Table1 = {
    format: 'musicbert-table1',
    version: 1,
    data: resolve(opts.data),
    split,
    quick,
    seeds,
    corpus: {
      tracks: corpus.tracks.length,
      train: Math.round(splits.reduce((a, s) => a + s.train.length, 0) / splits.length),
      test: Math.round(splits.reduce((a, s) => a + s.test.length, 0) / splits.length),
      genres: corpus.genres,
    },
    tasks: taskNames,
    baselines,
    rows,
  };
  await writeReport(opts.out, table);
  return table;
}

export { REP_NAMES, REP_LABELS, isRepName, type RepName, type SplitMode, type TaskName, type FeatureMatrix } from './types.js';
export { runProbes, probe, selectParams, fitPredict, outerSplits, DEFAULT_GRID, QUICK_GRID, type ProbeGrid, type ProbeFit, type TaskResult, type LabelledTrack } from './probes.js';
export { writeReport, renderMarkdown, renderSvg, type Table1, type Table1Row, type Stat, type RunResult } from './report.js';
export { representation } from './representations/index.js';
