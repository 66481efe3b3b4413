/**
 * Indexing a catalogue: every track of a corpus directory (with its genre, tags and album) or of
 * a plain folder of audio files is embedded into the joint space and appended to a vector store.
 *
 * Resumable by construction: ids already in the store are skipped, and each batch is appended as
 * one atomic commit after it is embedded, so killing the process loses at most the batch in
 * flight. Memory is bounded by one track's log-mel plus one batch of segment vectors. A file that
 * does not decode is reported and skipped, never fatal.
 */
import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { extname, join, relative, resolve, sep } from 'node:path';
import { loadCorpus } from '../data/datasets/index.js';
import { isAudioName } from '../data/datasets/audioFiles.js';
import { DatasetError, MusicBertError, UsageError } from '../util/errors.js';
import { Progress } from '../util/progress.js';
import type { EncodedTrack, JointSpace } from './jointSpace.js';
import { ANN_MIN_ROWS, VectorStore, type TrackEntry, type TrackMeta } from './store.js';

/** A track to index: its metadata without the vector (durationS comes from decoding). */
export type CatalogueItem = Omit<TrackMeta, 'durationS'>;

export interface CatalogueListing {
  kind: 'corpus' | 'folder';
  items: CatalogueItem[];
}

export interface IndexOptions {
  space: JointSpace;
  /** A corpus directory (generator output or a public layout) or any folder of audio files. */
  input: string;
  /** Vector store directory (created when missing). */
  db: string;
  /** Tracks per commit (default 8). */
  batch?: number;
  /** Build the approximate index: 'auto' past ANN_MIN_ROWS rows, 'on' always, 'off' never. */
  ann?: 'auto' | 'on' | 'off';
  quiet?: boolean;
  /** Stop cleanly after the current batch (what a kill would lose is then nothing). */
  signal?: AbortSignal;
  /** Called after each committed batch with the rows now stored. */
  onBatch?: (stored: number) => void;
}

export interface IndexFailure {
  id: string;
  path: string;
  problem: string;
}

export interface IndexReport {
  source: 'corpus' | 'folder';
  /** Tracks found in the input. */
  total: number;
  added: number;
  /** Already in the store (a resumed run). */
  skipped: number;
  failed: IndexFailure[];
  /** Rows in the store afterwards. */
  stored: number;
  seconds: number;
  /** Tracks embedded per second in this run. */
  tracksPerSecond: number;
  annBuilt: boolean;
  /** True when stopped by the signal before the end. */
  interrupted: boolean;
}

/** Audio files under `dir`, recursively, sorted; ids are relative paths without extension. */
async function walkAudio(dir: string): Promise<CatalogueItem[]> {
  const files: string[] = [];
  const visit = async (d: string): Promise<void> => {
    const entries = await readdir(d, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name.startsWith('.')) continue; // caches, hidden files
      const p = join(d, e.name);
      if (e.isDirectory()) await visit(p);
      else if (e.isFile() && isAudioName(e.name)) files.push(p);
    }
  };
  await visit(dir);
  const seen = new Set<string>();
  return files.map((path) => {
    const rel = relative(dir, path).split(sep).join('/');
    // The same stem in two formats (a.wav, a.mp3) keeps the extension on the second.
    let id = rel.slice(0, rel.length - extname(rel).length);
    if (seen.has(id)) id = rel;
    seen.add(id);
    return { id, path, tags: [] };
  });
}

/** What `input` holds: a corpus (tracks with labels) if it loads as one, else its audio files. */
export async function listCatalogue(input: string): Promise<CatalogueListing> {
  const dir = resolve(input);
  let info;
  try {
    info = await stat(dir);
  } catch {
    throw new UsageError(`--input ${input}: no such directory`);
  }
  if (!info.isDirectory()) throw new UsageError(`--input ${input}: not a directory (give a corpus or a folder of audio files)`);
  try {
    const corpus = await loadCorpus(dir);
    if (corpus.tracks.length > 0) {
      return {
        kind: 'corpus',
        items: corpus.tracks.map((t) => ({ id: t.id, path: t.audioPath, genre: t.genre, tags: [...t.tags], albumId: t.albumId, split: t.split })),
      };
    }
  } catch (err) {
    // A corpus whose metadata is broken must say so; a folder that is simply not a corpus is fine.
    if (!(err instanceof DatasetError) || existsSync(join(dir, 'manifest.json'))) throw err;
  }
  const items = await walkAudio(dir);
  if (items.length === 0) throw new UsageError(`--input ${input}: no audio files found (looked for ${['.wav', '.mp3', '.flac', '.ogg'].join(', ')}, recursively)`);
  return { kind: 'folder', items };
}

export async function indexCatalogue(opts: IndexOptions): Promise<IndexReport> {
  const started = Date.now();
  const batch = opts.batch ?? 8;
  if (!Number.isInteger(batch) || batch < 1) throw new UsageError(`--batch must be a positive integer (got ${batch})`);
  const { space } = opts;
  const listing = await listCatalogue(opts.input);
  const create: { dim: number; model: string; modelDir?: string } = { dim: space.dim, model: space.fingerprint };
  if (space.modelDir) create.modelDir = space.modelDir;
  const store = await VectorStore.open(opts.db, { create });
  try {
    const have = await store.ids();
    const todo = listing.items.filter((it) => !have.has(it.id));
    const progress = new Progress({ label: 'index', total: todo.length, quiet: opts.quiet ?? false });
    const failed: IndexFailure[] = [];
    let added = 0;
    let interrupted = false;
    const embedStart = Date.now();
    for (let start = 0; start < todo.length; start += batch) {
      if (opts.signal?.aborted) {
        interrupted = true;
        break;
      }
      const part = todo.slice(start, start + batch);
      const good: { item: CatalogueItem; enc: EncodedTrack }[] = [];
      for (const item of part) {
        try {
          good.push({ item, enc: await space.encodeTrack(item.path) });
        } catch (err) {
          if (!(err instanceof MusicBertError)) throw err;
          failed.push({ id: item.id, path: item.path, problem: err.message });
        }
        progress.tick(1, failed.length > 0 ? `${failed.length} failed` : undefined);
      }
      if (good.length === 0) continue;
      const vectors = await space.embedSegments(good.map((g) => g.enc));
      const entries: TrackEntry[] = good.map(({ item, enc }, i) => ({ ...item, durationS: enc.durationS, vector: vectors[i] as Float32Array }));
      await store.add(entries);
      added += entries.length;
      opts.onBatch?.(have.size + added);
    }
    const embedSeconds = (Date.now() - embedStart) / 1000;
    progress.finish(`${added} added, ${listing.items.length - todo.length} already indexed, ${failed.length} failed`);
    if (added > 0) await store.compact();
    const stored = await store.count();
    let annBuilt = false;
    const ann = opts.ann ?? 'auto';
    if (!interrupted && ann !== 'off' && (added > 0 || !store.ann)) {
      annBuilt = await store.buildIndex({ minRows: ann === 'on' ? 1 : ANN_MIN_ROWS });
    }
    return {
      source: listing.kind,
      total: listing.items.length,
      added,
      skipped: listing.items.length - todo.length,
      failed,
      stored,
      seconds: (Date.now() - started) / 1000,
      tracksPerSecond: embedSeconds > 0 ? (added + failed.length) / embedSeconds : 0,
      annBuilt,
      interrupted,
    };
  } finally {
    store.close();
  }
}
