/**
 * Concept targets: which of a catalogue's annotations (tags, genre, categorical label columns)
 * become the multi-label targets of the encoder's tag head (stage 1) and of stage 2's concept
 * objective, and how rare a concept may be. A leaf: corpus types in, indices out.
 */
import type { Corpus, TrackRecord } from '../data/corpus.js';
import { UsageError } from '../util/errors.js';

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

/** "tags,labels" → the sources, deduplicated; an unknown name is a UsageError. */
export function parseConceptSources(text: string): ConceptSource[] {
  const names = text.split(',').map((x) => x.trim()).filter(Boolean);
  if (names.length === 0) throw new UsageError(`no concept sources given (choose from ${CONCEPT_SOURCES.join(', ')})`);
  for (const n of names) if (!(CONCEPT_SOURCES as readonly string[]).includes(n)) throw new UsageError(`unknown concept source "${n}" (choose from ${CONCEPT_SOURCES.join(', ')})`);
  return [...new Set(names)] as ConceptSource[];
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
