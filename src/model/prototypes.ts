/**
 * Music prototypes of tags: the mean joint vector of the tracks carrying a tag, computed by
 * pre-training over its training tracks and saved with the model (prototypes.safetensors). A
 * prototype is the music side's own notion of "happy": where the text side of a small joint space
 * is weakly aligned, the direction from the "sad" prototype to the "happy" one still points where
 * the tagged training music lies.
 *
 * The direction is Fisher's (LDA): Σ_w⁻¹(μ₊ − μ₋), with Σ_w the covariance of the two tags' tracks
 * about their own tag's mean (Ledoit–Wolf shrunk, so it inverts with a few dozen tracks in 64
 * dimensions). The plain difference μ₊ − μ₋ leans along whatever varies most inside the two groups
 * (genre, loudness); decorrelating by Σ_w keeps the part that tells them apart. Within the two
 * groups, not over all training tracks: on real music the spread of all tracks is mostly arousal,
 * so whitening by it suppressed the very axis "calmer" moves along. Measured with the models of the
 * chat benchmarks, on held-out tracks (README, the real-music chat section): AUC of the projection against
 * the held-out valence sign (real_dev fold 0, happy − sad) 0.537 → 0.642, arousal sign
 * (energetic − calm) 0.870 → 0.920; the whitening by all training tracks gave 0.653 and 0.702.
 * So the file keeps the training tracks' vectors and which of them carry each tag.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError, UsageError } from '../util/errors.js';
import { loadSafetensors, saveSafetensors, type TensorMap } from '../util/safetensors.js';

/** Beside labels.json in a model directory. */
export const PROTOTYPES_FILE = 'prototypes.safetensors';

/** Fewest tracks behind each end of a prototype direction; fewer is one artist's sound, not a mood. */
export const MIN_PROTOTYPE_TRACKS = 8;

export interface Prototype {
  /** The tags averaged (a word and the synonyms found). */
  tags: string[];
  /** Tracks behind it (a track with two of the tags counts twice). */
  count: number;
  /** [dim] mean of the tracks' joint vectors. */
  vector: Float32Array;
}

/** A model's prototypes and the training music they were taken over. */
export interface PrototypeSet {
  /** Lower-cased tag → prototype, over every tag at least one training track carries. */
  byTag: Map<string, Prototype>;
  /**
   * The training tracks' joint vectors [tracks, dim] and, per tag, the rows carrying it: what the
   * within-tag covariance of a direction is taken over. Absent in models saved before it (their
   * directions are plain differences of prototypes).
   */
  members?: { vectors: Float32Array; rowsByTag: Map<string, Int32Array> };
}

/** Prototypes of every tag the items carry, with the items' vectors and rows per tag (members). */
export function tagPrototypes(items: readonly { vector: Float32Array; tags: readonly string[] }[], dim: number): PrototypeSet {
  const sums = new Map<string, { rows: number[]; sum: Float64Array }>();
  const vectors = new Float32Array(items.length * dim); // [tracks, dim]
  items.forEach((it, row) => {
    if (it.vector.length !== dim) throw new UsageError(`tagPrototypes: a ${it.vector.length}-d vector where ${dim}-d were expected`);
    vectors.set(it.vector, row * dim);
    for (const tag of new Set(it.tags.map((t) => t.trim().toLowerCase()).filter(Boolean))) {
      let e = sums.get(tag);
      if (!e) sums.set(tag, (e = { rows: [], sum: new Float64Array(dim) }));
      e.rows.push(row);
      for (let i = 0; i < dim; i++) e.sum[i]! += it.vector[i]!;
    }
  });
  const byTag = new Map<string, Prototype>();
  const rowsByTag = new Map<string, Int32Array>();
  for (const [tag, { rows, sum }] of [...sums].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    byTag.set(tag, { tags: [tag], count: rows.length, vector: Float32Array.from(sum, (x) => x / rows.length) });
    rowsByTag.set(tag, Int32Array.from(rows));
  }
  return { byTag, members: { vectors, rowsByTag } };
}

/**
 * Ledoit & Wolf's (2004) shrunk covariance of `rows` ([n][dim]): (1 − s)·S + s·(tr S / dim)·I, S the
 * sample covariance (divided by n) and s the estimated optimal weight, min(b̄², d²) / d², where
 * d² = ‖S − μI‖² and b̄² = Σₖ ‖xₖxₖᵀ − S‖² / n² (‖·‖² the squared Frobenius norm over dim). Returns
 * [dim, dim] row-major.
 */
