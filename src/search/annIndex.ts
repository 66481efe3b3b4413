/**
 * The approximate nearest-neighbour index of a large catalogue: a usearch HNSW graph in process,
 * beside the LanceDB table, over the unit vectors by inner product (= cosine). Chosen over
 * LanceDB's own IVF-HNSW for speed (bench/searchScale.ts measures it against FAISS flat and HNSW;
 * the 100k/1M runs are still to be done, see the README).
 *
 * Rows are keyed by their position in the store's matrix; `ids` maps them back. Filters (a genre,
 * tag or album, excluded ids) keep their speed two ways: a small allowed set is scanned exactly
 * (it is small), a large one is searched in the graph with enough extra candidates for the
 * filter's selectivity, then filtered; either way the result is re-ranked by exact inner product.
 * Persisted atomically: the graph and the id list are written to temporary siblings and renamed.
 */
import { existsSync } from 'node:fs';
import { readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Index as UsearchIndex, MetricKind, ScalarKind } from 'usearch';
import { writeJsonAtomic } from '../util/atomic.js';
import { IoError, UsageError } from '../util/errors.js';
import { topK } from './vectors.js';

export interface AnnConfig {
  /** Graph degree (M in HNSW papers). */
  connectivity: number;
  /** Candidate list while inserting (efConstruction). */
  expansionAdd: number;
  /** Candidate list while searching (ef); usearch widens it to the candidates asked for when more. */
  expansionSearch: number;
}

/**
 * FAISS HNSW's usual settings. Measured (bench/searchScale.ts, 20k random 64-d unit vectors, the hard
 * case): recall@10 0.886 (FAISS HNSW with the same M/ef: 0.931); the 0.95 target needs a larger
 * expansionSearch, not yet measured.
 */
export const DEFAULT_ANN_CONFIG: AnnConfig = { connectivity: 16, expansionAdd: 128, expansionSearch: 96 };

/** At or below this many allowed rows a filtered query scans them exactly instead of the graph. */
export const EXACT_SUBSET_ROWS = 20000;

export interface AnnHit {
  row: number;
  score: number;
}

export interface AnnQuery {
  /** Only these rows (e.g. one genre's); sorted or not. */
  allow?: ArrayLike<number> | undefined;
  /** Never these rows (e.g. the query track). */
  exclude?: ReadonlySet<number> | undefined;
}

const GRAPH = 'ann.usearch';
const META = 'ann.json';

interface AnnMeta {
  format: 1;
  dim: number;
  rows: number;
  config: AnnConfig;
}

export class AnnIndex {
  private constructor(
    readonly dim: number,
    readonly config: AnnConfig,
    private readonly graph: UsearchIndex,
    /** [rows, dim] the indexed vectors, for exact re-ranking and subset scans. */
    private data: Float32Array,
  ) {}

  get rows(): number {
    return this.data.length / this.dim;
  }

  /** Build over [n, dim] unit vectors (row i gets key i), on `threads` threads (0 = all). */
  static build(data: Float32Array, dim: number, config: AnnConfig = DEFAULT_ANN_CONFIG, threads = 0): AnnIndex {
    if (!Number.isInteger(dim) || dim < 1 || data.length % dim !== 0) throw new UsageError(`AnnIndex.build: ${data.length} values are not rows of ${dim}`);
    const graph = new UsearchIndex({ dimensions: dim, metric: MetricKind.IP, quantization: ScalarKind.F32, connectivity: config.connectivity, expansion_add: config.expansionAdd, expansion_search: config.expansionSearch, multi: false });
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
    const allowed = q.allow ? new Uint8Array(n) : undefined;
    if (allowed && q.allow) for (let i = 0; i < q.allow.length; i++) allowed[q.allow[i] as number] = 1;
    const selectivity = q.allow ? Math.max(q.allow.length, 1) / n : 1;
    // Candidates enough that k survive the filter (×2 margin), plus the excluded rows.
    const want = Math.min(n, Math.ceil((k / selectivity) * (q.allow ? 2 : 1)) + (exclude?.size ?? 0));
    const r = this.graph.search(query, want, 1);
    const hits: AnnHit[] = [];
    for (let i = 0; i < r.keys.length && hits.length < k; i++) {
      const row = Number(r.keys[i]);
      if (row >= n || (allowed && !allowed[row]) || exclude?.has(row)) continue;
      hits.push({ row, score: this.dot(query, row) });
    }
    // A filter the graph could not satisfy (clustered away from the query): scan it exactly.
    if (hits.length < k && q.allow) return this.scan(query, k, q.allow, exclude);
    return hits.sort((a, b) => b.score - a.score || a.row - b.row);
  }

  /** Exact top k over the allowed rows. */
  private scan(query: Float32Array, k: number, allow: ArrayLike<number>, exclude?: ReadonlySet<number>): AnnHit[] {
    const rows: number[] = [];
    for (let i = 0; i < allow.length; i++) if (!exclude?.has(allow[i] as number)) rows.push(allow[i] as number);
    const scores = new Float32Array(rows.length);
    for (let i = 0; i < rows.length; i++) scores[i] = this.dot(query, rows[i] as number);
    return topK(scores, k).map((h) => ({ row: rows[h.index] as number, score: h.score }));
  }

  private dot(query: Float32Array, row: number): number {
    const d = this.dim;
    const o = row * d;
    let s = 0;
    for (let j = 0; j < d; j++) s += (query[j] as number) * (this.data[o + j] as number);
    return s;
  }

  /** Write the graph and its metadata into `dir` atomically (temp siblings, then renames). */
  async save(dir: string): Promise<void> {
    const tmp = join(dir, `.${GRAPH}.${process.pid}.tmp`);
    try {
      this.graph.save(tmp);
      await rename(tmp, join(dir, GRAPH));
    } catch (err) {
      await rm(tmp, { force: true });
      throw new IoError(`cannot write the approximate index (${(err as Error).message})`, dir, { cause: err });
    }
    const meta: AnnMeta = { format: 1, dim: this.dim, rows: this.rows, config: this.config };
    await writeJsonAtomic(join(dir, META), meta);
  }

  static exists(dir: string): boolean {
    return existsSync(join(dir, GRAPH)) && existsSync(join(dir, META));
  }

  /**
   * Load the index saved in `dir` for the store's [rows, dim] matrix. A graph of another row count
   * (tracks added after it was built by an older version) is extended with the missing rows.
   */
  static async load(dir: string, data: Float32Array, dim: number): Promise<AnnIndex> {
    let meta: AnnMeta;
    try {
      meta = JSON.parse(await readFile(join(dir, META), 'utf8')) as AnnMeta;
    } catch (err) {
      throw new IoError('the approximate index metadata is unreadable', join(dir, META), { cause: err });
    }
    if (meta.format !== 1 || meta.dim !== dim) throw new IoError(`the approximate index holds ${meta.dim}-d vectors, the store ${dim}-d ones; rebuild it`, dir);
    const rows = data.length / dim;
    if (meta.rows > rows) throw new IoError(`the approximate index has ${meta.rows} rows but the store only ${rows}; rebuild it`, dir);
    const graph = new UsearchIndex({ dimensions: dim, metric: MetricKind.IP, quantization: ScalarKind.F32, connectivity: meta.config.connectivity, expansion_add: meta.config.expansionAdd, expansion_search: meta.config.expansionSearch, multi: false });
    graph.load(join(dir, GRAPH));
    const index = new AnnIndex(dim, meta.config, graph, data.slice(0, meta.rows * dim));
    index.add(data.subarray(meta.rows * dim));
    return index;
  }
}
