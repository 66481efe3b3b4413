/**
 * The log-mel front end shared by every representation: one decode + log-mel per audio file per
 * evaluation run (memoised), and the fixed-size patches the convnets read. Given a cache
 * directory, spectrograms also persist on disk (keyed by the file's content), so a re-run
 * on the same catalogue decodes nothing: decoding 380 30-s MP3s costs minutes of CPU.
 */
import { join } from 'node:path';
import { logMelFromFile, MEL_BANDS, PATCH_FRAMES, PATCH_SIZE, toPatches, type LogMel, type PatchSet } from '../../audio/index.js';
import { audioKey } from '../../data/cache.js';
import { DatasetError, MusicBertError } from '../../util/errors.js';
import { loadSafetensors, saveSafetensors } from '../../util/safetensors.js';

export type { LogMel };

export class LogMelSource {
  private readonly memo = new Map<string, Promise<LogMel>>();

  /** `cacheDir`: keep spectrograms on disk under cacheDir/logmel/ too (default: memory only). */
  constructor(private readonly cacheDir?: string) {}

  private async compute(path: string): Promise<LogMel> {
    if (!this.cacheDir) return logMelFromFile(path);
    const file = join(this.cacheDir, 'logmel', `${await audioKey(path)}.safetensors`);
    try {
      const t = (await loadSafetensors(file)).tensors.logmel;
      if (t && t.dtype === 'F32' && t.shape.length === 2 && t.shape[1] === MEL_BANDS) return { data: t.data as Float32Array, frames: t.shape[0] as number };
    } catch {
      // absent or corrupt: recompute and overwrite
    }
    const lm = await logMelFromFile(path);
    await saveSafetensors(file, { logmel: { dtype: 'F32', shape: [lm.frames, MEL_BANDS], data: lm.data } }, { audioPath: path });
    return lm;
  }

  /** Log-mel of a file; decode failures become a DatasetError naming the file. */
  get(path: string): Promise<LogMel> {
    let p = this.memo.get(path);
    if (!p) {
      p = this.compute(path).catch((err: unknown) => {
        this.memo.delete(path);
        const why = err instanceof MusicBertError ? err.message : String(err);
        throw new DatasetError(`cannot compute the log-mel spectrogram (${why})`, path, { cause: err });
      });
      this.memo.set(path, p);
    }
    return p;
  }

  /** Forget every memoised spectrogram (frees memory between runs). */
  clear(): void {
    this.memo.clear();
  }
}

/**
 * Up to `max` of a clip's patches (toPatches: the VGGish ones), spread evenly over it, first and
 * last included, `[count, 96, 64]`: the convnets' sample of a track. A clip shorter than one patch
 * has none and is an error, as everywhere else (model/pipeline.ts).
 */
export function spreadPatches(lm: LogMel, max: number, source = '<log-mel>'): PatchSet {
  const all = toPatches(lm.data, lm.frames);
  if (all.count === 0) throw new DatasetError(`audio is shorter than one 0.96 s patch (${lm.frames} of ${PATCH_FRAMES} frames)`, source);
  const cell = PATCH_SIZE;
  const count = Math.min(all.count, Math.max(1, max));
  if (count === all.count) return all;
  const data = new Float32Array(count * cell);
  for (let k = 0; k < count; k++) {
    const idx = count === 1 ? Math.floor((all.count - 1) / 2) : Math.round((k * (all.count - 1)) / (count - 1));
    data.set(all.data.subarray(idx * cell, (idx + 1) * cell), k * cell);
  }
  return { data, count };
}
