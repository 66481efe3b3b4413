/**
 * The front end's C kernels (native/frontend.c via src/audio/native.ts) against their JS/wasm
 * twins, which stay the definition and the fallback. Stated tolerances, native vs JS:
 *   FIR resampler output   |Δ| ≤ 1e-5 (C sums the float products in float with AVX2, JS in double)
 *   log-mel                |Δ| ≤ 1e-3 (the numpy reference's tolerance; a radix-2 FFT vs radix-4)
 *   MP3 decode             same length and rate, |Δ| ≤ 1e-5 (libmpg123's x86 synth vs its wasm build)
 * and both paths meet the numpy VGGish reference to 1e-3. Skips without the addon.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { decodeAudio } from '../src/audio/decode.js';
import { logMel, LogMelStream } from '../src/audio/logmel.js';
import { audioBackend, audioNative, nativeMp3, useAudioNative } from '../src/audio/native.js';
import { resample } from '../src/audio/resample.js';
import { logMelFromFile } from '../src/audio/stream.js';
import { MEL_BANDS } from '../src/audio/constants.js';
import { InvalidAudioError } from '../src/util/errors.js';
import { Rng } from '../src/util/rng.js';
import { hasShared, readF32, repoRoot, sharedDir } from './shared.js';

useAudioNative(true);
const built = audioNative() !== undefined;
const skip = built ? false : 'native addon (frontend.c) not built';
const mp3Skip = nativeMp3() ? false : 'libmpg123.so.0 not available to the addon';
after(() => useAudioNative(undefined));

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>, what: string): number {
  assert.equal(a.length, b.length, `${what}: lengths differ (${a.length} vs ${b.length})`);
  let e = 0;
  for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs((a[i] as number) - (b[i] as number)));
  return e;
}

function noise(n: number, seed: number, scale = 0.3): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: n }, () => scale * r.normal());
}

/** Run `fn` with the native kernels on, then off; returns both results. */
async function both<T>(fn: () => T | Promise<T>): Promise<{ native: T; js: T }> {
  try {
    useAudioNative(true);
    assert.equal(audioBackend().kernels, 'native', 'native kernels selected');
    const native = await fn();
    useAudioNative(false);
    assert.equal(audioBackend().kernels, 'js', 'JS kernels selected');
    const js = await fn();
    return { native, js };
  } finally {
    useAudioNative(true);
  }
}

test('native FIR resampler equals the JS polyphase loop to 1e-5 at 32, 44.1 and 48 kHz', { skip }, async () => {
  for (const rate of [32000, 44100, 48000, 22050]) {
    const x = noise(rate * 3 + 17, rate);
    const { native, js } = await both(() => resample(x, rate, 16000));
    const err = maxAbsDiff(native, js, `${rate} Hz`);
    assert.ok(err <= 1e-5, `${rate} Hz → 16 kHz: native vs JS max |Δ| ${err}`);
    assert.ok(native.some((v) => v !== 0), `${rate} Hz: output is not all zeros`);
  }
});

test('native log-mel equals the JS log-mel to 1e-3, whole and streamed in odd chunks', { skip }, async () => {
  const x = noise(16000 * 4 + 123, 7);
  const { native, js } = await both(() => logMel(x, 16000));
  assert.equal(native.frames, js.frames, 'frame counts');
  const err = maxAbsDiff(native.data, js.data, 'log-mel');
  assert.ok(err <= 1e-3, `native vs JS log-mel max |Δ| ${err}`);
  useAudioNative(true);
  const s = new LogMelStream();
  for (let o = 0, k = 1; o < x.length; k = (k * 7 + 3) % 2000) {
    s.push(x.subarray(o, Math.min(x.length, o + k)));
    o += k;
  }
  const streamed = s.finish();
  assert.equal(maxAbsDiff(streamed.data, native.data, 'streamed'), 0, 'native stream cut anywhere equals native whole');
});

