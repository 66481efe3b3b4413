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
