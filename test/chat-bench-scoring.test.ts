/**
 * The verdicts of the real_dev chat benchmark (bench/chatReal.ts): which lists count as "moved the
 * asked way", which starts do not qualify, and the genre-overlap chance of "like this but calmer".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MOOD_KINDS, genreOverlap, likeThisButCalmer, type MoodClip } from '../bench/chatReal.js';

const clip = (id: string, valence: number, arousal: number, genres: string[] = []): MoodClip => ({ id, valence, arousal, genres });
const kind = (k: string) => {
  const s = MOOD_KINDS[k];
  assert.ok(s, `MOOD_KINDS has ${k}`);
  return s;
};

test('happier counts a rise of the valence +1 share, and a start already all positive does not qualify', () => {
  const sad = [clip('a', -1, 1), clip('b', -1, -1)];
  const mixed = [clip('a', 1, 1), clip('b', -1, -1)];
  const happy = [clip('a', 1, 1), clip('b', 1, -1)];
  assert.equal(kind('happier').score(sad, mixed), true, 'sad → mixed is happier');
  assert.equal(kind('happier').score(mixed, sad), false, 'mixed → sad is not happier');
  assert.equal(kind('happier').score(mixed, mixed), false, 'an unchanged share is not a move');
  assert.equal(kind('happier').score(happy, happy), undefined, 'an all-positive start cannot rise');
  assert.equal(kind('darker').score(mixed, sad), true, 'mixed → sad is darker');
  assert.equal(kind('sadder').score(sad, sad), undefined, 'an all-negative start cannot fall');
});

test('calmer and more energetic read the arousal sign, not the valence', () => {
  const calm = [clip('a', 1, -1), clip('b', 1, -1)];
  const excited = [clip('a', -1, 1), clip('b', -1, -1)];
  assert.equal(kind('calmer').score(excited, calm), true, 'arousal share 0.5 → 0 is calmer');
  assert.equal(kind('more energetic').score(calm, excited), true, 'arousal share 0 → 0.5 is more energetic');
  assert.equal(kind('more energetic').score(excited, calm), false, 'arousal share 0.5 → 0 is not more energetic');
});

test('like this but calmer: genre overlap against the other clips, arousal against plain "like this"', () => {
  const seed = clip('s', 1, 1, ['rock', 'pop']);
  const others = [clip('a', 1, 1, ['rock']), clip('b', 1, -1, ['jazz']), clip('c', 1, -1, ['blues']), clip('d', 1, 1, ['country'])];
  assert.equal(genreOverlap(seed, others), 0.25, 'one of four others shares a genre');
  const plain = [others[0] as MoodClip, others[3] as MoodClip];
  const keeps = likeThisButCalmer(seed, plain, [clip('x', 1, -1, ['pop']), others[1] as MoodClip], others);
  assert.deepEqual(keeps, { genre: true, calmer: true }, 'half share a genre (> 0.25) and arousal 1 → 0');
  const loses = likeThisButCalmer(seed, plain, [others[1] as MoodClip, others[2] as MoodClip], others);
  assert.deepEqual(loses, { genre: false, calmer: true }, 'no genre shared: genre not kept');
});
