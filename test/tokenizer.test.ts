import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tokenizer, basicTokenize, SPECIAL_TOKENS } from '../src/text/tokenizer.js';
import { CheckpointError, UsageError } from '../src/util/errors.js';

const corpus = [
  'A warm, hazy record: guitars drift over slow drums.',
  'The guitars are warm; the drums are slow.',
  'Slow drums, warm guitars, and a hazy voice!',
];

test('basicTokenize lower-cases, applies NFKC and splits punctuation and symbols', () => {
  assert.deepEqual(basicTokenize('Hello, World!'), ['hello', ',', 'world', '!']);
  assert.deepEqual(basicTokenize("don't"), ['don', "'", 't']);
  assert.deepEqual(basicTokenize('Ｆｕｌｌｗｉｄｔｈ ﬁne'), ['fullwidth', 'fine']); // NFKC folds width and ligatures
  assert.deepEqual(basicTokenize('Café Motörhead 1970s ♪'), ['café', 'motörhead', '1970s', '♪']);
  assert.deepEqual(basicTokenize('  \n\t '), []);
});

test('train: specials first, then words by frequency (ties alphabetical), minCount and vocabSize respected', () => {
  const tok = Tokenizer.train(corpus, { minCount: 2 });
  const vocab = tok.toVocab().trim().split('\n');
  assert.deepEqual(vocab.slice(0, 5), [...SPECIAL_TOKENS]);
  assert.equal(tok.padId, 0);
  assert.equal(vocab[tok.unkId], '[UNK]');
  assert.equal(vocab[tok.maskId], '[MASK]');
  // ',', 'drums', 'guitars', 'slow' and 'warm' occur 3 times each: the tie is broken by code point.
  assert.deepEqual(vocab.slice(5, 10), [',', 'drums', 'guitars', 'slow', 'warm']);
  assert.ok(!vocab.includes('voice'), 'words below minCount are dropped');
  const small = Tokenizer.train(corpus, { vocabSize: 7, minCount: 1 });
  assert.equal(small.size, 7);
  assert.deepEqual(Tokenizer.train(corpus).toVocab(), Tokenizer.train([...corpus]).toVocab(), 'deterministic');
  assert.throws(() => Tokenizer.train(corpus, { vocabSize: 3 }), UsageError);
});

test('encode: [UNK] for unknown words, truncation and 0-padding; decode round-trips', () => {
  const tok = Tokenizer.train(corpus, { minCount: 1 });
  const ids = tok.encode('Warm drums, purple guitars', 8);
  assert.equal(ids.length, 8);
  assert.equal(ids[3], tok.unkId, "'purple' is unknown");
  assert.deepEqual(Array.from(ids.slice(5)), [0, 0, 0]);
  assert.equal(tok.decode(ids), 'warm drums, [UNK] guitars');
  const cut = tok.encode('slow slow slow slow slow', 3);
  assert.deepEqual(Array.from(cut), [tok.id('slow'), tok.id('slow'), tok.id('slow')]);
  assert.equal(tok.decode(tok.encode('A warm, hazy record: guitars drift over slow drums.', 32)), 'a warm, hazy record: guitars drift over slow drums.');
  assert.equal(tok.encode('', 4).every((x) => x === 0), true);
  assert.throws(() => tok.encode('x', -1), UsageError);
});

test('unicode words survive training, vocab round-trip and decoding', () => {
  const tok = Tokenizer.train(['Björk sings über Sigur Rós — 夜の音楽 ♪', 'Björk 夜の音楽'], { minCount: 1 });
  const back = Tokenizer.fromVocab(tok.toVocab());
  assert.equal(back.size, tok.size);
  const ids = back.encode('björk 夜の音楽 ♪', 6);
  assert.ok(Array.from(ids.slice(0, 3)).every((x) => x !== tok.unkId && x !== 0));
  assert.equal(back.decode(ids), 'björk 夜の音楽 ♪');
  assert.deepEqual(Array.from(back.encode('Sigur Rós', 4)), Array.from(tok.encode('Sigur Rós', 4)));
});

test('fromVocab rejects malformed vocabularies with CheckpointError naming the file', () => {
  assert.throws(() => Tokenizer.fromVocab('[PAD]\n[CLS]\n', 'ck/vocab.txt'), (e: Error) => e instanceof CheckpointError && /ck\/vocab\.txt.*line 2/.test(e.message));
  assert.throws(() => Tokenizer.fromVocab([...SPECIAL_TOKENS, 'a', 'a'].join('\n')), /repeats/);
  assert.throws(() => Tokenizer.fromVocab([...SPECIAL_TOKENS, 'a b'].join('\n')), /whitespace/);
  assert.throws(() => Tokenizer.fromVocab([...SPECIAL_TOKENS, '', 'x'].join('\n')), /empty/);
});
