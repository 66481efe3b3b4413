/**
 * Writing a planned corpus in the public layouts, beside manifest.json:
 *   genres/<genre>/<genre>.000NN.wav      GTZAN folders (the audio itself)
 *   gtzan_split.csv                       track_id,split,genre (the fault-filtered split's format)
 *   deezer/{train,validation,test}.csv    Deezer mood CSVs; deezer/audio/<dzr_sng_id>.wav links
 *   mumu/albums.json                      MuMu-style albums with Amazon-style reviews
 * Every file is written atomically, so an interrupted run never leaves a half-written one.
 */
import { copyFile, lstat, mkdir, readdir, rm, symlink } from 'node:fs/promises';
import { join, relative, dirname } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../../util/atomic.js';
import { DEEZER_COLUMNS, DEEZER_FILES, MANIFEST_FILE, formatCsv } from '../datasets/index.js';
import type { SynthManifest } from './manifest.js';

export const GTZAN_SPLIT_FILE = 'gtzan_split.csv';
export const DEEZER_DIR = 'deezer';
export const MUMU_FILE = join('mumu', 'albums.json');

export async function writeManifest(out: string, m: SynthManifest): Promise<void> {
  await writeJsonAtomic(join(out, MANIFEST_FILE), m);
}

/** The CSV and JSON files of the public layouts (everything but the audio). */
export async function writeLayoutMetadata(out: string, m: SynthManifest): Promise<void> {
  await writeFileAtomic(join(out, GTZAN_SPLIT_FILE), formatCsv(['track_id', 'split', 'genre'], m.tracks.map((t) => [t.id, t.split, t.genre])));
  for (const split of ['train', 'valid', 'test'] as const) {
    const rows = m.tracks.filter((t) => t.split === split).map((t) => [t.dzrId, t.msdSongId, t.msdTrackId, t.valence.toFixed(6), t.arousal.toFixed(6), t.artist, t.title]);
    await writeFileAtomic(join(out, DEEZER_DIR, DEEZER_FILES[split]), formatCsv(DEEZER_COLUMNS, rows));
  }
  const byId = new Map(m.tracks.map((t) => [t.id, t]));
  const albums = m.albums.map((a) => ({
    amazon_id: a.id,
    album_mbid: a.mbid,
    artist: a.artist,
    title: a.title,
    genres: a.genres,
    tracks: a.trackIds.map((id) => {
      const t = byId.get(id);
      return { track_id: id, MSD_track_id: t?.msdTrackId, dzr_sng_id: t?.dzrId, title: t?.title };
    }),
    reviews: a.reviews,
  }));
  await writeJsonAtomic(join(out, MUMU_FILE), albums);
}

/**
 * deezer/audio/<dzr_sng_id>.wav as relative symlinks to the GTZAN files (no second copy of the
 * audio); falls back to copying where symlinks are not allowed.
 */
export async function linkDeezerAudio(out: string, m: SynthManifest): Promise<void> {
  const dir = join(out, DEEZER_DIR, 'audio');
  await mkdir(dir, { recursive: true });
  for (const t of m.tracks) {
    const link = join(dir, `${t.dzrId}.wav`);
    try {
      await lstat(link);
      continue;
    } catch {
      // not there yet
    }
    const target = join(out, t.path);
    try {
      await symlink(relative(dirname(link), target), link);
    } catch {
      await copyFile(target, link);
    }
  }
}

/** Remove temp files an interrupted atomic write may have left (hidden `.name.pid.rand.tmp`). */
export async function removeStaleTemps(dir: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  let n = 0;
  for (const name of names) {
    if (name.startsWith('.') && name.endsWith('.tmp')) {
      await rm(join(dir, name), { force: true, recursive: true });
      n++;
    }
  }
  return n;
}
