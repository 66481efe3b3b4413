/**
 * Exact top k over a filter's rows (one genre's, one tag's) of a large matrix, at the unfiltered
 * graph's speed: the rows are gathered into one contiguous block per filter list, kept from the
 * list's second use (byte-bounded, least recently used first out), and each query is one matrix–vector product over
 * the block (OpenBLAS through the native addon when built, else a JS loop) plus a top-k pass.
 *
 * Why not the rows in place: a 5 % filter at 1M rows is 50k scattered rows, and reading them by
 * index (plus the row list) took ~15 ms a query, five times the graph's search; the gathered block
 * is one sequential read (bench/searchScale.ts measures it as `genreFilter5pct`).
 */
import { loadNative, type NativeAddon } from '../tensor/native.js';
import { Lru } from '../util/lru.js';
import { topK } from './vectors.js';

/** Gathered blocks kept at once, in bytes (a 50k-row 64-d filter is 12.8 MB). */
export const SUBSET_CACHE_BYTES = 256 * 2 ** 20;

interface Block {
  /** One buffer: [rows, dim] gathered vectors, then [dim] query, then [rows] scores (native gemm wants one heap). */
  buf: ArrayBuffer;
  rows: Int32Array;
  matrix: Float32Array;
  query: Float32Array;
  scores: Float32Array;
  /** The matrix it was gathered from: a grown or replaced matrix gathers again. */
  source: Float32Array;
}

export class SubsetScanner {
  /** Gathered blocks by filter list, bounded by their bytes (a block over the whole budget is not kept). */
  private readonly blocks: Lru<object, Block>;
  /**
   * Lists scanned once. A list enters the cache on its second scan: a store's posting lists (one
   * genre, one tag) come back as the same array every query, while a combined filter's list is a
   * fresh array per query and would only push useful blocks out.
   */
  private readonly seen = new WeakSet<object>();
  private readonly native: NativeAddon | undefined;

  constructor(
    readonly dim: number,
    maxBytes = SUBSET_CACHE_BYTES,
    native: NativeAddon | undefined = loadNative(),
  ) {
    this.blocks = new Lru(maxBytes, (b) => b.buf.byteLength);
    this.native = native;
  }

  /**
   * Exact top k by inner product of `query` over `data`'s rows listed in `allow`, less `exclude`:
   * [{ row, score }] best first (ties to the lower row).
   */
  scan(data: Float32Array, allow: ArrayLike<number>, query: Float32Array, k: number, exclude?: ReadonlySet<number>): { row: number; score: number }[] {
    const b = this.block(data, allow);
    const m = b.rows.length;
    const d = this.dim;
    if (this.native && m > 0) {
      b.query.set(query);
      this.native.gemm(b.buf, 1, m, 1, d, 0, 0, 0, m * d * 4, (m * d + d) * 4, 0, 0, -1, 0);
    } else {
      const a = b.matrix;
      for (let r = 0, o = 0; r < m; r++, o += d) {
        let s = 0;
        for (let j = 0; j < d; j++) s += (a[o + j] as number) * (query[j] as number);
        b.scores[r] = s;
      }
    }
    // topK skips NaN. The excluded ids are few (the query track), the rows many and sorted: look each id up.
    if (exclude) for (const r of exclude) {
      for (let i = lowerBound(b.rows, r); b.rows[i] === r; i++) b.scores[i] = Number.NaN;
    }
    // Rows are gathered in ascending order, so topK's tie rule (lower index) is the lower row.
    return topK(b.scores, k).map((h) => ({ row: b.rows[h.index] as number, score: h.score }));
  }

  private block(data: Float32Array, allow: ArrayLike<number>): Block {
    const key = allow as object;
    const hit = this.blocks.get(key);
    if (hit && hit.source === data && hit.rows.length === allow.length) return hit;
    const block = this.gather(data, allow);
    if (hit || this.seen.has(key)) this.blocks.set(key, block);
    else this.seen.add(key);
    return block;
  }

  /** `data`'s rows listed in `allow`, ascending, in one fresh block. */
  private gather(data: Float32Array, allow: ArrayLike<number>): Block {
    const d = this.dim;
    const m = allow.length;
    const buf = new ArrayBuffer((m * d + d + m) * 4);
    const matrix = new Float32Array(buf, 0, m * d);
    const rows = Int32Array.from(allow).sort();
    for (let i = 0; i < m; i++) {
      const r = rows[i] as number;
      matrix.set(data.subarray(r * d, (r + 1) * d), i * d);
    }
    return { buf, rows, matrix, query: new Float32Array(buf, m * d * 4, d), scores: new Float32Array(buf, (m * d + d) * 4, m), source: data };
  }

  /** Blocks held and their bytes (for tests and memory reports). */
  get cached(): { blocks: number; bytes: number } {
    return { blocks: this.blocks.size, bytes: this.blocks.weight };
  }
}

/** The first index of sorted `xs` whose value is ≥ x (xs.length when none). */
function lowerBound(xs: Int32Array, x: number): number {
  let lo = 0, hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((xs[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
