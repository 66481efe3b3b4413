/**
 * The approximate nearest-neighbour index of a large catalogue: a usearch HNSW graph in process,
 * beside the LanceDB table, over the unit vectors by inner product (= cosine). Chosen over
 * LanceDB's own IVF-HNSW for speed (p50 9.2 ms at 100k there; bench/searchScale.ts measures this
 * one against FAISS flat and HNSW).
 *
 * Rows are keyed by their position in the store's matrix (the store checks, by a key over the
 * ids, that a saved graph was built over the rows it now holds). Filters (a genre,
 * tag or album, excluded ids) keep their speed two ways: a small allowed set is scanned exactly
 * (it is small), a large one is searched in the graph with enough extra candidates for the
 * filter's selectivity, then filtered; either way the result is re-ranked by exact inner product.
 * Persisted atomically: the graph and the id list are written to temporary siblings and renamed.
 */
import { existsSync } from 'node:fs';
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Index as UsearchIndex, MetricKind, ScalarKind } from 'usearch';
import { writeJsonAtomic } from '../util/atomic.js';
import { IoError, UsageError } from '../util/errors.js';
import { SubsetScanner } from './subsetScan.js';
import { topK } from './vectors.js';

export interface AnnConfig {
  /** Graph degree (M in HNSW papers). */
  connectivity: number;
  /** Candidate list while inserting (efConstruction). */
  expansionAdd: number;
  /** Candidate list while searching (ef); usearch widens it to the candidates asked for when more. */
  expansionSearch: number;
  /**
   * How the graph stores vectors: 'f32' (exact distances) or 'f16' / 'i8' (smaller, faster walks;
   * the candidates are re-ranked by exact f32 inner product either way). Default 'f32'.
   */
  quantization?: 'f32' | 'f16' | 'i8' | undefined;
}

const SCALAR: Record<NonNullable<AnnConfig['quantization']>, ScalarKind> = { f32: ScalarKind.F32, f16: ScalarKind.F16, i8: ScalarKind.I8 };

/**
 * The native graph. Its own expansion_search is a floor (usearch walks max(it, wanted) candidates),
 * so it is kept small and `search` sets ef per query by how many candidates it asks for.
 */
const EXPANSION_FLOOR = 16;
function graphOf(dim: number, c: AnnConfig): UsearchIndex {
  return new UsearchIndex({ dimensions: dim, metric: MetricKind.IP, quantization: SCALAR[c.quantization ?? 'f32'], connectivity: c.connectivity, expansion_add: c.expansionAdd, expansion_search: EXPANSION_FLOOR, multi: false });
}

/**
 * Measured (bench/searchScale.ts --tune, 50k random 64-d unit vectors, the hard case; a shared
 * 2-core machine at load 4-8, one query thread): M=16 f32 reached recall@10 0.91/0.96 (text→music /
 * music→music) at ef 256 in p50 3.1 ms; M=32 f32 0.99 in 4.4 ms; M=32 i8 with the exact re-rank
 * 0.983/0.995 in 1.6 ms and built in half the time (57 s vs 108 s). So: M=32, i8, ef 256.
 */
export const DEFAULT_ANN_CONFIG: AnnConfig = { connectivity: 32, expansionAdd: 128, expansionSearch: 256, quantization: 'i8' };

/** Candidates re-ranked exactly per query: RERANK_FACTOR·k, at least RERANK_MIN (see AnnIndex.search). */
export const RERANK_FACTOR = 4;
export const RERANK_MIN = 32;

/**
 * At or below this many allowed rows a filtered query scans them exactly instead of the graph.
 * Measured at 1M random 64-d rows (bench/searchScale.ts): a 5 % filter (50k rows) through the graph
 * gave recall@10 0.70 at p50 5.3 ms; scanned exactly it has recall 1, and gathered into one block
 * (subsetScan.ts) it costs about one unfiltered graph search; so subsets up to 64k rows are scanned.
 */
export const EXACT_SUBSET_ROWS = 65536;

