/**
 * Music prototypes of tags: per-tag means, synonym merging, the saved file, and the conversation's
 * mood directions taken between prototypes when the model has them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPrototypes, MIN_PROTOTYPE_TRACKS, PROTOTYPES_FILE, prototypeOf, savePrototypes, tagPrototypes } from '../src/model/prototypes.js';
import { Conversation, type ConversationModel } from '../src/search/conversation.js';
import { catalogueView } from '../src/search/catalogueView.js';
import { normalize } from '../src/search/vectors.js';
import { CheckpointError, UsageError } from '../src/util/errors.js';

test('tagPrototypes: per-tag means over the tracks carrying a tag (case folded); prototypeOf merges synonyms by count', () => {
  const p = tagPrototypes([
    { vector: Float32Array.of(1, 0), tags: ['Happy', 'Calm'] },
    { vector: Float32Array.of(3, 2), tags: ['happy'] },
    { vector: Float32Array.of(0, 4), tags: ['Cheerful', 'cheerful'] },
  ], 2);
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

test('prototypes round-trip through the model directory; a damaged file is a CheckpointError naming it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mb-proto-'));
  try {
    assert.equal(await loadPrototypes(dir, 2), undefined, 'a model without prototypes');
    const p = tagPrototypes([{ vector: Float32Array.of(0.5, -1), tags: ['sad'] }, { vector: Float32Array.of(1, 1), tags: ['happy', 'sad'] }], 2);
    await savePrototypes(dir, p);
    const back = await loadPrototypes(dir, 2);
    assert.deepEqual([...back!.keys()], ['happy', 'sad']);
    assert.deepEqual([...back!.get('sad')!.vector], [0.75, 0]);
    assert.equal(back!.get('sad')!.count, 2);
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
  assert.equal(term.label, `music tagged happy (${MIN_PROTOTYPE_TRACKS}) − melancholy (${MIN_PROTOTYPE_TRACKS})`, 'sad is found through its synonym "melancholy"');
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
