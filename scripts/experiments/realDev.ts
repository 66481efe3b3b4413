/**
 * `real_dev/labels.csv` (the 4Q emotion clips) as a Corpus plus the per-clip fields the
 * experiment needs (artist group, quadrant, signs, genre9, mood words). A stop-gap until the
 * catalogue loader (src/data/datasets/catalogue.ts, issue 11 part A) lands: the fields map onto
 * its columns (group = artist, text = moods, tags = moods + genres, labels = the rest).
 */
import { join, resolve } from 'node:path';
import type { AlbumRecord, Corpus, TrackRecord } from '../../src/data/corpus.js';
import { readCsvTable } from '../../src/data/datasets/csv.js';

export interface RealClip {
  id: string;
  artist: string;
  quadrant: string;
  valenceSign: number;
  arousalSign: number;
  /** One of the nine genres, or undefined (228 of 380 clips). */
  genre9?: string;
  genres: string[];
  moods: string[];
}

export interface RealDev {
  corpus: Corpus;
  clips: RealClip[];
}

const split = (s: string): string[] => s.split(';').map((x) => x.trim()).filter(Boolean);

export async function loadRealDev(dir: string): Promise<RealDev> {
  const root = resolve(dir);
  const table = await readCsvTable(join(root, 'labels.csv'), ['path', 'song_id', 'quadrant', 'valence_sign', 'arousal_sign', 'genre9', 'genres', 'moods', 'artist']);
  const clips: RealClip[] = [];
  const tracks: TrackRecord[] = [];
  const albums: AlbumRecord[] = [];
  for (const { values: v } of table.rows) {
    const id = v.song_id as string;
    const clip: RealClip = {
      id,
      artist: v.artist as string,
      quadrant: v.quadrant as string,
      valenceSign: Number(v.valence_sign),
      arousalSign: Number(v.arousal_sign),
      genres: split(v.genres as string),
      moods: split(v.moods as string),
    };
    if (v.genre9) clip.genre9 = v.genre9;
    clips.push(clip);
    // One "album" per clip carries its text (mood words as one short description).
    tracks.push({ id, audioPath: join(root, v.path as string), split: 'train', tags: [], albumId: id });
    albums.push({ id, reviews: [clip.moods.join(' ').toLowerCase()], genres: clip.genres, trackIds: [id] });
  }
  const corpus: Corpus = { root, tracks, albums, genres: [], tagVocabulary: [], problems: [] };
  return { corpus, clips };
}
