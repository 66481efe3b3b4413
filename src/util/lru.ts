/**
 * A bounded map that drops its least recently used entries past `capacity` (Map order = recency).
 * Capacity counts entries, or with `weigh` the sum of the entries' weights (e.g. bytes); an entry
 * heavier than the whole capacity is not kept.
 */
import { UsageError } from './errors.js';

export class Lru<K, V> {
  private readonly map = new Map<K, V>();
  private total = 0;

  constructor(
    readonly capacity: number,
    private readonly weigh: (value: V) => number = () => 1,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new UsageError(`Lru: capacity must be a positive integer (got ${capacity})`);
  }

  get size(): number {
    return this.map.size;
  }

  /** The summed weight of the entries held (their count without `weigh`). */
  get weight(): number {
    return this.total;
  }

  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  set(key: K, value: V): void {
    this.delete(key);
    this.map.set(key, value);
    this.total += this.weigh(value);
    while (this.total > this.capacity) this.delete(this.map.keys().next().value as K);
  }

  delete(key: K): boolean {
    const v = this.map.get(key);
    if (v === undefined && !this.map.has(key)) return false;
    this.map.delete(key);
    this.total -= this.weigh(v as V);
    return true;
  }

  clear(): void {
    this.map.clear();
    this.total = 0;
  }
}
