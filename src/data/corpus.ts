/**
 * One in-memory view of a music corpus, whatever layout it came from: the built-in generator's
 * output (manifest.json) or the public layouts (GTZAN folders, Deezer mood CSVs, MuMu-style album
 * JSON). Loading never throws for a missing or unreadable audio file: such files are skipped and
 * listed in `problems`, so one bad file in 18k does not stop a run. Malformed metadata (a CSV row
 * with the wrong columns, JSON that does not parse) is a DatasetError naming the file and line.
 */
import { loadCorpusDir, type LoadCorpusOptions } from './datasets/load.js';

export type Split = 'train' | 'valid' | 'test';

export interface TrackRecord {
  /** e.g. "jazz.00024" (GTZAN stem) or a Deezer id. */
  id: string;
  /** Absolute path to the audio file. */
  audioPath: string;
  split: Split;
  /** One of the 10 GTZAN genres when known. */
  genre?: string;
  /** Continuous, Deezer-style scale (roughly -2..2, standardised). */
  valence?: number;
  arousal?: number;
  /** Multi-label concept tags (names from Corpus.tagVocabulary). */
  tags: string[];
  albumId?: string;
  durationS?: number;
  /** Catalogue layout: the artist or album every split and fold keeps together. */
  group?: string;
  /** Catalogue layout: free text about the track (descriptions, reviews, mood words). */
  texts?: string[];
  /** Catalogue layout: label columns by name (kinds in Corpus.labelColumns); absent = unlabelled. */
  labels?: Record<string, string | number>;
  title?: string;
}

export interface AlbumRecord {
  id: string;
  reviews: string[];
  genres: string[];
  /** Ids of tracks in Corpus.tracks (references to tracks that did not load are dropped). */
  trackIds: string[];
}

export interface LoadProblem {
  path: string;
  problem: string;
}

export interface Corpus {
  root: string;
  tracks: TrackRecord[];
  albums: AlbumRecord[];
  genres: string[];
  tagVocabulary: string[];
  problems: LoadProblem[];
  /** Catalogue layout: the label columns and their kinds, in sidecar order. */
  labelColumns?: LabelColumn[];
}

export type LabelKind = 'categorical' | 'numeric';

export interface LabelColumn {
  name: string;
  kind: LabelKind;
}

export type { LoadCorpusOptions };

/**
 * Load a corpus directory: the generator's output (manifest.json) or the public layouts found in
 * it (GTZAN genres/<genre>/<genre>.000NN.wav [+ split csv], Deezer CSVs + audio folder, MuMu-style
 * albums JSON). Missing/unreadable files are collected in `problems`, not fatal.
 */
export function loadCorpus(dir: string, opts: LoadCorpusOptions = {}): Promise<Corpus> {
  return loadCorpusDir(dir, opts);
}

export { formatProblems } from './datasets/problems.js';
