/**
 * Shared shapes of the evaluation layer: a feature matrix (one row per track), the probe tasks and
 * the names of the Table-1 representations.
 */

/** Per-track feature vectors, row-major `[n, dim]`, rows aligned with `ids`. */
export interface FeatureMatrix {
  ids: string[];
  dim: number;
  data: Float32Array; // [n, dim]
}

export type TaskName = 'genre' | 'valence' | 'arousal';
export type MetricName = 'accuracy' | 'r2';

export const TASK_METRIC: Record<TaskName, MetricName> = { genre: 'accuracy', valence: 'r2', arousal: 'r2' };

/**
 * How tracks are split for probing:
 * - `ff`: the corpus' own split (train + valid for fitting, test held out) — the fault-filtered
 *   GTZAN split when the corpus loader read one;
 * - `random`: a seeded, stratified 80/20 split of all labelled tracks, ignoring the corpus split;
 * - `cv10`: 10-fold cross-validation over every labelled track (score = mean over folds).
 */
export type SplitMode = 'ff' | 'random' | 'cv10';

export const REP_NAMES = ['mfcc', 'tlm', 'mtlmr', 'vggish', 'layers', 'audioset', 'mlm', 'mim', 'full', 'local'] as const;
export type RepName = (typeof REP_NAMES)[number];

/**
 * The rows `evaluate` and `main` compute when none are named: Table 1's eight. `local` (the
 * proposal's sparse-attention hypothesis) and `layers` (the encoder's every layer) are asked for
 * by name, e.g. by `eval:real`.
 */
export const DEFAULT_REPS: readonly RepName[] = REP_NAMES.filter((r) => r !== 'local' && r !== 'layers');

/** Row labels used in the report, in the paper's wording. */
export const REP_LABELS: Record<RepName, string> = {
  mfcc: 'MFCC statistics',
  tlm: 'Transfer convnet (tags), all layers',
  mtlmr: 'Multi-task convnet',
  vggish: 'Audio encoder (VGGish-style)',
  layers: 'Audio encoder, all layers',
  audioset: 'Concept probabilities',
  mlm: 'MusicBERT, MLM only',
  mim: 'MusicBERT, MIM only',
  full: 'MusicBERT, all objectives + text',
  local: 'MusicBERT, all objectives, local attention',
};

export function isRepName(s: string): s is RepName {
  return (REP_NAMES as readonly string[]).includes(s);
}
