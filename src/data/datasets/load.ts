/**
 * loadCorpus: find which layouts a directory holds and merge them into one Corpus. Loading never
 * throws for a missing or unreadable audio file: such files are skipped and listed in `problems`,
 * so one bad file in 18k does not stop a run. Malformed metadata (a CSV row with the wrong
 * columns, JSON that does not parse) is a DatasetError naming the file and line.
 * A generator directory (manifest.json) is read from its manifest alone, since its GTZAN, Deezer
 * and MuMu files describe the same tracks; other directories may combine layouts (e.g. a Deezer
 * CSV folder plus MuMu albums naming the same MSD tracks).
 */
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { AlbumRecord, Corpus, LoadProblem, Split, TrackRecord } from '../corpus.js';
import { DatasetError } from '../../util/errors.js';
import { checkAudioFiles, toProblems, type AudioCheck } from './audioFiles.js';
import { GTZAN_GENRES, findGtzanRoot, loadGtzan, readGtzanSplit } from './gtzan.js';
import { hasDeezerCsvs, loadDeezer } from './deezer.js';
import { linkAlbums, readMumuAlbums, type MumuAlbum } from './mumu.js';
import { formatProblems } from './problems.js';
import type { SplitRatios } from './split.js';
import { MANIFEST_FILE, readManifest } from './manifest.js';
import { findSidecar, loadCatalogue, type ColumnMapping } from './catalogue.js';
import { walkAudioFiles } from './audioFiles.js';

export type Layout = 'manifest' | 'gtzan' | 'deezer' | 'mumu' | 'catalogue';

