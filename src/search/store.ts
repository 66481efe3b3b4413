/**
 * The catalogue's vector store: an embedded LanceDB table (one directory on disk, no server) of
 * joint-space vectors plus track metadata, a small `musicbert-store.json` beside it saying which
 * model made the vectors and how the approximate index was built, and that index (`ann.usearch`,
 * `ann.json`: a usearch HNSW graph, annIndex.ts).
 *
 * Why LanceDB: appends are atomic commits (a killed indexing run loses at most the batch being
 * written, and a resume sees exactly the committed rows). Why search does not query it: a LanceDB
 * query costs milliseconds and an await per request, and its HNSW measured p50 9.2 ms at 100k
 * (issue 13). Search runs on an in-memory view of the rows (storeView.ts), loaded once and
 * reloaded when the table's version moves (checked at most every VIEW_CHECK_MS): an exact JS scan
 * for small catalogues, the usearch graph past `ANN_MIN_ROWS` (settings measured in
 * bench/searchScale.ts against FAISS).
 */
import { existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Field, FixedSizeList, Float32, Float64, List, Schema, Utf8 } from 'apache-arrow';
import type { Connection, Table } from '@lancedb/lancedb';
import { writeJsonAtomic } from '../util/atomic.js';
import { asDiskFull, IoError, UsageError } from '../util/errors.js';
import { AnnIndex, DEFAULT_ANN_CONFIG, type AnnConfig } from './annIndex.js';
import { StoreView, type SearchFilter } from './storeView.js';
import type { SearchHit, TrackEntry, TrackMeta } from './track.js';
import { normalize } from './vectors.js';

export type { SearchHit, TrackEntry, TrackMeta } from './track.js';
export type { SearchFilter } from './storeView.js';

/** The approximate index the store was last built with (usearch HNSW over `rows` rows). */
export interface AnnSettings extends AnnConfig {
  kind: 'usearch';
  rows: number;
}

export interface StoreInfo {
  format: 1;
  dim: number;
  /** Fingerprint of the model that produced the vectors (see JointSpace.fingerprint). */
  model?: string | undefined;
  /** Absolute directory of that model, so searching needs no --model. */
  modelDir?: string | undefined;
  /** Present once an approximate index has been built. */
  ann?: AnnSettings | undefined;
}

/** Below this many rows an exact flat scan is fast enough (and has recall 1). */
export const ANN_MIN_ROWS = 20000;
/** The graph settings (bench/searchScale.ts measured them at 100k and 1M: see annIndex.ts). */
export const DEFAULT_ANN: Readonly<AnnConfig> = DEFAULT_ANN_CONFIG;
/** How often a search checks whether another process committed to the table (a cheap manifest read). */
export const VIEW_CHECK_MS = 1000;

const TABLE = 'tracks';
const INFO = 'musicbert-store.json';


type LanceModule = typeof import('@lancedb/lancedb');
let lance: Promise<LanceModule> | undefined;
/** Load the native module lazily: commands that never touch a store should not pay for it. */
function lancedb(): Promise<LanceModule> {
  // LanceDB logs a WARN for every table it creates; keep stderr for our own progress lines.
  process.env.LANCEDB_LOG ??= 'error';
  lance ??= import('@lancedb/lancedb');
  return lance;
}

function schema(dim: number): Schema {
  return new Schema([
    new Field('id', new Utf8(), false),
    new Field('path', new Utf8(), false),
    new Field('vector', new FixedSizeList(dim, new Field('item', new Float32(), true)), false),
    new Field('genre', new Utf8(), true),
    new Field('tags', new List(new Field('item', new Utf8(), true)), false),
    new Field('duration', new Float64(), false),
    new Field('album', new Utf8(), true),
    new Field('split', new Utf8(), true),
    new Field('bpm', new Float64(), true),
  ]);
}

/** A SQL string literal for Lance filters (ids may contain quotes). */
function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

const META_COLUMNS = ['id', 'path', 'genre', 'tags', 'duration', 'album', 'split'];
/** A column stores indexed before it existed lack: read when present, added on their next write. */
const TEMPO_COLUMN = 'bpm';

interface Row {
  id: string;
  path: string;
  genre: string | null;
  tags: Iterable<string | null> | null;
  duration: number;
  album: string | null;
  split: string | null;
  bpm?: number | null;
  _distance?: number;
}

/**
 * `v` at unit length. Model vectors already are (to float precision), and are kept as given so a
 * stored vector equals its embedding bit for bit; anything else is normalised.
 */
