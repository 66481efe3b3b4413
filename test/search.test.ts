import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf } from '../src/tensor/backend.js';
import { encodeWav } from '../src/audio/wavWrite.js';
import { loadCorpus, type Corpus } from '../src/data/datasets/index.js';
import { JointSpace } from '../src/search/jointSpace.js';
import { VectorStore } from '../src/search/store.js';
import { Catalogue } from '../src/search/catalogue.js';
import { indexCatalogue, listCatalogue } from '../src/search/indexer.js';
import { exactSearch, recallAtK, softmax, topK, normalize } from '../src/search/vectors.js';
import { bestRank, chanceRecall, evaluateRetrieval, genreAccuracy, retrievalMetrics } from '../src/search/metrics.js';
import { fitTemplate, parseLabels, promptFor, rankLabels, zeroShotLabels, type TextEmbedder } from '../src/search/zeroShot.js';
import { askTrack, parseQuestion } from '../src/search/ask.js';
import { TAG_VOCABULARY } from '../src/data/synth/index.js';
import { INSTRUMENTS } from '../src/search/ask.js';
import { AudioDecodeError, InvalidAudioError, IoError, UsageError } from '../src/util/errors.js';
import { Rng } from '../src/util/rng.js';
import { preset } from '../src/train/presets.js';
import { repoRoot } from './shared.js';
import { formatEval, formatHits, formatLabels } from '../src/cli/search.js';
import { FIXTURE_TRACKS, searchFixture, type SearchFixture } from './search-fixture.js';
import { pipelineFeatures } from '../src/eval/representations/modelReps.js';
import { LogMelSource } from '../src/eval/representations/frontend.js';

const same = (a: Float32Array, b: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
const unitNorm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

function randomUnit(rng: Rng, n: number, dim: number): Float32Array {
  const m = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) m.set(normalize(Float32Array.from({ length: dim }, () => rng.normal())), i * dim);
  return m;
}

/**
 * Run the CLI in a child process (as a user would). Not in-process: the test runner reports
 * through this process's stdout, so capturing stdout here would swallow its messages.
 */
function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', join(repoRoot, 'src', 'cli.ts'), ...args], { cwd: repoRoot, maxBuffer: 1 << 24, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (err as { code?: unknown }).code : 0;
      if (typeof code !== 'number') reject(err);
      else resolve({ code, stdout, stderr });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Pure parts

test('topK matches a full sort, breaks ties by index and skips NaN', () => {
  const rng = new Rng(3);
  const s = Float32Array.from({ length: 500 }, () => Math.round(rng.uniform(-5, 5)));
  s[17] = NaN;
  const got = topK(s, 20);
  const want = [...s.keys()].filter((i) => !Number.isNaN(s[i])).sort((a, b) => (s[b] as number) - (s[a] as number) || a - b).slice(0, 20);
  assert.deepEqual(got.map((h) => h.index), want);
  assert.deepEqual(topK(s, 0), []);
  assert.equal(topK(new Float32Array([1, 2]), 10).length, 2);
});

test('exactSearch finds a planted neighbour and recallAtK counts overlaps', () => {
  const rng = new Rng(5);
  const m = randomUnit(rng, 200, 16);
  const q = m.slice(37 * 16, 38 * 16);
  const hits = exactSearch(m, 16, Float32Array.from(q, (x) => x * 3), 5);
  assert.equal(hits[0]!.index, 37);
  assert.ok(Math.abs(hits[0]!.score - 1) < 1e-5);
  assert.ok(hits.every((h, i) => i === 0 || h.score <= hits[i - 1]!.score));
  assert.equal(recallAtK([1, 2, 3, 4], [4, 3, 9, 8]), 0.5);
  assert.equal(recallAtK([], []), 1);
  const p = softmax([1, 2, 3], 0.5);
  assert.ok(Math.abs(p.reduce((a, b) => a + b) - 1) < 1e-12 && p[2]! > p[1]! && p[1]! > p[0]!);
});