export interface AnnHit {
  row: number;
  score: number;
}

export interface AnnQuery {
  /** Only these rows (e.g. one genre's); sorted or not. */
  allow?: ArrayLike<number> | undefined;
  /** Candidates walked in the graph (ef) for this query; default the index's expansionSearch. */
  expansion?: number | undefined;
  /** Never these rows (e.g. the query track). */
  exclude?: ReadonlySet<number> | undefined;
}

const GRAPH = 'ann.usearch';
const META = 'ann.json';

export interface AnnMeta {
  format: 1;
  dim: number;
  rows: number;
  config: AnnConfig;
  /** What the rows were (the store passes a hash of their ids): a graph over other rows is refused. */
  key?: string;
  /** Size of the graph file when written (a truncated or replaced file is refused before loading). */
  bytes?: number;
}

const BYTES_PER_VALUE = { f32: 4, f16: 2, i8: 1 } as const;

/**
 * Check a usearch file's layout before handing it to the native loader (which crashes the process
 * on garbage instead of throwing): [rows u32][bytes per vector u32][vectors] then the "usearch"
 * header, and the size recorded at save time.
 */
async function checkGraphFile(path: string, meta: AnnMeta): Promise<void> {
  const bad = (why: string) => new IoError(`the approximate index is damaged (${why}); rebuild it with musicbert index`, path);
  const size = (await stat(path)).size;
  if (meta.bytes !== undefined && size !== meta.bytes) throw bad(`${size} bytes, ${meta.bytes} were written`);
  const perVector = meta.dim * BYTES_PER_VALUE[meta.config.quantization ?? 'f32'];
  const magicAt = 8 + meta.rows * perVector;
  if (size < magicAt + 64) throw bad(`${size} bytes are too few for ${meta.rows} vectors`);
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(8);
    await fh.read(head, 0, 8, 0);
    const magic = Buffer.alloc(7);
    await fh.read(magic, 0, 7, magicAt);
    if (head.readUInt32LE(0) !== meta.rows || head.readUInt32LE(4) !== perVector || magic.toString('latin1') !== 'usearch') throw bad('not the graph its metadata describes');
  } finally {
    await fh.close();
  }
}

export class AnnIndex {
  /** Gathered filter blocks for exact subset scans (subsetScan.ts). */
  private readonly subsets: SubsetScanner;

  private constructor(
    readonly dim: number,
    readonly config: AnnConfig,
    private readonly graph: UsearchIndex,
    /** [rows, dim] the indexed vectors, for exact re-ranking and subset scans. */
    private data: Float32Array,
  ) {
    this.subsets = new SubsetScanner(dim);
  }

  get rows(): number {
    return this.data.length / this.dim;
  }

  /** Build over [n, dim] unit vectors (row i gets key i), on `threads` threads (0 = all). */
  static build(data: Float32Array, dim: number, config: AnnConfig = DEFAULT_ANN_CONFIG, threads = 0): AnnIndex {
    if (!Number.isInteger(dim) || dim < 1 || data.length % dim !== 0) throw new UsageError(`AnnIndex.build: ${data.length} values are not rows of ${dim}`);
    const graph = graphOf(dim, config);
    const index = new AnnIndex(dim, config, graph, new Float32Array(0));
    index.add(data, threads);
    return index;
  }

  /** Append [m, dim] rows (keys continue from the current row count): tracks added to the store. */
  add(rows: Float32Array, threads = 0): void {
    if (rows.length % this.dim !== 0) throw new UsageError(`AnnIndex.add: ${rows.length} values are not rows of ${this.dim}`);
    const m = rows.length / this.dim;
    if (m === 0) return;
    const first = this.rows;
    const keys = new BigUint64Array(m);
    for (let i = 0; i < m; i++) keys[i] = BigInt(first + i);
    this.graph.add(keys, rows, threads);
    const grown = new Float32Array(this.data.length + rows.length);
    grown.set(this.data);
    grown.set(rows, this.data.length);
    this.data = grown;
  }

