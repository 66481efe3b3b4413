/**
 * GTZAN (Tzanetakis & Cook 2002) folder layout: `genres/<genre>/<genre>.000NN.<ext>` (the original
 * release uses .au, the common re-packs .wav, under `genres/` or `genres_original/`). Splits come
 * from a `track_id,split,genre` CSV when given (the fault-filtered split of Kereliuk & Sturm lists
 * 930 tracks, 443/197/290; unlisted tracks are the filtered-out ones and are left out), otherwise
 * from a seeded stratified split.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import type { LoadProblem, Split, TrackRecord } from '../corpus.js';
import { DatasetError } from '../../util/errors.js';
import { readCsvTable } from './csv.js';
import { checkAudioFiles, isAudioName, toProblems, type AudioCheck } from './audioFiles.js';
import { stratifiedSplit, type SplitRatios } from './split.js';

/** The ten GTZAN genres, in GTZAN order. */
export const GTZAN_GENRES = ['blues', 'classical', 'country', 'disco', 'hiphop', 'jazz', 'metal', 'pop', 'reggae', 'rock'] as const;
export type GtzanGenre = (typeof GTZAN_GENRES)[number];

const STEM = /^([a-z]+)\.(\d{5})$/;

export interface GtzanSplitRow {
  trackId: string;
  split: Split;
  genre: string;
  line: number;
}

const SPLIT_NAMES: Record<string, Split> = { train: 'train', valid: 'valid', validation: 'valid', val: 'valid', test: 'test' };

/** Parse a split name as written in split CSVs (train / valid|validation|val / test), or undefined. */
export function parseSplitName(s: string): Split | undefined {
  return SPLIT_NAMES[s.trim().toLowerCase()];
}

/** Read a `track_id,split,genre` CSV; a bad split name, genre or duplicate id names the line. */
export async function readGtzanSplit(path: string): Promise<GtzanSplitRow[]> {
  const table = await readCsvTable(path, ['track_id', 'split', 'genre']);
  const seen = new Set<string>();
  return table.rows.map(({ line, values }) => {
    const trackId = (values.track_id as string).trim();
    const genre = (values.genre as string).trim();
    const split = parseSplitName(values.split as string);
    if (!split) throw new DatasetError(`line ${line}: unknown split "${values.split}" (expected train, valid or test)`, path);
    const m = STEM.exec(trackId);
    if (!m) throw new DatasetError(`line ${line}: track_id "${trackId}" is not a GTZAN stem like jazz.00024`, path);
    if (m[1] !== genre) throw new DatasetError(`line ${line}: track_id "${trackId}" does not belong to genre "${genre}"`, path);
    if (seen.has(trackId)) throw new DatasetError(`line ${line}: track_id "${trackId}" is listed twice`, path);
    seen.add(trackId);
    return { trackId, split, genre, line };
  });
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** The folder holding the genre folders, or undefined when `dir` has no GTZAN layout. */
export async function findGtzanRoot(dir: string): Promise<string | undefined> {
  for (const sub of ['genres', 'genres_original', join('Data', 'genres_original'), '.']) {
    const cand = resolve(dir, sub);
    let hits = 0;
    for (const g of GTZAN_GENRES) if (await isDir(join(cand, g))) hits++;
    if (hits > 0) return cand;
  }
  return undefined;
}

export interface GtzanLoadOptions {
  /** A `track_id,split,genre` CSV (e.g. the fault-filtered split). */
  splitFile?: string;
  /** Seed of the stratified split used when there is no split file. */
  seed?: number;
  ratios?: SplitRatios;
  checkAudio?: AudioCheck;
}

export interface GtzanLoadResult {
  root: string;
  tracks: TrackRecord[];
  problems: LoadProblem[];
  /** Tracks on disk that the split file leaves out (the filtered ones). */
  excluded: string[];
}

/** Load the GTZAN layout under `dir` (see findGtzanRoot); throws DatasetError when there is none. */
export async function loadGtzan(dir: string, opts: GtzanLoadOptions = {}): Promise<GtzanLoadResult> {
  const root = await findGtzanRoot(dir);
  if (!root) throw new DatasetError(`no GTZAN layout found (expected genres/<genre>/<genre>.000NN.wav)`, dir);
  const found = new Map<string, { path: string; genre: string }>();
  for (const genre of GTZAN_GENRES) {
    let names: string[];
    try {
      names = await readdir(join(root, genre));
    } catch {
      continue;
    }
    for (const name of names.sort()) {
      if (!isAudioName(name)) continue;
      const stem = basename(name, extname(name));
      const m = STEM.exec(stem);
      if (!m || m[1] !== genre || found.has(stem)) continue;
      found.set(stem, { path: join(root, genre, name), genre });
    }
  }
  const problems: LoadProblem[] = [];
  const excluded: string[] = [];
  let entries: Array<{ id: string; genre: string; path: string; split?: Split }>;
  if (opts.splitFile) {
    const rows = await readGtzanSplit(opts.splitFile);
    const listed = new Set(rows.map((r) => r.trackId));
    entries = [];
    for (const r of rows) {
      const f = found.get(r.trackId);
      if (f) entries.push({ id: r.trackId, genre: r.genre, path: f.path, split: r.split });
      else problems.push({ path: join(root, r.genre, `${r.trackId}.wav`), problem: `missing: listed in ${basename(opts.splitFile)} but not on disk` });
    }
    for (const id of found.keys()) if (!listed.has(id)) excluded.push(id);
  } else {
    entries = [...found].map(([id, f]) => ({ id, genre: f.genre, path: f.path }));
  }
  const bad = await checkAudioFiles(entries.map((e) => e.path), opts.checkAudio ?? 'header');
  problems.push(...toProblems(bad));
  const ok = entries.filter((e) => !bad.has(e.path));
  const splits = opts.splitFile ? ok.map((e) => e.split as Split) : stratifiedSplit(ok, (e) => e.genre, opts.seed ?? 0, opts.ratios ? { ratios: opts.ratios } : {});
  const tracks: TrackRecord[] = ok.map((e, k) => ({ id: e.id, audioPath: e.path, split: splits[k] as Split, genre: e.genre, tags: [] }));
  return { root, tracks, problems, excluded };
}
