/** VGGish input examples: the log-mel cut into non-overlapping 0.96 s patches. */
import { UsageError } from '../util/errors.js';
import { MEL_BANDS, PATCH_FRAMES } from './constants.js';

/** Values in one patch: 96 frames x 64 bands. */
export const PATCH_SIZE = PATCH_FRAMES * MEL_BANDS;

/** A track's log-mel patches, `data` is [count, 96, 64] row-major. */
export interface PatchSet {
  data: Float32Array;
  count: number;
}

/** Non-overlapping 96-frame patches, [count, 96, 64]; trailing frames < 96 are dropped (as VGGish). */
export function toPatches(logmel: Float32Array, frames: number): PatchSet {
  if (!Number.isInteger(frames) || frames < 0 || logmel.length !== frames * MEL_BANDS) {
    throw new UsageError(`toPatches: log-mel has ${logmel.length} values, expected frames (${frames}) x ${MEL_BANDS}`);
  }
  const count = Math.floor(frames / PATCH_FRAMES);
  // Patches are consecutive frames, so [count, 96, 64] is a prefix of [frames, 64]; copy it so the
  // result does not pin the whole log-mel in memory.
  return { data: logmel.slice(0, count * PATCH_SIZE), count };
}