  /** The k rows nearest `query` (unit length) by inner product, best first. */
  search(query: Float32Array, k: number, q: AnnQuery = {}): AnnHit[] {
    if (query.length !== this.dim) throw new UsageError(`query vector has ${query.length} values, the index holds ${this.dim}-d vectors`);
    if (!Number.isInteger(k) || k < 1) throw new UsageError(`k must be a positive integer (got ${k})`);
    const n = this.rows;
    if (n === 0) return [];
    const exclude = q.exclude;
    if (q.allow !== undefined && q.allow.length <= EXACT_SUBSET_ROWS) return this.scan(query, k, q.allow, exclude);
    const allowed = q.allow ? this.mask(q.allow) : undefined;
    const selectivity = q.allow ? Math.max(q.allow.length, 1) / n : 1;
    // Candidates enough that k survive the filter (×2 margin), plus the excluded rows, and at least
    // ef of them: usearch walks max(its expansion_search, wanted) candidates, so asking for ef
    // results is what sets ef per query (the binding cannot change expansion_search after creation).
    const ef = q.expansion ?? this.config.expansionSearch;
    const want = Math.min(n, Math.max(ef, Math.ceil((k / selectivity) * (q.allow ? 2 : 1)) + (exclude?.size ?? 0)));
    const r = this.graph.search(query, want, 1);
    // The first candidates surviving the filter, in the graph's order, re-ranked by exact inner
    // product: a quantized graph orders them only roughly, but the true top k sit among its first
    // few k (at 100k random 64-d vectors, ef 256: recall@10 equal whether 20 or all 256 are
    // re-ranked; bench/searchScale.ts). So RERANK_FACTOR·k of them, not all `want`: no BigInt
    // conversion or dot product for the rest.
    const cap = Math.max(RERANK_FACTOR * k, RERANK_MIN);
    this.reserve(cap);
    const keys = r.keys;
    const rows = this.candidates;
    let m = 0;
    for (let i = 0; i < keys.length && m < cap; i++) {
      const row = Number(keys[i]);
      if (row >= n || (allowed && !allowed[row]) || exclude?.has(row)) continue;
      rows[m++] = row;
    }
    // A filter the graph could not satisfy (clustered away from the query): scan it exactly.
    if (m < k && q.allow) return this.scan(query, k, q.allow, exclude);
    const scores = this.scores.subarray(0, m);
    for (let i = 0; i < m; i++) scores[i] = this.dot(query, rows[i] as number);
    return topK(scores, k).map((h) => ({ row: rows[h.index] as number, score: h.score }));
  }

  /** Scratch for one query's re-ranked candidates (searches run one at a time on this thread). */
  private candidates = new Int32Array(RERANK_MIN);
  private scores = new Float32Array(RERANK_MIN);
  private reserve(cap: number): void {
    if (this.candidates.length >= cap) return;
    this.candidates = new Int32Array(cap);
    this.scores = new Float32Array(cap);
  }

  /** A filter's rows as a membership mask over all rows, kept per list (a view reuses its posting lists). */
  private readonly masks = new WeakMap<object, Uint8Array>();
  private mask(allow: ArrayLike<number>): Uint8Array {
    let m = this.masks.get(allow as object);
    if (!m || m.length !== this.rows) {
      m = new Uint8Array(this.rows);
      for (let i = 0; i < allow.length; i++) m[allow[i] as number] = 1;
      this.masks.set(allow as object, m);
    }
    return m;
  }

  /** Exact top k over the allowed rows (gathered once per filter list: subsetScan.ts). */
  private scan(query: Float32Array, k: number, allow: ArrayLike<number>, exclude?: ReadonlySet<number>): AnnHit[] {
    return this.subsets.scan(this.data, allow, query, k, exclude);
  }

  private dot(query: Float32Array, row: number): number {
    const d = this.dim;
    const o = row * d;
    let s = 0;
    for (let j = 0; j < d; j++) s += (query[j] as number) * (this.data[o + j] as number);
    return s;
  }

