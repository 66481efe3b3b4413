/**
 * Feature standardisation (zero mean, unit variance per column) fitted on training rows only, so
 * no statistic of a held-out row leaks into the probe. Population variance (ddof 0), as
 * scikit-learn's StandardScaler; constant columns get scale 1 instead of dividing by zero.
 */
export interface Standardizer {
  mean: Float64Array; // [d]
  scale: Float64Array; // [d]
}

/** Fit on the rows `idx` of `x` `[n, d]`. */
export function fitStandardizer(x: ArrayLike<number>, d: number, idx: ArrayLike<number>): Standardizer {
  const mean = new Float64Array(d);
  const m2 = new Float64Array(d);
  const m = idx.length;
  if (m === 0) throw new RangeError('fitStandardizer: no training rows');
  for (let k = 0; k < m; k++) {
    const o = (idx[k] as number) * d;
    for (let j = 0; j < d; j++) mean[j] = (mean[j] as number) + (x[o + j] as number);
  }
  for (let j = 0; j < d; j++) mean[j] = (mean[j] as number) / m;
  // Two passes: variance from centred values is exact where the one-pass formula cancels.
  for (let k = 0; k < m; k++) {
    const o = (idx[k] as number) * d;
    for (let j = 0; j < d; j++) {
      const c = (x[o + j] as number) - (mean[j] as number);
      m2[j] = (m2[j] as number) + c * c;
    }
  }
  const scale = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    const s = Math.sqrt((m2[j] as number) / m);
    scale[j] = s > 1e-12 * Math.max(1, Math.abs(mean[j] as number)) ? s : 1;
  }
  return { mean, scale };
}

/** Standardise the rows `idx` of `x` into a new dense `[idx.length, d]` float64 matrix. */
export function applyStandardizer(s: Standardizer, x: ArrayLike<number>, d: number, idx: ArrayLike<number>): Float64Array {
  const out = new Float64Array(idx.length * d);
  for (let k = 0; k < idx.length; k++) {
    const o = (idx[k] as number) * d;
    for (let j = 0; j < d; j++) out[k * d + j] = ((x[o + j] as number) - (s.mean[j] as number)) / (s.scale[j] as number);
  }
  return out;
}

/** Mean and (population) std of a target, for standardising regression targets the same way. */
export function targetScaler(y: ArrayLike<number>): { mean: number; scale: number } {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += y[i] as number;
  const mean = s / y.length;
  let v = 0;
  for (let i = 0; i < y.length; i++) v += ((y[i] as number) - mean) ** 2;
  const sd = Math.sqrt(v / y.length);
  return { mean, scale: sd > 1e-12 ? sd : 1 };
}
