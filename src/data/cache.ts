/**
 * On-disk cache of the two expensive per-track products of pre-training:
 *  - log-mel patches [n, 96, 64] of each audio file (decode + resample + log-mel), keyed by the
 *    file's content (sha256) and the front-end version, so stage 1 and re-runs skip decoding;
 *  - the frozen encoder's patch vectors [n, 128] of a whole corpus, one file per (encoder weights,
 *    corpus) hash, so stage 2 (and a re-run with other objectives) reuses them.
 * Files are safetensors written atomically; a corrupt or mismatched entry is recomputed, never
 * trusted.
 */
import { createHash } from 'node:crypto';
import { mkdir, stat, access } from 'node:fs/promises';
import { constants, createReadStream } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TrackRecord } from './corpus.js';
import { patchesFromFile, toPatches, PATCH_SIZE, type PatchSet } from '../audio/index.js';
import { loadSafetensors, saveSafetensors, type TensorMap } from '../util/safetensors.js';
import { Progress } from '../util/progress.js';
import { DatasetError } from '../util/errors.js';
import { corpusCacheDir } from '../util/runDirs.js';
import { Lru } from '../util/lru.js';

/** Bump when the audio front end changes its output, to invalidate cached patches. */
export const PATCH_CACHE_VERSION = 1;

export type { PatchSet };

/** A track's vectors, [count, dim] row-major. */
export interface VectorSet {
  data: Float32Array;
  count: number;
}

function sha(text: string | Uint8Array): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Where the cache goes by default: beside the corpus (so every run on it shares the patches),
 * or under `fallback` when the corpus directory is read-only (a mounted dataset).
 */
export async function defaultCacheDir(dataDir: string, fallback: string): Promise<string> {
  const dir = corpusCacheDir(dataDir);
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
    return dir;
  } catch {
    return resolve(fallback);
  }
}

/**
 * The identity of one audio file's bytes: sha256 of its content, memoised per (path, size, mtime)
 * within the process. Content, not the mtime, because a copy of a dataset (a restore, a re-mounted
 * share, `cp` without `-p`) gives every file a new mtime: keyed on it, every cache and every
 * pre-training fingerprint went stale and a finished run refused to be reused. Reading the bytes
 * costs one pass over the files (about a second for 150 MB), small beside decoding them.
 */
const contentHashes = new Lru<string, Promise<string>>(1 << 16);

function contentSha(abs: string, size: number, mtimeMs: number): Promise<string> {
  const memo = `${abs}|${size}|${mtimeMs}`;
  let pending = contentHashes.get(memo);
  if (!pending) {
    pending = new Promise<string>((res, rej) => {
      const h = createHash('sha256');
      createReadStream(abs)
        .on('data', (chunk) => h.update(chunk))
        .on('error', rej)
        .on('end', () => res(h.digest('hex')));
    });
    contentHashes.set(memo, pending);
    pending.catch(() => contentHashes.delete(memo));
  }
  return pending;
}

/** Cache key of one audio file: its size, the sha256 of its bytes and the front-end version. */
export async function audioKey(audioPath: string): Promise<string> {
  const abs = resolve(audioPath);
  try {
    const s = await stat(abs);
    return sha(`patches-v${PATCH_CACHE_VERSION}|${s.size}|${await contentSha(abs, s.size, s.mtimeMs)}`).slice(0, 32);
  } catch (err) {
    throw new DatasetError(`cannot read audio file (${(err as Error).message})`, abs, { cause: err });
  }
}

async function tryLoad(path: string, name: string, width: number): Promise<{ data: Float32Array; count: number } | undefined> {
  try {
    const { tensors } = await loadSafetensors(path);
    const t = tensors[name];
    if (!t || t.dtype !== 'F32' || t.shape.length !== 2 || t.shape[1] !== width) return undefined;
    return { data: t.data as Float32Array, count: t.shape[0] as number };
  } catch {
    // Missing or corrupt: the caller recomputes and overwrites it.
    return undefined;
  }
}

/**
 * A track's patches from the cache, computing and storing them on a miss. `logMel` supplies the
 * spectrogram when the caller already holds one (the evaluation's front end), so a file is
 * decoded once for both the features and pre-training.
 */
