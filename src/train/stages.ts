/**
 * What the two pre-training stages share: the data both read (corpus → cached patches → usable
 * tracks and concept labels, plus a fingerprint of them), and the one rule each stage applies to a
 * checkpoint it finds in its directory:
 *
 *   none                                   → train from scratch
 *   same steps, seed, data and config      → finished: reuse it; unfinished: resume it
 *   anything else differs                  → CheckpointError naming what differs (never silently
 *                                            reused, never silently overwritten)
 *
 * "Data" is the trainer's data descriptor: batch order plus the fingerprint (ids, audio files and
 * labels of the training and validation tracks), so a changed corpus is caught even when the step
 * count matches.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Corpus, TrackRecord } from '../data/corpus.js';
import { loadCorpus } from '../data/datasets/index.js';
import { corpusHash, corpusPatches, defaultCacheDir, type PatchSet } from '../data/cache.js';
import { loadCheckpoint } from '../model/checkpoint.js';
import { CheckpointError, UsageError } from '../util/errors.js';
import { fallbackCacheDir } from '../util/runDirs.js';
import { preset as getPreset, type PresetName } from './presets.js';
import { conceptLabels, DEFAULT_CONCEPTS, type ConceptSpec } from './concepts.js';
import type { TensorMap } from '../util/safetensors.js';
import { parseTrainerState, type StepRecord, type TrainerState, type ValidationRecord } from './trainer.js';

export interface StageSummary {
  steps: number;
  seconds: number;
  /** Per part: mean of the first and of the last few training steps' values. */
  losses: Record<string, { first: number; last: number }>;
  validation: ValidationRecord[];
  /** True when a finished checkpoint was reused instead of training. */
  reused: boolean;
}

/** Mean of the first and last k values of every logged part (k = a quarter of the run, 1..10). */
export function summarizeHistory(history: readonly StepRecord[]): Record<string, { first: number; last: number }> {
  const out: Record<string, { first: number; last: number }> = {};
  if (history.length === 0) return out;
  const k = Math.max(1, Math.min(10, Math.floor(history.length / 4)));
  const names = new Set<string>(['total']);
  for (const h of history) for (const n of Object.keys(h.parts)) names.add(n);
  const value = (h: StepRecord, n: string): number | undefined => (n === 'total' ? h.loss : h.parts[n]);
  for (const n of names) {
    const mean = (xs: readonly StepRecord[]): number => {
      const v = xs.map((h) => value(h, n)).filter((x): x is number => x !== undefined);
      return v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN;
    };
    out[n] = { first: mean(history.slice(0, k)), last: mean(history.slice(-k)) };
  }
  return out;
}

export function stageSummary(history: StepRecord[], validation: ValidationRecord[], seconds: number, reused: boolean): StageSummary {
  return { steps: history.length, seconds, losses: summarizeHistory(history), validation, reused };
}

/** The inputs both stages read; made once by `stageData` and shared when both stages run. */
export interface StageData {
  corpus: Corpus;
  cacheDir: string;
  /** Log-mel patches per track id (stage 2 clears them once the vectors are made). */
  patches: Map<string, PatchSet>;
  /** Tracks of each split with at least one patch. */
  train: TrackRecord[];
  valid: TrackRecord[];
  /** Every track with at least one patch (what stage 2 embeds). */
  embeddable: TrackRecord[];
  /** Concept names and each track's concept indices (see ConceptSpec). */
  vocabulary: string[];
  labels: Map<string, number[]>;
  /** Hash of the training and validation tracks: ids, audio content and concepts. */
  fingerprint: string;
}

export interface StageDataOptions {
  data: string;
  out: string;
  corpus?: Corpus;
  cacheDir?: string;
  quiet?: boolean;
  /** The preset, whose `concepts` apply where `concepts` does not say. */
  config?: PresetName;
  /** Which of the catalogue's annotations become concept targets (default: the preset's, else DEFAULT_CONCEPTS). */
  concepts?: Partial<ConceptSpec>;
}

export async function stageData(opts: StageDataOptions): Promise<StageData> {
  const corpus = opts.corpus ?? (await loadCorpus(opts.data));
  const { vocabulary, labels } = conceptLabels(corpus, { ...DEFAULT_CONCEPTS, ...getPreset(opts.config ?? 'small').concepts, ...opts.concepts });
  const cacheDir = opts.cacheDir ? resolve(opts.cacheDir) : await defaultCacheDir(opts.data, fallbackCacheDir(resolve(opts.out)));
  const patches = await corpusPatches(corpus.tracks, cacheDir, { quiet: opts.quiet ?? false, label: 'patches' });
  const embeddable = corpus.tracks.filter((t) => (patches.get(t.id)?.count ?? 0) > 0);
  const train = embeddable.filter((t) => t.split === 'train');
  const valid = embeddable.filter((t) => t.split === 'valid');
  if (train.length === 0) throw new UsageError(`${corpus.root}: no training tracks with at least one 0.96 s patch of audio`);
  const h = createHash('sha256').update(`train ${await corpusHash(train)}\nvalid ${await corpusHash(valid)}\nconcepts ${vocabulary.join('|')}\n`);
  for (const t of [...train, ...valid]) h.update(`${t.id}:${(labels.get(t.id) ?? []).join(',')}\n`);
  return { corpus, cacheDir, patches, train, valid, embeddable, vocabulary, labels, fingerprint: h.digest('hex').slice(0, 32) };
}

/** A checkpoint found in a stage's directory, with what is needed to resume it. */
export interface PreviousRun {
  state: TrainerState;
  optimizer?: TensorMap;
}

export async function readPreviousRun(dir: string): Promise<PreviousRun | undefined> {
  if (!existsSync(join(dir, 'config.json'))) return undefined;
  const ck = await loadCheckpoint(dir);
  if (ck.state === undefined) throw new CheckpointError('checkpoint has no trainer state to resume from (not written by pretrain?)', dir);
  return { state: parseTrainerState(ck.state, join(dir, 'trainer_state.json')), optimizer: ck.optimizer };
}

/** What a stage is asked to do: compared against a previous run's trainer state. */
export interface StageRequest {
  steps: number;
  seed: number;
  /** The data descriptor stored in the trainer state: { order, fingerprint, config, ... }. */
  data: Record<string, unknown>;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** The one "finished? reuse?" rule (see the top of this file). */
export function reuseRule(previous: PreviousRun | undefined, want: StageRequest, dir: string): 'fresh' | 'resume' | 'reuse' {
  if (!previous) return 'fresh';
  const s = previous.state;
  const had = (s.data ?? {}) as Record<string, unknown>;
  const differs: string[] = [];
  if (s.totalSteps !== want.steps) differs.push(`${s.totalSteps} steps (asked for ${want.steps})`);
  if (s.seed !== want.seed) differs.push(`seed ${s.seed} (asked for ${want.seed})`);
  for (const k of new Set([...Object.keys(had), ...Object.keys(want.data)])) if (!same(had[k], want.data[k])) differs.push(`another ${k}`);
  if (differs.length > 0) {
    throw new CheckpointError(`cannot resume or reuse this checkpoint: it was trained with ${differs.join(', ')}; use another output directory or delete this one to start over`, dir);
  }
  return s.step >= s.totalSteps ? 'reuse' : 'resume';
}