test('both log-mel paths match every numpy VGGish reference to 1e-3', { skip: skip || (!hasShared && 'no ../shared/reference') }, async () => {
  const refDir = join(sharedDir, 'reference');
  for (const name of ['sine440', 'chirp', 'chord_noise', 'clicks', 'silence', 'short']) {
    const x = readF32(join(refDir, `signal_${name}.f32`));
    const ref = readF32(join(refDir, `logmel_${name}.f32`));
    const { native, js } = await both(() => logMel(x, 16000).data);
    assert.ok(maxAbsDiff(native, ref, name) <= 1e-3, `${name}: native vs numpy ${maxAbsDiff(native, ref, name)}`);
    assert.ok(maxAbsDiff(js, ref, name) <= 1e-3, `${name}: JS vs numpy ${maxAbsDiff(js, ref, name)}`);
  }
});

test('native log-mel names the first non-finite frame as the JS path does', { skip }, async () => {
  const x = noise(16000, 3);
  x[5000] = Number.NaN;
  const messages: string[] = [];
  for (const on of [true, false]) {
    useAudioNative(on);
    assert.throws(() => logMel(x, 16000), (e: unknown) => e instanceof InvalidAudioError && (messages.push(e.message), true), `native=${on}: NaN refused`);
  }
  useAudioNative(true);
  assert.equal(messages.length, 2, 'both paths threw');
  assert.equal(messages[0], messages[1], 'same message from both paths');
  assert.match(messages[0] as string, /log-mel frame 29,/, 'first frame holding sample 5000');
});

test('native kernels refuse out-of-range windows with a RangeError, not a crash', { skip }, () => {
  const k = audioNative();
  assert.ok(k, 'addon present');
  const table = new Float32Array(150), buf = new Float32Array(100), out = new Float32Array(10);
  assert.throws(() => k.firPolyphase(table, 1, 2, 150, buf, 0, 0, 1, out), RangeError, 'FIR window past the buffer');
  assert.throws(() => k.firPolyphase(table, 1, 2, 150, new Float32Array(1000), -5, 0, 1, out), RangeError, 'FIR window before the buffer');
  const hann = new Float64Array(400), rise = new Float64Array(257), seg = new Int32Array(MEL_BANDS + 2).fill(1);
  assert.throws(() => k.logMelFrames(new Float32Array(500), 0, 2, new Float32Array(128), 0, hann, rise, seg), RangeError, 'second frame past the samples');
  assert.throws(() => k.logMelFrames(new Float32Array(400), 0, 1, new Float32Array(64), 0, new Float64Array(10), rise, seg), RangeError, 'wrong table size');
});

test('libmpg123 decodes MP3s as the wasm mpg123 does: same length and rate, samples to 1e-5', { skip: skip || mp3Skip }, async () => {
  const files = [join(repoRoot, 'test', 'fixtures', 'audio-tone880.mp3')];
  const q1 = join(sharedDir, 'data', 'real_dev', 'Q1');
  if (existsSync(q1)) files.push(...readdirSync(q1).filter((f) => f.endsWith('.mp3')).sort().slice(0, 2).map((f) => join(q1, f)));
  for (const f of files) {
    const bytes = new Uint8Array(readFileSync(f));
    const { native, js } = await both(() => decodeAudio(bytes, f));
    assert.equal(native.sampleRate, js.sampleRate, `${f}: rate`);
    assert.equal(native.channels[0]?.length, js.channels[0]?.length, `${f}: length (gapless trimming alike)`);
    for (let c = 0; c < Math.max(native.channels.length, js.channels.length); c++) {
      // A mono source may come back as 1 channel from one decoder and 2 equal ones from the other.
      const a = native.channels[c % native.channels.length] as Float32Array, b = js.channels[c % js.channels.length] as Float32Array;
      const err = maxAbsDiff(a, b, `${f} channel ${c}`);
      assert.ok(err <= 1e-5, `${f} channel ${c}: libmpg123 vs wasm max |Δ| ${err}`);
    }
    const mel = await both(() => logMelFromFile(f));
    const err = maxAbsDiff(mel.native.data, mel.js.data, `${f} log-mel`);
    assert.ok(err <= 1e-3, `${f}: whole front end native vs JS max |Δ| ${err}`);
  }
});
