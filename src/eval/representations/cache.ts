/**
 * On-disk cache of per-track features: one safetensors file per (representation, seed, inputs),
 * written atomically. The key hashes everything the features depend on — the representation's
 * name, version and settings, the seed, every track's id and audio file (path and content) and
 * which tracks it trained on with what they carry (tags, genre, labels, text) — so a changed input never reuses a stale vector.
 */
import { createHash } from 'node:crypto';
import { audioKey } from '../../data/cache.js';
import { featureCachePath } from '../../util/runDirs.js';
import { loadSafetensors, saveSafetensors } from '../../util/safetensors.js';
import type { FeatureMatrix } from '../types.js';
import type { RepContext, Representation } from './types.js';

/** A file's content key, or 'missing' (a track whose audio is gone still has a row to key). */
async function fileStamp(path: string): Promise<string> {
  try {
    return await audioKey(path);
  } catch {
    return 'missing';
  }
}

/**
 * What a stamp covers: 'model' is everything pre-training can learn from; 'encoder' leaves out the
 * text (tracks' own and their albums' reviews), which stage 1 never reads, so a catalogue whose
 * descriptions change keeps its trained audio encoder.
 */
export type StampScope = 'encoder' | 'model';

/**
 * Everything pre-training on ctx's training corpus can learn from, one line per track: id, audio
 * path and content, split, tags, genre, label columns, sign labels and (scope 'model') text, its own
 * and its album's reviews. A learned row's features and its model directories are keyed on it.
 */
export async function trainingStamp(ctx: RepContext, scope: StampScope = 'model'): Promise<string> {
  const reviews = new Map(ctx.trainCorpus.albums.map((a) => [a.id, a.reviews]));
  const lines = await Promise.all(
    ctx.trainCorpus.tracks.map(async (t) => {
      const annotations: unknown[] = [t.genre ?? '', t.labels ?? {}];
      if (scope === 'model') annotations.push(t.texts ?? [], reviews.get(t.albumId ?? '') ?? []);
      return `${t.id}\t${t.audioPath}\t${await fileStamp(t.audioPath)}\t${t.split}\t${t.tags.join(',')}\t${t.valence ?? ''}\t${t.arousal ?? ''}\t${JSON.stringify(annotations)}`;
    }),
  );
  return lines.join('\n');
}

export async function cacheKey(rep: Representation, ctx: RepContext): Promise<string> {
  const h = createHash('sha256');
  h.update(JSON.stringify({ rep: rep.name, version: rep.version, settings: rep.settings(ctx), seed: rep.learned ? ctx.seed : 0 }));
  const stamps = await Promise.all(ctx.corpus.tracks.map((t) => fileStamp(t.audioPath)));
  ctx.corpus.tracks.forEach((t, i) => h.update(`\n${t.id}\t${t.audioPath}\t${stamps[i]}`));
  if (rep.learned) h.update(`\ntrain\n${await trainingStamp(ctx)}`);
  return h.digest('hex').slice(0, 20);
}

export function cachePath(rep: Representation, ctx: RepContext, key: string): string {
  return featureCachePath(ctx.cacheDir, rep.name, rep.learned ? ctx.seed : 0, key);
}

/** Cached features if present and intact, else undefined (a corrupt file is treated as absent). */
export async function readCachedFeatures(path: string, ids: readonly string[]): Promise<FeatureMatrix | undefined> {
  try {
    const { tensors, metadata } = await loadSafetensors(path);
    const f = tensors.features;
    const cachedIds = JSON.parse(metadata.ids ?? '[]') as string[];
    if (!f || f.dtype !== 'F32' || f.shape.length !== 2 || cachedIds.join('\n') !== ids.join('\n')) return undefined;
    return { ids: cachedIds, dim: f.shape[1] as number, data: f.data as Float32Array };
  } catch {
    return undefined;
  }
}

export async function writeCachedFeatures(path: string, m: FeatureMatrix, rep: string): Promise<void> {
  await saveSafetensors(path, { features: { dtype: 'F32', shape: [m.ids.length, m.dim], data: m.data } }, { rep, ids: JSON.stringify(m.ids) });
}

/** Features of `rep` for ctx's corpus: from the cache when the key matches, else computed and stored. */
export async function cachedRepresentation(rep: Representation, ctx: RepContext): Promise<{ features: FeatureMatrix; cached: boolean; path: string }> {
  const key = await cacheKey(rep, ctx);
  const path = cachePath(rep, ctx, key);
  const ids = ctx.corpus.tracks.map((t) => t.id);
  const hit = await readCachedFeatures(path, ids);
  if (hit) return { features: hit, cached: true, path };
  const features = await rep.compute(ctx);
  if (features.ids.join('\n') !== ids.join('\n') || features.data.length !== ids.length * features.dim) {
    throw new Error(`representation ${rep.name} returned ${features.ids.length} rows of ${features.dim} for ${ids.length} tracks`);
  }
  for (let i = 0; i < features.data.length; i++) {
    if (!Number.isFinite(features.data[i])) throw new Error(`representation ${rep.name} produced a non-finite value for track ${features.ids[Math.floor(i / features.dim)]}`);
  }
  await writeCachedFeatures(path, features, rep.name);
  return { features, cached: false, path };
}
