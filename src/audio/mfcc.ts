/**
 * MFCCs from the VGGish log-mel (orthonormal DCT-II of each frame, first `coeffs`), and the
 * clip-level statistics the MFCC baseline representation uses.
 */
import { InvalidAudioError, UsageError } from '../util/errors.js';
import { MEL_BANDS, MFCC_COEFFS } from './constants.js';

/** Orthonormal DCT-II basis [coeffs, n]: row c is s_c · cos(π/n · (i + 0.5) · c), s_0 = √(1/n), else √(2/n). */
export function dctBasis(coeffs: number, n: number): Float64Array {
  const b = new Float64Array(coeffs * n);
  for (let c = 0; c < coeffs; c++) {
    const s = c === 0 ? Math.sqrt(1 / n) : Math.sqrt(2 / n);
    for (let i = 0; i < n; i++) b[c * n + i] = s * Math.cos((Math.PI / n) * (i + 0.5) * c);
  }
  return b;
}

function checkCoeffs(coeffs: number, max: number, what: string): void {
  if (!Number.isInteger(coeffs) || coeffs < 1 || coeffs > max) throw new UsageError(`${what}: coeffs must be an integer in 1..${max}, got ${coeffs}`);
}

/** [frames, coeffs] MFCCs of a [frames, 64] log-mel. */
export function mfcc(logmel: Float32Array, frames: number, coeffs = MFCC_COEFFS): Float32Array {
  const bands = MEL_BANDS;
  checkCoeffs(coeffs, bands, 'mfcc');
  if (!Number.isInteger(frames) || frames < 0 || logmel.length !== frames * bands) {
    throw new UsageError(`mfcc: log-mel has ${logmel.length} values, expected frames (${frames}) x ${bands}`);
  }
  const basis = dctBasis(coeffs, bands);
  const out = new Float32Array(frames * coeffs); // [frames, coeffs]
  for (let f = 0; f < frames; f++) {
    const x0 = f * bands;
    for (let c = 0; c < coeffs; c++) {
      const b0 = c * bands;
      let acc = 0;
      for (let i = 0; i < bands; i++) acc += (logmel[x0 + i] as number) * (basis[b0 + i] as number);
      out[f * coeffs + c] = acc;
    }
  }
  return out;
}

/**
 * Deltas as HTK computes them: d_t = Σ_{n=1..2} n (c_{t+n} - c_{t-n}) / (2 Σ n²), with the first
 * and last frames repeated at the edges. [frames, coeffs] → [frames, coeffs].
 */
export function deltas(x: Float32Array, frames: number, coeffs: number): Float64Array {
  const d = new Float64Array(frames * coeffs);
  const at = (t: number, c: number): number => x[Math.min(frames - 1, Math.max(0, t)) * coeffs + c] as number;
  for (let t = 0; t < frames; t++) {
    for (let c = 0; c < coeffs; c++) {
      d[t * coeffs + c] = (at(t + 1, c) - at(t - 1, c) + 2 * (at(t + 2, c) - at(t - 2, c))) / 10;
    }
  }
  return d;
}

/**
 * Clip-level MFCC statistics → [4 · coeffs]: mean of the MFCCs, their standard deviation
 * (population), then the mean and standard deviation of their deltas.
 */
export function mfccStats(mfccs: Float32Array, frames: number, coeffs = MFCC_COEFFS): Float32Array {
  checkCoeffs(coeffs, MEL_BANDS, 'mfccStats');
  if (!Number.isInteger(frames) || frames < 0 || mfccs.length !== frames * coeffs) {
    throw new UsageError(`mfccStats: got ${mfccs.length} values, expected frames (${frames}) x coeffs (${coeffs})`);
  }
  if (frames === 0) throw new InvalidAudioError('mfccStats: no frames (audio shorter than one 25 ms window), statistics are undefined');
  const d = deltas(mfccs, frames, coeffs);
  const out = new Float32Array(4 * coeffs);
  const stats = (get: (i: number) => number, meanAt: number, stdAt: number): void => {
    for (let c = 0; c < coeffs; c++) {
      let s = 0;
      for (let t = 0; t < frames; t++) s += get(t * coeffs + c);
      const mean = s / frames;
      let v = 0;
      for (let t = 0; t < frames; t++) {
        const e = get(t * coeffs + c) - mean;
        v += e * e;
      }
      out[meanAt + c] = mean;
      out[stdAt + c] = Math.sqrt(v / frames);
    }
  };
  stats((i) => mfccs[i] as number, 0, coeffs);
  stats((i) => d[i] as number, 2 * coeffs, 3 * coeffs);
  return out;
}
