/**
 * Building the generator's manifest.json (the layout itself, and its reader, live in
 * datasets/manifest.ts): what loadCorpus reads for a generated corpus and what a resumed run
 * checks before adding to a directory.
 */
import { createHash } from 'node:crypto';
import { GTZAN_GENRES, MANIFEST_FORMAT, MANIFEST_VERSION, readManifest, type Manifest, type ManifestOptions } from '../datasets/index.js';
import { TAG_VOCABULARY } from './labels.js';
import type { CorpusPlan, PlannedAlbum } from './corpusPlan.js';
import type { TrackParams } from './types.js';

/** Bump when the generator's output for a given seed changes, so old directories are not mixed with new tracks. */
export const GENERATOR_VERSION = '1.2.0';

/** The manifest as the generator writes it: the datasets layout with its own track parameters and albums. */
export type SynthManifest = Manifest<TrackParams, PlannedAlbum>;
export type { ManifestOptions };

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

/** The generator's manifest at `path` (checked as the datasets reader checks it). */
export function readSynthManifest(path: string): Promise<SynthManifest> {
  return readManifest<SynthManifest>(path);
}

export function describeOptions(o: ManifestOptions): string {
  return `seed ${o.seed}, ${o.tracks} tracks x ${o.seconds} s at ${o.sampleRate} Hz, ${o.tracksPerAlbum} tracks per album`;
}
