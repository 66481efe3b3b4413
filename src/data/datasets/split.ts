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
 *
 * Whole groups are coarse: with 4 albums a genre, 15% of a genre is less than one album, and the
 * deficit rule alone left 4 of 10 genres out of the test split of the default corpus. So when a
 * stratum is split by groups, its test share is reserved first: max(1, round(test share × groups))
 * groups (never all of them), and the rest is dealt between train and valid by the deficit rule.
 * Every genre is then tested, at the price of a test split somewhat above its nominal share.
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
    let grouped = false;
    if (opts.group) {
      const groups = new Map<string, number[]>();
      for (const k of members) {
        const g = opts.group(items[k] as T);
        const list = groups.get(g);
        if (list) list.push(k); else groups.set(g, [k]);
      }
      if (groups.size >= 3) {
        units = [...groups.keys()].sort().map((g) => groups.get(g) as number[]);
        grouped = true;
      }
    }
    rng.shuffle(units);
    const testShare = share[2] as number;
    const reservedTest = grouped && testShare > 0 ? Math.min(units.length - 1, Math.max(1, Math.round(testShare * units.length))) : 0;
    units.forEach((unit, u) => {
      const after = assigned + unit.length;
      let best = 0;
      let bestDeficit = -Infinity;
      // Reserved test units first; after them a grouped stratum deals only train and valid.
      const candidates = u < reservedTest ? [2] : grouped ? [0, 1] : [0, 1, 2];
      for (const s of candidates) {
        const deficit = (share[s] as number) * after - (count[s] as number);
        if (deficit > bestDeficit + 1e-9) { best = s; bestDeficit = deficit; }
      }
      for (const k of unit) out[k] = SPLITS[best] as Split;
      count[best] = (count[best] as number) + unit.length;
      assigned = after;
    });
  }
  return out;
}