test('retrieval metrics: ranks, recall@k, median and exact chance levels', () => {
  const e = (i: number) => Float32Array.from({ length: 4 }, (_, j) => (j === i ? 1 : 0));
  const cands = [e(0), e(1), e(2), e(3)];
  // Query 0 is candidate 0 exactly (rank 1); query 1 prefers 2 then 3 over its relevant 1 (rank 3).
  const q1 = normalize(new Float32Array([0, 0.1, 0.9, 0.5]));
  const m = retrievalMetrics([e(0), q1], cands, [[0], [1]]);
  assert.equal(m.queries, 2);
  assert.equal(m.candidates, 4);
  assert.equal(m.r1, 0.5);
  assert.equal(m.r5, 1);
  assert.equal(m.medianRank, 2);
  assert.equal(bestRank([0.1, 0.5, 0.3], [0, 2]), 2);
  assert.ok(Math.abs(chanceRecall(10, 1, 1) - 0.1) < 1e-12);
  assert.ok(Math.abs(chanceRecall(10, 2, 5) - (1 - 56 / 252)) < 1e-12);
  assert.equal(chanceRecall(4, 1, 10), 1);
  assert.ok(Math.abs(m.chance.r1 - 0.25) < 1e-12);
  assert.equal(m.chance.medianRank, 2);
  assert.throws(() => retrievalMetrics([e(0)], cands, [[7]]), UsageError);
  const g = genreAccuracy([e(0), e(1), e(1)], ['jazz', 'rock', 'jazz'], ['jazz', 'rock'], [e(0), e(1)]);
  assert.equal(g.accuracy, 2 / 3);
  assert.equal(g.chance, 0.5);
});

/** A stand-in text side: each word owns a fixed random direction, a text is their mean. */
function bagOfWords(dim = 32): TextEmbedder & { vec(text: string): Float32Array } {
  const word = (w: string) => normalize(Float32Array.from({ length: dim }, (_, j) => new Rng([...w].reduce((h, c) => h * 31 + c.charCodeAt(0), 7) + j).normal()));
  const vec = (text: string) => {
    const acc = new Float32Array(dim);
    for (const w of text.toLowerCase().split(/\s+/).filter(Boolean)) word(w).forEach((x, j) => (acc[j]! += x));
    return normalize(acc);
  };
  return { vec, embedText: async (t) => (typeof t === 'string' ? [t] : [...t]).map(vec) };
}

test('zero-shot labels: prompts, ranking, softmax scores', async () => {
  assert.deepEqual(parseLabels(' jazz, rock,,jazz ,Hip hop'), ['jazz', 'rock', 'Hip hop']);
  assert.throws(() => parseLabels(' , '), UsageError);
  assert.equal(promptFor('acoustic_guitar'), 'an acoustic guitar track');
  assert.equal(promptFor('hiphop'), 'a hip hop track');
  assert.equal(promptFor('jazz', 'music like {label}, a {label} record'), 'music like jazz, a jazz record');
  assert.throws(() => promptFor('x', 'no placeholder'), UsageError);
  const bow = bagOfWords();
  const track = bow.vec('a jazz track');
  const r = await zeroShotLabels(bow, track, ['rock', 'jazz', 'metal']);
  assert.equal(r[0]!.label, 'jazz');
  assert.ok(Math.abs(r.reduce((s, x) => s + x.score, 0) - 1) < 1e-9);
  assert.ok(r.every((x, i) => i === 0 || x.score <= r[i - 1]!.score));
  assert.ok(Math.abs(r[0]!.similarity - 1) < 1e-5);
  assert.throws(() => rankLabels(track, ['a'], []), UsageError);
});

test('fitTemplate: template words the model lacks are cut (a mood-word model reads "a {label} track" as "{label}")', async () => {
  const vocab = (words: string[]) => ({ unknownWords: (t: string | readonly string[]) => (typeof t === 'string' ? [t] : [...t]).flatMap((x) => x.toLowerCase().split(/\s+/)).filter((w) => w && !words.includes(w)) });
  assert.equal(fitTemplate(vocab(['a', 'track']), 'a {label} track'), 'a {label} track', 'known words kept');
  assert.equal(fitTemplate(vocab(['calm', 'jazz']), 'a {label} track'), '{label}', 'unknown words cut');
  assert.equal(fitTemplate(vocab(['music']), '{label} music'), '{label} music', 'one known word kept');
  assert.equal(fitTemplate({}, 'a {label} track'), 'a {label} track', 'a space without a vocabulary keeps the template');
  assert.throws(() => fitTemplate(vocab([]), 'no placeholder'), UsageError, 'a template without {label} is refused');
  // zeroShotLabels fits its templates: with "a"/"track" unknown the prompts are the bare labels.
  const bow = bagOfWords();
  const seen: string[] = [];
  const space = { ...vocab(['rock', 'jazz']), embedText: async (t: string | readonly string[]) => { seen.push(...(typeof t === 'string' ? [t] : t)); return bow.embedText(t); } };
  await zeroShotLabels(space, bow.vec('jazz'), ['rock', 'jazz']);
  assert.deepEqual(seen, ['rock', 'jazz'], 'bare-label prompts');
});

