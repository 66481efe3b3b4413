/**
 * The store's rows in memory, for search: every id, its metadata and vector ([rows, dim], the
 * order LanceDB scans them), posting lists for the filters a catalogue needs (genre, tag, group =
 * album), and the usearch graph when one was built (annIndex.ts). A query is then a graph walk or
 * a JS scan plus a few array reads: no LanceDB query, no await, per request (issue 13 and issue
 * 14's search throughput). VectorStore loads a view once and reloads it when the table changes.
 */
import { AnnIndex } from './annIndex.js';
import type { SearchHit, TrackMeta } from './track.js';
import { scoreRows, topK } from './vectors.js';

/** What a search may be narrowed by; all given filters must hold. */
export interface SearchFilter {
  /** Only tracks of this genre (exact, as stored). */
  genre?: string | undefined;
  /** Only tracks carrying this tag. */
  tag?: string | undefined;
  /** Only tracks of this group (the album / artist id stored as albumId). */
  group?: string | undefined;
  /** Never these ids (e.g. the query track itself). */
  exclude?: ReadonlySet<string> | undefined;
}

export interface ViewSearchOptions extends SearchFilter {
  /** Scan every (allowed) row exactly instead of walking the graph. */
  exact?: boolean | undefined;
}

const NO_ROWS: readonly number[] = [];

function post(map: Map<string, number[]>, key: string, row: number): void {
  const list = map.get(key);
  if (list) list.push(row);
  else map.set(key, [row]);
}

export class StoreView {
  private readonly rowOf = new Map<string, number>();
  private readonly byGenre = new Map<string, number[]>();
  private readonly byTag = new Map<string, number[]>();
  private readonly byGroup = new Map<string, number[]>();

  constructor(
    readonly dim: number,
    readonly metas: readonly TrackMeta[],
    /** [rows, dim] unit vectors, row i = metas[i]. */
    readonly data: Float32Array,
    /** The graph over `data` (row keys), when the store has one that matches these rows. */
    readonly ann: AnnIndex | undefined,
    /** The LanceDB table version the view was read at. */
    readonly version: number,
  ) {
    metas.forEach((m, i) => {
      this.rowOf.set(m.id, i);
      if (m.genre !== undefined) post(this.byGenre, m.genre, i);
      if (m.albumId !== undefined) post(this.byGroup, m.albumId, i);
      for (const t of new Set(m.tags)) post(this.byTag, t, i);
    });
  }

  get rows(): number {
    return this.metas.length;
  }

  meta(id: string): TrackMeta | undefined {
    const r = this.rowOf.get(id);
    return r === undefined ? undefined : this.metas[r];
  }

  vector(id: string): Float32Array | undefined {
    const r = this.rowOf.get(id);
    return r === undefined ? undefined : this.data.slice(r * this.dim, (r + 1) * this.dim);
  }

  /**
   * The rows every filter allows (undefined = no filter): the shortest posting list, checked
   * against the other filters' metadata. Sorted ascending (posting lists are built in row order).
   */
  private allowed(f: SearchFilter): readonly number[] | undefined {
    const lists: (readonly number[])[] = [];
    if (f.genre !== undefined) lists.push(this.byGenre.get(f.genre) ?? NO_ROWS);
    if (f.tag !== undefined) lists.push(this.byTag.get(f.tag) ?? NO_ROWS);
    if (f.group !== undefined) lists.push(this.byGroup.get(f.group) ?? NO_ROWS);
    if (lists.length === 0) return undefined;
    if (lists.length === 1) return lists[0];
    const shortest = lists.reduce((a, b) => (b.length < a.length ? b : a));
    return shortest.filter((r) => {
      const m = this.metas[r] as TrackMeta;
      return (f.genre === undefined || m.genre === f.genre) && (f.tag === undefined || m.tags.includes(f.tag)) && (f.group === undefined || m.albumId === f.group);
    });
  }

  /** The k best rows for unit `query` by inner product (= cosine), best first. */
  search(query: Float32Array, k: number, opts: ViewSearchOptions = {}): SearchHit[] {
    const allow = this.allowed(opts);
    if (allow?.length === 0 || this.rows === 0) return [];
    let exclude: Set<number> | undefined;
    if (opts.exclude && opts.exclude.size > 0) {
      exclude = new Set();
      for (const id of opts.exclude) {
        const r = this.rowOf.get(id);
        if (r !== undefined) exclude.add(r);
      }
    }
    const hits = this.ann && !opts.exact ? this.ann.search(query, k, { allow, exclude }) : this.scan(query, k, allow, exclude);
    return hits.map((h) => ({ ...(this.metas[h.row] as TrackMeta), score: h.score }));
  }

  /** Exact top k over all rows (or the allowed ones), excluded rows left out. */
  private scan(query: Float32Array, k: number, allow: readonly number[] | undefined, exclude: ReadonlySet<number> | undefined): { row: number; score: number }[] {
    const d = this.dim;
    if (allow === undefined) {
      const scores = scoreRows(this.data, d, query);
      if (exclude) for (const r of exclude) scores[r] = NaN; // topK skips NaN
      return topK(scores, k).map((h) => ({ row: h.index, score: h.score }));
    }
    const rows = exclude ? allow.filter((r) => !exclude.has(r)) : allow;
    const scores = new Float32Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const o = (rows[i] as number) * d;
      let s = 0;
      for (let j = 0; j < d; j++) s += (query[j] as number) * (this.data[o + j] as number);
      scores[i] = s;
    }
    return topK(scores, k).map((h) => ({ row: rows[h.index] as number, score: h.score }));
  }
}
