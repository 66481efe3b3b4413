/**
 * Stage-1 objectives without the generator's tags: log-mel augmentations, the two-view batch, the
 * contrastive loss (value by hand, gradient by central differences), tag BCE that ignores
 * untagged audio, and a tiny contrastive + tags pre-training on real clips whose losses fall.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf, ready } from '../src/tensor/backend.js';
import { AudioEncoder } from '../src/model/audioEncoder.js';
import { audioEncoderConfig } from '../src/model/config.js';
import { applyGain, applyMask, applyMixup, augmentPatch, DEFAULT_AUGMENT, NO_AUGMENT } from '../src/train/augment.js';
import { encoderLossSettings, parseEncoderObjectives, patchPool, twoViewBatch, twoViewLoss, twoViewStepLoss } from '../src/train/encoderStage.js';
import { bceWithLogits } from '../src/train/objectives.js';
import { pretrain } from '../src/train/pretrain.js';
import { conceptLabels, parseConceptSources } from '../src/train/concepts.js';
import { Rng } from '../src/util/rng.js';
import { UsageError } from '../src/util/errors.js';
import type { Corpus, TrackRecord } from '../src/data/corpus.js';
import { repoRoot } from './shared.js';

const P = 96 * 64;
const close = (a: number, b: number, tol: number, msg = ''): void => assert.ok(Math.abs(a - b) <= tol, `${msg} ${a} vs ${b}`);

before(async () => {
  await ready();
});

function randomPatches(count: number, rng: Rng): { data: Float32Array; count: number } {
  return { data: Float32Array.from({ length: count * P }, () => rng.uniform(-4, 2)), count };
}

test('augmentations: gain and mixup act on magnitudes, masks fill with the mean, seeded', () => {
  const rng = new Rng(1);
  const x = Float32Array.from({ length: P }, () => rng.uniform(-4, 2));
  const g = Float32Array.from(x);
  applyGain(g, 20); // ×10 in magnitude
  close(g[5] as number, Math.log(10 * (Math.exp(x[5] as number) - 0.01) + 0.01), 1e-5, 'gain');
  const z = Float32Array.from(x);
  applyGain(z, 0);
  close(z[7] as number, x[7] as number, 1e-5, '0 dB is the identity');
  const other = Float32Array.from({ length: P }, () => 1);
  const m = Float32Array.from(x);
  applyMixup(m, other, 0.25);
  close(m[3] as number, Math.log(0.75 * (Math.exp(x[3] as number) - 0.01) + 0.25 * (Math.E - 0.01) + 0.01), 1e-5, 'mixup');
  const t = Float32Array.from(x);
  const mean = x.reduce((s, v) => s + v, 0) / P;
  applyMask(t, 'time', 10, 3);
  close(t[10 * 64] as number, mean, 1e-4, 'time mask');
  close(t[12 * 64 + 63] as number, mean, 1e-4);
  assert.equal(t[13 * 64], x[13 * 64], 'outside the mask untouched');
  const f = Float32Array.from(x);
  applyMask(f, 'freq', 60, 10); // clipped at band 64
  close(f[5 * 64 + 60] as number, mean, 1e-4, 'freq mask');
  assert.equal(f[5 * 64 + 59], x[5 * 64 + 59]);
  assert.deepEqual(augmentPatch(x, other, DEFAULT_AUGMENT, new Rng(9)), augmentPatch(x, other, DEFAULT_AUGMENT, new Rng(9)));
  assert.deepEqual(augmentPatch(x, other, NO_AUGMENT, new Rng(9)), x);
  assert.throws(() => augmentPatch(x.subarray(1), undefined, NO_AUGMENT, new Rng(1)), RangeError);
});

test('parseEncoderObjectives: known names, deduplicated; unknown is a UsageError', () => {
  assert.deepEqual(parseEncoderObjectives('contrastive, tags,contrastive'), ['contrastive', 'tags']);
  assert.throws(() => parseEncoderObjectives('mlm'), UsageError);
  assert.throws(() => parseEncoderObjectives(' , '), UsageError);
});

const tinyEncoder = (concepts: number): AudioEncoder => AudioEncoder.create(audioEncoderConfig({ channels: [2, 4], dense: [], embedDim: 8, numConcepts: concepts }), 5);

test('two-view contrastive loss: symmetric InfoNCE of the two views by hand; untagged rows do not count in tags', () => {
  const rng = new Rng(2);
  const pool = patchPool([randomPatches(3, rng), randomPatches(2, rng), randomPatches(1, rng)], [[0, 2], [], [1]]);
  const enc = tinyEncoder(3);
  const tracks = [0, 1, 2];
  const batch = twoViewBatch(pool, tracks, 3, NO_AUGMENT, new Rng(4));
  // Without augmentation each view is one of the track's own patches; the two differ when it has ≥ 2.
  for (let i = 0; i < 3; i++) {
    const a = batch.x.subarray(i * P, (i + 1) * P);
    const b = batch.x.subarray((3 + i) * P, (4 + i) * P);
    const p = pool.patches[i]!;
    const own = (v: Float32Array): boolean => Array.from({ length: p.count }, (_, k) => k).some((k) => v.every((x, j) => x === p.data[k * P + j]));
    assert.ok(own(a) && own(b), `views of track ${i} come from it`);
    if (p.count > 1) assert.ok(a.some((x, j) => x !== b[j]), `track ${i}: two different patches`);
  }
  assert.deepEqual(Array.from(batch.w), [1, 0, 1, 1, 0, 1]);
  const settings = { ...encoderLossSettings(['contrastive', 'tags'], 3), temperature: 0.5 };
  const [loss, contrastive, tags, expectedTags, e] = tf.tidy(() => {
    const out = twoViewLoss(enc, batch, tracks, settings);
    const emb = enc.embed(tf.tensor3d(batch.x, [6, 96, 64]));
    const y = tf.tensor2d(batch.y, [6, 3]);
    const keep = [0, 2, 3, 5];
    const bce = bceWithLogits(tf.gather(enc.conceptLogits(emb), keep), tf.gather(y, keep));
    return [out.loss, out.parts.contrastive!, out.parts.tags!, bce, emb].map((t) => Array.from(t.dataSync()));
  });
  // Hand InfoNCE: cosine logits / τ between view A (rows 0..2) and view B (rows 3..5), both directions.
  const row = (r: number): number[] => e!.slice(r * 8, r * 8 + 8);
  const cos = (u: number[], v: number[]): number => u.reduce((s, x, j) => s + x * v[j]!, 0) / Math.hypot(...u) / Math.hypot(...v);
  const logits = tracks.map((i) => tracks.map((j) => cos(row(i), row(3 + j)) / 0.5));
  const lse = (xs: number[]): number => Math.log(xs.reduce((s, x) => s + Math.exp(x), 0));
  const ab = tracks.reduce((s, i) => s - (logits[i]![i]! - lse(logits[i]!)), 0) / 3;
  const ba = tracks.reduce((s, j) => s - (logits[j]![j]! - lse(tracks.map((i) => logits[i]![j]!))), 0) / 3;
  close(contrastive![0]!, (ab + ba) / 2, 1e-4, 'contrastive');
  close(tags![0]!, expectedTags![0]!, 1e-5, 'tags over tagged rows only');
  close(loss![0]!, contrastive![0]! + tags![0]!, 1e-5, 'sum of parts');
  enc.dispose();
});

test('two-view contrastive loss: gradient matches central differences', () => {
  const rng = new Rng(3);
  const pool = patchPool([randomPatches(2, rng), randomPatches(2, rng), randomPatches(2, rng)], [[], [], []]);
  const enc = tinyEncoder(1);
  const batch = twoViewBatch(pool, [0, 1, 2], 1, NO_AUGMENT, new Rng(1));
  const settings = { ...encoderLossSettings(['contrastive'], 3), temperature: 0.3 };
  const param = enc.params['embedding.weight']!;
  const f = (): tf.Scalar => twoViewLoss(enc, batch, [0, 1, 2], settings).loss;
  const grads = tf.tidy(() => Array.from(tf.variableGrads(f, [param]).grads[param.name]!.dataSync()));
  const base = param.dataSync().slice();
  const h = 1e-2;
  for (const i of [0, 5, 17, 40]) {
    const at = (delta: number): number => {
      const v = base.slice();
      v[i] = (v[i] as number) + delta;
      param.assign(tf.tensor(v, param.shape));
      return tf.tidy(() => f().dataSync()[0] as number);
    };
    const fd = (at(h) - at(-h)) / (2 * h);
    close(grads[i] as number, fd, 2e-3 + 0.02 * Math.abs(fd), `d/dW[${i}]`);
  }
  param.assign(tf.tensor(base, param.shape));
  assert.throws(() => twoViewStepLoss(enc, patchPool([randomPatches(2, rng)], [[]]), settings, 0), UsageError);
  enc.dispose();
});

const realDev = join(repoRoot, '..', 'shared', 'data', 'real_dev');

test('tiny contrastive + tags pre-training on a handful of real clips: the losses fall', { skip: !existsSync(join(realDev, 'labels.csv')) && 'real_dev not present' }, async () => {
  const names = ['Q1', 'Q2', 'Q3', 'Q4'];
  const { readdir } = await import('node:fs/promises');
  const tracks: TrackRecord[] = [];
  for (const q of names) {
    for (const f of (await readdir(join(realDev, q))).sort().slice(0, 1)) tracks.push({ id: f, audioPath: join(realDev, q, f), split: 'train', tags: [q] });
  }
  tracks[3]!.tags = []; // one clip without tags: it still serves the contrastive objective
  const corpus: Corpus = { root: realDev, tracks, albums: [], genres: [], tagVocabulary: names, problems: [] };
  const root = await mkdtemp(join(tmpdir(), 'mb-encobj-'));
  try {
    const r = await pretrain({
      data: realDev,
      corpus,
      out: join(root, 'run'),
      cacheDir: join(root, 'cache'),
      config: 'tiny',
      encoderObjectives: ['contrastive', 'tags'],
      encoderSteps: 30,
      encoderLr: 3e-3,
      objectives: ['mlm'],
      stopAt: 0,
      seed: 1,
      quiet: true,
    });
    const l = r.summary.encoder.losses;
    assert.ok(l.contrastive!.last < l.contrastive!.first, `contrastive ${l.contrastive!.first} → ${l.contrastive!.last}`);
    assert.ok(l.tags!.last < l.tags!.first, `tags ${l.tags!.first} → ${l.tags!.last}`);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('concept targets: tags, genre and categorical labels, counted on training tracks only', () => {
  const track = (id: string, split: TrackRecord['split'], tags: string[], genre?: string, labels?: Record<string, string | number>): TrackRecord =>
    ({ id, audioPath: `/x/${id}.wav`, split, tags, ...(genre ? { genre } : {}), ...(labels ? { labels } : {}) }) as TrackRecord;
  const corpus = {
    root: '/x',
    tracks: [
      track('a', 'train', ['calm', 'dark'], 'Jazz', { quadrant: 'Q3', arousal: 0.2, genre9: 'Jazz' }),
      track('b', 'train', ['calm'], 'Rock', { quadrant: 'Q3', arousal: 0.4, genre9: 'Rock' }),
      track('c', 'test', ['dark', 'rare'], 'Jazz', { quadrant: 'Q1', arousal: 0.9, genre9: 'Jazz' }),
    ],
    albums: [],
    genres: ['Jazz', 'Rock'],
    tagVocabulary: ['calm', 'dark', 'rare'],
    problems: [],
    labelColumns: [{ name: 'quadrant', kind: 'categorical' }, { name: 'arousal', kind: 'numeric' }, { name: 'genre9', kind: 'categorical' }],
  } as Corpus;
  // The default is the corpus' own tag vocabulary, in its order (older checkpoints stay valid).
  const dflt = conceptLabels(corpus);
  assert.deepEqual(dflt.vocabulary, ['calm', 'dark', 'rare'], 'default vocabulary');
  assert.deepEqual(dflt.labels.get('c'), [1, 2], 'default labels of c');
  // All sources, at least 2 training tracks: "dark" (1 training track) and "rare" (test only) drop,
  // the numeric column never becomes a concept, genre9 (equal to the genre) is not repeated, and
  // the held-out track's Q1 is not in the vocabulary because no training track has it.
  const all = conceptLabels(corpus, { sources: ['tags', 'genre', 'labels'], minTracks: 2 });
  assert.deepEqual(all.vocabulary, ['calm', 'quadrant=Q3'], 'min 2 training tracks');
  const one = conceptLabels(corpus, { sources: ['tags', 'genre', 'labels'], minTracks: 1 });
  assert.deepEqual(one.vocabulary, ['calm', 'dark', 'genre=Jazz', 'genre=Rock', 'quadrant=Q3'], 'min 1 training track');
  assert.deepEqual(one.labels.get('a'), [0, 1, 2, 4], 'concepts of a');
  assert.deepEqual(one.labels.get('c'), [1, 2], 'concepts of the held-out track: only those in the vocabulary');
  // Without tags, the genre stands in (the generator's corpora and GTZAN-style folders).
  const untagged = { ...corpus, tagVocabulary: [], tracks: corpus.tracks.map((t) => ({ ...t, tags: [] })) };
  assert.deepEqual(conceptLabels(untagged).vocabulary, ['Jazz', 'Rock'], 'genre stands in');
  assert.throws(() => conceptLabels(corpus, { sources: ['moods' as never], minTracks: 1 }), UsageError, 'unknown source');
  assert.throws(() => conceptLabels(corpus, { sources: ['tags'], minTracks: 0 }), UsageError, 'minTracks 0');
  assert.deepEqual(parseConceptSources(' labels,tags,labels '), ['labels', 'tags'], 'parsed and deduplicated');
  assert.throws(() => parseConceptSources('tags,moods'), /unknown concept source "moods"/, 'unknown source named');
});
