/**
 * Gradient averaging across worker threads, for data-parallel training: one worker (with its own
 * tfjs wasm instance, since the wasm backend runs single-threaded in Node) per core, each on its
 * share of the batch. Every replica writes its flattened gradients into its slot of one
 * SharedArrayBuffer, waits at a barrier, and reads back the mean of all slots; replicas that
 * then apply the same optimizer update stay bit-identical without shipping parameters around.
 * bench/transformerStep.ts measures it (2 workers vs 1 thread).
 */

export interface AllReduceBuffers {
  /** 2 × world × size float32 slots: rounds alternate between two halves (see mean()). */
  slots: SharedArrayBuffer;
  /** One int32 counter: arrivals so far. */
  barrier: SharedArrayBuffer;
  world: number;
  size: number;
}

/** Buffers for `world` replicas exchanging `size` floats each (make once, pass to every worker). */
export function allReduceBuffers(world: number, size: number): AllReduceBuffers {
  if (!Number.isInteger(world) || world < 1) throw new RangeError(`allReduce: world must be a positive integer (got ${world})`);
  if (!Number.isInteger(size) || size < 0) throw new RangeError(`allReduce: size must be a non-negative integer (got ${size})`);
  return { slots: new SharedArrayBuffer(2 * world * size * 4), barrier: new SharedArrayBuffer(4), world, size };
}

/**
 * One replica's side. Call `mean(values)` once per step on every replica, in the same order:
 * it blocks (Atomics.wait: worker threads only, unless world is 1) until all replicas have
 * written, then returns the element-wise mean. Safe to reuse across steps as long as no replica
 * starts step n+1 before every replica has read step n (true when steps are driven in lockstep,
 * as a trainer that waits for all workers does).
 */
export class AllReduce {
  private readonly slots: Float32Array;
  private readonly counter: Int32Array;
  private round = 0;

  constructor(private readonly buffers: AllReduceBuffers, private readonly rank: number) {
    if (!Number.isInteger(rank) || rank < 0 || rank >= buffers.world) throw new RangeError(`allReduce: rank ${rank} is outside 0..${buffers.world - 1}`);
    this.slots = new Float32Array(buffers.slots);
    this.counter = new Int32Array(buffers.barrier);
  }

  mean(values: Float32Array): Float32Array {
    const { world, size } = this.buffers;
    if (values.length !== size) throw new RangeError(`allReduce: expected ${size} values, got ${values.length}`);
    const half = (this.round % 2) * world * size;
    this.slots.set(values, half + this.rank * size);
    this.round++;
    Atomics.add(this.counter, 0, 1);
    Atomics.notify(this.counter, 0); // wake replicas already waiting: wait() sleeps until notified
    for (let seen = Atomics.load(this.counter, 0); seen < world * this.round; seen = Atomics.load(this.counter, 0)) {
      Atomics.wait(this.counter, 0, seen);
    }
    // Sum in rank order, so every replica computes bit-identical means.
    const out = new Float32Array(size);
    for (let r = 0; r < world; r++) {
      const o = half + r * size;
      for (let j = 0; j < size; j++) out[j] += this.slots[o + j] as number;
    }
    for (let j = 0; j < size; j++) out[j] = (out[j] as number) / world;
    return out;
  }
}
