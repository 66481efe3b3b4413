/**
 * Augmentations of one log-mel patch [96 frames, 64 bands] for the contrastive stage-1
 * objective, after CLMR (gain) and BYOL-A (mixup in the linear domain) plus SpecAugment-style
 * time and frequency masks. Pure functions of (patch, rng): the caller's per-step Rng makes a
 * run reproducible and a resumed run identical.
 *
 * The front end stores log(mel + LOG_OFFSET) of the magnitude spectrum, so gain and mixup go
 * back to the linear domain first: a gain of g dB scales magnitudes by 10^(g/20), and mixing
 * adds magnitudes, which a plain sum of log values would not.
 */
import { LOG_OFFSET, MEL_BANDS, PATCH_FRAMES } from '../audio/constants.js';
import type { Rng } from '../util/rng.js';

const PATCH = PATCH_FRAMES * MEL_BANDS;

export interface AugmentConfig {
  /** Random gain uniform in ±gainDb (0 = off). */
  gainDb: number;
  /** Probability of mixing in another track's patch, with weight uniform in [0, mixupMax]. */
  mixupProb: number;
  mixupMax: number;
  /** Widest time mask in frames and widest frequency mask in bands (0 = off); one of each. */
  timeMask: number;
  freqMask: number;
}

/** Moderate defaults: strong enough that two patches of a track must agree on more than level. */
export const DEFAULT_AUGMENT: AugmentConfig = { gainDb: 6, mixupProb: 0.5, mixupMax: 0.4, timeMask: 16, freqMask: 8 };
export const NO_AUGMENT: AugmentConfig = { gainDb: 0, mixupProb: 0, mixupMax: 0, timeMask: 0, freqMask: 0 };

/** Linear magnitude of a log-mel value, clamped at 0 (values are ≥ log(LOG_OFFSET) by construction). */
const toLinear = (v: number): number => Math.max(0, Math.exp(v) - LOG_OFFSET);
const toLog = (m: number): number => Math.log(m + LOG_OFFSET);

/** Scale magnitudes by 10^(db/20), in place. patch [96·64]. */
export function applyGain(patch: Float32Array, db: number): void {
  const a = 10 ** (db / 20);
  for (let i = 0; i < patch.length; i++) patch[i] = toLog(a * toLinear(patch[i] as number));
}

/** (1 − λ)·patch + λ·other in magnitudes, in place. */
export function applyMixup(patch: Float32Array, other: Float32Array, lambda: number): void {
  for (let i = 0; i < patch.length; i++) patch[i] = toLog((1 - lambda) * toLinear(patch[i] as number) + lambda * toLinear(other[i] as number));
}

/**
 * Set frames [t0, t0 + width) (axis 'time') or bands [f0, f0 + width) (axis 'freq') to the
 * patch's mean, in place: the mean rather than zero so a mask adds no energy edge to learn.
 */
export function applyMask(patch: Float32Array, axis: 'time' | 'freq', start: number, width: number): void {
  if (width <= 0) return;
  let mean = 0;
  for (let i = 0; i < patch.length; i++) mean += patch[i] as number;
  mean /= patch.length;
  if (axis === 'time') {
    const end = Math.min(PATCH_FRAMES, start + width);
    patch.fill(mean, start * MEL_BANDS, end * MEL_BANDS);
  } else {
    const end = Math.min(MEL_BANDS, start + width);
    for (let t = 0; t < PATCH_FRAMES; t++) patch.fill(mean, t * MEL_BANDS + start, t * MEL_BANDS + end);
  }
}

/**
 * A fresh augmented copy of `patch` [96·64]. `other` is a patch of another track for mixup (none:
 * no mixup). The draws happen in a fixed order whatever is switched off, so turning one
 * augmentation off does not change the others' randomness.
 */
export function augmentPatch(patch: Float32Array, other: Float32Array | undefined, cfg: AugmentConfig, rng: Rng): Float32Array {
  if (patch.length !== PATCH) throw new RangeError(`augmentPatch: expected ${PATCH} values (96 x 64), got ${patch.length}`);
  const out = Float32Array.from(patch);
  const gain = rng.uniform(-1, 1) * cfg.gainDb;
  const mix = rng.next() < cfg.mixupProb;
  const lambda = rng.uniform(0, cfg.mixupMax);
  const tw = rng.int(0, cfg.timeMask);
  const t0 = rng.int(0, PATCH_FRAMES - 1);
  const fw = rng.int(0, cfg.freqMask);
  const f0 = rng.int(0, MEL_BANDS - 1);
  if (gain !== 0) applyGain(out, gain);
  if (mix && other && lambda > 0) applyMixup(out, other, lambda);
  applyMask(out, 'time', t0, tw);
  applyMask(out, 'freq', f0, fw);
  return out;
}
