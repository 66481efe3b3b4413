/**
 * Music prototypes of tags: per-tag means, synonym merging, the Ledoit–Wolf covariance (against
 * scikit-learn), the saved file with its member vectors, and the conversation's mood directions
 * taken between prototypes (decorrelated within the two tags' tracks: LDA) when the model has them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ledoitWolf, loadPrototypes, MIN_PROTOTYPE_TRACKS, PROTOTYPES_FILE, prototypeDirection, prototypeOf, savePrototypes, tagPrototypes } from '../src/model/prototypes.js';
import { Conversation, type ConversationModel } from '../src/search/conversation.js';
import { catalogueView } from '../src/search/catalogueView.js';
import { normalize } from '../src/search/vectors.js';
import { CheckpointError, UsageError } from '../src/util/errors.js';

test('tagPrototypes: per-tag means over the tracks carrying a tag (case folded); prototypeOf merges synonyms by count', () => {
  const p = tagPrototypes([
    { vector: Float32Array.of(1, 0), tags: ['Happy', 'Calm'] },
    { vector: Float32Array.of(3, 2), tags: ['happy'] },
    { vector: Float32Array.of(0, 4), tags: ['Cheerful', 'cheerful'] },
  ], 2).byTag;
  assert.deepEqual([...p.keys()], ['calm', 'cheerful', 'happy']);
  assert.deepEqual([...p.get('happy')!.vector], [2, 1]);
  assert.equal(p.get('happy')!.count, 2);
  assert.equal(p.get('cheerful')!.count, 1, 'a tag twice on one track counts once');
  const merged = prototypeOf(p, 'happy', ['joyful', 'cheerful']);
  assert.deepEqual(merged!.tags, ['happy', 'cheerful']);
  assert.equal(merged!.count, 3);
  assert.deepEqual([...merged!.vector].map((x) => +x.toFixed(5)), [1.33333, 2], 'count-weighted mean of (2,1)×2 and (0,4)×1');
  assert.equal(prototypeOf(p, 'sad', ['melancholy']), undefined);
  assert.throws(() => tagPrototypes([{ vector: Float32Array.of(1), tags: ['x'] }], 2), UsageError);
});

test('ledoitWolf equals scikit-learn\'s ledoit_wolf (sklearn 1.2: shrinkage 0.934 and 0.495 on these rows)', () => {
  // python3 -c "from sklearn.covariance import ledoit_wolf; import numpy as np; print(ledoit_wolf(np.array(ROWS))[0])"
  const cases: [number[][], number[]][] = [
    [[[1, 0, 2], [0, 1, 1], [2, 2, 0], [1, 3, 1], [0, 0, 0]], [0.809042, 0.029081, -0.002644, 0.029081, 0.861916, -0.010575, -0.002644, -0.010575, 0.809042]],
    [[[1, 0.5], [2, 1.5], [3, 2], [4, 4.5]], [1.478025, 0.789533, 0.789533, 1.94385]],
  ];
  for (const [rows, want] of cases) {
    const got = ledoitWolf(rows.map((r) => Float32Array.from(r)), rows[0]!.length);
    const worst = Math.max(...want.map((w, i) => Math.abs(w - got[i]!)));
    assert.ok(worst < 1e-5, `${rows.length}×${rows[0]!.length}: ${[...got].map((x) => x.toFixed(6)).join(' ')} (worst ${worst})`);
  }
  assert.throws(() => ledoitWolf([Float32Array.of(1, 2)], 2), UsageError);
});

test('prototypeDirection is Σ_w⁻¹(pos − neg), Σ_w the shrunk covariance of both tags\' tracks about their own mean; pos − neg without members', () => {
  const set = tagPrototypes([
    { vector: Float32Array.of(3, 1), tags: ['a'] },
    { vector: Float32Array.of(4, 0), tags: ['a'] },
    { vector: Float32Array.of(2, 2), tags: ['a'] },
    { vector: Float32Array.of(1, 0), tags: ['b'] },
    { vector: Float32Array.of(0, 1), tags: ['b'] },
    { vector: Float32Array.of(9, 9), tags: ['c'] }, // another tag's track: not in Σ_w
  ], 2);
  const pos = set.byTag.get('a')!;
  const neg = set.byTag.get('b')!;
  const centred = [[0, 0], [1, -1], [-1, 1], [0.5, -0.5], [-0.5, 0.5]].map((r) => Float32Array.from(r));
  const cov = ledoitWolf(centred, 2);
  const w = prototypeDirection(set, pos, neg);
  const d = [pos.vector[0]! - neg.vector[0]!, pos.vector[1]! - neg.vector[1]!];
  const back = [cov[0]! * w[0]! + cov[1]! * w[1]!, cov[2]! * w[0]! + cov[3]! * w[1]!];
  assert.ok(Math.abs(back[0]! - d[0]!) < 1e-4 && Math.abs(back[1]! - d[1]!) < 1e-4, `Σ_w·w = (${back.join(', ')}), expected (${d.join(', ')})`);
  assert.deepEqual([...prototypeDirection({ byTag: set.byTag }, pos, neg)], d.map((x) => Math.fround(x)));
});

test('prototypes round-trip through the model directory; a damaged file is a CheckpointError naming it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mb-proto-'));
  try {
    assert.equal(await loadPrototypes(dir, 2), undefined, 'a model without prototypes');
    const p = tagPrototypes([{ vector: Float32Array.of(0.5, -1), tags: ['sad'] }, { vector: Float32Array.of(1, 1), tags: ['happy', 'sad'] }], 2);
    await savePrototypes(dir, p);
    const back = await loadPrototypes(dir, 2);
    assert.deepEqual([...back!.byTag.keys()], ['happy', 'sad']);
    assert.deepEqual([...back!.byTag.get('sad')!.vector], [0.75, 0]);
    assert.equal(back!.byTag.get('sad')!.count, 2);
    assert.deepEqual([...back!.members!.vectors], [0.5, -1, 1, 1], 'the member vectors round-trip');
    assert.deepEqual([...back!.members!.rowsByTag.get('sad')!], [0, 1]);
    assert.deepEqual([...back!.members!.rowsByTag.get('happy')!], [1]);
    // A model saved before the members (means only) still loads, with plain-difference directions.
    await savePrototypes(dir, { byTag: p.byTag });
    assert.equal((await loadPrototypes(dir, 2))!.members, undefined, 'no members in an older file');
    // Member rows that disagree with a tag's count, or point past the tracks, are a damaged file.
    await savePrototypes(dir, { byTag: p.byTag, members: { vectors: p.members!.vectors, rowsByTag: new Map([['happy', Int32Array.of(1)], ['sad', Int32Array.of(0)]]) } });
    await assert.rejects(loadPrototypes(dir, 2), (e: unknown) => e instanceof CheckpointError && /member rows of tag "sad"/.test((e as Error).message));
    await savePrototypes(dir, { byTag: p.byTag, members: { vectors: p.members!.vectors, rowsByTag: new Map([['happy', Int32Array.of(7)], ['sad', Int32Array.of(0, 1)]]) } });
    await assert.rejects(loadPrototypes(dir, 2), (e: unknown) => e instanceof CheckpointError && /member rows of tag "happy"/.test((e as Error).message));
    await assert.rejects(loadPrototypes(dir, 3), (e: unknown) => e instanceof CheckpointError && e.message.includes(PROTOTYPES_FILE));
    await writeFile(join(dir, PROTOTYPES_FILE), 'garbage');
    await assert.rejects(loadPrototypes(dir, 2), CheckpointError);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

// A joint space whose text side knows nothing of mood (every sentence is the same vector), while
// the training music's prototypes carry it on axis 1: "happier" can only work through them.
const DIM = 3;
const TEXT_VOCAB = new Set(['a', 'track', 'with', 'piano', 'happy', 'sad', 'calm', 'energetic']);
const flatText: ConversationModel = {
  embedText: async (t) => (typeof t === 'string' ? [t] : [...t]).map(() => normalize(Float32Array.of(1, 0, 0.2))),
  unknownWords: (t) => [...new Set((typeof t === 'string' ? [t] : [...t]).flatMap((x) => x.toLowerCase().split(/[^a-z]+/).filter((w) => w && !TEXT_VOCAB.has(w))))],
  embedAudio: async () => normalize(Float32Array.of(1, 0, 0)),
};
const tracks = Array.from({ length: 30 }, (_, i) => ({ id: `t${String(i).padStart(2, '0')}`, valence: ((i * 7) % 13) / 6 - 1, x: ((i * 5) % 11) / 10 }));
const view = catalogueView(DIM, tracks.map((t) => ({ id: t.id, path: `/x/${t.id}.wav`, durationS: 3, tags: [], vector: normalize(Float32Array.of(1, t.valence, t.x)) })));
const valence = new Map(tracks.map((t) => [t.id, t.valence]));
const meanValence = (rs: readonly { id: string }[]) => rs.reduce((a, r) => a + valence.get(r.id)!, 0) / rs.length;
const training = (n: number) => [
  ...Array.from({ length: n }, (_, i) => ({ vector: normalize(Float32Array.of(1, 0.8, i / 50)), tags: ['Happy'] })),
  ...Array.from({ length: n }, (_, i) => ({ vector: normalize(Float32Array.of(1, -0.8, i / 50)), tags: ['Melancholy'] })),
];

test('conversation: with prototypes, "happier"/"sadder" move along the music between tagged training tracks, shown in the explanation', async () => {
  const m: ConversationModel = { ...flatText, prototypes: tagPrototypes(training(MIN_PROTOTYPE_TRACKS), DIM) };
  const c = new Conversation(m, view, { k: 10 });
  const start = await c.turn('piano');
  const happier = await c.turn('happier');
  const term = happier.explanation.terms.find((t) => t.label.startsWith('music tagged'));
  assert.ok(term, `a prototype term (${happier.explanation.terms.map((t) => t.label).join(', ')})`);
  assert.equal(term.label, `music tagged happy (${MIN_PROTOTYPE_TRACKS}) − melancholy (${MIN_PROTOTYPE_TRACKS}), decorrelated (LDA)`, 'sad is found through its synonym "melancholy"');
  assert.ok(meanValence(happier.results) > meanValence(start.results) + 0.2, `valence of the top 10: ${meanValence(start.results).toFixed(2)} → ${meanValence(happier.results).toFixed(2)}`);
  const sadder = await c.turn('sadder');
  assert.ok(!sadder.explanation.terms.some((t) => t.label.startsWith('music tagged')), 'sadder cancels happier (one key per pair)');
  const sadder2 = await c.turn('sadder');
  assert.ok(meanValence(sadder2.results) < meanValence(start.results) - 0.2, `sadder: ${meanValence(sadder2.results).toFixed(2)}`);
});

test('conversation: prototypes of too few tracks are not used (the text direction is)', async () => {
  const m: ConversationModel = { ...flatText, prototypes: tagPrototypes(training(MIN_PROTOTYPE_TRACKS - 1), DIM) };
  const c = new Conversation(m, view, { k: 10 });
  await c.turn('piano');
  const happier = await c.turn('happier');
  assert.ok(!happier.explanation.terms.some((t) => t.label.startsWith('music tagged')), happier.explanation.terms.map((t) => t.label).join(', '));
  assert.ok(happier.explanation.terms.some((t) => t.label.includes('happy')), 'the text direction happy − sad instead');
});

// Training music where the happy and sad tracks differ a little on the valence axis (1) and a lot,
// but noisily, on a nuisance axis (2): the plain difference of prototypes points mostly along the
// nuisance, Fisher's direction along valence. The catalogue's valence lies on axis 1 only.
const nuisanceTraining = () => Array.from({ length: 40 }, (_, i) => {
  const happy = i % 2 === 0;
  const noise = (((i * 37) % 19) / 9 - 1) * 3; // spread ±3 on the nuisance axis
  const jitter = (((i * 11) % 7) / 3 - 1) * 0.03;
  return { vector: Float32Array.of(1, (happy ? 0.2 : -0.2) + jitter, (happy ? 1 : -1) + noise), tags: [happy ? 'happy' : 'sad'] };
});

test('conversation: "happier" along Fisher\'s direction follows valence where the plain prototype difference follows a nuisance', async () => {
  const set = tagPrototypes(nuisanceTraining(), DIM);
  const nuisanceView = catalogueView(DIM, tracks.map((t, i) => ({ id: t.id, path: `/x/${t.id}.wav`, durationS: 3, tags: [], vector: normalize(Float32Array.of(1, t.valence, (((i * 13) % 17) / 8 - 1) * 1.5)) })));
  const gain = async (prototypes: typeof set) => {
    const c = new Conversation({ ...flatText, prototypes }, nuisanceView, { k: 10 });
    const start = await c.turn('piano');
    const happier = await c.turn('happier');
    return meanValence(happier.results) - meanValence(start.results);
  };
  const plain = await gain({ byTag: set.byTag });
  const lda = await gain(set);
  assert.ok(lda > 0.3, `valence gain of the top 10 with LDA: ${lda.toFixed(2)} (plain ${plain.toFixed(2)})`);
  assert.ok(lda > plain + 0.2, `LDA ${lda.toFixed(2)} against the plain difference ${plain.toFixed(2)}`);
});
