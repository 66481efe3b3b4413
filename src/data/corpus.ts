/**
 * One in-memory view of a music corpus, whatever layout it came from: the built-in generator's
 * output (manifest.json) or the public layouts (GTZAN folders, Deezer mood CSVs, MuMu-style album
 * JSON). Types only, imported by every layer; `loadCorpus` (datasets/load.ts) makes one.
 */

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
