import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import { AllReduce, allReduceBuffers } from '../src/tensor/allReduce.js';

// Each worker contributes rank-dependent values for 3 rounds and reports the means it got back.
const WORKER = `
const { workerData, parentPort } = require('node:worker_threads');
(async () => {
  (await import(workerData.tsxApi)).register();
  const { AllReduce } = await import(workerData.entry);
  const reduce = new AllReduce(workerData.buffers, workerData.rank);
  const out = [];
  for (let round = 0; round < 3; round++) {
    const v = Float32Array.from({ length: workerData.buffers.size }, (_, j) => (workerData.rank + 1) * (j + 1) + round * 0.1);
    out.push(Array.from(reduce.mean(v)));
  }
  parentPort.postMessage(out);
})();
`;

test('AllReduce: worker threads get the element-wise mean every round, identical on every replica', async () => {
  const world = 3;
  const size = 5;
  const buffers = allReduceBuffers(world, size);
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const entry = new URL('../src/tensor/allReduce.ts', import.meta.url).href;
  const workers = Array.from({ length: world }, (_, rank) => new Worker(WORKER, { eval: true, workerData: { buffers, rank, tsxApi, entry } }));
  try {
    const results = (await Promise.all(workers.map((w) => once(w, 'message')))).map((m) => m[0] as number[][]);
    for (let round = 0; round < 3; round++) {
      // mean over ranks of (rank+1)(j+1) + 0.1·round = 2(j+1) + 0.1·round for 3 replicas
      const want = Array.from({ length: size }, (_, j) => 2 * (j + 1) + round * 0.1);
      for (const r of results) r[round]!.forEach((x, j) => assert.ok(Math.abs(x - want[j]!) < 1e-5, `round ${round}[${j}] = ${x}, want ${want[j]}`));
      assert.deepEqual(results[1]![round], results[0]![round]);
      assert.deepEqual(results[2]![round], results[0]![round]);
    }
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
});

test('AllReduce: a world of one returns its input; bad arguments are rejected', () => {
  const one = new AllReduce(allReduceBuffers(1, 3), 0);
  assert.deepEqual(Array.from(one.mean(Float32Array.from([1, 2, 3]))), [1, 2, 3]);
  assert.deepEqual(Array.from(one.mean(Float32Array.from([4, 5, 6]))), [4, 5, 6]);
  assert.throws(() => one.mean(new Float32Array(2)), /expected 3 values/);
  assert.throws(() => new AllReduce(allReduceBuffers(2, 3), 2), /rank 2/);
  assert.throws(() => allReduceBuffers(0, 3), RangeError);
});
