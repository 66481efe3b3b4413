/**
 * The store keeps each track's measured tempo (BPM), so a conversation over a stored catalogue
 * ranks "slower"/"faster" by it; a store written before the column existed still opens, reads
 * its old rows without tempo and gains the column on its next write.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Field, FixedSizeList, Float32, Float64, List, Schema, Utf8 } from 'apache-arrow';
import { VectorStore, type TrackEntry } from '../src/search/store.js';
import { loadCatalogueView } from '../src/search/catalogueView.js';
import { normalize } from '../src/search/vectors.js';
import { estimateTempo } from '../src/audio/tempo.js';
import { MEL_BANDS } from '../src/audio/constants.js';
import { Rng } from '../src/util/rng.js';

const DIM = 8;

function entry(rng: Rng, i: number, bpm?: number): TrackEntry {
  return { id: `t${i}`, path: `/c/t${i}.wav`, vector: normalize(Float32Array.from({ length: DIM }, () => rng.normal())), tags: [], durationS: 30, ...(bpm !== undefined ? { bpm } : {}) };
}

/** A 30-s log-mel with a 3-frame onset at round(i × 6000 / bpm) frames (100 frames/s). */
function clickTrack(bpm: number): { data: Float32Array; frames: number } {
  const frames = 3000;
  const data = new Float32Array(frames * MEL_BANDS).fill(-4.6);
  for (let i = 0; Math.round((i * 6000) / bpm) < frames; i++) {
    const t = Math.round((i * 6000) / bpm);
    for (let d = 0; d < 3 && t + d < frames; d++) for (let b = 0; b < MEL_BANDS; b++) data[(t + d) * MEL_BANDS + b] = 2 - d;
  }
  return { data, frames };
}

test('estimateTempo finds the beat of a click track (log-mel with an onset every 0.5 s → 120 BPM; every 0.75 s → 80 BPM)', () => {
  for (const want of [120, 80]) {
    const bpm = estimateTempo(clickTrack(want));
    assert.ok(bpm !== undefined && Math.abs(bpm - want) < 1.5, `onset every ${6000 / want} frames: expected ~${want} BPM, got ${bpm}`);
  }
});

test('estimateTempo keeps a beat whose lag is not a whole number of frames in its octave family (180 BPM → 180 or 90, not the 60-BPM three-beat lag)', () => {
  // 180 BPM is 33.3 frames: the plain autocorrelation peak smears over lags 33 and 34, and the
  // exact three-beat lag (100 frames) won before the comb summed the multiples.
  const bpm = estimateTempo(clickTrack(180));
  assert.ok(bpm !== undefined, 'a 30-s click track has a tempo');
  const octaveOf180 = [180, 90].some((want) => Math.abs(bpm / want - 1) <= 0.04);
  assert.ok(octaveOf180, `expected 180 or 90 BPM (±4 %), got ${bpm.toFixed(1)}`);
  for (const want of [140, 100, 70]) {
    const got = estimateTempo(clickTrack(want));
    assert.ok(got !== undefined && Math.abs(got / want - 1) <= 0.02, `${want} BPM click track: got ${got}`);
  }
});

test('the store round-trips measured tempo; the catalogue view of a stored catalogue carries it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mb-tempo-'));
  try {
    const rng = new Rng(1);
    const store = await VectorStore.open(dir, { create: { dim: DIM } });
    await store.add([entry(rng, 0, 92.5), entry(rng, 1), entry(rng, 2, 140)]);
    assert.equal((await store.get('t0'))?.bpm, 92.5, 't0 keeps its BPM');
    assert.equal((await store.get('t1'))?.bpm, undefined, 't1 had none');
    const view = await loadCatalogueView(await VectorStore.open(dir));
    assert.ok(view.tempo, 'the view has a tempo column');
    const at = (id: string) => view.tempo![view.row.get(id) as number];
    assert.equal(at('t2'), 140, 't2 tempo in the view');
    assert.ok(Number.isNaN(at('t1')), 'unknown tempo is NaN in the view');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a store written before the tempo column opens, reads its rows, and takes new rows with tempo', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mb-tempo-old-'));
  try {
    // The schema of stores indexed before tempo was kept, written as they were.
    const old = new Schema([
      new Field('id', new Utf8(), false),
      new Field('path', new Utf8(), false),
      new Field('vector', new FixedSizeList(DIM, new Field('item', new Float32(), true)), false),
      new Field('genre', new Utf8(), true),
      new Field('tags', new List(new Field('item', new Utf8(), true)), false),
      new Field('duration', new Float64(), false),
      new Field('album', new Utf8(), true),
      new Field('split', new Utf8(), true),
    ]);
    const rng = new Rng(2);
    const v = Array.from(entry(rng, 0).vector);
    const { connect } = await import('@lancedb/lancedb');
    const db = await connect(dir);
    await db.createTable('tracks', [{ id: 'old', path: '/c/old.wav', vector: v, genre: 'jazz', tags: ['piano'], duration: 12, album: null, split: null }], { schema: old });
    await writeFile(join(dir, 'musicbert-store.json'), JSON.stringify({ format: 1, dim: DIM }));

    const store = await VectorStore.open(dir);
    const before = await store.get('old');
    assert.equal(before?.genre, 'jazz', 'old row readable');
    assert.equal(before?.bpm, undefined, 'old row has no tempo');
    await store.add([entry(rng, 5, 101)]);
    const reopened = await VectorStore.open(dir);
    assert.equal(await reopened.count(), 2, 'both rows stored');
    assert.equal((await reopened.get('t5'))?.bpm, 101, 'new row keeps its tempo');
    assert.equal((await reopened.get('old'))?.bpm, undefined, 'old row still without tempo');
    assert.deepEqual((await reopened.get('old'))?.tags, ['piano'], 'old row intact');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
