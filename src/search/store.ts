/**
 * The catalogue's vector store: an embedded LanceDB table (one directory on disk, no server) of
 * joint-space vectors plus track metadata, and a small `musicbert-store.json` beside it saying
 * which model made the vectors and how the approximate index was built.
 *
 * Why LanceDB: appends are atomic commits (a killed indexing run loses at most the batch being
 * written, and a resume sees exactly the committed rows), and it carries an HNSW index for
 * catalogues too large to scan. Small catalogues are searched exactly (flat scan); an index is
 * built only past `ANN_MIN_ROWS`, with settings measured in bench/search.ts to keep recall@10 ≥ 0.95
 * against the brute-force scan even on structureless random vectors (the hardest case).
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Field, FixedSizeList, Float32, Float64, List, Schema, Utf8 } from 'apache-arrow';
import type { Connection, Table } from '@lancedb/lancedb';
import { writeJsonAtomic } from '../util/atomic.js';
import { asDiskFull, IoError, UsageError } from '../util/errors.js';
import { normalize } from './vectors.js';

/** What the store keeps for one track. */
export interface TrackMeta {
  id: string;
  /** Absolute path of the audio file (served by id only, never by path). */
  path: string;
  genre?: string | undefined;
  tags: string[];
  /** Seconds of audio. */
  durationS: number;
  albumId?: string | undefined;
  split?: string | undefined;
}

export interface TrackEntry extends TrackMeta {
  /** [dim] joint-space vector (stored unit-length). */
  vector: Float32Array;
}

export interface SearchHit extends TrackMeta {
  /** Cosine similarity to the query, in [-1, 1]. */
  score: number;
}

/** HNSW-over-IVF settings. Every partition is probed: partitions only shard the graph build. */
export interface AnnSettings {
  partitions: number;
  /** Candidates kept while walking the graph (higher = better recall, slower). */
  ef: number;
  /** Re-rank refineFactor·k candidates with the full-precision vectors. */
  refineFactor: number;
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
/** Measured in bench/search.ts on 100k random unit vectors (see README for the figures). */
export const DEFAULT_ANN = { rowsPerPartition: 25000, ef: 400, refineFactor: 4 } as const;

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
  ]);
}

/** A SQL string literal for Lance filters (ids may contain quotes). */
function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

const META_COLUMNS = ['id', 'path', 'genre', 'tags', 'duration', 'album', 'split'];

interface Row {
  id: string;
  path: string;
  genre: string | null;
  tags: Iterable<string | null> | null;
  duration: number;
  album: string | null;
  split: string | null;
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
  return m;
}

export class VectorStore {
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

  /**
   * Open the store at `path`. With `create`, a missing store is created for vectors of width `dim`
   * made by `model`; an existing one must match both (mixing models makes scores meaningless).
   */
  static async open(path: string, opts: { create?: { dim: number; model?: string; modelDir?: string } } = {}): Promise<VectorStore> {
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
    return new VectorStore(dir, db, table, info);
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
      };
    });
    try {
      if (!this.table) {
        // 'overwrite' only ever replaces the leftovers of an uncommitted first write (see open()).
        this.table = await this.db.createTable(TABLE, rows, { schema: schema(this.dim), mode: 'overwrite' });
      } else {
        await this.table.add(rows);
      }
    } catch (err) {
      // A commit is atomic: on a full disk the rows stored before are intact.
      throw asDiskFull(err, this.path) ?? err;
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
      const rows = (await this.table.query().where(where).select([...META_COLUMNS, 'vector']).toArray()) as (Row & { vector: Iterable<number> })[];
      const keep = new Map<string, TrackEntry>();
      for (const r of rows) if (!keep.has(String(r.id))) keep.set(String(r.id), { ...metaOf(r), vector: Float32Array.from(r.vector) });
      await this.table.delete(where);
      await this.add([...keep.values()]);
      removed += rows.length - keep.size;
    }
    return removed;
  }

  /** One track's metadata, or undefined when the id is not in the store. */
  async get(id: string): Promise<TrackMeta | undefined> {
    if (!this.table) return undefined;
    const rows = (await this.table.query().where(`id = ${sqlString(id)}`).select(META_COLUMNS).limit(1).toArray()) as Row[];
    return rows[0] ? metaOf(rows[0]) : undefined;
  }

  /** One track's stored vector, or undefined. */
  async vector(id: string): Promise<Float32Array | undefined> {
    if (!this.table) return undefined;
    const rows = await this.table.query().where(`id = ${sqlString(id)}`).select(['vector']).limit(1).toArray();
    return rows[0] ? Float32Array.from(rows[0].vector as Iterable<number>) : undefined;
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
   * The k nearest tracks to `query` by cosine similarity, best first. Uses the approximate index
   * when one exists, unless `exact`. `exclude` drops ids (e.g. the query track itself).
   */
  async search(query: Float32Array, k: number, opts: { exact?: boolean; exclude?: ReadonlySet<string> } = {}): Promise<SearchHit[]> {
    if (query.length !== this.dim) throw new UsageError(`query vector has ${query.length} values, the store holds ${this.dim}-d vectors (another model?)`);
    if (!Number.isInteger(k) || k < 1) throw new UsageError(`k must be a positive integer (got ${k})`);
    if (!this.table) return [];
    const extra = opts.exclude?.size ?? 0;
    let q = this.table.vectorSearch(Array.from(normalize(query))).distanceType('cosine').select(META_COLUMNS).limit(k + extra);
    const ann = this.info.ann;
    if (opts.exact || !ann) q = q.bypassVectorIndex();
    else q = q.nprobes(ann.partitions).ef(ann.ef).refineFactor(ann.refineFactor);
    const rows = (await q.toArray()) as Row[];
    return rows
      .filter((r) => !opts.exclude?.has(String(r.id)))
      .slice(0, k)
      .map((r) => ({ ...metaOf(r), score: 1 - Number(r._distance) }));
  }

  /**
   * Build (or rebuild) the HNSW index when the table has at least `minRows` rows; returns whether
   * one was built. Compacts the table first: each indexing batch is its own small fragment.
   */
  async buildIndex(opts: { minRows?: number; ef?: number; refineFactor?: number; partitions?: number } = {}): Promise<boolean> {
    if (!this.table) return false;
    const n = await this.table.countRows();
    if (n < (opts.minRows ?? ANN_MIN_ROWS)) return false;
    const { Index } = await lancedb();
    await this.table.optimize();
    const partitions = opts.partitions ?? Math.max(1, Math.round(n / DEFAULT_ANN.rowsPerPartition));
    await this.table.createIndex('vector', { config: Index.hnswSq({ distanceType: 'cosine', numPartitions: partitions }), replace: true });
    this.info = { ...this.info, ann: { partitions, ef: opts.ef ?? DEFAULT_ANN.ef, refineFactor: opts.refineFactor ?? DEFAULT_ANN.refineFactor } };
    await writeJsonAtomic(join(this.path, INFO), this.info);
    return true;
  }

  /** Merge the small fragments appends leave behind (faster scans). */
  async compact(): Promise<void> {
    if (this.table) await this.table.optimize();
  }

  close(): void {
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
    ann: o.ann,
  };
}
