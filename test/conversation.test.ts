/**
 * Conversation logic on a hand-made joint space: texts map to vectors by their words (axis 0 fast
 * vs slow, 1 piano, 2 metal, 3 drums, 4 energetic vs calm), tracks are points in it, so every
 * refinement has a known right answer. Plus the refinement parser's pattern table.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Conversation, type ConversationModel } from '../src/search/conversation.js';
import { catalogueView } from '../src/search/catalogueView.js';
import { parseTurn } from '../src/search/refine.js';
import { normalize } from '../src/search/vectors.js';
import { UsageError } from '../src/util/errors.js';

const DIM = 6;
const AXES: Record<string, [number, number]> = {
  fast: [0, 1], slow: [0, -1], piano: [1, 1], metal: [2, 1], drums: [3, 1], energetic: [4, 1], calm: [4, -1],
  happy: [5, 1], sad: [5, -1],
};
const VOCAB = new Set([...Object.keys(AXES), 'a', 'an', 'track', 'with', 'jazz', 'not', 'that', 'is', 'danceable', 'bass']);

function textVector(text: string): Float32Array {
  const v = new Float32Array(DIM);
  for (const w of text.toLowerCase().split(/[^a-z]+/)) {
    const a = AXES[w];
    if (a) v[a[0]] = (v[a[0]] as number) + a[1];
  }
  v[5] = (v[5] as number) + 0.01; // never a zero vector
  return normalize(v);
}

const model: ConversationModel = {
  embedText: async (t) => (typeof t === 'string' ? [t] : [...t]).map(textVector),
  unknownWords: (t) => [...new Set((typeof t === 'string' ? [t] : [...t]).flatMap((s) => s.toLowerCase().split(/[^a-z]+/).filter((w) => w && !VOCAB.has(w))))],
  embedAudio: async () => normalize(Float32Array.from([0, 1, 0, 0, -1, 0])),
};

interface Fake { id: string; tempo: number; piano: boolean; metal: boolean; drums: boolean; arousal: number }
const TRACKS: Fake[] = [];
for (let i = 0; i < 40; i++) {
  // Deterministic spread of properties.
  TRACKS.push({ id: `t${String(i).padStart(2, '0')}`, tempo: ((i * 7) % 11) / 5 - 1, piano: i % 3 === 0, metal: i % 5 === 1, drums: i % 2 === 0, arousal: ((i * 3) % 7) / 3 - 1 });
}
const view = catalogueView(DIM, TRACKS.map((t) => ({
  id: t.id, path: `/x/${t.id}.wav`, durationS: 3, genre: t.metal ? 'metal' : 'jazz', tags: [...(t.piano ? ['piano'] : []), ...(t.drums ? ['drums'] : [])],
  vector: normalize(Float32Array.from([t.tempo, t.piano ? 0.8 : 0, t.metal ? 0.8 : 0, t.drums ? 0.5 : 0, t.arousal, 0.3])),
})));
const byId = new Map(TRACKS.map((t) => [t.id, t]));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const tempo = (ids: { id: string }[]) => median(ids.map((r) => byId.get(r.id)!.tempo));

test('parseTurn: the pattern table maps phrases to operations', () => {
  const ctx = { knows: (w: string) => VOCAB.has(w), isTrack: (t: string) => view.row.has(t) };
  assert.deepEqual(parseTurn('slower', ctx), [{ op: 'direction', word: 'slow', sign: 1, strength: 1 }]);
  assert.deepEqual(parseTurn('a bit calmer', ctx), [{ op: 'direction', word: 'calm', sign: 1, strength: 0.5 }]);
  assert.deepEqual(parseTurn('Sadder!', ctx), [{ op: 'direction', word: 'sad', sign: 1, strength: 1 }]);
  assert.deepEqual(parseTurn('happier', ctx), [{ op: 'direction', word: 'happy', sign: 1, strength: 1 }]);
  assert.deepEqual(parseTurn('less energetic', ctx), [{ op: 'direction', word: 'energetic', sign: -1, strength: 1 }]);
  assert.deepEqual(parseTurn('with piano', ctx), [{ op: 'include', phrase: 'piano', strength: 1 }]);
  assert.deepEqual(parseTurn('without drums', ctx), [{ op: 'exclude', phrase: 'drums', strength: 1 }]);
  assert.deepEqual(parseTurn('not metal', ctx), [{ op: 'exclude', phrase: 'metal', strength: 1 }]);
  assert.deepEqual(parseTurn('more like the second one', ctx), [{ op: 'toward', ref: { kind: 'rank', rank: 2 }, strength: 1 }]);
  assert.deepEqual(parseTurn('like this but calmer', ctx), [{ op: 'seed', ref: { kind: 'focus' } }, { op: 'direction', word: 'calm', sign: 1, strength: 1 }]);
  assert.deepEqual(parseTurn('play the 3rd one', ctx), [{ op: 'focus', ref: { kind: 'rank', rank: 3 } }]);
  assert.deepEqual(parseTurn('t07', ctx), [{ op: 'seed', ref: { kind: 'id', id: 't07' } }]);
  assert.deepEqual(parseTurn('which of these is the fastest?', ctx), [{ op: 'ask-list', question: 'which of these is the fastest?', criterion: { kind: 'direction', word: 'fast', sign: 1 } }]);
  assert.deepEqual(parseTurn('which one has piano?', ctx), [{ op: 'ask-list', question: 'which one has piano?', criterion: { kind: 'include', phrase: 'piano' } }]);
  assert.deepEqual(parseTurn('is it danceable?', ctx), [{ op: 'ask', question: 'is it danceable?' }]);
  assert.deepEqual(parseTurn('back', ctx), [{ op: 'back' }]);
  assert.deepEqual(parseTurn('slow sad piano ballad', ctx), [{ op: 'search', text: 'slow sad piano ballad' }]);
  // A clause that is not a refinement makes the whole turn a search (no half-applied turns).
  assert.deepEqual(parseTurn('slower but mysterious', ctx), [{ op: 'search', text: 'slower but mysterious' }]);
});

test('refinements move the list the asked way, with the weights shown', async () => {
  const c = new Conversation(model, view, { k: 10 });
  const start = await c.turn('piano');
  assert.equal(start.kind, 'results');
  assert.equal(start.results.length, 10);
  assert.ok(start.results.every((r) => byId.get(r.id)!.piano), 'a search for piano lists piano tracks');
  assert.deepEqual(start.explanation.terms.map((t) => [t.label, t.weight]), [['“piano”', 1]]);

  const slower = await c.turn('slower');
  assert.ok(tempo(slower.results) < tempo(start.results), 'median tempo falls after "slower"');
  const dir = slower.explanation.terms[1]!;
  assert.equal(dir.kind, 'direction');
  assert.equal(dir.label, 'fast − slow');
  assert.equal(dir.weight, -1, 'slower is −1 × (fast − slow)');
  assert.deepEqual(dir.prompts, [{ text: 'a fast track', sign: 1 }, { text: 'a slow track', sign: -1 }]);
  assert.ok(dir.scale > 0);
  for (const r of slower.results) assert.ok(Math.abs(r.contributions.reduce((a, b) => a + b, 0) - r.score) < 1e-3, 'contributions add up to the score');

  // "faster" cancels "slower": the term disappears and the list is the search's again.
  const faster = await c.turn('faster');
  assert.deepEqual(faster.explanation.terms.map((t) => t.label), ['“piano”']);
  assert.deepEqual(faster.results.map((r) => r.id), start.results.map((r) => r.id));

  const noMetal = await c.turn('not metal');
  assert.ok(noMetal.results.every((r) => !byId.get(r.id)!.metal), 'no metal remains');
  assert.deepEqual(noMetal.explanation.excludedLabels, [{ label: 'metal', tracks: TRACKS.filter((t) => t.metal).length }]);

  const noDrums = await c.turn('without drums');
  assert.ok(noDrums.results.every((r) => !byId.get(r.id)!.drums && !byId.get(r.id)!.metal), 'filters accumulate');

  // A term cancelled to nothing ("a metal track" then "not metal") still applies the filter.
  const m = new Conversation(model, view, { k: 10 });
  await m.turn('a metal track');
  const cancelled = await m.turn('not metal');
  assert.equal(cancelled.explanation.terms.length, 0);
  assert.ok(cancelled.results.length > 0 && cancelled.results.every((r) => !byId.get(r.id)!.metal));
  assert.match(cancelled.notes.join(' '), /no terms left/);

  const back = await c.turn('back');
  assert.equal(back.kind, 'back');
  assert.deepEqual(back.results, noMetal.results, '"back" restores the previous list exactly');
});

test('like this but calmer, more like the second one, questions about the focus and the list', async () => {
  const c = new Conversation(model, view, { k: 8 });
  await c.turn('energetic drums');
  const focus = c.focus!;
  assert.equal(focus.rank, 1, 'the top result is in focus');
  const plain = await c.turn('like this');
  const calmer = await c.turn('back').then(() => c.turn('like this but calmer'));
  const arousal = (rs: { id: string }[]) => rs.reduce((s, r) => s + byId.get(r.id)!.arousal, 0) / rs.length;
  assert.ok(arousal(calmer.results) < arousal(plain.results), 'arousal falls against plain "like this"');
  assert.ok(!calmer.results.some((r) => r.id === focus.id), 'the seed track is not among its own results');
  assert.deepEqual(calmer.explanation.terms.map((t) => [t.kind, t.weight]), [['track', 1], ['direction', 1]]);

  const second = calmer.results[1]!.id;
  const toward = await c.turn('more like the second one');
  assert.ok(toward.explanation.terms.some((t) => t.trackId === second && t.weight === 1));
  assert.ok(!toward.results.some((r) => r.id === second));

  const which = await c.turn('which of these is the fastest?');
  assert.equal(which.kind, 'list-answer');
  // Fastest as the space sees it: the largest component on the fast axis of the (unit) track vector.
  const axis0 = (id: string) => view.data[view.row.get(id)! * DIM] as number;
  const fastest = [...toward.results].sort((a, b) => axis0(b.id) - axis0(a.id))[0]!.id;
  assert.equal(which.listAnswer!.answer, fastest);
  assert.equal(which.focus!.id, fastest, 'the answer becomes the focus');
  assert.deepEqual(which.results, toward.results, 'a question does not change the list');

  const asked = await c.turn('is it danceable?');
  assert.equal(asked.kind, 'answer');
  assert.ok(['yes', 'no'].includes(asked.answer!.answer));
  assert.equal(asked.focus!.id, fastest);

  const picked = await c.turn('play the third one');
  assert.equal(picked.focus!.id, toward.results[2]!.id);
});

test('"like this but calmer" re-ranks the seed\'s nearest neighbours only, and says so; later refinements keep the pool, a new search drops it', async () => {
  const cosine = (a: string, b: string): number => {
    let s = 0;
    for (let d = 0; d < DIM; d++) s += (view.data[view.row.get(a)! * DIM + d] as number) * (view.data[view.row.get(b)! * DIM + d] as number);
    return s;
  };
  const seed = 't02'; // an energetic track: "calmer" alone would leave its neighbourhood
  const nearest = TRACKS.map((t) => t.id).filter((id) => id !== seed).sort((a, b) => cosine(seed, b) - cosine(seed, a) || (a < b ? -1 : 1)).slice(0, 12);
  const c = new Conversation(model, view, { k: 4 }); // pool 3 × k = 12
  await c.turn(seed);
  const r = await c.turn('like this but calmer');
  assert.equal(r.results.length, 4, 'a full list');
  for (const x of r.results) assert.ok(nearest.includes(x.id), `${x.id} is one of the seed's 12 nearest`);
  assert.ok(r.explanation.operations.some((o) => /among the 12 tracks nearest to track t02/.test(o)), `operations say so: ${r.explanation.operations.join(' | ')}`);
  // A tight pool of 5: its members, in the order the whole catalogue's weighted sum gives them.
  const ranked = async (nearPool: number): Promise<string[]> => {
    const conv = new Conversation(model, view, { k: 4, nearPool });
    await conv.turn(seed);
    return (await conv.turn('like this but calmer')).results.map((x) => x.id);
  };
  const tight = await ranked(5);
  const whole = await ranked(40);
  const wholeOrder = await (async () => {
    const conv = new Conversation(model, view, { k: 39, nearPool: 40 });
    await conv.turn(seed);
    return (await conv.turn('like this but calmer')).results.map((x) => x.id);
  })();
  for (const id of tight) assert.ok(nearest.slice(0, 5).includes(id), `${id} is one of the 5 nearest`);
  assert.deepEqual(tight, wholeOrder.filter((id) => nearest.slice(0, 5).includes(id)).slice(0, 4), 'the pool keeps the weighted sum\'s order');
  assert.ok(whole.some((id) => !nearest.slice(0, 5).includes(id)), `without the pool, "calmer" reaches outside the 5 nearest: ${whole.join(',')}`);
  const more = await c.turn('even calmer');
  for (const x of more.results) assert.ok(nearest.includes(x.id), `a later refinement stays in the pool: ${x.id}`);
  // "Something new" inside the pool: the pool is taken after the filters, so lists stay full.
  const d = new Conversation(model, view, { k: 4 });
  const first = (await d.turn(seed)).results.map((x) => x.id); // shown too, so left out by "something new"
  const shown = new Set([...first, ...(await d.turn('like this but calmer')).results.map((x) => x.id)]);
  for (let round = 0; round < 3; round++) {
    const next = await d.turn('something new');
    assert.equal(next.results.length, 4, `round ${round}: a full list`);
    for (const x of next.results) {
      assert.ok(!shown.has(x.id), `round ${round}: ${x.id} was not shown before`);
      shown.add(x.id);
    }
    const remaining = TRACKS.map((t) => t.id).filter((id) => id !== seed && (!shown.has(id) || next.results.some((x) => x.id === id)));
    const pool = remaining.sort((p, q) => cosine(seed, q) - cosine(seed, p) || (p < q ? -1 : 1)).slice(0, 12);
    for (const x of next.results) assert.ok(pool.includes(x.id), `round ${round}: ${x.id} is among the 12 nearest of the tracks not yet shown`);
  }
  const fresh = await c.turn('energetic drums');
  assert.ok(!fresh.explanation.operations.some((o) => /nearest/.test(o)), 'a new search starts without the pool');
  const plain = await new Conversation(model, view, { k: 4 }).turn('like t02');
  assert.ok(!plain.explanation.operations.some((o) => /nearest/.test(o)), 'plain "like this" is a ranking, not a pool');
  assert.throws(() => new Conversation(model, view, { nearPool: 0 }), UsageError, 'nearPool must be a positive integer');
});

test('a direction word the model lacks uses a known synonym, and says so ("darker": dark → gloomy)', async () => {
  const moodAxes: Record<string, [number, number]> = { gloomy: [5, -1], bright: [5, 1] };
  const moodModel: ConversationModel = {
    ...model,
    embedText: async (t) => (typeof t === 'string' ? [t] : [...t]).map((x) => {
      const v = textVector(x);
      for (const w of x.toLowerCase().split(/[^a-z]+/)) { const a = moodAxes[w]; if (a) v[a[0]] = (v[a[0]] as number) + a[1]; }
      return normalize(v);
    }),
    unknownWords: (t) => model.unknownWords(t).filter((w) => !(w in moodAxes)),
  };
  const c = new Conversation(moodModel, view, { k: 10 });
  const start = await c.turn('fast drums');
  const darker = await c.turn('darker');
  assert.deepEqual(darker.unknownWords, ['dark'], '"dark" is still reported as unknown');
  assert.match(darker.notes.join(' '), /“dark” is not in the model's vocabulary: using its synonym “gloomy”/, 'the stand-in is named');
  assert.ok(darker.explanation.terms.some((t) => t.label === 'bright − gloomy'), `the direction is bright − gloomy (${darker.explanation.terms.map((t) => t.label).join(', ')})`);
  assert.equal(darker.results.length, start.results.length, 'the turn applied and kept the list length');
  const brighter = await c.turn('brighter');
  assert.ok(!brighter.explanation.terms.some((t) => t.label === 'bright − gloomy'), 'the opposite turn cancels the same pair (one key per pair)');
});

test('unknown words are reported, failed turns change nothing, and sessions are deterministic', async () => {
  const c = new Conversation(model, view, { k: 5 });
  const first = await c.turn('slow piano');
  const unk = await c.turn('with harpsichord');
  assert.deepEqual(unk.unknownWords, ['harpsichord']);
  assert.match(unk.notes.join(' '), /harpsichord.*not in the model's vocabulary/);
  assert.deepEqual(unk.results, first.results);
  const mixed = await c.turn('slow piano blorp');
  assert.deepEqual(mixed.unknownWords, ['blorp']);
  await assert.rejects(c.turn('blorp zonk'), (e: unknown) => e instanceof UsageError && /none of the words/.test((e as Error).message));
  await assert.rejects(c.turn('play the 12th one'), (e: unknown) => e instanceof UsageError && /no 12th track on screen \(5 shown\)/.test((e as Error).message));
  await assert.rejects(c.turn('x'.repeat(501)), UsageError);
  assert.deepEqual(c.results, mixed.results, 'failed turns left the list as it was');
  await assert.rejects(new Conversation(model, view).turn('is it danceable?'), /no track to ask about/);

  const script = ['fast drums', 'calmer', 'not metal', 'with piano', 'like the second one but sadder', 'which one has piano?', 'back'];
  const run = async () => {
    const s = new Conversation(model, view, { k: 6 });
    const out = [];
    for (const t of script) out.push(await s.turn(t));
    return JSON.stringify(out);
  };
  assert.equal(await run(), await run());

  const clip = await new Conversation(model, view, { k: 4 }).startFromClip(new Uint8Array(4), 'mine.wav');
  assert.equal(clip.focus!.id, 'clip:mine.wav');
  assert.equal(clip.explanation.terms[0]!.kind, 'clip');
  assert.equal(clip.results.length, 4);
});

test('a catalogue with measured tempo: slower/faster rank by it, report it, and lists answer by it', async () => {
  // Measured BPM opposite to the space's tempo axis, so only the measured tempo can pass; one unknown.
  const bpmOf = (t: Fake, i: number) => (i === 3 ? undefined : Math.round(120 * 2 ** (-0.5 * t.tempo) + i / 10));
  const rows = TRACKS.map((t, i) => ({ id: t.id, path: `/x/${t.id}.wav`, durationS: 3, tags: t.piano ? ['piano'] : [], genre: 'jazz', bpm: bpmOf(t, i), vector: view.data.slice(i * DIM, (i + 1) * DIM) }));
  const tv = catalogueView(DIM, rows);
  assert.ok(tv.tempo && Number.isNaN(tv.tempo[3]) && tv.tempo[0] === bpmOf(TRACKS[0]!, 0), 'the view keeps each row\'s tempo, NaN where unknown');
  const bpm = new Map(rows.map((r) => [r.id, r.bpm]));
  const med = (rs: { id: string }[]) => median(rs.map((r) => bpm.get(r.id)).filter((b): b is number => b !== undefined));
  const c = new Conversation(model, tv, { k: 10 });
  const start = await c.turn('piano');
  const slower = await c.turn('slower');
  assert.ok(med(slower.results) < med(start.results), `median measured tempo falls (${med(start.results)} → ${med(slower.results)})`);
  const term = slower.explanation.terms[1]!;
  assert.deepEqual([term.kind, term.key, term.weight, term.prompts], ['tempo', 'tempo', -1, []], 'slower is −1 × measured tempo, with no text prompt');
  const line = slower.explanation.operations.find((o) => o.startsWith('measured tempo of the list'));
  const m = /\(median\): (\d+) → (\d+) BPM$/.exec(line ?? '');
  assert.ok(m, `the turn reports the median tempo before and after (got ${JSON.stringify(slower.explanation.operations)})`);
  const medRounded = (rs: { bpm?: number }[]) => {
    const xs = rs.map((r) => r.bpm).filter((b): b is number => b !== undefined).sort((a, b) => a - b);
    const k = xs.length >> 1;
    return Math.round(xs.length % 2 ? xs[k]! : (xs[k - 1]! + xs[k]!) / 2);
  };
  assert.deepEqual([Number(m[1]), Number(m[2])], [medRounded(start.results), medRounded(slower.results)], 'the reported medians are the lists\' measured tempos');
  for (const r of slower.results) {
    assert.equal(r.bpm, bpm.get(r.id) === undefined ? undefined : bpm.get(r.id), `result ${r.id} carries its measured tempo`);
    assert.ok(Math.abs(r.contributions.reduce((a, b) => a + b, 0) - r.score) < 1e-3, 'contributions add up to the score');
  }
  const faster = await c.turn('faster');
  assert.deepEqual(faster.results.map((r) => r.id), start.results.map((r) => r.id), '"faster" cancels "slower"');
  const which = await c.turn('which of these is the fastest?');
  const top = [...faster.results].filter((r) => r.bpm !== undefined).sort((a, b) => b.bpm! - a.bpm!)[0]!;
  assert.equal(which.listAnswer?.answer, top.id, 'the fastest by measured tempo');
  assert.equal(which.listAnswer?.criterion, 'measured tempo (log₂ BPM)', 'the criterion names the measured tempo');
  assert.throws(() => catalogueView(DIM, [{ ...rows[0]!, bpm: -5 }]), UsageError, 'a non-positive tempo is refused');
});

test('"with piano" in a catalogue that labels piano prefers the labelled tracks, and says so', async () => {
  const c = new Conversation(model, view, { k: 10 });
  const start = await c.turn('fast drums');
  const piano = (rs: { id: string }[]) => rs.filter((r) => byId.get(r.id)!.piano).length;
  const withPiano = await c.turn('with piano');
  assert.ok(piano(withPiano.results) > piano(start.results), `more piano tracks (${piano(start.results)} → ${piano(withPiano.results)})`);
  const label = withPiano.explanation.terms.find((t) => t.kind === 'label');
  assert.deepEqual([label?.key, label?.weight, label?.label], ['label:piano', 1, 'labelled piano'], 'a +1 label term for piano');
  const n = TRACKS.filter((t) => t.piano).length;
  assert.ok(withPiano.explanation.operations.includes(`with piano: prefer tracks labelled piano (${n} in the catalogue): +1 × label`), `the operation names the label and its count (got ${JSON.stringify(withPiano.explanation.operations)})`);
  for (const r of withPiano.results) assert.ok(Math.abs(r.contributions.reduce((a, b) => a + b, 0) - r.score) < 1e-3, 'contributions add up to the score');
  // A catalogue without labels gets the text term only.
  const bare = catalogueView(DIM, TRACKS.map((t, i) => ({ id: t.id, path: `/x/${t.id}.wav`, durationS: 3, tags: [], vector: view.data.slice(i * DIM, (i + 1) * DIM) })));
  const b = new Conversation(model, bare, { k: 10 });
  await b.turn('fast drums');
  const plain = await b.turn('with piano');
  assert.deepEqual(plain.explanation.terms.map((t) => t.kind), ['text', 'text'], 'no label term without labels');
});