function unitLength(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += (v[i] as number) * (v[i] as number);
  return Math.abs(Math.sqrt(s) - 1) < 1e-6 ? v : normalize(v);
}

function metaOf(r: Row): TrackMeta {
  const m: TrackMeta = { id: String(r.id), path: String(r.path), tags: r.tags ? [...r.tags].filter((t): t is string => t !== null) : [], durationS: Number(r.duration) };
  if (r.genre !== null && r.genre !== undefined) m.genre = String(r.genre);
  if (r.album !== null && r.album !== undefined) m.albumId = String(r.album);
  if (r.split !== null && r.split !== undefined) m.split = String(r.split);
  if (r.bpm !== null && r.bpm !== undefined) m.bpm = Number(r.bpm);
  return m;
}

/** Names a list of row ids: an approximate index saved for other rows is not used for these. */
export function rowsKey(ids: readonly string[], rows = ids.length): string {
  const h = createHash('sha256');
  for (let i = 0; i < rows; i++) h.update(ids[i] as string).update('\n');
  return h.digest('hex');
}

export class VectorStore {
  /** The in-memory view searches use (loading, or loaded), and when its version was last checked. */
  private view: Promise<StoreView> | undefined;
  private checkedAt = 0;
  private checking: Promise<number> | undefined;
  /** Why the saved approximate index is not used (exact scans instead), when it is not. */
  annProblem: string | undefined;
  /** Bumped whenever the rows searches see may have changed (for callers' result caches). */
  generation = 0;
  private viewCheckMs = VIEW_CHECK_MS;

  private constructor(
    readonly path: string,
    private readonly db: Connection,
    private table: Table | undefined,
    private info: StoreInfo,
  ) {}

  /** Vector width (the model's projDim). */
  get dim(): number {
    return this.info.dim;
  }

  /** Fingerprint of the model the vectors came from, when recorded. */
  get model(): string | undefined {
    return this.info.model;
  }

  /** Directory of the model the vectors came from, when recorded. */
  get modelDir(): string | undefined {
    return this.info.modelDir;
  }

  get ann(): AnnSettings | undefined {
    return this.info.ann;
  }

  /** Drop the in-memory view: the next search reloads the rows (after this process changed them). */
  private invalidate(): void {
    this.view = undefined;
    this.generation++;
  }

  /**
   * The view searches run on: loaded on first use, reloaded when the table's version moved (a
   * commit by this process or, checked at most every VIEW_CHECK_MS, by another: an `index` run
   * beside a running server).
   */
  private async currentView(): Promise<StoreView> {
    const table = this.table;
    const current = this.view;
    if (current && table && Date.now() - this.checkedAt >= this.viewCheckMs) {
      this.checkedAt = Date.now();
      this.checking ??= table.checkoutLatest().then(() => table.version()).finally(() => (this.checking = undefined));
      const [latest, view] = await Promise.all([this.checking, current]);
      // (unless a commit of ours replaced the view meanwhile)
      if (latest !== view.version && this.view === current) this.invalidate();
    }
    if (!this.view) {
      this.checkedAt = Date.now();
      const loading = this.loadView();
      this.view = loading;
      // A failed load is not kept: the next search tries again.
      loading.catch(() => {
        if (this.view === loading) this.view = undefined;
      });
    }
    return this.view;
  }

  private async loadView(): Promise<StoreView> {
    if (!this.table) return new StoreView(this.dim, [], new Float32Array(0), undefined, 0);
    const version = await this.table.version();
    const withTempo = await this.hasTempoColumn();
    const tbl = await this.table.query().select([...META_COLUMNS, ...(withTempo ? [TEMPO_COLUMN] : []), 'vector']).toArrow();
    const metas: TrackMeta[] = [];
    const data = new Float32Array(tbl.numRows * this.dim);
    let row = 0;
    for (const batch of tbl.batches) {
      const col = (name: string) => {
        const c = batch.getChild(name);
        if (!c) throw new IoError(`the vector table lacks the ${name} column`, this.path);
        return c;
      };
      const [id, path, genre, tags, duration, album, split, vector] = [...META_COLUMNS, 'vector'].map(col) as ReturnType<typeof col>[];
      const bpm = withTempo ? col(TEMPO_COLUMN) : undefined;
      for (let i = 0; i < batch.numRows; i++, row++) {
        metas.push(metaOf({ id: id!.get(i), path: path!.get(i), genre: genre!.get(i), tags: tags!.get(i), duration: duration!.get(i), album: album!.get(i), split: split!.get(i), bpm: bpm?.get(i) } as Row));
        const v = vector!.get(i) as { toArray(): Float32Array } | null;
        if (!v) throw new IoError(`row ${row} has no vector`, this.path);
        data.set(v.toArray(), row * this.dim);
      }
    }
    let ann: AnnIndex | undefined;
    this.annProblem = undefined;
    if (this.info.ann && AnnIndex.exists(this.path)) {
      const ids = metas.map((m) => m.id);
      try {
        ann = await AnnIndex.load(this.path, data, this.dim, (rows) => rowsKey(ids, rows));
      } catch (err) {
        // Searches stay correct (exact scans); `index` rebuilds the graph.
        if (!(err instanceof IoError)) throw err;
        this.annProblem = err.message;
      }
    }
    return new StoreView(this.dim, metas, data, ann, version);
  }

