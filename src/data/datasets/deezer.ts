/**
 * The Deezer mood detection dataset (Delbouys et al., ISMIR 2018): train.csv / validation.csv /
 * test.csv with `dzr_sng_id,MSD_sng_id,MSD_track_id,valence,arousal,artist_name,track_name`.
 * It ships without audio; each track's audio is looked up as `<dzr_sng_id>.<ext>` in a folder the
 * user names, and tracks without audio are reported once, not fatal.
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { LoadProblem, Split, TrackRecord } from '../corpus.js';
import { DatasetError } from '../../util/errors.js';
import { readCsvTable } from './csv.js';
import { checkAudioFiles, indexAudioDir, toProblems, type AudioCheck } from './audioFiles.js';

export const DEEZER_COLUMNS = ['dzr_sng_id', 'MSD_sng_id', 'MSD_track_id', 'valence', 'arousal', 'artist_name', 'track_name'] as const;

/** File name of each split, as in the public release. */
export const DEEZER_FILES: Readonly<Record<Split, string>> = { train: 'train.csv', valid: 'validation.csv', test: 'test.csv' };

export interface DeezerRow {
  dzrId: string;
  msdSongId: string;
  msdTrackId: string;
  valence: number;
  arousal: number;
  artist: string;
  title: string;
  split: Split;
  line: number;
}

function parseNumber(s: string, what: string, line: number, path: string): number {
  const v = Number(s.trim());
  if (s.trim() === '' || !Number.isFinite(v)) throw new DatasetError(`line ${line}: ${what} "${s}" is not a number`, path);
  return v;
}

/** Read one Deezer mood CSV; rows with a bad id or non-numeric valence/arousal name the line. */
export async function readDeezerCsv(path: string, split: Split): Promise<DeezerRow[]> {
  const table = await readCsvTable(path, DEEZER_COLUMNS);
  return table.rows.map(({ line, values }) => {
    const dzrId = (values.dzr_sng_id as string).trim();
    if (!/^\d+$/.test(dzrId)) throw new DatasetError(`line ${line}: dzr_sng_id "${dzrId}" is not a numeric Deezer id`, path);
    return {
      dzrId,
      msdSongId: (values.MSD_sng_id as string).trim(),
      msdTrackId: (values.MSD_track_id as string).trim(),
      valence: parseNumber(values.valence as string, 'valence', line, path),
      arousal: parseNumber(values.arousal as string, 'arousal', line, path),
      artist: values.artist_name as string,
      title: values.track_name as string,
      split,
      line,
    };
  });
}

async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}

/** Whether `dir` holds at least one of the Deezer split CSVs. */
export async function hasDeezerCsvs(dir: string): Promise<boolean> {
  for (const f of Object.values(DEEZER_FILES)) if (await exists(join(dir, f))) return true;
  return false;
}

/** All rows of the split CSVs present in `dir` (train, then valid, then test); ids must be unique. */
export async function readDeezerSplits(dir: string): Promise<DeezerRow[]> {
  const rows: DeezerRow[] = [];
  const seen = new Map<string, string>();
  for (const split of ['train', 'valid', 'test'] as const) {
    const path = join(dir, DEEZER_FILES[split]);
    if (!(await exists(path))) continue;
    for (const r of await readDeezerCsv(path, split)) {
      const prev = seen.get(r.dzrId);
      if (prev) throw new DatasetError(`line ${r.line}: dzr_sng_id ${r.dzrId} already appears in ${prev}`, path);
      seen.set(r.dzrId, `${DEEZER_FILES[split]}`);
      rows.push(r);
    }
  }
  return rows;
}

export interface DeezerLoadOptions {
  /** Folder holding `<dzr_sng_id>.<ext>` audio; defaults to `<dir>/audio`. */
  audioDir?: string;
  checkAudio?: AudioCheck;
  /** Keep tracks whose audio is missing (audioPath is then the expected .wav path). Default false. */
  keepMissing?: boolean;
}

export interface DeezerLoadResult {
  rows: DeezerRow[];
  tracks: TrackRecord[];
  problems: LoadProblem[];
  /** MSD track id -> track id, for linking MuMu albums (which name MSD tracks). */
  aliases: Map<string, string>;
}

export async function loadDeezer(dir: string, opts: DeezerLoadOptions = {}): Promise<DeezerLoadResult> {
  const rows = await readDeezerSplits(dir);
  if (rows.length === 0) throw new DatasetError(`no Deezer split CSVs (${Object.values(DEEZER_FILES).join(', ')})`, dir);
  const audioDir = opts.audioDir ?? join(dir, 'audio');
  const index = await indexAudioDir(audioDir);
  const problems: LoadProblem[] = [];
  const candidates: Array<{ row: DeezerRow; path: string }> = [];
  for (const row of rows) {
    const path = index.get(row.dzrId);
    if (path) candidates.push({ row, path });
    else if (opts.keepMissing) candidates.push({ row, path: join(audioDir, `${row.dzrId}.wav`) });
    else problems.push({ path: join(audioDir, `${row.dzrId}.*`), problem: 'missing: no audio file for this dzr_sng_id' });
  }
  const bad = opts.keepMissing ? new Map<string, string>() : await checkAudioFiles(candidates.map((c) => c.path), opts.checkAudio ?? 'header');
  problems.push(...toProblems(bad));
  const tracks: TrackRecord[] = [];
  const aliases = new Map<string, string>();
  for (const { row, path } of candidates) {
    if (bad.has(path)) continue;
    tracks.push({ id: row.dzrId, audioPath: path, split: row.split, valence: row.valence, arousal: row.arousal, tags: [] });
    if (row.msdTrackId) aliases.set(row.msdTrackId, row.dzrId);
  }
  return { rows, tracks, problems, aliases };
}
