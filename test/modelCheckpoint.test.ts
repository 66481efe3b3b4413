import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf, ready } from '../src/tensor/backend.js';
import { Rng } from '../src/util/rng.js';
import { CheckpointError, ConfigError } from '../src/util/errors.js';
import { audioEncoderConfig, musicBertConfig } from '../src/model/config.js';
import { MusicBert } from '../src/model/musicbert.js';
import { AudioEncoder } from '../src/model/audioEncoder.js';
import { loadCheckpoint, saveCheckpoint } from '../src/model/checkpoint.js';
import { Tokenizer } from '../src/text/tokenizer.js';
import { decodeSafetensors, encodeSafetensors } from '../src/util/safetensors.js';

let root: string;
before(async () => {
  await ready();
  root = await mkdtemp(join(tmpdir(), 'musicbert-ck-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const tok = Tokenizer.train(['warm slow drums', 'bright fast guitars and warm voice'], { minCount: 1 });
const cfg = musicBertConfig({ musicDim: 6, vocabSize: tok.size, maxTextLen: 6, maxMusicLen: 4, dModel: 8, layers: 1, heads: 2, ffn: 16, numConcepts: 3, projDim: 4, attention: { kind: 'local', window: 2 } });

function sameBits(a: Float32Array | Int32Array | Uint8Array, b: Float32Array | Int32Array | Uint8Array): boolean {
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

async function savedMusicBert(name: string): Promise<string> {
  const dir = join(root, name);
  const model = MusicBert.create(cfg, 1);
  await saveCheckpoint(dir, { config: cfg, params: model.params, tokenizer: tok, state: { step: 3 } });
  model.dispose();
  return dir;
}

test('MusicBert checkpoint round-trip is bit-identical (weights, outputs, vocab, state, optimizer)', async () => {
  const dir = join(root, 'roundtrip');
  const model = MusicBert.create(cfg, 42, tok);
  const opt = { 'adam.m.x': { dtype: 'F32' as const, shape: [2], data: new Float32Array([0.5, -1]) } };
  await model.save(dir, { optimizer: opt, state: { step: 7, lr: 1e-3 } });
  assert.deepEqual((await readdir(dir)).sort(), ['config.json', 'model.safetensors', 'optimizer.safetensors', 'trainer_state.json', 'vocab.txt']);
  const back = await MusicBert.load(dir);
  const tokenizer = back.tokenizer;
  const { state, optimizer } = await loadCheckpoint(dir);
  assert.deepEqual(back.config, cfg);
  assert.equal(tokenizer!.toVocab(), tok.toVocab());
  assert.deepEqual(state, { step: 7, lr: 1e-3 });
  assert.ok(sameBits(optimizer!['adam.m.x']!.data, opt['adam.m.x'].data));
  for (const [name, v] of Object.entries(model.params)) assert.ok(sameBits(v.dataSync() as Float32Array, back.params[name]!.dataSync() as Float32Array), name);
  const rng = new Rng(3);
  const input = {
    textIds: tf.tensor2d(tok.encode('warm drums and voice', 6), [1, 6], 'int32'),
    music: tf.tensor3d(Float32Array.from({ length: 4 * 6 }, () => rng.normal()), [1, 4, 6]),
    musicMask: tf.tensor2d([[1, 1, 1, 0]]),
  };
  const a = model.forward(input);
  const b = back.forward(input);
  assert.ok(sameBits(a.hidden.dataSync() as Float32Array, b.hidden.dataSync() as Float32Array), 'outputs bit-identical');
  assert.ok(sameBits(model.textProjection(a.pooledText!).dataSync() as Float32Array, back.textProjection(b.pooledText!).dataSync() as Float32Array));
  // Saving again over an existing checkpoint replaces it whole.
  await saveCheckpoint(dir, { config: cfg, params: back.params });
  assert.deepEqual((await readdir(dir)).sort(), ['config.json', 'model.safetensors']);
  model.dispose();
  back.dispose();
});

test('AudioEncoder checkpoint round-trip is bit-identical', async () => {
  const dir = join(root, 'encoder');
  const ec = audioEncoderConfig({ channels: [2, 4], dense: [8], embedDim: 6, numConcepts: 2 });
  const enc = AudioEncoder.create(ec, 5);
  await enc.save(dir);
  const back = await AudioEncoder.load(dir);
  const rng = new Rng(1);
  const patches = Float32Array.from({ length: 2 * 96 * 64 }, () => rng.normal());
  assert.ok(sameBits(await enc.embedPatches(patches, 2), await back.embedPatches(patches, 2)));
  await assert.rejects(MusicBert.load(dir), (e: Error) => e instanceof CheckpointError && /config\.json.*not "musicbert"/.test(e.message));
  enc.dispose();
  back.dispose();
});

test('missing, corrupt and truncated files raise CheckpointError naming the file', async () => {
  await assert.rejects(loadCheckpoint(join(root, 'nope')), (e: Error) => e instanceof CheckpointError && /nope.*does not exist/.test(e.message));

  const noWeights = await savedMusicBert('noweights');
  await rm(join(noWeights, 'model.safetensors'));
  await assert.rejects(MusicBert.load(noWeights), (e: Error) => e instanceof CheckpointError && /model\.safetensors: cannot read the weights file \(ENOENT\)/.test(e.message));

  const garbage = await savedMusicBert('garbage');
  await writeFile(join(garbage, 'model.safetensors'), Buffer.from('definitely not safetensors at all'));
  await assert.rejects(MusicBert.load(garbage), (e: Error) => e instanceof CheckpointError && /model\.safetensors: corrupt/.test(e.message));

  const truncated = await savedMusicBert('truncated');
  const bytes = await readFile(join(truncated, 'model.safetensors'));
  await writeFile(join(truncated, 'model.safetensors'), bytes.subarray(0, bytes.length - 100));
  await assert.rejects(MusicBert.load(truncated), (e: Error) => e instanceof CheckpointError && /model\.safetensors: tensor ".*" has a byte range/.test(e.message));

  const badJson = await savedMusicBert('badjson');
  await writeFile(join(badJson, 'config.json'), '{ "kind": "musicbert", ');
  await assert.rejects(MusicBert.load(badJson), (e: Error) => e instanceof CheckpointError && /config\.json: the model config is not valid JSON/.test(e.message));

  const badConfig = await savedMusicBert('badconfig');
  await writeFile(join(badConfig, 'config.json'), JSON.stringify({ ...cfg, heads: 3 }));
  await assert.rejects(MusicBert.load(badConfig), (e: Error) => e instanceof ConfigError && /config\.json: field "dModel" \(8\) must be divisible by "heads" \(3\)/.test(e.message));

  const badVocab = await savedMusicBert('badvocab');
  await writeFile(join(badVocab, 'vocab.txt'), '[PAD]\n[UNK]\n');
  await assert.rejects(MusicBert.load(badVocab), (e: Error) => e instanceof CheckpointError && /vocab\.txt: line 3/.test(e.message));

  const nan = await savedMusicBert('nan');
  const w = decodeSafetensors(await readFile(join(nan, 'model.safetensors'))).tensors;
  (w['finalNorm.bias']!.data as Float32Array)[2] = NaN;
  await writeFile(join(nan, 'model.safetensors'), encodeSafetensors(w));
  await assert.rejects(MusicBert.load(nan), (e: Error) => e instanceof CheckpointError && /weight "finalNorm\.bias" holds a non-finite value/.test(e.message));
});

test('weights that do not match the config raise CheckpointError naming the weight', async () => {
  const edit = async (name: string, change: (w: ReturnType<typeof decodeSafetensors>['tensors']) => void): Promise<string> => {
    const dir = await savedMusicBert(name);
    const w = decodeSafetensors(await readFile(join(dir, 'model.safetensors'))).tensors;
    change(w);
    await writeFile(join(dir, 'model.safetensors'), encodeSafetensors(w));
    return dir;
  };
  const missing = await edit('missing', (w) => delete w['blocks.0.attn.qkv.weight']);
  await assert.rejects(MusicBert.load(missing), (e: Error) => e instanceof CheckpointError && /model\.safetensors: weight "blocks\.0\.attn\.qkv\.weight" is missing \(expected shape \[8,24\]\)/.test(e.message));
  const shape = await edit('shape', (w) => (w['heads.concept.weight'] = { dtype: 'F32', shape: [8, 4], data: new Float32Array(32) }));
  await assert.rejects(MusicBert.load(shape), /weight "heads\.concept\.weight" has shape \[8,4\] but the config needs \[8,3\]/);
  const extra = await edit('extra', (w) => (w['blocks.1.norm1.weight'] = { dtype: 'F32', shape: [8], data: new Float32Array(8) }));
  await assert.rejects(MusicBert.load(extra), /unexpected weight "blocks\.1\.norm1\.weight"/);
  const dtype = await edit('dtype', (w) => (w['finalNorm.weight'] = { dtype: 'I32', shape: [8], data: new Int32Array(8) }));
  await assert.rejects(MusicBert.load(dtype), /weight "finalNorm\.weight" has dtype I32/);
  // A config edited to a different size no longer fits the weights.
  const resized = await savedMusicBert('resized');
  await writeFile(join(resized, 'config.json'), JSON.stringify({ ...cfg, ffn: 32 }));
  await assert.rejects(MusicBert.load(resized), (e: Error) => e instanceof CheckpointError && /weight "blocks\.0\.ffn\.in\.weight" has shape \[8,16\] but the config needs \[8,32\]/.test(e.message));
  // A vocabulary that disagrees with vocabSize.
  const vocab = await savedMusicBert('vocabsize');
  await writeFile(join(vocab, 'vocab.txt'), Tokenizer.train(['a b c d e f g h i j k l m'], { minCount: 1 }).toVocab());
  await assert.rejects(MusicBert.load(vocab), /vocab\.txt: vocabulary has 18 tokens but the config says vocabSize/);
});
