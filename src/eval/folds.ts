/**
 * Seeded k-fold assignment. Classification folds are stratified (each class dealt round-robin
 * over the folds after a seeded shuffle) so every fold sees every class it can; regression folds
 * are a seeded shuffle cut into k near-equal parts.
 */
import { Rng } from '../util/rng.js';

/** `k` folds over `n` items: `fold[i]` in [0, k). Pass `classes` for stratified folds. */
export function assignFolds(n: number, k: number, seed: number, classes?: ArrayLike<number>): Int32Array {
  if (!Number.isInteger(k) || k < 2) throw new RangeError(`k-fold needs k >= 2, got ${k}`);
  if (n < k) throw new RangeError(`k-fold with k=${k} needs at least ${k} items, got ${n}`);
  const rng = new Rng(seed);
  const fold = new Int32Array(n);
  const order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
  if (!classes) {
    order.forEach((item, pos) => (fold[item] = pos % k));
    return fold;
  }
  // Deal each class in turn, continuing the round-robin where the previous class stopped, so
  // fold sizes stay within one of each other overall.
  const byClass = new Map<number, number[]>();
  for (const i of order) {
    const c = classes[i] as number;
    const list = byClass.get(c);
    if (list) list.push(i);
    else byClass.set(c, [i]);
  }
  let next = 0;
  for (const c of [...byClass.keys()].sort((a, b) => a - b)) {
    for (const i of byClass.get(c) as number[]) {
      fold[i] = next;
      next = (next + 1) % k;
    }
  }
  return fold;
}

/** Indices whose fold equals / differs from `f`. */
export function foldSplit(fold: Int32Array, f: number): { train: number[]; test: number[] } {
  const train: number[] = [];
  const test: number[] = [];
  for (let i = 0; i < fold.length; i++) (fold[i] === f ? test : train).push(i);
  return { train, test };
}

/**
 * `k` folds over `n` items that never split a group (`groups[i]`: an artist or album code), and
 * keep each class's share per fold close to its overall share where the groups allow (a
 * stratified group k-fold, as scikit-learn's StratifiedGroupKFold). Groups are visited in a seeded
 * order, largest first, and each goes to the fold where it adds least to the squared gap between
 * the fold's class counts and their targets (total / k); ties go to the smaller fold. Deterministic
 * for a seed. Without `classes` it balances fold sizes alone.
 */
export function assignGroupedFolds(groups: ArrayLike<number>, k: number, seed: number, classes?: ArrayLike<number>): Int32Array {
  const n = groups.length;
  if (!Number.isInteger(k) || k < 2) throw new RangeError(`k-fold needs k >= 2, got ${k}`);
  const members = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const g = groups[i] as number;
    const list = members.get(g);
    if (list) list.push(i);
    else members.set(g, [i]);
  }
  if (members.size < k) throw new RangeError(`grouped k-fold with k=${k} needs at least ${k} groups, got ${members.size}`);
  const classOf = (i: number): number => (classes ? (classes[i] as number) : 0);
  const classIds = [...new Set(Array.from({ length: n }, (_, i) => classOf(i)))].sort((a, b) => a - b);
  const ci = new Map(classIds.map((c, j) => [c, j] as const));
  const C = classIds.length;
  const total = new Float64Array(C);
  for (let i = 0; i < n; i++) total[ci.get(classOf(i)) as number]! += 1;
  const rng = new Rng(seed);
  const order = rng.shuffle([...members.keys()].sort((a, b) => a - b));
  // Stable sort keeps the seeded order among groups of one size.
  order.sort((a, b) => (members.get(b) as number[]).length - (members.get(a) as number[]).length);
  const counts = Array.from({ length: k }, () => new Float64Array(C));
  const sizes = new Float64Array(k);
  const fold = new Int32Array(n);
  for (const g of order) {
    const m = members.get(g) as number[];
    const h = new Float64Array(C);
    for (const i of m) h[ci.get(classOf(i)) as number]! += 1;
    let best = 0;
    let bestCost = Infinity;
    for (let f = 0; f < k; f++) {
      let cost = 0;
      const cf = counts[f] as Float64Array;
      for (let c = 0; c < C; c++) if (h[c]! > 0) cost += h[c]! * (2 * (cf[c]! - total[c]! / k) + h[c]!);
      if (cost < bestCost - 1e-9 || (Math.abs(cost - bestCost) <= 1e-9 && sizes[f]! < sizes[best]!)) {
        best = f;
        bestCost = cost;
      }
    }
    for (const i of m) fold[i] = best;
    const cb = counts[best] as Float64Array;
    for (let c = 0; c < C; c++) cb[c]! += h[c]!;
    sizes[best]! += m.length;
  }
  return fold;
}