test('questions become the right sentences, and answers follow the track vector', async () => {
  const plan = (q: string) => parseQuestion(q);
  assert.deepEqual(plan('Is this danceable?'), { kind: 'yes-no', question: 'Is this danceable?', yes: 'a danceable track', no: 'a track that is not danceable' });
  const energetic = plan('is it energetic?');
  assert.ok(energetic.kind === 'yes-no' && energetic.yes === 'an energetic track' && energetic.no === 'a calm track');
  assert.deepEqual(plan('is the track happy'), { kind: 'yes-no', question: 'is the track happy', yes: 'a happy track', no: 'a sad track' });
  const vocals = plan('Does it have vocals?');
  assert.ok(vocals.kind === 'yes-no' && vocals.yes === 'a track with vocals' && vocals.no === 'a track without vocals');
  const drums = plan('are there any drums?');
  assert.ok(drums.kind === 'yes-no' && drums.yes === 'a track with drums');
  const swing = plan('does it swing?');
  assert.ok(swing.kind === 'yes-no' && swing.yes === 'a track that swings');
  const inst = plan('What instruments play?');
  assert.ok(inst.kind === 'choice' && inst.topic === 'instruments' && inst.multi && inst.options.includes('piano'));
  const genre = plan('which genre is this');
  assert.ok(genre.kind === 'choice' && genre.options.length === 10);
  assert.ok(plan('how fast is it?').kind === 'choice');
  assert.throws(() => plan('   ?'), UsageError);
  assert.throws(() => plan('why is the sky blue'), /cannot tell which answers/);
  // Instrument names are the generator's concept tags, so prompts use words the reviews use.
  for (const i of INSTRUMENTS) assert.ok((TAG_VOCABULARY as readonly string[]).includes(i.replace(/ /g, '_')), i);

  const bow = bagOfWords(64);
  const yes = await askTrack(bow, bow.vec('a danceable track'), 'is this danceable?');
  assert.equal(yes.answer, 'yes');
  assert.ok(yes.confidence > 0.5);
  const no = await askTrack(bow, bow.vec('a track that is not danceable'), 'is this danceable?');
  assert.equal(no.answer, 'no');
  const piano = await askTrack(bow, bow.vec('a track with piano and flute'), 'what instruments play?');
  assert.equal(piano.kind, 'choice');
  assert.ok(['piano', 'flute'].includes(piano.candidates[0]!.label), JSON.stringify(piano.candidates.slice(0, 3)));
  const custom = await askTrack(bow, bow.vec('a polka track'), 'what dance is it?', { choices: ['waltz', 'polka', 'tango'] });
  assert.equal(custom.answer, 'polka');
});