  /**
   * Open the store at `path`. With `create`, a missing store is created for vectors of width `dim`
   * made by `model`; an existing one must match both (mixing models makes scores meaningless).
   */
  static async open(path: string, opts: { create?: { dim: number; model?: string; modelDir?: string }; viewCheckMs?: number } = {}): Promise<VectorStore> {
    const dir = resolve(path);
    const infoPath = join(dir, INFO);
    let info: StoreInfo;
    if (existsSync(infoPath)) {
      info = await readInfo(infoPath);
      const want = opts.create;
      if (want && want.dim !== info.dim) {
        throw new IoError(`holds ${info.dim}-d vectors but the model makes ${want.dim}-d ones; index into a new --db`, dir);
      }
      if (want?.model && info.model && want.model !== info.model) {
        throw new IoError(`was indexed with another model (${info.model.slice(0, 12)} vs ${want.model.slice(0, 12)}); index into a new --db or use the same --model`, dir);
      }
    } else if (opts.create) {
      if (!Number.isInteger(opts.create.dim) || opts.create.dim < 1) throw new UsageError(`VectorStore.open: dim must be a positive integer (got ${opts.create.dim})`);
      await mkdir(dir, { recursive: true });
      info = { format: 1, dim: opts.create.dim, model: opts.create.model, modelDir: opts.create.modelDir };
      await writeJsonAtomic(infoPath, info);
    } else {
      throw new IoError(`no vector store here (missing ${INFO}); create one with "musicbert index --db ${path}"`, dir);
    }
    const { connect } = await lancedb();
    const db = await connect(dir);
    const names = await db.tableNames();
    let table: Table | undefined;
    if (names.includes(TABLE)) {
      try {
        table = await db.openTable(TABLE);
      } catch (err) {
        // A run killed during its very first commit leaves data files but no version: nothing
        // was stored, so the table counts as absent (and is overwritten by the next add).
        if (existsSync(join(dir, `${TABLE}.lance`, '_versions'))) throw new IoError('the vector table is unreadable (corrupt store?)', dir, { cause: err });
      }
    }
    const store = new VectorStore(dir, db, table, info);
    if (opts.viewCheckMs !== undefined) store.viewCheckMs = opts.viewCheckMs;
    return store;
  }

  private async hasTempoColumn(): Promise<boolean> {
    return this.table ? (await this.table.schema()).fields.some((f) => f.name === TEMPO_COLUMN) : false;
  }

  async count(): Promise<number> {
    return this.table ? this.table.countRows() : 0;
  }

  /** Every stored id (for resuming an indexing run). */
  async ids(): Promise<Set<string>> {
    if (!this.table) return new Set();
    const rows = await this.table.query().select(['id']).toArray();
    return new Set(rows.map((r: { id: string }) => String(r.id)));
  }

