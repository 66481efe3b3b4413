/**
 * `../shared/data/real_dev` (the 4Q emotion clips: 380 30-s MP3s, 288 artists) as a catalogue:
 * its `labels.csv`, unmodified, through the catalogue loader with a column mapping. Shared by
 * `npm run eval:real` and the real-pretrain benchmark, so both read the same tracks, text and tags.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Corpus } from '../src/data/corpus.js';
import { loadCorpus } from '../src/data/datasets/index.js';
import { parseColumnMapping } from '../src/data/datasets/catalogue.js';

/**
 * labels.csv mapped onto the catalogue roles. The text is the clip's AllMusic mood words and
 * genres (the genre words are what zero-shot genre prompts need); the tags are the mood words only,
 * so mood-word retrieval queries stay mood words. `single_genre` repeats genre9 and stays unmapped.
 */
export const REAL_DEV_COLUMNS = {
  file: 'labels.csv',
  path: 'path',
  id: 'song_id',
  group: 'artist',
  title: 'title',
  genre: 'genre9',
  text: ['moods', 'genres'],
  tags: ['moods'],
  labels: { quadrant: 'categorical', valence_sign: 'categorical', arousal_sign: 'categorical', genre9: 'categorical' },
} as const;

/** Whether the real_dev clips are on this machine (they are third-party, never in the repository). */
export function hasRealDev(dir: string): boolean {
  return existsSync(join(dir, 'labels.csv'));
}

export async function loadRealDev(dir: string): Promise<Corpus> {
  return loadCorpus(dir, { columns: parseColumnMapping(REAL_DEV_COLUMNS, 'REAL_DEV_COLUMNS') });
}