export async function trackPatches(track: TrackRecord, cacheDir: string, logMel?: (path: string) => Promise<{ data: Float32Array; frames: number }>): Promise<PatchSet> {
  const key = await audioKey(track.audioPath);
  const path = join(cacheDir, 'patches', `${key}.safetensors`);
  const hit = await tryLoad(path, 'patches', PATCH_SIZE);
  if (hit) return hit;
  const p = logMel ? await logMel(track.audioPath).then((lm) => toPatches(lm.data, lm.frames)) : await patchesFromFile(track.audioPath);
  const tensors: TensorMap = { patches: { dtype: 'F32', shape: [p.count, PATCH_SIZE], data: p.data } };
  await saveSafetensors(path, tensors, { audioPath: resolve(track.audioPath), trackId: track.id });
  return { data: p.data, count: p.count };
}

/** Patches of many tracks (with progress), keyed by track id. */
export async function corpusPatches(
  tracks: readonly TrackRecord[],
  cacheDir: string,
  opts: { quiet?: boolean; label?: string } = {},
): Promise<Map<string, PatchSet>> {
  const out = new Map<string, PatchSet>();
  const progress = new Progress({ total: tracks.length, label: opts.label ?? 'patches', quiet: opts.quiet });
  for (const t of tracks) {
    out.set(t.id, await trackPatches(t, cacheDir));
    progress.tick();
  }
  progress.finish();
  return out;
}

/** Content hash of a set of weights: names, shapes and bytes (order-independent). */
export function weightsHash(weights: Record<string, { shape: readonly number[]; data: ArrayLike<number> & { buffer: ArrayBufferLike; byteOffset: number; byteLength: number } }>): string {
  const h = createHash('sha256');
  for (const name of Object.keys(weights).sort()) {
    const w = weights[name]!;
    h.update(`${name}[${w.shape.join(',')}]`);
    h.update(new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength));
  }
  return h.digest('hex').slice(0, 32);
}

/** Hash of which audio a set of tracks refers to (ids + audio keys), for the embeddings file name. */
export async function corpusHash(tracks: readonly TrackRecord[]): Promise<string> {
  const keys = await Promise.all(tracks.map(async (t) => `${t.id}=${await audioKey(t.audioPath)}`));
  return sha(keys.sort().join('\n')).slice(0, 32);
}

/**
 * Every track's encoder vectors for one encoder, from `cacheDir/embeddings/<encoder>-<corpus>`
 * when present, else computed with `embed` (per track) and written in one atomic file.
 */
export async function cachedEmbeddings(
  tracks: readonly TrackRecord[],
  encoderHash: string,
  dim: number,
  cacheDir: string,
  embed: (track: TrackRecord) => Promise<VectorSet>,
  opts: { quiet?: boolean; label?: string } = {},
): Promise<{ vectors: Map<string, VectorSet>; path: string; reused: boolean }> {
  const path = join(cacheDir, 'embeddings', `${encoderHash}-${await corpusHash(tracks)}.safetensors`);
  try {
    const { tensors } = await loadSafetensors(path);
    const vectors = new Map<string, VectorSet>();
    for (const t of tracks) {
      const e = tensors[t.id];
      if (!e || e.dtype !== 'F32' || e.shape.length !== 2 || (e.shape[0]! > 0 && e.shape[1] !== dim)) throw new Error('incomplete');
      vectors.set(t.id, { data: e.data as Float32Array, count: e.shape[0] as number });
    }
    return { vectors, path, reused: true };
  } catch {
    // not cached yet (or unusable): compute below
  }
  const vectors = new Map<string, VectorSet>();
  const tensors: TensorMap = {};
  const progress = new Progress({ total: tracks.length, label: opts.label ?? 'embed', quiet: opts.quiet });
  for (const t of tracks) {
    const v = await embed(t);
    vectors.set(t.id, v);
    tensors[t.id] = { dtype: 'F32', shape: [v.count, dim], data: v.data };
    progress.tick();
  }
  progress.finish();
  await saveSafetensors(path, tensors, { encoder: encoderHash });
  return { vectors, path, reused: false };
}