export function ledoitWolf(rows: readonly Float32Array[], dim: number): Float32Array {
  const n = rows.length;
  if (n < 2) throw new UsageError(`ledoitWolf: ${n} row(s); a covariance needs at least 2`);
  const mean = new Float64Array(dim);
  for (const r of rows) for (let i = 0; i < dim; i++) mean[i]! += r[i]! / n;
  const xs = rows.map((r) => Float64Array.from({ length: dim }, (_, i) => r[i]! - mean[i]!)); // [n][dim], centred
  const S = new Float64Array(dim * dim); // [dim, dim]
  for (const x of xs) for (let i = 0; i < dim; i++) for (let j = 0; j < dim; j++) S[i * dim + j]! += (x[i]! * x[j]!) / n;
  let mu = 0;
  for (let i = 0; i < dim; i++) mu += S[i * dim + i]! / dim;
  let sNorm2 = 0; // ‖S‖²_F
  for (const v of S) sNorm2 += v * v;
  const d2 = (sNorm2 - mu * mu * dim) / dim; // ‖S − μI‖²_F / dim = (‖S‖² − 2μ·tr S + μ²·dim) / dim, tr S = μ·dim
  let b2 = 0;
  for (const x of xs) {
    // ‖xxᵀ − S‖²_F = ‖x‖⁴ − 2·xᵀSx + ‖S‖²_F
    let xx = 0;
    let xSx = 0;
    for (let i = 0; i < dim; i++) {
      xx += x[i]! * x[i]!;
      let sx = 0;
      for (let j = 0; j < dim; j++) sx += S[i * dim + j]! * x[j]!;
      xSx += x[i]! * sx;
    }
    b2 += (xx * xx - 2 * xSx + sNorm2) / dim / (n * n);
  }
  const shrink = d2 > 0 ? Math.min(b2, d2) / d2 : 1;
  return Float32Array.from(S, (v, k) => (1 - shrink) * v + (k % (dim + 1) === 0 ? shrink * mu : 0));
}

/**
 * The music direction from `neg` to `pos` (prototypes of `set`, as prototypeOf merges them):
 * Σ_w⁻¹(pos − neg) by a Cholesky solve, Σ_w the Ledoit–Wolf covariance of both prototypes' member
 * tracks about their own prototype's mean (LDA), when the set keeps its members; else pos − neg.
 * Its scale is arbitrary (a conversation standardises the scores). Cost: O(members × dim²), about
 * 0.4 M multiply-adds for two tags of 100 tracks at 64-d, so it is computed when a turn asks for it.
 */
export function prototypeDirection(set: PrototypeSet, pos: Prototype, neg: Prototype): Float32Array {
  const dim = pos.vector.length;
  const diff = Float64Array.from(pos.vector, (x, i) => x - neg.vector[i]!);
  const m = set.members;
  if (!m) return Float32Array.from(diff);
  const centred: Float32Array[] = []; // [members of both][dim], each about its own prototype
  for (const p of [pos, neg]) {
    for (const tag of p.tags) {
      for (const row of m.rowsByTag.get(tag) ?? []) centred.push(Float32Array.from({ length: dim }, (_, i) => m.vectors[row * dim + i]! - p.vector[i]!));
    }
  }
  const w = centred.length >= 2 ? choleskySolve(ledoitWolf(centred, dim), dim, diff) : undefined;
  return Float32Array.from(w ?? diff);
}

/** x with A x = b for a symmetric positive definite A ([n, n] row-major); undefined when A is not. */
function choleskySolve(A: Float32Array, n: number, b: Float64Array): Float64Array | undefined {
  const L = new Float64Array(n * n); // lower triangle, A = L Lᵀ
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * n + j]!;
      for (let k = 0; k < j; k++) s -= L[i * n + k]! * L[j * n + k]!;
      if (i === j) {
        if (!(s > 0)) return undefined;
        L[i * n + i] = Math.sqrt(s);
      } else {
        L[i * n + j] = s / L[j * n + j]!;
      }
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= L[i * n + k]! * y[k]!;
    y[i] = s / L[i * n + i]!;
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < n; k++) s -= L[k * n + i]! * x[k]!;
    x[i] = s / L[i * n + i]!;
  }
  return x;
}

/** The prototype of `word` and those of its `synonyms` that exist, merged by count; undefined when none does. */
export function prototypeOf(prototypes: ReadonlyMap<string, Prototype>, word: string, synonyms: readonly string[] = []): Prototype | undefined {
  const found = [...new Set([word, ...synonyms].map((w) => w.toLowerCase()))].map((w) => prototypes.get(w)).filter((p): p is Prototype => p !== undefined);
  if (found.length === 0) return undefined;
  const dim = found[0]!.vector.length;
  const count = found.reduce((a, p) => a + p.count, 0);
  const vector = new Float32Array(dim);
  for (const p of found) for (let i = 0; i < dim; i++) vector[i]! += (p.vector[i]! * p.count) / count;
  return { tags: found.flatMap((p) => p.tags), count, vector };
}

