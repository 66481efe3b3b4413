/** Probe scores: the same definitions as scikit-learn's accuracy_score and r2_score. */

export function accuracy(truth: ArrayLike<number>, pred: ArrayLike<number>): number {
  if (truth.length !== pred.length) throw new RangeError(`accuracy: ${truth.length} labels vs ${pred.length} predictions`);
  if (truth.length === 0) throw new RangeError('accuracy: no samples');
  let ok = 0;
  for (let i = 0; i < truth.length; i++) if (truth[i] === pred[i]) ok++;
  return ok / truth.length;
}

/** Coefficient of determination, 1 − SS_res/SS_tot; 0 for a constant truth predicted exactly, as sklearn. */
export function r2(truth: ArrayLike<number>, pred: ArrayLike<number>): number {
  if (truth.length !== pred.length) throw new RangeError(`r2: ${truth.length} targets vs ${pred.length} predictions`);
  if (truth.length === 0) throw new RangeError('r2: no samples');
  let mean = 0;
  for (let i = 0; i < truth.length; i++) mean += truth[i] as number;
  mean /= truth.length;
  let res = 0;
  let tot = 0;
  for (let i = 0; i < truth.length; i++) {
    res += ((truth[i] as number) - (pred[i] as number)) ** 2;
    tot += ((truth[i] as number) - mean) ** 2;
  }
  if (tot === 0) return res === 0 ? 1 : 0;
  return 1 - res / tot;
}

/** Mean and sample standard deviation (n − 1; 0 for a single value). */
export function meanStd(values: readonly number[]): { mean: number; std: number; n: number } {
  const n = values.length;
  if (n === 0) return { mean: NaN, std: NaN, n: 0 };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std, n };
}

/** Per-class F1 averaged over the classes present in truth or predictions (sklearn's f1_score average='macro'). */
export function macroF1(truth: ArrayLike<number>, pred: ArrayLike<number>): number {
  if (truth.length !== pred.length) throw new RangeError(`macroF1: ${truth.length} labels vs ${pred.length} predictions`);
  if (truth.length === 0) throw new RangeError('macroF1: no samples');
  const classes = new Set<number>();
  for (let i = 0; i < truth.length; i++) classes.add(truth[i] as number).add(pred[i] as number);
  let sum = 0;
  for (const c of classes) {
    let tp = 0, fp = 0, fn = 0;
    for (let i = 0; i < truth.length; i++) {
      const t = truth[i] === c, p = pred[i] === c;
      if (t && p) tp++;
      else if (p) fp++;
      else if (t) fn++;
    }
    sum += tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
  }
  return sum / classes.size;
}

/** Mean per-class recall over the classes in truth (sklearn's balanced_accuracy_score). */
export function balancedAccuracy(truth: ArrayLike<number>, pred: ArrayLike<number>): number {
  if (truth.length !== pred.length) throw new RangeError(`balancedAccuracy: ${truth.length} labels vs ${pred.length} predictions`);
  if (truth.length === 0) throw new RangeError('balancedAccuracy: no samples');
  const hit = new Map<number, [number, number]>();
  for (let i = 0; i < truth.length; i++) {
    const e = hit.get(truth[i] as number) ?? [0, 0];
    e[1]++;
    if (truth[i] === pred[i]) e[0]++;
    hit.set(truth[i] as number, e);
  }
  let s = 0;
  for (const [ok, n] of hit.values()) s += ok / n;
  return s / hit.size;
}
