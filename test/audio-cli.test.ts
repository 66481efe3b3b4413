/** `musicbert features`: raw float32 files and the printed shape, through the real CLI entry point. */
import { tempDir } from './shared.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../src/cli.js';
import { loadAudio } from '../src/audio/load.js';
import { logMel } from '../src/audio/logmel.js';
import { mfcc } from '../src/audio/mfcc.js';
import { toPatches } from '../src/audio/patches.js';
import { encodeWav } from '../src/audio/wavWrite.js';

const tmp = tempDir('mb-cli-');

/**
 * Run the CLI, capturing the text it writes to stdout and stderr. The test runner talks to its
 * parent through stdout in binary frames at the same time, so only strings are captured and
 * everything else is passed through.
 */
async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [], err: string[] = [];
  const w1 = process.stdout.write, w2 = process.stderr.write;
  const capture = (sink: string[], orig: typeof w1, stream: NodeJS.WriteStream) =>
    ((chunk: string | Uint8Array, ...rest: unknown[]) =>
      typeof chunk === 'string' ? (sink.push(chunk), true) : (orig as (...a: unknown[]) => boolean).call(stream, chunk, ...rest)) as typeof w1;
  process.stdout.write = capture(out, w1, process.stdout);
  process.stderr.write = capture(err, w2, process.stderr);
  try {
    const code = await main(argv);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = w1;
    process.stderr.write = w2;
  }
}

function readRawF32(path: string): Float32Array {
  const b = readFileSync(path);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return Float32Array.from({ length: b.length / 4 }, (_, i) => v.getFloat32(4 * i, true));
}

const wav = join(tmp, 'in.wav');
const seconds = 2.5;
writeFileSync(
  wav,
  encodeWav([Float32Array.from({ length: 22050 * seconds }, (_, i) => 0.5 * Math.sin((2 * Math.PI * 523.25 * i) / 22050))], 22050, 'pcm16'),
);

test('features --kind logmel writes [frames, 64] little-endian float32 and prints the shape', async () => {
  const out = join(tmp, 'lm.f32');
  const r = await run(['features', wav, '--kind', 'logmel', '--out', out, '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  const want = logMel(await loadAudio(wav), 16000);
  assert.deepEqual(JSON.parse(r.stdout), { shape: [want.frames, 64] });
  assert.equal(want.frames, 1 + Math.floor((seconds * 16000 - 400) / 160));
  assert.deepEqual(readRawF32(out), want.data);
});

test('features --kind mfcc and --kind patches; --json adds details', async () => {
  const lm = logMel(await loadAudio(wav), 16000);
  const outM = join(tmp, 'mfcc.f32');
  const rm = await run(['features', wav, '--kind', 'mfcc', '--out', outM, '--quiet']);
  assert.equal(rm.code, 0, rm.stderr);
  assert.deepEqual(JSON.parse(rm.stdout), { shape: [lm.frames, 20] });
  assert.deepEqual(readRawF32(outM), mfcc(lm.data, lm.frames));

  const outP = join(tmp, 'patches.f32');
  const rp = await run(['features', wav, '--kind', 'patches', '--out', outP, '--json', '--quiet']);
  assert.equal(rp.code, 0, rp.stderr);
  const report = JSON.parse(rp.stdout);
  assert.deepEqual(report.shape, [2, 96, 64]);
  assert.equal(report.kind, 'patches');
  assert.equal(report.frames, lm.frames);
  assert.ok(Math.abs(report.seconds - seconds) < 1e-3, `seconds ${report.seconds}`);
  assert.deepEqual(readRawF32(outP), toPatches(lm.data, lm.frames).data);
});

test('features reports progress on stderr unless --quiet', async () => {
  const r = await run(['features', wav, '--out', join(tmp, 'default.f32')]);
  assert.equal(r.code, 0);
  assert.deepEqual(JSON.parse(r.stdout).shape.length, 2, 'logmel is the default kind');
  assert.match(r.stderr, /features .*frames/);
});

test('features: usage errors exit 2, bad audio exits 1 naming the file, no output written', async () => {
  const out = join(tmp, 'never.f32');
  let r = await run(['features', wav, '--kind', 'chroma', '--out', out]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--kind must be one of logmel, mfcc, patches/);
  r = await run(['features', wav]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--out FILE is required/);
  r = await run(['features', '--out', out]);
  assert.equal(r.code, 2);
  const text = join(tmp, 'notes.wav');
  writeFileSync(text, 'not audio at all, just words\n'.repeat(10));
  r = await run(['features', text, '--out', out, '--quiet']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /error \[AUDIO_DECODE\]: .*notes\.wav: not a recognised audio file/);
  assert.equal(r.stdout, '');
  assert.equal(existsSync(out), false);
  r = await run(['features', '--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /--kind logmel\|mfcc\|patches/);
});