  /**
   * Write the graph and its metadata into `dir` atomically (temp siblings, then renames; the
   * metadata last, so a reader never pairs a new graph with an old row count unnoticed: load checks
   * the graph's size against it). `key` names the rows (see load).
   */
  async save(dir: string, key?: string): Promise<void> {
    const tmp = join(dir, `.${GRAPH}.${process.pid}.tmp`);
    try {
      this.graph.save(tmp);
      await rename(tmp, join(dir, GRAPH));
    } catch (err) {
      await rm(tmp, { force: true });
      throw new IoError(`cannot write the approximate index (${(err as Error).message})`, dir, { cause: err });
    }
    const bytes = (await stat(join(dir, GRAPH))).size;
    const meta: AnnMeta = { format: 1, dim: this.dim, rows: this.rows, config: this.config, bytes, ...(key !== undefined ? { key } : {}) };
    await writeJsonAtomic(join(dir, META), meta);
  }

  static exists(dir: string): boolean {
    return existsSync(join(dir, GRAPH)) && existsSync(join(dir, META));
  }

  /** The saved index's metadata (rows, settings, key), or undefined when there is none. */
  static async readMeta(dir: string): Promise<AnnMeta | undefined> {
    if (!AnnIndex.exists(dir)) return undefined;
    let meta: AnnMeta;
    try {
      meta = JSON.parse(await readFile(join(dir, META), 'utf8')) as AnnMeta;
    } catch (err) {
      throw new IoError('the approximate index metadata is unreadable', join(dir, META), { cause: err });
    }
    const c = meta?.config;
    if (meta?.format !== 1 || !Number.isInteger(meta.dim) || !Number.isInteger(meta.rows) || !c || ![c.connectivity, c.expansionAdd, c.expansionSearch].every((x) => Number.isInteger(x) && x > 0) || (c.quantization !== undefined && !(c.quantization in BYTES_PER_VALUE))) {
      throw new IoError('the approximate index metadata has an unknown format; rebuild it with musicbert index', join(dir, META));
    }
    return meta;
  }

  /**
   * Load the index saved in `dir` for the store's [rows, dim] matrix. The first `meta.rows` rows
   * must be the ones it was built over (`keyOf(meta.rows)` equals the saved key, when both exist);
   * rows past them (tracks added since) are inserted into the graph in memory.
   */
  static async load(dir: string, data: Float32Array, dim: number, keyOf?: (rows: number) => string): Promise<AnnIndex> {
    const meta = await AnnIndex.readMeta(dir);
    if (!meta) throw new IoError('no approximate index here', join(dir, GRAPH));
    if (meta.dim !== dim) throw new IoError(`the approximate index holds ${meta.dim}-d vectors, the store ${dim}-d ones; rebuild it`, dir);
    const rows = data.length / dim;
    if (meta.rows > rows) throw new IoError(`the approximate index has ${meta.rows} rows but the store only ${rows}; rebuild it`, dir);
    if (keyOf && meta.key !== undefined && keyOf(meta.rows) !== meta.key) throw new IoError('the approximate index was built over other rows than the store holds now (tracks were removed or reordered); rebuild it with musicbert index', dir);
    await checkGraphFile(join(dir, GRAPH), meta);
    const graph = graphOf(dim, meta.config);
    try {
      graph.load(join(dir, GRAPH));
    } catch (err) {
      throw new IoError(`the approximate index is unreadable (${(err as Error).message}); rebuild it with musicbert index`, join(dir, GRAPH), { cause: err });
    }
    if (graph.size() !== meta.rows) throw new IoError(`the approximate index holds ${graph.size()} vectors but its metadata says ${meta.rows}; rebuild it`, join(dir, GRAPH));
    // A view of the store's matrix, not a copy (a million rows are 256 MB at 64-d).
    const index = new AnnIndex(dim, meta.config, graph, data.subarray(0, meta.rows * dim));
    index.add(data.subarray(meta.rows * dim));
    return index;
  }
}