  /**
   * Append entries as one atomic commit. Vectors are normalised; widths must match the store.
   * Ids are unique in the store: entries whose id is already stored (or repeated in `entries`)
   * are left out.
   */
  async add(entries: readonly TrackEntry[]): Promise<void> {
    entries = await this.newEntries(entries);
    if (entries.length === 0) return;
    const rows = entries.map((e) => {
      if (e.vector.length !== this.dim) throw new UsageError(`track "${e.id}": vector has ${e.vector.length} values, the store holds ${this.dim}-d vectors`);
      if (!e.vector.every(Number.isFinite)) throw new UsageError(`track "${e.id}": vector contains NaN or Infinity`);
      return {
        id: e.id,
        path: e.path,
        vector: Array.from(unitLength(e.vector)),
        genre: e.genre ?? null,
        tags: [...e.tags],
        duration: e.durationS,
        album: e.albumId ?? null,
        split: e.split ?? null,
        bpm: e.bpm !== undefined && Number.isFinite(e.bpm) && e.bpm > 0 ? e.bpm : null,
      };
    });
    try {
      if (!this.table) {
        // 'overwrite' only ever replaces the leftovers of an uncommitted first write (see open()).
        this.table = await this.db.createTable(TABLE, rows, { schema: schema(this.dim), mode: 'overwrite' });
      } else {
        // A store indexed before tempo was kept gains the column (unknown for its old rows) first.
        if (!(await this.hasTempoColumn())) await this.table.addColumns([{ name: TEMPO_COLUMN, valueSql: 'CAST(NULL AS DOUBLE)' }]);
        await this.table.add(rows);
      }
    } catch (err) {
      // A commit is atomic: on a full disk the rows stored before are intact.
      throw asDiskFull(err, this.path) ?? err;
    } finally {
      this.invalidate();
    }
  }

  /** `entries` without ids already stored or repeated (first kept). */
  private async newEntries(entries: readonly TrackEntry[]): Promise<readonly TrackEntry[]> {
    const seen = new Set<string>();
    if (this.table && entries.length > 0) {
      const list = [...new Set(entries.map((e) => e.id))].map(sqlString).join(', ');
      const rows = await this.table.query().where(`id IN (${list})`).select(['id']).toArray();
      for (const r of rows as { id: string }[]) seen.add(String(r.id));
    }
    return entries.filter((e) => !seen.has(e.id) && (seen.add(e.id), true));
  }

  /**
   * Remove the duplicate rows older versions could leave (two writers at once), keeping one row
   * per id; returns how many rows were removed. Rows of an id are deleted and one is re-added (two
   * commits: an interruption in between loses those tracks, which the next `index` run re-adds).
   */
  async removeDuplicates(): Promise<number> {
    if (!this.table) return 0;
    const counts = new Map<string, number>();
    for (const r of (await this.table.query().select(['id']).toArray()) as { id: string }[]) counts.set(String(r.id), (counts.get(String(r.id)) ?? 0) + 1);
    const dups = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
    let removed = 0;
    for (let i = 0; i < dups.length; i += 256) {
      const part = dups.slice(i, i + 256);
      const where = `id IN (${part.map(sqlString).join(', ')})`;
      const rows = (await this.table.query().where(where).select([...META_COLUMNS, ...((await this.hasTempoColumn()) ? [TEMPO_COLUMN] : []), 'vector']).toArray()) as (Row & { vector: Iterable<number> })[];
      const keep = new Map<string, TrackEntry>();
      for (const r of rows) if (!keep.has(String(r.id))) keep.set(String(r.id), { ...metaOf(r), vector: Float32Array.from(r.vector) });
      await this.table.delete(where);
      this.invalidate();
      await this.add([...keep.values()]);
      removed += rows.length - keep.size;
    }
    return removed;
  }

  /** One track's metadata, or undefined when the id is not in the store. */
  async get(id: string): Promise<TrackMeta | undefined> {
    if (!this.table) return undefined;
    return (await this.currentView()).meta(id);
  }

  /** One track's stored vector, or undefined. */
  async vector(id: string): Promise<Float32Array | undefined> {
    if (!this.table) return undefined;
    return (await this.currentView()).vector(id);
  }

  /** Every id and vector as one [N, dim] matrix (for the exact-scan baseline and evaluation). */
  async matrix(): Promise<{ ids: string[]; data: Float32Array }> {
    if (!this.table) return { ids: [], data: new Float32Array(0) };
    const tbl = await this.table.query().select(['id', 'vector']).toArrow();
    const ids: string[] = [];
    const data = new Float32Array(tbl.numRows * this.dim);
    let row = 0;
    for (const batch of tbl.batches) {
      const idCol = batch.getChild('id');
      const vecCol = batch.getChild('vector');
      if (!idCol || !vecCol) throw new IoError('table lacks the id or vector column', this.path);
      for (let i = 0; i < batch.numRows; i++, row++) {
        ids.push(String(idCol.get(i)));
        const v = vecCol.get(i) as { toArray(): Float32Array } | null;
        if (!v) throw new IoError(`row ${row} has no vector`, this.path);
        data.set(v.toArray(), row * this.dim);
      }
    }
    return { ids, data };
  }

