/** Streaming log-mel of whole files: same result as the whole-file path, bounded memory. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { loadAudio } from '../src/audio/load.js';
import { logMel } from '../src/audio/logmel.js';
import { logMelFromFile, patchesFromFile } from '../src/audio/stream.js';
import { toPatches } from '../src/audio/patches.js';
import { frameCount } from '../src/audio/constants.js';
import { encodeWav, wavHeader } from '../src/audio/wavWrite.js';
import { Rng } from '../src/util/rng.js';
import { repoRoot, tempDir } from './shared.js';

const tmp = tempDir('mb-stream-');
const fixtures = join(repoRoot, 'test', 'fixtures');

function noiseTone(rate: number, seconds: number, seed: number): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: Math.round(rate * seconds) }, (_, i) => 0.4 * Math.sin((2 * Math.PI * 700 * i) / rate) + 0.05 * r.normal());
}

async function assertStreamEqualsWhole(path: string, seconds: number): Promise<void> {
  const whole = logMel(await loadAudio(path), 16000);
  const progress: number[] = [];
  const streamed = await logMelFromFile(path, { onProgress: (s) => progress.push(s) });
  assert.equal(streamed.frames, whole.frames, path);
  assert.ok(streamed.frames > 0, path);
  assert.deepEqual(streamed.data, whole.data, `${path}: streamed log-mel differs from logMel(loadAudio())`);
  assert.ok(progress.length >= 1, 'progress reported');
  for (let i = 1; i < progress.length; i++) assert.ok(progress[i]! > progress[i - 1]!, 'progress increases');
  assert.ok(Math.abs(progress.at(-1)! - seconds) < 0.1, `progress ends at the duration: ${progress.at(-1)} vs ${seconds}`);
}

test('logMelFromFile equals logMel(loadAudio()) on multi-chunk WAVs (resampled and 16 kHz)', async () => {
  // 6 s of 44.1 kHz stereo PCM16 is ~1 MB: ~16 reads of 64 KB, each split mid-frame.
  const a = noiseTone(44100, 6, 1), b = noiseTone(44100, 6, 2);
  const p44 = join(tmp, 'st44.wav');
  writeFileSync(p44, encodeWav([a, b], 44100, 'pcm16'));
  await assertStreamEqualsWhole(p44, 6);
  const p16 = join(tmp, 'mono16.wav');
  writeFileSync(p16, encodeWav([noiseTone(16000, 3, 3)], 16000, 'float32'));
  await assertStreamEqualsWhole(p16, 3);
  const p24 = join(tmp, 'mono48-24.wav');
  writeFileSync(p24, encodeWav([noiseTone(48000, 2, 4)], 48000, 'pcm24'));
  await assertStreamEqualsWhole(p24, 2);
});

test('logMelFromFile equals the whole-file path for MP3, FLAC and Ogg Vorbis', async () => {
  await assertStreamEqualsWhole(join(fixtures, 'audio-tone880.mp3'), 0.5 + 0.07);
  await assertStreamEqualsWhole(join(fixtures, 'audio-tone1000.flac'), 0.3);
  await assertStreamEqualsWhole(join(fixtures, 'audio-tone660.ogg'), 0.5);
});

test('a WAV whose data chunk starts beyond the first read (big LIST chunk) streams correctly', async () => {
  const x = noiseTone(22050, 1, 5);
  const plain = encodeWav([x], 22050, 'pcm16');
  const list = new Uint8Array(8 + 100_001 + 1); // odd payload: chunks are padded to even sizes
  list.set(Buffer.from('LIST'), 0);
  new DataView(list.buffer).setUint32(4, 100_001, true);
  const out = new Uint8Array(plain.length + list.length);
  out.set(plain.subarray(0, 36), 0); // RIFF header + fmt chunk
  out.set(list, 36);
  out.set(plain.subarray(36), 36 + list.length); // data chunk
  new DataView(out.buffer).setUint32(4, out.length - 8, true);
  const path = join(tmp, 'biglist.wav');
  writeFileSync(path, out);
  await assertStreamEqualsWhole(path, 1);
});

test('patchesFromFile = toPatches(logMelFromFile)', async () => {
  const path = join(tmp, 'p.wav');
  writeFileSync(path, encodeWav([noiseTone(16000, 2.5, 6)], 16000, 'pcm16'));
  const lm = await logMelFromFile(path);
  const p = await patchesFromFile(path);
  assert.equal(lm.frames, frameCount(40000));
  assert.equal(p.count, 2);
  assert.deepEqual(p, toPatches(lm.data, lm.frames));
});

/** heap + ArrayBuffer backing stores (typed arrays and wasm memories live outside the JS heap). */
function memNow(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function exposeGc(): (() => void) | undefined {
  try {
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}

/** Write `seconds` of a 44.1 kHz mono PCM16 sweep a second at a time (the test never holds it whole). */
function writeLongWav(path: string, seconds: number): number {
  const rate = 44100, n = rate * seconds;
  const fd = openSync(path, 'w');
  writeSync(fd, wavHeader(1, rate, 'pcm16', n));
  const block = new Int16Array(rate);
  for (let s = 0; s < seconds; s++) {
    const hz = 200 + 10 * s; // a slow upward sweep of steady tones
    for (let i = 0; i < rate; i++) block[i] = Math.round(12000 * Math.sin((2 * Math.PI * hz * i) / rate));
    writeSync(fd, new Uint8Array(block.buffer));
  }
  closeSync(fd);
  return n;
}

/** Stream a file, sampling memory at every block; returns the result and the peak growth over the start. */
async function streamMeasured(path: string, gc: (() => void) | undefined) {
  // Wasm memories of earlier converters are released only after a full GC and a turn of the
  // event loop; settle them so the baseline does not carry (or later lose) one of them.
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setImmediate(r));
  }
  const base = memNow();
  let peak = base;
  let last = 0;
  const result = await logMelFromFile(path, {
    onProgress: (s) => {
      last = s;
      peak = Math.max(peak, memNow());
    },
  });
  peak = Math.max(peak, memNow());
  return { ...result, growth: peak - base, last };
}

