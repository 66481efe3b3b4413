/**
 * `index --jobs N` (the front end on worker threads, src/audio/frontEndPool.ts) and
 * `index --input LIST` (src/search/inputList.ts): the same vectors bit for bit as one thread,
 * failures reported alike, errors rebuilt as their own classes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FrontEndPool } from '../src/audio/frontEndPool.js';
import { logMelFromFile } from '../src/audio/stream.js';
import { estimateTempo } from '../src/audio/tempo.js';
import { loadCorpus, type Corpus } from '../src/data/datasets/index.js';
import { indexCatalogue, listCatalogue } from '../src/search/indexer.js';
import { JointSpace } from '../src/search/jointSpace.js';
import { VectorStore } from '../src/search/store.js';
import { AudioDecodeError, UsageError } from '../src/util/errors.js';
import { searchFixture, type SearchFixture } from './search-fixture.js';

const bytesOf = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

async function vectorsById(db: string): Promise<Map<string, Float32Array>> {
  const s = await VectorStore.open(db);
  try {
    const { ids, data } = await s.matrix();
    const d = data.length / Math.max(1, ids.length);
    return new Map(ids.map((id, i) => [id, data.subarray(i * d, (i + 1) * d)]));
  } finally {
    s.close();
  }
}

describe('index on worker threads', () => {
  let fx: SearchFixture;
  let space: JointSpace;
  let corpus: Corpus;
  let scratch: string;

  before(async () => {
    fx = await searchFixture();
    space = await JointSpace.load(fx.model);
    corpus = await loadCorpus(fx.data);
    scratch = await mkdtemp(join(tmpdir(), 'mb-index-jobs-'));
  });
  after(async () => {
    space?.dispose();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  test('FrontEndPool: log-mels equal logMelFromFile bit for bit; a bad file fails as AudioDecodeError naming it', async () => {
    const pool = new FrontEndPool(2);
    try {
      const paths = corpus.tracks.slice(0, 5).map((t) => t.audioPath);
      const feed = pool.prefetch(paths);
      for (const [i, p] of paths.entries()) {
        const a = await feed.get(i);
        const b = await logMelFromFile(p);
        assert.equal(a.frames, b.frames, `${p}: frames`);
        assert.ok(bytesOf(a.data).equals(bytesOf(b.data)), `${p}: worker log-mel equals in-process log-mel`);
      }
      const missing = join(scratch, 'missing.wav');
      const inProcess = await logMelFromFile(missing).then(() => undefined, (e: unknown) => e);
      await assert.rejects(pool.logMel(missing), (e: unknown) => {
        assert.ok(e instanceof AudioDecodeError, `class ${String(e)}`);
        assert.equal(e.message, (inProcess as Error).message, 'same message as in-process');
        assert.equal(e.source, missing, 'names the file');
        return true;
      }, 'missing file rejected');
    } finally {
      await pool.close();
    }
    await assert.rejects(pool.logMel(corpus.tracks[0]!.audioPath), UsageError, 'closed pool refuses work');
    assert.throws(() => new FrontEndPool(0), UsageError, 'zero jobs refused');
  });

  test('index --jobs 3 stores the same vectors as one thread, batch for batch', async () => {
    const db = join(scratch, 'jobs3');
    const r = await indexCatalogue({ space, input: fx.data, db, quiet: true, jobs: 3, batch: 4 });
    assert.equal(r.added, corpus.tracks.length, 'every track added');
    assert.deepEqual(r.failed, [], 'nothing failed');
    const one = join(scratch, 'jobs1');
    await indexCatalogue({ space, input: fx.data, db: one, quiet: true, jobs: 1, batch: 4 });
    const [a, b] = [await vectorsById(db), await vectorsById(one)];
    assert.equal(a.size, b.size, 'same count');
    for (const [id, v] of b) assert.ok(a.has(id) && bytesOf(a.get(id)!).equals(bytesOf(v)), `${id}: same vector with 3 jobs as with 1`);
    // Each track's tempo is measured from its log-mel and stored with it (conversations rank "slower" by it).
    const stored = await VectorStore.open(db);
    for (const t of corpus.tracks) {
      const bpm = (await stored.get(t.id))?.bpm;
      const want = estimateTempo(await logMelFromFile(t.audioPath));
      assert.ok(bpm !== undefined && bpm === want, `${t.id}: stored BPM ${bpm} is the log-mel's measured ${want}`);
    }
  });

  test('index --input LIST: comments, relative paths, a repeat listed once, a missing file reported', async () => {
    const dir = join(scratch, 'listed');
    await mkdir(join(dir, 'sub'), { recursive: true });
    await copyFile(corpus.tracks[0]!.audioPath, join(dir, 'a.wav'));
    await copyFile(corpus.tracks[1]!.audioPath, join(dir, 'sub', 'b.wav'));
    const list = join(dir, 'tracks.txt');
    await writeFile(list, ['# my tracks', 'a.wav', '', `  ${join(dir, 'sub', 'b.wav')}  `, 'a.wav', 'gone.mp3', '# end'].join('\n'));
    const listing = await listCatalogue(list);
    assert.equal(listing.kind, 'folder', 'a list is a folder-like listing');
    assert.deepEqual(listing.items.map((i) => i.id), ['a', 'sub/b', 'gone'], 'ids relative to the list, repeat dropped');
    for (const jobs of [1, 2]) {
      const db = join(scratch, `list-db-${jobs}`);
      const r = await indexCatalogue({ space, input: list, db, quiet: true, jobs });
      assert.equal(r.added, 2, `jobs ${jobs}: two tracks added`);
      assert.deepEqual(r.failed.map((f) => f.id), ['gone'], `jobs ${jobs}: the missing file failed`);
      assert.match(r.failed[0]!.problem, /file not found/, `jobs ${jobs}: problem says why`);
    }
    await writeFile(join(dir, 'empty.txt'), '# nothing here\n\n');
    await assert.rejects(listCatalogue(join(dir, 'empty.txt')), /names no files/, 'an empty list is a usage error');
    await assert.rejects(listCatalogue(join(dir, 'a.wav')), /an audio file, not a list/, 'an audio file is not a list');
  });
});