test('vector store: add, get, search with exclusions, model/width checks', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mb-store-'));
  await assert.rejects(VectorStore.open(join(dir, 'db')), IoError);
  const s = await VectorStore.open(join(dir, 'db'), { create: { dim: 4, model: 'm1', modelDir: '/models/m1' } });
  assert.equal(await s.count(), 0);
  assert.deepEqual(await s.search(new Float32Array(4).fill(1), 3), []);
  await s.add([
    { id: "it's", path: '/a.wav', vector: new Float32Array([2, 0, 0, 0]), genre: 'jazz', tags: ['piano', 'slow'], durationS: 3 },
    { id: 'b', path: '/b.wav', vector: new Float32Array([0, 1, 0, 0]), tags: [], durationS: 4.5 },
  ]);
  await s.add([{ id: 'c', path: '/c.wav', vector: new Float32Array([1, 1, 0, 0]), tags: ['x'], durationS: 1, albumId: 'A1', split: 'test' }]);
  assert.equal(await s.count(), 3);
  assert.deepEqual([...(await s.ids())].sort(), ["it's", 'b', 'c'].sort());
  assert.deepEqual(await s.get("it's"), { id: "it's", path: '/a.wav', genre: 'jazz', tags: ['piano', 'slow'], durationS: 3 });
  assert.equal(await s.get("x' OR '1'='1"), undefined);
  assert.deepEqual(Array.from((await s.vector("it's"))!), [1, 0, 0, 0], 'stored unit length');
  const hits = await s.search(new Float32Array([1, 0.2, 0, 0]), 2);
  assert.deepEqual(hits.map((h) => h.id), ["it's", 'c']);
  assert.ok(Math.abs(hits[0]!.score - 1 / Math.sqrt(1.04)) < 1e-5);
  const excl = await s.search(new Float32Array([1, 0.2, 0, 0]), 2, { exclude: new Set(["it's"]) });
  assert.deepEqual(excl.map((h) => h.id), ['c', 'b']);
  await assert.rejects(s.search(new Float32Array(3), 2), UsageError);
  await assert.rejects(s.add([{ id: 'd', path: '/d', vector: new Float32Array(5), tags: [], durationS: 1 }]), UsageError);
  await assert.rejects(s.add([{ id: 'd', path: '/d', vector: new Float32Array([NaN, 0, 0, 0]), tags: [], durationS: 1 }]), UsageError);
  const mx = await s.matrix();
  assert.equal(mx.ids.length, 3);
  assert.deepEqual(Array.from(mx.data.subarray(mx.ids.indexOf('b') * 4, mx.ids.indexOf('b') * 4 + 4)), [0, 1, 0, 0]);
  s.close();
  const again = await VectorStore.open(join(dir, 'db'));
  assert.equal(again.modelDir, '/models/m1');
  assert.equal(await again.count(), 3);
  again.close();
  await assert.rejects(VectorStore.open(join(dir, 'db'), { create: { dim: 4, model: 'm2' } }), /another model/);
  // Killed during the very first commit: data files without a version. Nothing counts as stored.
  const torn = await VectorStore.open(join(dir, 'torn'), { create: { dim: 4 } });
  await torn.add([{ id: 'a', path: '/a', vector: new Float32Array([1, 0, 0, 0]), tags: [], durationS: 1 }]);
  torn.close();
  await rm(join(dir, 'torn', 'tracks.lance', '_versions'), { recursive: true });
  const resumed = await VectorStore.open(join(dir, 'torn'));
  assert.equal(await resumed.count(), 0);
  await resumed.add([{ id: 'b', path: '/b', vector: new Float32Array([0, 1, 0, 0]), tags: [], durationS: 1 }]);
  assert.deepEqual([...(await resumed.ids())], ['b']);
  resumed.close();
  await assert.rejects(VectorStore.open(join(dir, 'db'), { create: { dim: 8, model: 'm1' } }), /8-d/);
  await rm(dir, { recursive: true, force: true });
});