test('a 10-minute 44.1 kHz WAV is processed with memory growth far below its decoded size', async () => {
  const gc = exposeGc();
  const shortPath = join(tmp, 'two-min.wav');
  writeLongWav(shortPath, 120);
  const short = await streamMeasured(shortPath, gc);
  rmSync(shortPath);
  const path = join(tmp, 'ten-min.wav');
  const seconds = 600;
  const n = writeLongWav(path, seconds);
  const long = await streamMeasured(path, gc);
  rmSync(path);

  const decodedBytes = n * 4; // float32 mono at the source rate: 106 MB
  const mb = (b: number): string => (b / 1e6).toFixed(1);
  // Working memory = growth minus the result itself: libsamplerate's fixed wasm memory (~26 MB)
  // plus small reused buffers. It must not grow with the length of the audio.
  const workShort = short.growth - short.data.byteLength, workLong = long.growth - long.data.byteLength;
  process.stderr.write(`# 10-min stream: peak growth ${mb(long.growth)} MB = log-mel ${mb(long.data.byteLength)} MB + working ${mb(workLong)} MB (2-min: working ${mb(workShort)} MB); decoded audio ${mb(decodedBytes)} MB; gc ${gc ? 'exposed' : 'not exposed'}\n`);
  assert.equal(long.frames, frameCount(Math.round((n * 16000) / 44100)));
  assert.ok(Math.abs(long.last - seconds) < 1e-6, `progress reached ${long.last}`);
  assert.ok(long.growth < 0.5 * decodedBytes, `peak growth ${mb(long.growth)} MB vs decoded ${mb(decodedBytes)} MB`);
  // 20 MB of slack for garbage-collector timing; holding even a quarter of the extra 85 MB of
  // decoded audio that 10 minutes bring over 2 would exceed it.
  assert.ok(workLong < workShort + 20e6, `working memory grows with duration: ${mb(workShort)} MB at 2 min, ${mb(workLong)} MB at 10 min`);
  // Spot-check content: the tone climbs, so the loudest band of minute 9 is above that of minute 1.
  const loudest = (f: number): number => {
    const row = long.data.subarray(f * 64, f * 64 + 64);
    return row.indexOf(Math.max(...row));
  };
  assert.ok(loudest(100 * 60 * 9) > loudest(100 * 60), 'spectral content follows the sweep');
});