  /**
   * The k nearest tracks to `query` by cosine similarity, best first, within the filters (genre,
   * tag, group; `exclude` drops ids such as the query track). Walks the approximate index when
   * one is built, unless `exact`; otherwise scans every allowed row.
   */
  async search(query: Float32Array, k: number, opts: SearchFilter & { exact?: boolean } = {}): Promise<SearchHit[]> {
    if (query.length !== this.dim) throw new UsageError(`query vector has ${query.length} values, the store holds ${this.dim}-d vectors (another model?)`);
    if (!Number.isInteger(k) || k < 1) throw new UsageError(`k must be a positive integer (got ${k})`);
    if (!query.every(Number.isFinite)) throw new UsageError('the query vector contains NaN or Infinity');
    if (!this.table) return [];
    return (await this.currentView()).search(normalize(query), k, opts);
  }

  /**
   * Check for commits by other processes (at most every VIEW_CHECK_MS) and return the generation:
   * while it stays the same, searches see the same rows (a result cache keys on it).
   */
  async sync(): Promise<number> {
    if (this.table) await this.currentView();
    return this.generation;
  }

  /** Rows searches see now (from the in-memory view: no LanceDB call, unlike count()). */
  async searchableRows(): Promise<number> {
    return this.table ? (await this.currentView()).rows : 0;
  }

  /** Whether searches walk an approximate index now (false: exact scans; see annProblem). */
  async usesApproximateIndex(): Promise<boolean> {
    return (await this.currentView()).ann !== undefined;
  }

  /**
   * Build (or extend) the approximate index when the table has at least `minRows` rows; returns
   * whether one was built. Compacts the table first (each indexing batch is its own small
   * fragment). A saved graph over the first rows of the table (an earlier run's) is extended with
   * the rows added since; any other is rebuilt. Saved atomically beside the table, then recorded
   * in musicbert-store.json.
   */
  async buildIndex(opts: { minRows?: number; config?: AnnConfig; threads?: number } = {}): Promise<boolean> {
    if (!this.table) return false;
    const n = await this.table.countRows();
    if (n < (opts.minRows ?? ANN_MIN_ROWS)) return false;
    await this.table.optimize();
    this.invalidate();
    const { ids, data } = await this.matrix();
    const config = opts.config ?? DEFAULT_ANN_CONFIG;
    let index: AnnIndex | undefined;
    const saved = await AnnIndex.readMeta(this.path).catch(() => undefined);
    if (saved && saved.rows <= ids.length && sameConfig(saved.config, config)) {
      index = await AnnIndex.load(this.path, data, this.dim, (rows) => rowsKey(ids, rows)).catch(() => undefined);
    }
    index ??= AnnIndex.build(data, this.dim, config, opts.threads ?? 0);
    try {
      await index.save(this.path, rowsKey(ids));
    } catch (err) {
      throw asDiskFull(err, this.path) ?? err;
    }
    this.info = { ...this.info, ann: { kind: 'usearch', ...config, rows: ids.length } };
    await writeJsonAtomic(join(this.path, INFO), this.info);
    this.invalidate();
    return true;
  }

  /** Merge the small fragments appends leave behind (faster scans). */
  async compact(): Promise<void> {
    if (this.table) await this.table.optimize();
  }

  close(): void {
    this.view = undefined;
    this.table?.close();
    this.db.close();
  }
}

async function readInfo(path: string): Promise<StoreInfo> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new IoError('store metadata is not readable JSON', path, { cause: err });
  }
  const o = json as Partial<StoreInfo>;
  if (o.format !== 1 || !Number.isInteger(o.dim) || (o.dim as number) < 1) {
    throw new IoError('store metadata has an unknown format or no vector width', path);
  }
  return {
    format: 1,
    dim: o.dim as number,
    model: typeof o.model === 'string' ? o.model : undefined,
    modelDir: typeof o.modelDir === 'string' ? o.modelDir : undefined,
    // Stores indexed before the usearch graph recorded LanceDB's IVF-HNSW settings: no graph yet.
    ann: (o.ann as { kind?: string } | undefined)?.kind === 'usearch' ? o.ann : undefined,
  };
}

function sameConfig(a: AnnConfig, b: AnnConfig): boolean {
  return a.connectivity === b.connectivity && a.expansionAdd === b.expansionAdd && a.expansionSearch === b.expansionSearch;
}
