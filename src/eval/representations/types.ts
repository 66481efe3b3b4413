/**
 * The contract every Table-1 representation meets: given the corpus and a seed, one feature
 * vector per track. Learned representations train only on `trainCorpus` (held-out tracks never
 * reach a training loss), and their results are cached on disk per seed.
 */
import type { Corpus } from '../../data/corpus.js';
import type { PretrainOptions } from '../../train/pretrain.js';
import type { FeatureMatrix, RepName } from '../types.js';
import type { LogMelSource } from './frontend.js';

export interface RepProgress {
  rep: RepName;
  seed: number;
  stage: string;
  done: number;
  total: number;
  info?: string;
}

export interface RepContext {
  /** The corpus being evaluated: every track gets a vector. */
  corpus: Corpus;
  /**
   * What a representation may learn from: the training corpus (the evaluated one or --train-data)
   * with every held-out track removed. Its tracks' `split` is 'train' or 'valid'.
   */
  trainCorpus: Corpus;
  /**
   * Whether labels of the training tracks (valence/arousal) may serve as auxiliary training targets: false
   * when the training tracks are the evaluated tracks themselves with no held-out split (cv10).
   */
  allowLabelTargets: boolean;
  seed: number;
  quick: boolean;
  /** Directory for cached features and trained networks. */
  cacheDir: string;
  /** Shared log-mel front end (memoised per file across representations and seeds). */
  frontend: LogMelSource;
  /** Let long sub-steps (pre-training) print their own progress to stderr. */
  verbose: boolean;
  onProgress?: (p: RepProgress) => void;
  /**
   * Pre-training recipe overrides for the learned rows (preset, steps, sizes, ...): part of the
   * cache key and of the model directory, so two recipes never share a result.
   */
  recipe?: PretrainRecipe;
}

/** The pre-training options a caller may tune for the learned rows (the data, output and objectives are the row's own). */
export type PretrainRecipe = Partial<Omit<PretrainOptions, 'data' | 'out' | 'corpus' | 'objectives' | 'seed' | 'cacheDir' | 'quiet' | 'stopAt' | 'encoderFrom'>>;

export interface Representation {
  name: RepName;
  /** Deterministic representations are computed once, not once per seed. */
  learned: boolean;
  /** Bump when the computation changes, so stale caches are not reused. */
  version: number;
  /** The settings that shape the result (part of the cache key). */
  settings(ctx: RepContext): Record<string, unknown>;
  compute(ctx: RepContext): Promise<FeatureMatrix>;
}
