/**
 * Pure vector helpers for the joint space: normalisation, cosine scores, top-k selection and the
 * exact (brute-force) nearest-neighbour scan that every approximate index is measured against.
 * Vectors are rows of a row-major Float32Array matrix ([N, D]).
 */
import { UsageError } from '../util/errors.js';

export interface Hit {
  /** Row index in the scanned matrix. */
  index: number;
  /** Cosine similarity (dot product of unit vectors). */
  score: number;
}

/** A unit-length copy of `v` (a zero vector stays zero rather than becoming NaN). */
export function normalize(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += (v[i] as number) * (v[i] as number);
  const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = (v[i] as number) * inv;
  return out;
}

export function dot(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new UsageError(`dot: vectors have different sizes (${a.length} vs ${b.length})`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

/** Cosine similarity of two vectors of any length (0 when either is zero). */
export function cosine(a: Float32Array, b: Float32Array): number {
  const na = Math.sqrt(dot(a, a));
  const nb = Math.sqrt(dot(b, b));
  return na > 0 && nb > 0 ? dot(a, b) / (na * nb) : 0;
}

/**
 * The k largest entries of `scores`, best first; ties keep the lower index first so results are
 * deterministic. A size-k min-heap makes this O(N log k) rather than sorting all N.
 */
export function topK(scores: Float32Array | Float64Array, k: number): Hit[] {
  const n = Math.min(Math.max(0, Math.floor(k)), scores.length);
  if (n === 0) return [];
  // Heap of indices ordered so the root is the current worst kept hit.
  const heap: number[] = [];
  const worse = (a: number, b: number): boolean => {
    const sa = scores[a] as number, sb = scores[b] as number;
    return sa < sb || (sa === sb && a > b);
  };
  const siftUp = (i: number): void => {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!worse(heap[i] as number, heap[p] as number)) break;
      [heap[i], heap[p]] = [heap[p] as number, heap[i] as number];
      i = p;
    }
  };
  const siftDown = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < heap.length && worse(heap[l] as number, heap[m] as number)) m = l;
      if (r < heap.length && worse(heap[r] as number, heap[m] as number)) m = r;
      if (m === i) break;
      [heap[i], heap[m]] = [heap[m] as number, heap[i] as number];
      i = m;
    }
  };
  // Indices rise, so a later score equal to the worst kept one loses the tie: once the heap is
  // full only a strictly greater score enters, one comparison per row (the scan's hot loop).
  let worst = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i] as number;
    if (Number.isNaN(s)) continue;
    if (heap.length < n) {
      heap.push(i);
      siftUp(heap.length - 1);
      if (heap.length === n) worst = scores[heap[0] as number] as number;
    } else if (s > worst) {
      heap[0] = i;
      siftDown(0);
      worst = scores[heap[0] as number] as number;
    }
  }
  return heap
    .map((index) => ({ index, score: scores[index] as number }))
    .sort((a, b) => b.score - a.score || a.index - b.index);
}

/** Dot product of `query` [D] with every row of `matrix` [N, D] → scores [N]. */
export function scoreRows(matrix: Float32Array, dim: number, query: Float32Array): Float32Array {
  if (query.length !== dim) throw new UsageError(`scoreRows: query has ${query.length} values, rows have ${dim}`);
  if (matrix.length % dim !== 0) throw new UsageError(`scoreRows: matrix of ${matrix.length} values is not a multiple of dim ${dim}`);
  const n = matrix.length / dim;
  const out = new Float32Array(n);
  for (let r = 0, o = 0; r < n; r++, o += dim) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += (matrix[o + j] as number) * (query[j] as number);
    out[r] = s;
  }
  return out;
}

/**
 * Exact cosine nearest neighbours of `query` among unit rows of `matrix` [N, D]: the baseline an
 * approximate index is checked against (recall@k). Rows must already be L2-normalised.
 */
export function exactSearch(matrix: Float32Array, dim: number, query: Float32Array, k: number): Hit[] {
  return topK(scoreRows(matrix, dim, normalize(query)), k);
}

/** |approx ∩ exact| / |exact|: the share of the true top-k an approximate search returned. */
export function recallAtK<T>(approx: readonly T[], exact: readonly T[]): number {
  if (exact.length === 0) return 1;
  const truth = new Set(exact);
  let hit = 0;
  for (const a of new Set(approx)) if (truth.has(a)) hit++;
  return hit / exact.length;
}

/** Numerically stable softmax of `x / temperature`. */
export function softmax(x: readonly number[], temperature = 1): number[] {
  if (!(temperature > 0)) throw new UsageError(`softmax: temperature must be > 0 (got ${temperature})`);
  if (x.length === 0) return [];
  const m = Math.max(...x);
  const e = x.map((v) => Math.exp((v - m) / temperature));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}
