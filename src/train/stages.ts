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
  /** Hash of the training and validation tracks: ids, audio files (path, size, mtime) and concepts. */
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

/** Where the concept targets of the encoder's tag head and stage 2's concept objective come from. */
export type ConceptSource = 'tags' | 'genre' | 'labels';
export const CONCEPT_SOURCES: readonly ConceptSource[] = ['tags', 'genre', 'labels'];

export interface ConceptSpec {
  /**
   * `tags`: the tracks' tags; `genre`: the genre as the concept `genre=NAME`; `labels`: every
   * categorical label column's value as `COLUMN=VALUE` (a real catalogue's emotion quadrant, say).
   * Numeric columns never become concepts. With `tags` alone and a corpus without tags, the
   * genre stands in (the generator's corpora and GTZAN-style folders).
   */
  sources: readonly ConceptSource[];
  /**
   * A concept is kept when at least this many training tracks carry it: real tag clouds have a
   * long tail of words on one or two clips, which a small encoder can only memorise.
   */
  minTracks: number;
}

export const DEFAULT_CONCEPTS: ConceptSpec = { sources: ['tags'], minTracks: 1 };

/** The concept names one track carries under `spec` (before the minTracks cut). */
function conceptNames(t: TrackRecord, spec: ConceptSpec, corpus: Corpus, genreStandsIn: boolean): string[] {
  const names: string[] = [];
  if (spec.sources.includes('tags')) names.push(...t.tags);
  if (t.genre !== undefined) {
    if (genreStandsIn) names.push(t.genre);
    else if (spec.sources.includes('genre')) names.push(`genre=${t.genre}`);
  }
  if (spec.sources.includes('labels') && t.labels) {
    for (const col of corpus.labelColumns ?? []) {
      const v = t.labels[col.name];
      // A column the mapping also made the genre is the genre concept already.
      const isGenre = spec.sources.includes('genre') && v === t.genre;
      if (col.kind === 'categorical' && v !== undefined && v !== '' && !isGenre) names.push(`${col.name}=${v}`);
    }
  }
  return names;
}

/**
 * Each track's concept indices under `spec`. The vocabulary is counted on the training tracks only
 * (held-out tracks never shape it) and sorted, so it does not depend on track order; corpora with
 * no concepts at all get an empty vocabulary (only self-supervised objectives apply).
 */
export function conceptLabels(corpus: Corpus, spec: ConceptSpec = DEFAULT_CONCEPTS): { vocabulary: string[]; labels: Map<string, number[]> } {
  for (const s of spec.sources) if (!CONCEPT_SOURCES.includes(s)) throw new UsageError(`unknown concept source "${s}" (choose from ${CONCEPT_SOURCES.join(', ')})`);
  if (!Number.isInteger(spec.minTracks) || spec.minTracks < 1) throw new UsageError(`concepts.minTracks must be a positive integer, got ${spec.minTracks}`);
  const hasTags = corpus.tagVocabulary.length > 0 && corpus.tracks.some((t) => t.tags.length > 0);
  const genreStandsIn = !hasTags && spec.sources.length === 1 && spec.sources[0] === 'tags';
  const named = new Map(corpus.tracks.map((t) => [t.id, [...new Set(conceptNames(t, spec, corpus, genreStandsIn))]]));
  const count = new Map<string, number>();
  for (const t of corpus.tracks) if (t.split === 'train') for (const n of named.get(t.id) ?? []) count.set(n, (count.get(n) ?? 0) + 1);
  // The default keeps the corpus' own tag order (checkpoints trained before this rule stay valid).
  const isDefault = spec.minTracks === 1 && spec.sources.length === 1 && spec.sources[0] === 'tags';
  const vocabulary = isDefault
    ? (hasTags ? corpus.tagVocabulary : corpus.genres)
    : [...count].filter(([, c]) => c >= spec.minTracks).map(([n]) => n).sort();
  const index = new Map(vocabulary.map((v, i) => [v, i]));
  const labels = new Map<string, number[]>();
  for (const t of corpus.tracks) labels.set(t.id, (named.get(t.id) ?? []).map((n) => index.get(n)).filter((i): i is number => i !== undefined));
  return { vocabulary, labels };
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
