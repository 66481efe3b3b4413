/**
 * A catalogue held in memory for conversation: every stored vector as one [N, dim] matrix, each
 * row's metadata, and which rows carry which label (genre or tag). A conversation re-scores the
 * whole catalogue on every turn with a composed query (several weighted terms, label filters,
 * exclusions), which an exact in-memory scan does deterministically and, at N·dim floats, cheaply
 * (100k × 128-d is 51 MB and ~10 ms a turn). Loaded once and shared by every session of a server.
 */
import { UsageError } from '../util/errors.js';
import type { TrackMeta, VectorStore } from './store.js';
import { labelText } from './zeroShot.js';

export interface CatalogueView {
  dim: number;
  ids: string[];
  /** [N, dim] unit rows, in `ids` order. */
  data: Float32Array;
  meta: TrackMeta[];
  /** Row of each id. */
  row: ReadonlyMap<string, number>;
  /** Label as words ("hip hop", "acoustic guitar") → rows carrying it as genre or tag. */
  labels: ReadonlyMap<string, readonly number[]>;
  /** Labels that are genres (so "not metal" reads as "a metal track", not "a track with metal"). */
  genres: ReadonlySet<string>;
  /**
   * Measured tempo of each row in BPM (NaN where unknown), when the rows carried one: "slower" and
   * "faster" then rank by it instead of by a text direction.
   */
  tempo?: Float64Array;
}

/** A catalogue row: its stored metadata and vector, and optionally a tempo measured from its audio. */
export type CatalogueRow = TrackMeta & { vector: Float32Array; bpm?: number | undefined };

/** A label the way people write it: lower case, underscores as spaces, "hiphop" → "hip hop". */
export function labelKey(label: string): string {
  return labelText(label.trim().toLowerCase()).replace(/\s+/g, ' ');
}

/** Build the view from rows already in memory (tests, benchmarks, a loaded store). */
export function catalogueView(dim: number, rows: readonly CatalogueRow[]): CatalogueView {
  const data = new Float32Array(rows.length * dim);
  const ids: string[] = [];
  const meta: TrackMeta[] = [];
  const row = new Map<string, number>();
  const labels = new Map<string, number[]>();
  const genres = new Set<string>();
  const withTempo = rows.some((r) => r.bpm !== undefined);
  const tempo = new Float64Array(withTempo ? rows.length : 0);
  const add = (label: string, i: number): void => {
    const key = labelKey(label);
    if (!key) return;
    const list = labels.get(key) ?? [];
    if (list[list.length - 1] !== i) list.push(i);
    labels.set(key, list);
  };
  rows.forEach((r, i) => {
    if (r.vector.length !== dim) throw new UsageError(`catalogue track "${r.id}" has a ${r.vector.length}-d vector, expected ${dim}`);
    if (row.has(r.id)) throw new UsageError(`catalogue track id "${r.id}" appears twice`);
    data.set(r.vector, i * dim);
    ids.push(r.id);
    const { vector: _vector, bpm, ...m } = r;
    if (bpm !== undefined && !(Number.isFinite(bpm) && bpm > 0)) throw new UsageError(`catalogue track "${r.id}" has tempo ${bpm}: expected a positive BPM`);
    if (withTempo) tempo[i] = bpm ?? Number.NaN;
    meta.push(m);
    row.set(r.id, i);
    if (r.genre) {
      add(r.genre, i);
      genres.add(labelKey(r.genre));
    }
    for (const t of r.tags) add(t, i);
  });
  return { dim, ids, data, meta, row, labels, genres, ...(withTempo ? { tempo } : {}) };
}

/** Every stored track of `store`, in a stable order (by id), vectors and metadata. */
export async function loadCatalogueView(store: VectorStore): Promise<CatalogueView> {
  const { ids, data } = await store.matrix();
  if (ids.length === 0) return catalogueView(store.dim, []);
  // One exact search as long as the catalogue returns every row with its metadata.
  const hits = await store.search(data.subarray(0, store.dim), ids.length, { exact: true });
  const metaById = new Map(hits.map((h) => [h.id, h]));
  const order = ids.map((id, i) => ({ id, i })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const rows = order.map(({ id, i }) => {
    const h = metaById.get(id);
    if (!h) throw new UsageError(`track "${id}" is in the store's vectors but not in its metadata`);
    const { score: _score, ...m } = h;
    return { ...m, vector: data.slice(i * store.dim, (i + 1) * store.dim) };
  });
  return catalogueView(store.dim, rows);
}
