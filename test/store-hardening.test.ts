/**
 * Issue 14's store and file cases: one writer per vector store (a lock with a clear error for the
 * second, taken over after kill -9), ids unique in the store, duplicates of older versions
 * repaired; a full disk is a typed error (injected, and on a real tiny tmpfs where mount works);
 * a garbage trainer_state.json names the file and field.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { JointSpace } from '../src/search/jointSpace.js';
import { indexCatalogue } from '../src/search/indexer.js';
import { VectorStore } from '../src/search/store.js';
import { acquireStoreLock, LOCK_FILE } from '../src/search/storeLock.js';
import { parseTrainerState } from '../src/train/trainer.js';
import { pretrain } from '../src/train/pretrain.js';
import { writeFileAtomic } from '../src/util/atomic.js';
import { CheckpointError, DiskFullError, StoreLockedError } from '../src/util/errors.js';
import { searchFixture } from './search-fixture.js';
import { repoRoot, tempDir } from './shared.js';

const tmp = tempDir('mb-store-hard-');

test('the writer lock: a second writer gets a clear error; release lets the next one in', async () => {
  const dir = join(tmp, 'lock1');
  const lock = await acquireStoreLock(dir);
  const held = JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8'));
  assert.equal(held.pid, process.pid);
  assert.equal(typeof held.host, 'string');
  assert.ok(!Number.isNaN(Date.parse(held.since)));
  await assert.rejects(acquireStoreLock(dir), (e: unknown) => {
    assert.ok(e instanceof StoreLockedError);
    assert.equal(e.code, 'STORE_LOCKED');
    assert.match(e.message, new RegExp(`another writer is indexing into this store \\(process ${process.pid} on `));
    return true;
  });
  await lock.release();
  const again = await acquireStoreLock(dir);
  await again.release();
});

test('a lock left by a writer killed with -9 is taken over', async () => {
  const dir = join(tmp, 'lock2');
  const script = join(tmp, 'holder.mts');
  writeFileSync(script, `import { acquireStoreLock } from ${JSON.stringify(join(repoRoot, 'src/search/storeLock.ts'))};\nawait acquireStoreLock(${JSON.stringify(dir)});\nprocess.stdout.write('locked\\n');\nsetInterval(() => {}, 1000);\n`);
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('locked') && resolve());
    child.on('exit', (code) => reject(new Error(`holder exited early (${code})`)));
  });
  await assert.rejects(acquireStoreLock(dir), StoreLockedError);
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await gone;
  const lock = await acquireStoreLock(dir);
  assert.equal(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).pid, process.pid);
  await lock.release();
});

test('two index runs on one store: one indexes, the other stops with StoreLockedError; ids stay unique', async () => {
  const fx = await searchFixture();
  const space = await JointSpace.load(fx.model);
  try {
    const db = join(tmp, 'two-writers');
    const runs = await Promise.allSettled([1, 2].map(() => indexCatalogue({ space, input: fx.data, db, quiet: true })));
    const ok = runs.filter((r) => r.status === 'fulfilled');
    const refused = runs.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.equal(ok.length, 1);
    assert.equal(refused.length, 1);
    assert.ok(refused[0]!.reason instanceof StoreLockedError, String(refused[0]!.reason));
    const store = await VectorStore.open(db);
    try {
      const total = await store.count();
      assert.equal(total, (await store.ids()).size, 'no id twice');
      // add() never stores an id twice, even when asked to.
      const v = (await store.vector([...(await store.ids())][0]!))!;
      const meta = (await store.get([...(await store.ids())][0]!))!;
      await store.add([{ ...meta, vector: v }, { ...meta, vector: v }]);
      assert.equal(await store.count(), total);
    } finally {
      store.close();
    }
    // The lock is gone after the run: the next run resumes (nothing to add).
    const again = await indexCatalogue({ space, input: fx.data, db, quiet: true });
    assert.equal(again.added, 0);
  } finally {
    space.dispose();
  }
});

test('duplicate rows left by older versions are removed, one row per id kept', async () => {
  const db = join(tmp, 'dups');
  const store = await VectorStore.open(db, { create: { dim: 4 } });
  const entry = (id: string, x: number) => ({ id, path: `/music/${id}.wav`, tags: ['t'], durationS: 3, vector: Float32Array.from([x, 1, 0, 0]) });
  await store.add([entry('a', 0), entry('b', 1), entry('c', 2)]);
  // What two concurrent writers of older versions left: the same ids appended again, behind add()'s back.
  const { connect } = await import('@lancedb/lancedb');
  const raw = await connect(db);
  const table = await raw.openTable('tracks');
  const rows = await table.query().where(`id IN ('a', 'b')`).toArray();
  await table.add(rows.map((r: Record<string, unknown>) => ({ ...r, vector: Array.from(r.vector as Iterable<number>), tags: [...(r.tags as Iterable<string>)] })));
  table.close();
  raw.close();
  const reopened = await VectorStore.open(db);
  try {
    assert.equal(await reopened.count(), 5);
    assert.equal(await reopened.removeDuplicates(), 2);
    assert.equal(await reopened.count(), 3);
    const hits = await reopened.search(Float32Array.from([0, 1, 0, 0]), 5);
    assert.deepEqual(hits.map((h) => h.id).sort(), ['a', 'b', 'c']);
    assert.deepEqual((await reopened.get('a'))!.tags, ['t']);
    assert.equal(await reopened.removeDuplicates(), 0);
  } finally {
    reopened.close();
    store.close();
  }
});

test('disk full through the atomic writer: a DiskFullError naming the file; the old file is intact', async () => {
  const path = join(tmp, 'full', 'features.bin');
  await writeFileAtomic(path, 'old');
  const enospc = () => {
    throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28 });
  };
  await assert.rejects(writeFileAtomic(path, 'new', { beforeWrite: enospc }), (e: unknown) => {
    assert.ok(e instanceof DiskFullError);
    assert.equal(e.code, 'DISK_FULL');
    assert.equal(e.source, path);
    assert.match(e.message, /no space left on device while writing; nothing already saved was lost .*re-run the same command to resume/);
    return true;
  });
  assert.equal(readFileSync(path, 'utf8'), 'old');
  const edquot = () => {
    throw Object.assign(new Error('EDQUOT: disk quota exceeded'), { code: 'EDQUOT' });
  };
  await assert.rejects(writeFileAtomic(path, 'new', { beforeWrite: edquot }), /disk quota exceeded while writing/);
});

const isRoot = process.getuid?.() === 0;
test('disk full on a real tiny tmpfs: synth exits 1 with one DISK_FULL line, no stack trace', { skip: !isRoot && 'needs root to mount a tmpfs' }, (t) => {
  const mnt = join(tmp, 'tmpfs');
  mkdirSync(mnt, { recursive: true });
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=192k', 'tmpfs', mnt]).status !== 0) return t.skip('mount -t tmpfs is not allowed here');
  try {
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'src/cli.ts'), 'synth', '--out', join(mnt, 'corpus'), '--tracks', '20', '--seconds', '3', '--seed', '1', '--workers', '1', '--quiet'], { cwd: repoRoot, encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /error \[DISK_FULL\]: .*no space left on device while writing; nothing already saved was lost/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.doesNotMatch(r.stderr, /internal error/);
  } finally {
    spawnSync('umount', ['-l', mnt]);
  }
});

test('a garbage trainer_state.json names the file and the field', async () => {
  assert.throws(() => parseTrainerState({ kind: 'trainer-state', step: 1, totalSteps: 10, seed: 'x', history: [], validation: [] }, '/m/trainer_state.json'), (e: unknown) => {
    assert.ok(e instanceof CheckpointError);
    assert.match(e.message, /^\/m\/trainer_state\.json: field "seed" is "x", expected a non-negative integer/);
    return true;
  });
  assert.throws(() => parseTrainerState([1, 2]), /trainer_state\.json: field "\(top level\)"/);
  assert.throws(() => parseTrainerState({ kind: 'trainer-state', step: 11, totalSteps: 10, seed: 1, history: [], validation: [] }), /field "step" is 11, expected at most totalSteps/);
  // Through pretrain's resume: the damaged checkpoint is named.
  const fx = await searchFixture();
  const out = join(tmp, 'model-garbage');
  cpSync(fx.model, out, { recursive: true });
  const statePath = join(out, 'audio-encoder', 'trainer_state.json');
  writeFileSync(statePath, JSON.stringify({ kind: 'trainer-state', step: 'many' }));
  await assert.rejects(pretrain({ data: fx.data, out, config: 'tiny', seed: 7, encoderSteps: 20, steps: 30, quiet: true, cacheDir: join(tmp, 'cache-garbage') }), (e: unknown) => {
    assert.ok(e instanceof CheckpointError, String(e));
    assert.ok(e.message.startsWith(`${statePath}: field "step"`), e.message);
    return true;
  });
});
