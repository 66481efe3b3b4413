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
import { stat } from 'node:fs/promises';
import { extname, join, relative, resolve, sep } from 'node:path';
import { loadCorpus, type LoadCorpusOptions } from '../data/datasets/index.js';
import { walkAudioFiles } from '../data/datasets/audioFiles.js';
import { findSidecar } from '../data/datasets/catalogue.js';
import { FrontEndPool } from '../audio/frontEndPool.js';
import type { LogMel } from '../audio/logmel.js';
import { DatasetError, MusicBertError, UsageError } from '../util/errors.js';
import { Progress } from '../util/progress.js';
import type { EncodedTrack, JointSpace } from './jointSpace.js';
import { readInputList } from './inputList.js';
import { acquireStoreLock } from './storeLock.js';
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
  /** Catalogue loading options (column mapping, grouping) for `input`. */
  load?: Pick<LoadCorpusOptions, 'columns' | 'groupBy'>;
  /**
   * Worker threads decoding files to log-mel ahead of the encoder (default 1: in-process).
   * Vectors do not depend on it: the log-mel is the same, and batches keep the listing's order.
   */
  jobs?: number;
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
  /** Duplicate rows (left by older versions' concurrent writers) removed before indexing. */
  duplicatesRemoved: number;
}

/** Audio files under `dir`, recursively, sorted; ids are relative paths without extension. */
async function walkAudio(dir: string): Promise<CatalogueItem[]> {
  const files = (await walkAudioFiles(dir)).map((f) => f.path);
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
export async function listCatalogue(input: string, load: Pick<LoadCorpusOptions, 'columns' | 'groupBy'> = {}): Promise<CatalogueListing> {
  const dir = resolve(input);
  let info;
  try {
    info = await stat(dir);
  } catch {
    throw new UsageError(`--input ${input}: no such directory or list file`);
  }
  // A text file is a list of paths (inputList.ts).
  if (info.isFile()) return { kind: 'folder', items: (await readInputList(dir)).map((t) => ({ ...t, tags: [] })) };
  if (!info.isDirectory()) throw new UsageError(`--input ${input}: not a directory or a list file (give a corpus, a folder of audio files or a text file of paths)`);
  try {
    // A plain folder stays a folder (its broken files reported by the indexer); a catalogue
    // sidecar or mapping makes it a corpus with labels.
    const catalogue = load.columns !== undefined || (await findSidecar(dir)) !== undefined;
    const corpus = await loadCorpus(dir, catalogue ? load : { layouts: ['manifest', 'gtzan', 'deezer', 'mumu'] });
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

/** The embedding a batch needs: the two halves of JointSpace's audio path. */
export type BatchEmbedder = Pick<JointSpace, 'encodeTrack' | 'embedSegments'>;

/**
 * One batch of tracks → store entries, and the tracks whose files do not decode. The Transformer
 * pass runs over the batch's good tracks together; a track's vector depends (in its last bits) on
 * its row in that pass, so the distributed workers embed the same batches as this does.
 */
export async function embedBatch(
  space: BatchEmbedder,
  items: readonly CatalogueItem[],
  onTrack?: () => void,
  /** The log-mel of each item (front-end worker threads); default: decoded here from item.path. */
  frontEnd?: (item: CatalogueItem, index: number) => Promise<LogMel>,
): Promise<{ entries: TrackEntry[]; failed: IndexFailure[] }> {
  const good: { item: CatalogueItem; enc: EncodedTrack }[] = [];
  const failed: IndexFailure[] = [];
  for (const [i, item] of items.entries()) {
    try {
      const input = frontEnd ? { ...(await frontEnd(item, i)), source: item.path } : item.path;
      good.push({ item, enc: await space.encodeTrack(input) });
    } catch (err) {
      if (!(err instanceof MusicBertError)) throw err;
      failed.push({ id: item.id, path: item.path, problem: err.message });
    }
    onTrack?.();
  }
  if (good.length === 0) return { entries: [], failed };
  const vectors = await space.embedSegments(good.map((g) => g.enc));
  return { entries: good.map(({ item, enc }, i) => ({ ...item, durationS: enc.durationS, ...(enc.bpm !== undefined ? { bpm: enc.bpm } : {}), vector: vectors[i] as Float32Array })), failed };
}

/**
 * The store opened by its one writer (local `index` or the queue's writer): the lock first (a
 * second writer on the same --db stops here with a clear error, see storeLock.ts), then the store,
 * with duplicate rows left by older versions removed. Close the store and release the lock after.
 */
export async function openForWriting(db: string, create: { dim: number; model: string; modelDir?: string }): Promise<{ store: VectorStore; lock: Awaited<ReturnType<typeof acquireStoreLock>>; duplicatesRemoved: number }> {
  const lock = await acquireStoreLock(db);
  try {
    const store = await VectorStore.open(db, { create });
    try {
      return { store, lock, duplicatesRemoved: await store.removeDuplicates() };
    } catch (err) {
      store.close();
      throw err;
    }
  } catch (err) {
    await lock.release();
    throw err;
  }
}

/** What an indexing run (local or queued) did, for `finishIndex` to turn into its report. */
export interface IndexRun {
  listing: CatalogueListing;
  /** Tracks of the listing that were not stored when the run began. */
  todo: number;
  added: number;
  failed: IndexFailure[];
  interrupted: boolean;
  ann: 'auto' | 'on' | 'off';
  duplicatesRemoved: number;
  /** Date.now() at the start of the run and of its embedding loop. */
  started: number;
  embedStart: number;
  progress: Progress;
}

/** The end of an indexing run (local or queued): compact what was added, (re)build the approximate index, report. */
export async function finishIndex(store: VectorStore, run: IndexRun): Promise<IndexReport> {
  const embedSeconds = (Date.now() - run.embedStart) / 1000;
  const total = run.listing.items.length;
  run.progress.finish(`${run.added} added, ${total - run.todo} already indexed, ${run.failed.length} failed`);
  if (run.added > 0) await store.compact();
  const stored = await store.count();
  let annBuilt = false;
  if (!run.interrupted && run.ann !== 'off' && (run.added > 0 || !store.ann)) {
    annBuilt = await store.buildIndex({ minRows: run.ann === 'on' ? 1 : ANN_MIN_ROWS });
  }
  return {
    source: run.listing.kind,
    total,
    added: run.added,
    skipped: total - run.todo,
    failed: run.failed,
    stored,
    seconds: (Date.now() - run.started) / 1000,
    tracksPerSecond: embedSeconds > 0 ? (run.added + run.failed.length) / embedSeconds : 0,
    annBuilt,
    interrupted: run.interrupted,
    duplicatesRemoved: run.duplicatesRemoved,
  };
}

/** With jobs > 1, the tracks' log-mels computed on `jobs` worker threads, a few files ahead, in order. */
async function frontEndFor(todo: readonly CatalogueItem[], jobs: number): Promise<{ get(i: number): Promise<LogMel>; close(): Promise<void> } | undefined> {
  if (!Number.isInteger(jobs) || jobs < 1) throw new UsageError(`--jobs must be a positive integer (got ${jobs})`);
  if (jobs === 1 || todo.length === 0) return undefined;
  const pool = new FrontEndPool(Math.min(jobs, todo.length));
  const ahead = pool.prefetch(todo.map((t) => t.path));
  return { get: (i) => ahead.get(i), close: () => pool.close() };
}

export async function indexCatalogue(opts: IndexOptions): Promise<IndexReport> {
  const started = Date.now();
  const batch = opts.batch ?? 8;
  if (!Number.isInteger(batch) || batch < 1) throw new UsageError(`--batch must be a positive integer (got ${batch})`);
  const { space } = opts;
  const listing = await listCatalogue(opts.input, opts.load);
  const create: { dim: number; model: string; modelDir?: string } = { dim: space.dim, model: space.fingerprint };
  if (space.modelDir) create.modelDir = space.modelDir;
  const { store, lock, duplicatesRemoved } = await openForWriting(opts.db, create);
  try {
    const have = await store.ids();
    const todo = listing.items.filter((it) => !have.has(it.id));
    const progress = new Progress({ label: 'index', total: todo.length, quiet: opts.quiet ?? false });
    const failed: IndexFailure[] = [];
    let added = 0;
    let interrupted = false;
    const embedStart = Date.now();
    const frontEnd = await frontEndFor(todo, opts.jobs ?? 1);
    try {
      for (let start = 0; start < todo.length; start += batch) {
        if (opts.signal?.aborted) {
          interrupted = true;
          break;
        }
        const fe = frontEnd ? (_: CatalogueItem, i: number) => frontEnd.get(start + i) : undefined;
        const part = await embedBatch(space, todo.slice(start, start + batch), () => progress.tick(1, failed.length > 0 ? `${failed.length} failed` : undefined), fe);
        failed.push(...part.failed);
        const { entries } = part;
        if (entries.length === 0) continue;
        await store.add(entries);
        added += entries.length;
        opts.onBatch?.(have.size + added);
      }
    } finally {
      await frontEnd?.close();
    }
    return await finishIndex(store, { listing, todo: todo.length, added, failed, interrupted, ann: opts.ann ?? 'auto', duplicatesRemoved, started, embedStart, progress });
  } finally {
    store.close();
    await lock.release();
  }
}
