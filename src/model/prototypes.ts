/**
 * Music prototypes of tags: the mean joint vector of the tracks carrying a tag, computed by
 * pre-training over its training tracks and saved with the model (prototypes.safetensors). A
 * prototype is the music side's own notion of "happy": where the text side of a small joint space
 * is weakly aligned, the direction from the "sad" prototype to the "happy" one still points where
 * the tagged training music lies.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError, UsageError } from '../util/errors.js';
import { loadSafetensors, saveSafetensors } from '../util/safetensors.js';

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

/** Lower-cased tag → prototype, over every tag at least one track carries. */
export function tagPrototypes(items: readonly { vector: Float32Array; tags: readonly string[] }[], dim: number): Map<string, Prototype> {
  const sums = new Map<string, { count: number; sum: Float64Array }>();
  for (const it of items) {
    if (it.vector.length !== dim) throw new UsageError(`tagPrototypes: a ${it.vector.length}-d vector where ${dim}-d were expected`);
    for (const tag of new Set(it.tags.map((t) => t.trim().toLowerCase()).filter(Boolean))) {
      let e = sums.get(tag);
      if (!e) sums.set(tag, (e = { count: 0, sum: new Float64Array(dim) }));
      e.count++;
      for (let i = 0; i < dim; i++) e.sum[i]! += it.vector[i]!;
    }
  }
  const out = new Map<string, Prototype>();
  for (const [tag, { count, sum }] of [...sums].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    out.set(tag, { tags: [tag], count, vector: Float32Array.from(sum, (x) => x / count) });
  }
  return out;
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

/** Write `prototypes` (one tensor [n, dim], the tags and counts in its metadata), atomically. */
export async function savePrototypes(modelDir: string, prototypes: ReadonlyMap<string, Prototype>): Promise<void> {
  const list = [...prototypes.entries()];
  const dim = list[0]?.[1].vector.length ?? 0;
  const data = new Float32Array(list.length * dim);
  list.forEach(([, p], i) => data.set(p.vector, i * dim));
  await saveSafetensors(join(modelDir, PROTOTYPES_FILE), { vectors: { dtype: 'F32', shape: [list.length, dim], data } }, {
    format: 'musicbert-prototypes',
    tags: JSON.stringify(list.map(([t]) => t)),
    counts: JSON.stringify(list.map(([, p]) => p.count)),
  });
}

/** The prototypes saved in a model directory, or undefined for a model saved without them. */
export async function loadPrototypes(modelDir: string, dim: number): Promise<Map<string, Prototype> | undefined> {
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
  if (metadata.format !== 'musicbert-prototypes' || !v || v.dtype !== 'F32' || v.shape[0] !== n || (n > 0 && v.shape[1] !== dim) || !Array.isArray(counts) || counts.length !== n) {
    throw new CheckpointError(`not musicbert prototypes of ${dim}-d vectors (expected format "musicbert-prototypes" with a [tags, ${dim}] tensor, tags and counts)`, path);
  }
  const out = new Map<string, Prototype>();
  (tags as string[]).forEach((t, i) => out.set(t, { tags: [t], count: Number((counts as number[])[i]), vector: (v.data as Float32Array).slice(i * dim, (i + 1) * dim) }));
  return out;
}
