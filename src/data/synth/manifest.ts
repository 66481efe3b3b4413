/**
 * manifest.json: the generator's complete record of a corpus (options, every track's parameters,
 * labels and split, the albums and their reviews). It is what loadCorpus reads for a generated
 * corpus and what a resumed run checks before adding to a directory.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Split } from '../corpus.js';
import { DatasetError } from '../../util/errors.js';
import { GTZAN_GENRES } from '../datasets/gtzan.js';
import { TAG_VOCABULARY } from './labels.js';
import type { CorpusPlan, PlannedAlbum } from './corpusPlan.js';
import type { TrackParams } from './types.js';

export const MANIFEST_FORMAT = 'musicbert-synth';
export const MANIFEST_VERSION = 1;
/** Bump when the generator's output for a given seed changes, so old directories are not mixed with new tracks. */
export const GENERATOR_VERSION = '1.2.0';

export interface ManifestOptions {
  tracks: number;
  seconds: number;
  seed: number;
  sampleRate: number;
  tracksPerAlbum: number;
}

export interface ManifestTrack {
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
  params: TrackParams;
}

/** An album as the manifest stores it: exactly the planned album. */
export type ManifestAlbum = PlannedAlbum;

export interface SynthManifest {
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
  tracks: ManifestTrack[];
  albums: ManifestAlbum[];
}

export function hashPlan(plan: CorpusPlan, options: ManifestOptions): string {
  return createHash('sha256').update(JSON.stringify({ generator: GENERATOR_VERSION, options, plan })).digest('hex');
}

export function buildManifest(plan: CorpusPlan, options: ManifestOptions, complete: boolean): SynthManifest {
  return {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    generator: GENERATOR_VERSION,
    options,
    planHash: hashPlan(plan, options),
    complete,
    genres: [...GTZAN_GENRES],
    tagVocabulary: [...TAG_VOCABULARY],
    tracks: plan.tracks.map((t) => ({
      id: t.params.id, path: t.path, split: t.split, genre: t.params.genre, albumId: t.params.albumId,
      valence: t.labels.valence, arousal: t.labels.arousal, tags: t.labels.tags, durationS: options.seconds,
      artist: t.artist, title: t.title, dzrId: t.dzrId, msdSongId: t.msdSongId, msdTrackId: t.msdTrackId, params: t.params,
    })),
    albums: plan.albums.map((a) => ({ ...a })),
  };
}

/** Read and sanity-check a manifest; anything malformed is a DatasetError naming the file. */
export async function readManifest(path: string): Promise<SynthManifest> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new DatasetError(`cannot read manifest (${(err as Error).message})`, path, { cause: err });
  }
  let m: SynthManifest;
  try {
    m = JSON.parse(text) as SynthManifest;
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

export function describeOptions(o: ManifestOptions): string {
  return `seed ${o.seed}, ${o.tracks} tracks x ${o.seconds} s at ${o.sampleRate} Hz, ${o.tracksPerAlbum} tracks per album`;
}