export interface LoadCorpusOptions {
  /** A `track_id,split,genre` CSV (e.g. the fault-filtered GTZAN split). Listed tracks take its split; unlisted ones are left out. */
  gtzanSplit?: string;
  /** Folder of `<dzr_sng_id>.<ext>` audio for Deezer CSVs (default: `<csv dir>/audio`). */
  deezerAudioDir?: string;
  /** MuMu-style albums JSON (default: albums.json or mumu/albums.json under the directory). */
  mumuFile?: string;
  /** Only look for these layouts (default: all; a manifest, when present, wins over the rest). */
  layouts?: Layout[];
  /** Seed of the stratified split for layouts that carry none (GTZAN without a split file). */
  splitSeed?: number;
  splitRatios?: SplitRatios;
  /** How hard to check audio files: read their header (default), only stat them, or not at all. */
  checkAudio?: AudioCheck;
  /** Catalogue layout: which sidecar columns play which role (a mapping implies the catalogue layout). */
  columns?: ColumnMapping;
  /** Catalogue layout without a sidecar: group by the embedded artist (default) or album. */
  groupBy?: 'artist' | 'album';
  /** Do not print the one-line summary of skipped files to stderr. */
  quiet?: boolean;
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

async function fromManifest(root: string, opts: LoadCorpusOptions): Promise<Omit<Corpus, 'root'>> {
  const m = await readManifest(join(root, MANIFEST_FILE));
  let entries = m.tracks.map((t) => ({ t, split: t.split as Split }));
  if (opts.gtzanSplit) {
    const rows = new Map((await readGtzanSplit(opts.gtzanSplit)).map((r) => [r.trackId, r.split]));
    entries = entries.filter((e) => rows.has(e.t.id)).map((e) => ({ t: e.t, split: rows.get(e.t.id) as Split }));
  }
  const paths = entries.map((e) => join(root, e.t.path));
  const bad = await checkAudioFiles(paths, opts.checkAudio ?? 'header');
  const tracks: TrackRecord[] = [];
  entries.forEach((e, k) => {
    if (bad.has(paths[k] as string)) return;
    tracks.push({
      id: e.t.id, audioPath: paths[k] as string, split: e.split, genre: e.t.genre, valence: e.t.valence, arousal: e.t.arousal,
      tags: [...e.t.tags], albumId: e.t.albumId, durationS: e.t.durationS,
    });
  });
  const loaded = new Set(tracks.map((t) => t.id));
  const albums: AlbumRecord[] = m.albums.map((a) => ({
    id: a.id, reviews: a.reviews.map((r) => r.reviewText), genres: [...a.genres], trackIds: a.trackIds.filter((id) => loaded.has(id)),
  }));
  return { tracks, albums, genres: [...m.genres], tagVocabulary: [...m.tagVocabulary], problems: toProblems(bad) };
}

/**
 * Load a corpus directory: the generator's output (manifest.json) or the public layouts found in
 * it (GTZAN genres/<genre>/<genre>.000NN.wav [+ split csv], Deezer CSVs + audio folder, MuMu-style
 * albums JSON). Missing/unreadable files are collected in `problems`, not fatal.
 */
export async function loadCorpus(dir: string, opts: LoadCorpusOptions = {}): Promise<Corpus> {
  const root = resolve(dir);
  if (!(await isDir(root))) throw new DatasetError('corpus directory does not exist', root);
  const want = (l: Layout) => !opts.layouts || opts.layouts.includes(l);
  let result: Omit<Corpus, 'root'>;
  const catalogue = () =>
    loadCatalogue(root, {
      ...(opts.columns ? { columns: opts.columns } : {}),
      ...(opts.groupBy ? { groupBy: opts.groupBy } : {}),
      checkAudio: opts.checkAudio ?? 'header',
      splitSeed: opts.splitSeed ?? 0,
      ...(opts.splitRatios ? { splitRatios: opts.splitRatios } : {}),
    });
  // A sidecar (or a mapping, or asking for the layout alone) makes it a catalogue; a plain folder
  // of audio is one too, but only when no other layout claims the directory (below).
  const explicitCatalogue = opts.layouts?.length === 1 && opts.layouts[0] === 'catalogue';
  if (want('catalogue') && (explicitCatalogue || opts.columns || (await findSidecar(root)))) {
    result = await catalogue();
  } else if (want('manifest') && (await isFile(join(root, MANIFEST_FILE)))) {
    result = await fromManifest(root, opts);
  } else {
    const tracks: TrackRecord[] = [];
    const problems: LoadProblem[] = [];
    const aliases = new Map<string, string>();
    let genres: string[] = [];
    if (want('gtzan') && (await findGtzanRoot(root))) {
      const g = await loadGtzan(root, {
        ...(opts.gtzanSplit ? { splitFile: opts.gtzanSplit } : {}),
        seed: opts.splitSeed ?? 0,
        ...(opts.splitRatios ? { ratios: opts.splitRatios } : {}),
        checkAudio: opts.checkAudio ?? 'header',
      });
      tracks.push(...g.tracks);
      problems.push(...g.problems);
      genres = [...GTZAN_GENRES];
    }
    if (want('deezer')) {
      for (const d of [root, join(root, 'deezer')]) {
        if (!(await hasDeezerCsvs(d))) continue;
        const r = await loadDeezer(d, { ...(opts.deezerAudioDir ? { audioDir: opts.deezerAudioDir } : {}), checkAudio: opts.checkAudio ?? 'header' });
        tracks.push(...r.tracks);
        problems.push(...r.problems);
        for (const [k, v] of r.aliases) aliases.set(k, v);
        break;
      }
    }
    let mumu: MumuAlbum[] = [];
    if (want('mumu')) {
      const candidates = opts.mumuFile ? [opts.mumuFile] : [join(root, 'albums.json'), join(root, 'mumu', 'albums.json')];
      for (const c of candidates) {
        if (opts.mumuFile || (await isFile(c))) {
          mumu = await readMumuAlbums(c);
          break;
        }
      }
    }
    const seen = new Set<string>();
    for (const t of tracks) {
      if (seen.has(t.id)) throw new DatasetError(`track id "${t.id}" occurs in two layouts; load them separately (layouts option)`, root);
      seen.add(t.id);
    }
    const albums = linkAlbums(mumu, seen, aliases);
    const byId = new Map(tracks.map((t) => [t.id, t]));
    for (const a of albums) for (const id of a.trackIds) {
      const t = byId.get(id);
      if (t && t.albumId === undefined) t.albumId = a.id;
    }
    if (tracks.length === 0 && albums.length === 0 && problems.length === 0 && want('catalogue') && (await walkAudioFiles(root)).length > 0) {
      result = await catalogue();
    } else if (tracks.length === 0 && albums.length === 0 && problems.length === 0) {
      throw new DatasetError('no corpus found: expected manifest.json, genres/<genre>/ folders, Deezer train/validation/test CSVs, albums.json, tracks.csv/tracks.jsonl or audio files', root);
    } else {
      result = { tracks, albums, genres, tagVocabulary: [], problems };
    }
  }
  if (result.problems.length > 0 && !opts.quiet) process.stderr.write(`musicbert: ${root}: ${formatProblems(result.problems)}\n`);
  return { root, ...result };
}