/**
 * Write `set` atomically: the prototypes as one tensor [n, dim] (tags and counts in the metadata)
 * and, when kept, the members: the training vectors [tracks, dim], every tag's rows one after the
 * other (I32) and each tag's end offset into them (I32 [n]). The members cost 4 × dim bytes a tagged
 * training track (25 MB for 100k tracks at 64-d).
 */
export async function savePrototypes(modelDir: string, set: PrototypeSet): Promise<void> {
  const list = [...set.byTag.entries()];
  const dim = list[0]?.[1].vector.length ?? 0;
  const data = new Float32Array(list.length * dim);
  list.forEach(([, p], i) => data.set(p.vector, i * dim));
  const tensors: TensorMap = { vectors: { dtype: 'F32', shape: [list.length, dim], data } };
  const m = set.members;
  if (m && dim > 0) {
    const rows = list.map(([tag]) => m.rowsByTag.get(tag) ?? new Int32Array(0));
    const ends = new Int32Array(rows.length);
    let at = 0;
    rows.forEach((r, i) => (ends[i] = at += r.length));
    const flat = new Int32Array(at);
    rows.forEach((r, i) => flat.set(r, (ends[i] as number) - r.length));
    tensors.memberVectors = { dtype: 'F32', shape: [m.vectors.length / dim, dim], data: m.vectors };
    tensors.memberRows = { dtype: 'I32', shape: [flat.length], data: flat };
    tensors.memberEnds = { dtype: 'I32', shape: [ends.length], data: ends };
  }
  await saveSafetensors(join(modelDir, PROTOTYPES_FILE), tensors, {
    format: 'musicbert-prototypes',
    tags: JSON.stringify(list.map(([t]) => t)),
    counts: JSON.stringify(list.map(([, p]) => p.count)),
  });
}

/** The prototypes saved in a model directory, or undefined for a model saved without them. */
export async function loadPrototypes(modelDir: string, dim: number): Promise<PrototypeSet | undefined> {
  const path = join(modelDir, PROTOTYPES_FILE);
  if (!existsSync(path)) return undefined;
  const { tensors, metadata } = await loadSafetensors(path);
  const v = tensors.vectors;
  let tags: unknown, counts: unknown;
  try {
    tags = JSON.parse(metadata.tags ?? 'null');
    counts = JSON.parse(metadata.counts ?? 'null');
  } catch {
    tags = undefined;
  }
  const n = Array.isArray(tags) ? tags.length : -1;
  const bad = (what: string) => new CheckpointError(`not musicbert prototypes of ${dim}-d vectors: ${what}`, path);
  if (metadata.format !== 'musicbert-prototypes' || !v || v.dtype !== 'F32' || v.shape[0] !== n || (n > 0 && v.shape[1] !== dim) || !Array.isArray(counts) || counts.length !== n) {
    throw bad(`expected format "musicbert-prototypes" with a [tags, ${dim}] tensor, tags and counts`);
  }
  const byTag = new Map<string, Prototype>();
  (tags as string[]).forEach((t, i) => byTag.set(t, { tags: [t], count: Number((counts as number[])[i]), vector: (v.data as Float32Array).slice(i * dim, (i + 1) * dim) }));
  const { memberVectors: mv, memberRows: mr, memberEnds: me } = tensors;
  if (!mv && !mr && !me) return { byTag };
  if (!mv || !mr || !me || mv.dtype !== 'F32' || mv.shape[1] !== dim || mr.dtype !== 'I32' || me.dtype !== 'I32' || me.shape[0] !== n) {
    throw bad(`members need memberVectors [tracks, ${dim}] F32, memberRows I32 and memberEnds I32 [${n}]`);
  }
  const tracks = mv.shape[0] as number;
  const rows = mr.data as Int32Array;
  const ends = me.data as Int32Array;
  const rowsByTag = new Map<string, Int32Array>();
  let start = 0;
  for (let i = 0; i < n; i++) {
    const end = ends[i] as number;
    const r = end >= start && end <= rows.length ? rows.subarray(start, end) : undefined;
    if (!r || r.length !== byTag.get((tags as string[])[i] as string)!.count || r.some((x) => x < 0 || x >= tracks)) throw bad(`the member rows of tag "${(tags as string[])[i]}" do not match its count or the ${tracks} tracks`);
    rowsByTag.set((tags as string[])[i] as string, r.slice());
    start = end;
  }
  return { byTag, members: { vectors: (mv.data as Float32Array).slice(), rowsByTag } };
}
