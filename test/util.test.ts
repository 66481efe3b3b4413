import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { tempDir } from './shared.js';
import { join } from 'node:path';
import { Rng, seedFrom } from '../src/util/rng.js';
import { decodeSafetensors, encodeSafetensors, loadSafetensors, saveSafetensors } from '../src/util/safetensors.js';
import { writeDirAtomic, writeFileAtomic } from '../src/util/atomic.js';
import { CheckpointError } from '../src/util/errors.js';

test('Rng is deterministic per seed and differs across seeds', () => {
  const a = new Rng(42), b = new Rng(42), c = new Rng(43);
  const xa = Array.from({ length: 5 }, () => a.next());
  const xb = Array.from({ length: 5 }, () => b.next());
  const xc = Array.from({ length: 5 }, () => c.next());
  assert.deepEqual(xa, xb);
  assert.notDeepEqual(xa, xc);
  for (const x of xa) assert.ok(x >= 0 && x < 1);
  assert.notEqual(seedFrom(1, 'jazz.00001'), seedFrom(1, 'jazz.00002'));
});

test('Rng.normal has roughly zero mean and unit variance', () => {
  const r = new Rng(7);
  let s = 0, s2 = 0;
  const n = 20000;
  for (let i = 0; i < n; i++) { const x = r.normal(); s += x; s2 += x * x; }
  assert.ok(Math.abs(s / n) < 0.03, `mean ${s / n}`);
  assert.ok(Math.abs(s2 / n - 1) < 0.05, `var ${s2 / n}`);
});

test('safetensors round-trips F32 and I32 bit-for-bit and is byte-stable', () => {
  const t = {
    'b.weight': { dtype: 'F32' as const, shape: [2, 3], data: new Float32Array([1, -2, 3.5, NaN, 1e-30, 7]) },
    'a.ids': { dtype: 'I32' as const, shape: [3], data: new Int32Array([1, -1, 2 ** 30]) },
  };
  const bytes = encodeSafetensors(t, { format: 'pt' });
  const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal((8 + headerLen) % 8, 0, 'data section is 8-byte aligned');
  const back = decodeSafetensors(bytes);
  assert.deepEqual(back.metadata, { format: 'pt' });
  assert.deepEqual(back.tensors['b.weight']!.shape, [2, 3]);
  assert.deepEqual(Array.from(new Uint32Array(back.tensors['b.weight']!.data.buffer)), Array.from(new Uint32Array(t['b.weight'].data.buffer)));
  assert.deepEqual(Array.from(back.tensors['a.ids']!.data), [1, -1, 2 ** 30]);
  assert.deepEqual(encodeSafetensors(t, { format: 'pt' }), bytes);
});

test('safetensors rejects truncated and corrupt files with CheckpointError naming the file', async () => {
  const dir = tempDir('mb-st-');
  const path = join(dir, 'w.safetensors');
  await saveSafetensors(path, { x: { dtype: 'F32', shape: [4], data: new Float32Array(4) } });
  const full = await readFile(path);
  await writeFile(path, full.subarray(0, full.length - 3));
  await assert.rejects(loadSafetensors(path), (e: unknown) => e instanceof CheckpointError && e.message.includes(path) && /truncated/.test(e.message));
  await writeFile(path, Buffer.from('not a safetensors file at all'));
  await assert.rejects(loadSafetensors(path), CheckpointError);
  await assert.rejects(loadSafetensors(join(dir, 'missing.safetensors')), CheckpointError);
});

test('atomic writes leave no temp files and replace directories whole', async () => {
  const dir = tempDir('mb-atomic-');
  await writeFileAtomic(join(dir, 'sub', 'f.txt'), 'one');
  await writeFileAtomic(join(dir, 'sub', 'f.txt'), 'two');
  assert.equal(await readFile(join(dir, 'sub', 'f.txt'), 'utf8'), 'two');
  assert.deepEqual(await readdir(join(dir, 'sub')), ['f.txt']);
  const target = join(dir, 'ckpt');
  await writeDirAtomic(target, async (tmp) => { await writeFile(join(tmp, 'a'), '1'); });
  await writeDirAtomic(target, async (tmp) => { await writeFile(join(tmp, 'b'), '2'); });
  assert.deepEqual(await readdir(target), ['b']);
  await assert.rejects(writeDirAtomic(target, async () => { throw new Error('boom'); }), /boom/);
  assert.deepEqual(await readdir(target), ['b'], 'a failed fill leaves the old directory intact');
  assert.deepEqual((await readdir(dir)).sort(), ['ckpt', 'sub']);
});