test('approximate index keeps recall@10 >= 0.95 against the exact scan', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mb-ann-'));
  const dim = 32;
  const n = 3000;
  const rng = new Rng(11);
  const m = randomUnit(rng, n, dim);
  const s = await VectorStore.open(join(dir, 'db'), { create: { dim } });
  for (let start = 0; start < n; start += 1000) {
    await s.add(Array.from({ length: 1000 }, (_, i) => ({ id: `t${start + i}`, path: `/t${start + i}.wav`, vector: m.slice((start + i) * dim, (start + i + 1) * dim), tags: [], durationS: 1 })));
  }
  assert.equal(await s.buildIndex({ minRows: n + 1 }), false, 'below the threshold: no index');
  assert.equal(await s.buildIndex({ minRows: 1000 }), true);
  assert.ok(s.ann?.kind === 'usearch' && s.ann.rows === n, 'the graph is recorded with its row count');
  let recall = 0;
  const Q = 20;
  for (let q = 0; q < Q; q++) {
    const query = randomUnit(rng, 1, dim);
    const truth = exactSearch(m, dim, query, 10).map((h) => `t${h.index}`);
    const approx = (await s.search(query, 10)).map((h) => h.id);
    const exact = (await s.search(query, 10, { exact: true })).map((h) => h.id);
    assert.deepEqual(exact, truth, 'the store\'s flat scan is the exact scan');
    recall += recallAtK(approx, truth) / Q;
  }
  assert.ok(recall >= 0.95, `recall@10 ${recall}`);
  s.close();
  await rm(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// With a real (tiny, pre-trained) model

describe('with a tiny model pre-trained on a generated corpus', () => {
  let fx: SearchFixture;
  let space: JointSpace;
  let corpus: Corpus;
  let scratch: string;

  before(async () => {
    fx = await searchFixture();
    space = await JointSpace.load(fx.model);
    corpus = await loadCorpus(fx.data, { quiet: true });
    scratch = await mkdtemp(join(tmpdir(), 'mb-search-'));
  });

  after(async () => {
    space?.dispose();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  function tone(seconds: number, hz: number, sr = 16000): Float32Array {
    return Float32Array.from({ length: Math.round(seconds * sr) }, (_, i) => 0.3 * Math.sin((2 * Math.PI * hz * i) / sr) + 0.1 * Math.sin((2 * Math.PI * hz * 1.5 * i) / sr));
  }

  test('Table 1 features and the stored search vector of a track come from one pipeline pass (equal values)', async () => {
    const tracks = corpus.tracks.slice(0, 5); // more than one Transformer block
    const frontend = new LogMelSource();
    const table1 = await pipelineFeatures(space, tracks, frontend, 'music'); // the mlm/mim/full rows
    const vggish = await pipelineFeatures(space, tracks.slice(0, 1), frontend, 'vggish');
    const embedded = await space.embedTracks(tracks.map((t) => t.audioPath)); // what search embeds
    const store = await VectorStore.open(fx.db); // what `musicbert index` stored
    try {
      for (const [i, t] of tracks.entries()) {
        const e = embedded[i]!;
        assert.equal(table1.dim, e.state.length);
        assert.ok(same(table1.data.subarray(i * table1.dim, (i + 1) * table1.dim), e.state), `${t.id}: Table-1 row equals the state search projects`);
        const stored = await store.vector(t.id);
        assert.ok(stored && same(stored, e.vector), `${t.id}: stored vector equals the pipeline's`);
        assert.ok(same((await space.embedSegments([await space.encodeTrack(t.audioPath)]))[0]!, e.vector), `${t.id}: encodeTrack + embedSegments (the indexer's path) equals embedTracks`);
      }
    } finally {
      store.close();
    }
    const v = await space.encodeAudio(tracks[0]!.audioPath);
    const D = v.data.length / v.count;
    assert.equal(vggish.dim, 2 * D);
    const mean0 = v.data.filter((_, k) => k % D === 0).reduce((a, b) => a + b, 0) / v.count;
    assert.ok(Math.abs(vggish.data[0]! - mean0) < 1e-5, 'vggish row is the mean of the pipeline patch vectors');
  });

  test('JointSpace: unit vectors, bit-identical for the same input whatever the batch or form', async () => {
    assert.equal(space.dim, preset('tiny').model.projDim);
    const [a] = await space.embedText('slow sad piano ballad');
    const batch = await space.embedText(['fast rock', 'slow sad piano ballad', 'jazz', 'a', 'b', 'c', 'd', 'e', 'f', 'slow sad piano ballad']);
    assert.ok(same(a!, batch[1]!) && same(a!, batch[9]!), 'text vector independent of its batch');
    assert.ok(Math.abs(unitNorm(a!) - 1) < 1e-5);
    assert.ok(!same(a!, batch[0]!));
    assert.ok(Math.abs(unitNorm(await space.embedText('Ünïcödé 音楽 🎹').then((v) => v[0]!)) - 1) < 1e-5);
    await assert.rejects(space.embedText(['ok', '   ']), /text 1 is empty/);
    assert.deepEqual(space.unknownWords(['a piano track, xyzzy!', 'Xyzzy plugh']), ['xyzzy', 'plugh']);

    const track = corpus.tracks[0]!;
    const bytes = new Uint8Array(await import('node:fs/promises').then((f) => f.readFile(track.audioPath)));
    const fromPath = await space.embedAudio(track.audioPath);
    const fromBytes = await space.embedAudio(bytes);
    const inBatch = (await space.embedTracks([corpus.tracks[1]!.audioPath, track.audioPath, bytes, corpus.tracks[2]!.audioPath, corpus.tracks[3]!.audioPath])).map((e) => e.vector);
    assert.ok(same(fromPath, fromBytes), 'streamed file and in-memory bytes agree bit for bit');
    assert.ok(same(fromPath, inBatch[1]!) && same(fromPath, inBatch[2]!), 'audio vector independent of its batch');
    assert.ok(Math.abs(unitNorm(fromPath) - 1) < 1e-5);
    const again = await space.embedAudio(track.audioPath);
    assert.ok(same(fromPath, again));
    const sr22 = await space.embedTracks([tone(2, 440, 22050)], 22050);
    assert.ok(Math.abs(sr22[0]!.durationS - 2) < 1e-3);

    // Longer than maxMusicLen patches: pooled into segments; tensors are freed.
    const before = tf.memory().numTensors;
    const long = await space.embedTracks([tone(40, 220)]);
    assert.equal(long[0]!.patches, 41);
    assert.ok(Math.abs(unitNorm(long[0]!.vector) - 1) < 1e-5);
    await space.embedText(['x', 'y']);
    assert.equal(tf.memory().numTensors, before, 'no tensors leak');

    await assert.rejects(space.embedAudio(tone(0.5, 440)), (e: unknown) => e instanceof InvalidAudioError && /shorter than one 0.96 s patch/.test(e.message));
    await assert.rejects(space.embedAudio(new TextEncoder().encode('<html>not audio</html>')), AudioDecodeError);
    await assert.rejects(space.embedAudio(join(scratch, 'missing.wav')), AudioDecodeError);
  });

  test('index: a corpus is stored with its metadata; a re-run skips everything', async () => {
    const store = await VectorStore.open(fx.db);
    assert.equal(await store.count(), FIXTURE_TRACKS);
    assert.equal(store.modelDir, fx.model);
    const t = corpus.tracks.find((x) => x.split === 'test')!;
    const meta = await store.get(t.id);
    assert.equal(meta!.genre, t.genre);
    assert.deepEqual(meta!.tags, t.tags);
    assert.equal(meta!.albumId, t.albumId);
    assert.equal(meta!.path, t.audioPath);
    assert.ok(Math.abs(meta!.durationS - 3) < 0.02, `duration ${meta!.durationS}`);
    assert.ok(same((await store.vector(t.id))!, await space.embedAudio(t.audioPath)), 'stored vector is the embedding');
    store.close();
    const r = await indexCatalogue({ space, input: fx.data, db: fx.db, quiet: true });
    assert.equal(r.added, 0);
    assert.equal(r.skipped, FIXTURE_TRACKS);
    assert.equal(r.stored, FIXTURE_TRACKS);
    assert.equal(r.source, 'corpus');
  });

  test('index: a folder of audio files, with a broken file reported and skipped', async () => {
    const folder = join(scratch, 'folder');
    await mkdir(join(folder, 'sub'), { recursive: true });
    await copyFile(corpus.tracks[0]!.audioPath, join(folder, 'one.wav'));
    await copyFile(corpus.tracks[1]!.audioPath, join(folder, 'sub', 'two.wav'));
    await writeFile(join(folder, 'sub', 'broken.wav'), 'RIFF....WAVEfmt garbage');
    await writeFile(join(folder, 'notes.txt'), 'not audio');
    await writeFile(join(folder, 'short.wav'), encodeWav([tone(0.3, 440)], 16000));
    const listing = await listCatalogue(folder);
    assert.equal(listing.kind, 'folder');
    assert.deepEqual(listing.items.map((i) => i.id), ['one', 'short', 'sub/broken', 'sub/two']);
    const db = join(scratch, 'folder-db');
    const r = await indexCatalogue({ space, input: folder, db, quiet: true });
    assert.equal(r.added, 2);
    assert.deepEqual(r.failed.map((f) => f.id).sort(), ['short', 'sub/broken']);
    assert.ok(r.failed.every((f) => f.problem.length > 0));
    const cat = await Catalogue.open({ db });
    const sim = await cat.similar('one', 5);
    assert.deepEqual(sim.hits.map((h) => h.id), ['sub/two']);
    cat.close();
    await assert.rejects(listCatalogue(join(scratch, 'nope')), UsageError);
    await mkdir(join(scratch, 'empty'));
    await assert.rejects(listCatalogue(join(scratch, 'empty')), /no audio files/);
  });

  test('index: killed mid-run (SIGKILL), a re-run resumes without losing or duplicating tracks', async () => {
    // 60 files so the run lasts a few seconds; batches of 2 commit often.
    const folder = join(scratch, 'many');
    await mkdir(join(folder, 'copy'), { recursive: true });
    for (const t of corpus.tracks) {
      await copyFile(t.audioPath, join(folder, `${t.id}.wav`));
      await copyFile(t.audioPath, join(folder, 'copy', `${t.id}.wav`));
    }
    const total = corpus.tracks.length * 2;
    const db = join(scratch, 'killed-db');
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'src', 'cli.ts'), 'index', '--model', fx.model, '--input', folder, '--db', db, '--batch', '2'], {
      cwd: repoRoot,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let atKill = -1;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && child.exitCode === null) {
      if (existsSync(join(db, 'musicbert-store.json'))) {
        // The child may be mid-way through its first commit: a store that will not open yet is fine.
        const n = await VectorStore.open(db).then(async (s) => {
          const c = await s.count();
          s.close();
          return c;
        }, () => 0);
        if (n >= 2) {
          child.kill('SIGKILL');
          atKill = n;
          break;
        }
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    await exited;
    assert.ok(atKill >= 2 && atKill < total, `killed after ${atKill} of ${total} tracks (stderr: ${stderr.slice(-300)})`);
    const s = await VectorStore.open(db);
    const survived = await s.count();
    s.close();
    assert.ok(survived >= atKill && survived < total && survived % 2 === 0, `committed batches survive whole (${survived})`);
    const r = await indexCatalogue({ space, input: folder, db, quiet: true });
    assert.equal(r.skipped, survived);
    assert.equal(r.added, total - survived);
    const s2 = await VectorStore.open(db);
    const { ids } = await s2.matrix();
    assert.equal(ids.length, total);
    assert.equal(new Set(ids).size, total, 'no duplicates');
    const id = `copy/${corpus.tracks[5]!.id}`;
    assert.ok(same((await s2.vector(id))!, await space.embedAudio(corpus.tracks[5]!.audioPath)));
    s2.close();
  });

  test('catalogue: text search, similarity by id and by file, zero-shot labels, questions', async () => {
    const cat = await Catalogue.open({ db: fx.db, model: space });
    const hits = await cat.searchText('slow sad piano ballad', 5);
    assert.equal(hits.length, 5);
    assert.ok(hits.every((h, i) => i === 0 || h.score <= hits[i - 1]!.score + 1e-6));
    assert.ok(hits.every((h) => h.score >= -1 && h.score <= 1 && typeof h.path === 'string'));
    const exact = await cat.searchText('slow sad piano ballad', 5, { exact: true });
    assert.deepEqual(exact.map((h) => h.id), hits.map((h) => h.id));
    await assert.rejects(cat.searchText('  ', 5), UsageError);
    const id = corpus.tracks[4]!.id;
    const sim = await cat.similar(id, 3);
    assert.equal(sim.query.id, id);
    assert.equal(sim.hits.length, 3);
    assert.ok(!sim.hits.some((h) => h.id === id));
    const byFile = await cat.similar(corpus.tracks[4]!.audioPath, 1);
    assert.equal(byFile.hits[0]!.id, id, 'a catalogue file is its own nearest neighbour');
    assert.ok(byFile.hits[0]!.score > 0.9999);
    await assert.rejects(cat.similar('no-such-id-or-file', 3), /neither a track id/);
    const labels = await cat.labels(corpus.tracks[4]!.audioPath, ['jazz', 'rock', 'blues']);
    assert.equal(labels.length, 3);
    assert.ok(Math.abs(labels.reduce((s, l) => s + l.score, 0) - 1) < 1e-6);
    const answer = await cat.ask(corpus.tracks[4]!.audioPath, 'Is this danceable?');
    assert.ok(answer.answer === 'yes' || answer.answer === 'no');
    assert.deepEqual(answer.candidates.map((c) => c.label).sort(), ['no', 'yes']);
    cat.close();
    await assert.rejects(Catalogue.open({ db: join(scratch, 'folder-db-none') }), IoError);
  });

  test('retrieval-eval: held-out metrics are well-formed and beside their chance levels', async () => {
    const r = await evaluateRetrieval(space, corpus, { quiet: true });
    assert.equal(r.split, 'test');
    const held = corpus.tracks.filter((t) => t.split === 'test').length;
    assert.equal(r.tracks, held);
    const m = r.retrieval!;
    assert.ok(m.queries > 0);
    assert.equal(m.candidates, held);
    assert.ok(0 <= m.r1 && m.r1 <= m.r5 && m.r5 <= m.r10 && m.r10 <= 1);
    assert.ok(m.medianRank >= 1 && m.medianRank <= held);
    assert.ok(m.chance.r1 > 0 && m.chance.r1 < 1);
    assert.equal(r.genre!.genres.length, 10);
    assert.equal(r.genre!.chance, 0.1);
    assert.ok(r.genre!.accuracy >= 0 && r.genre!.accuracy <= 1);
  });

  test('CLI: search, similar, tags, ask, retrieval-eval print JSON; errors exit 2 (usage) or 1', async () => {
    const s = await cli(['search', '--db', fx.db, 'slow', 'sad', 'piano', '--k', '3', '--json']);
    assert.equal(s.code, 0, s.stderr);
    const sj = JSON.parse(s.stdout);
    assert.equal(sj.query, 'slow sad piano');
    assert.equal(sj.hits.length, 3);
    const id = corpus.tracks[0]!.id;
    const sim = JSON.parse((await cli(['similar', '--db', fx.db, id, '--k', '2', '--json'])).stdout);
    assert.equal(sim.stored, true);
    assert.equal(sim.hits.length, 2);
    assert.ok(!sim.hits.some((h: { id: string }) => h.id === id));
    const tags = await cli(['tags', '--model', fx.model, corpus.tracks[0]!.audioPath, '--labels', 'jazz,rock,metal', '--json']);
    assert.equal(tags.code, 0, tags.stderr);
    assert.deepEqual(JSON.parse(tags.stdout).labels.map((l: { label: string }) => l.label).sort(), ['jazz', 'metal', 'rock']);
    const ask = JSON.parse((await cli(['ask', '--model', fx.model, corpus.tracks[0]!.audioPath, 'what instruments play?', '--json'])).stdout);
    assert.equal(ask.kind, 'choice');
    assert.ok(ask.answer.length > 0);
    const ev = await cli(['retrieval-eval', '--model', fx.model, '--data', fx.data, '--json']);
    assert.equal(ev.code, 0, ev.stderr);
    const evj = JSON.parse(ev.stdout);
    assert.equal(evj.split, 'test');
    assert.equal(typeof evj.retrieval.r10, 'number');
    const usage = await cli(['search', '--db', fx.db, '--k', '3']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /give a text query/);
    const noStore = await cli(['search', '--db', join(scratch, 'no-store'), 'x']);
    assert.equal(noStore.code, 1);
    assert.match(noStore.stderr, /\[IO\].*no vector store here/);
  });

  test('CLI tables: hits, labels and evaluation read well', () => {
    const hits = formatHits([{ id: 'jazz.00001', path: '/x', genre: 'jazz', tags: ['piano', 'slow'], durationS: 3, score: 0.81234 }]);
    assert.equal(hits, '  1. 0.812  jazz.00001     3.0s  jazz | piano, slow');
    assert.equal(formatHits([]), '(no results: the store is empty)');
    assert.match(formatLabels([{ label: 'jazz', score: 0.5, similarity: 0.3 }]), /^jazz   0\.500  #{15}$/);
    const ev = formatEval({ split: 'test', tracks: 6, skipped: 0, retrieval: { queries: 4, candidates: 6, r1: 0.25, r5: 1, r10: 1, medianRank: 2, chance: { r1: 0.3, r5: 0.9, r10: 1, medianRank: 2 } }, genre: { tracks: 6, genres: ['a', 'b'], accuracy: 0.5, chance: 0.5 } });
    assert.match(ev, /R@1 +25\.0% +30\.0%/);
    assert.match(ev, /zero-shot genre \(6 tracks, 2 genres\) +50\.0% +50\.0%/);
  });
});
