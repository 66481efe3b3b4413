/**
 * manifest.json, the generator's layout: a corpus's complete record (options, every track's
 * labels, split and parameters, the albums and their reviews). Loading a generated corpus reads
 * only this file. The reader checks the fields loading needs; what the generator stores beyond
 * them (its track parameters, album names) is typed by the generator (`SynthManifest`).
 */
import { readFile } from 'node:fs/promises';
import type { Split } from '../corpus.js';
import { DatasetError } from '../../util/errors.js';

export const MANIFEST_FILE = 'manifest.json';
export const MANIFEST_FORMAT = 'musicbert-synth';
export const MANIFEST_VERSION = 1;

export interface ManifestOptions {
  tracks: number;
  seconds: number;
  seed: number;
  sampleRate: number;
  tracksPerAlbum: number;
}

export interface ManifestTrack<Params = unknown> {
  id: string;
  /** Relative to the corpus root. */
  path: string;
  split: Split;
  genre: string;
  albumId: string;
  valence: number;
  arousal: number;
  tags: string[];
  durationS: number;
  artist: string;
  title: string;
  dzrId: string;
  msdSongId: string;
  msdTrackId: string;
  params: Params;
}

export interface ManifestAlbum {
  id: string;
  genres: string[];
  trackIds: string[];
  reviews: Array<{ reviewText: string }>;
}

export interface Manifest<Params = unknown, Album extends ManifestAlbum = ManifestAlbum> {
  format: typeof MANIFEST_FORMAT;
  version: number;
  generator: string;
  options: ManifestOptions;
  /** sha256 of the plan; a resumed run must reproduce it exactly. */
  planHash: string;
  /** False while tracks are still being rendered. */
  complete: boolean;
  genres: string[];
  tagVocabulary: string[];
  tracks: Array<ManifestTrack<Params>>;
  albums: Album[];
}

/** Read and sanity-check a manifest; anything malformed is a DatasetError naming the file. */
export async function readManifest<M extends Manifest = Manifest>(path: string): Promise<M> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new DatasetError(`cannot read manifest (${(err as Error).message})`, path, { cause: err });
  }
  let m: M;
  try {
    m = JSON.parse(text) as M;
  } catch (err) {
    throw new DatasetError(`manifest is not valid JSON (${(err as Error).message})`, path, { cause: err });
  }
  if (m === null || typeof m !== 'object' || m.format !== MANIFEST_FORMAT) throw new DatasetError(`not a musicbert synth manifest (format is not "${MANIFEST_FORMAT}")`, path);
  if (m.version !== MANIFEST_VERSION) throw new DatasetError(`manifest version ${m.version} is not supported (expected ${MANIFEST_VERSION})`, path);
  if (!Array.isArray(m.tracks) || !Array.isArray(m.albums) || typeof m.options !== 'object') throw new DatasetError('manifest lacks tracks, albums or options', path);
  m.tracks.forEach((t, k) => {
    if (typeof t?.id !== 'string' || typeof t.path !== 'string' || !['train', 'valid', 'test'].includes(t.split)) {
      throw new DatasetError(`track #${k} lacks an id, a path or a valid split`, path);
    }
  });
  return m;
}
