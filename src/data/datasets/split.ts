/**
 * Seeded train/valid/test splits, stratified so every genre appears in each split in roughly the
 * corpus proportions. When a grouping is given (albums) and a stratum has enough groups, whole
 * groups go to one split: tracks of one album share a sound, and letting them straddle train and
 * test inflates accuracy (the "artist effect" the fault-filtered GTZAN split removes).
 */
import type { Split } from '../corpus.js';
import { Rng, seedFrom } from '../../util/rng.js';
import { UsageError } from '../../util/errors.js';

export interface SplitRatios {
  train: number;
  valid: number;
  test: number;
}

export const DEFAULT_SPLIT_RATIOS: Readonly<SplitRatios> = { train: 0.7, valid: 0.15, test: 0.15 };

const SPLITS: readonly Split[] = ['train', 'valid', 'test'];

export interface StratifyOptions<T> {
  ratios?: SplitRatios;
  /** Items with the same group key stay together (used when a stratum has >= 3 groups). */
  group?: (item: T) => string;
}

/**
 * One split per item, in input order. Strata are visited in sorted order and their units (groups
 * or single items) in seeded random order; each unit goes to the split furthest below its target
 * share so far, which keeps both the global and the per-stratum proportions close to `ratios`.
 */
export function stratifiedSplit<T>(items: readonly T[], stratum: (item: T) => string, seed: number, opts: StratifyOptions<T> = {}): Split[] {
  const ratios = opts.ratios ?? DEFAULT_SPLIT_RATIOS;
  const total = ratios.train + ratios.valid + ratios.test;
  if (!(total > 0) || ratios.train < 0 || ratios.valid < 0 || ratios.test < 0) {
    throw new UsageError(`split ratios must be non-negative with a positive sum, got ${JSON.stringify(ratios)}`);
  }
  const share = SPLITS.map((s) => ratios[s] / total);
  const byStratum = new Map<string, number[]>();
  items.forEach((it, k) => {
    const key = stratum(it);
    const list = byStratum.get(key);
    if (list) list.push(k); else byStratum.set(key, [k]);
  });
  const out: Split[] = new Array(items.length);
  const count = [0, 0, 0];
  let assigned = 0;
  for (const key of [...byStratum.keys()].sort()) {
    const members = byStratum.get(key) as number[];
    const rng = new Rng(seedFrom(seed, `split:${key}`));
    let units: number[][] = members.map((k) => [k]);
    if (opts.group) {
      const groups = new Map<string, number[]>();
      for (const k of members) {
        const g = opts.group(items[k] as T);
        const list = groups.get(g);
        if (list) list.push(k); else groups.set(g, [k]);
      }
      if (groups.size >= 3) units = [...groups.keys()].sort().map((g) => groups.get(g) as number[]);
    }
    rng.shuffle(units);
    for (const unit of units) {
      const after = assigned + unit.length;
      let best = 0;
      let bestDeficit = -Infinity;
      for (let s = 0; s < 3; s++) {
        const deficit = (share[s] as number) * after - (count[s] as number);
        if (deficit > bestDeficit + 1e-9) { best = s; bestDeficit = deficit; }
      }
      for (const k of unit) out[k] = SPLITS[best] as Split;
      count[best] = (count[best] as number) + unit.length;
      assigned = after;
    }
  }
  return out;
}
