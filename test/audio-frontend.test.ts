/** The pure front-end math: FFT, mel filterbank, log-mel, MFCC, patches, against numpy references. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RealFft } from '../src/audio/fft.js';
import { melFilterbank, melMatrix, hzToMel, periodicHann } from '../src/audio/mel.js';
import { logMel, LogMelStream } from '../src/audio/logmel.js';
import { dctBasis, deltas, mfcc, mfccStats } from '../src/audio/mfcc.js';
import { toPatches } from '../src/audio/patches.js';
import { frameCount, MEL_BANDS, PATCH_FRAMES } from '../src/audio/constants.js';
import { InvalidAudioError, UsageError } from '../src/util/errors.js';
import { Rng } from '../src/util/rng.js';
import { hasShared, readF32, sharedDir } from './shared.js';

const refDir = join(sharedDir, 'reference');
const refNames = ['sine440', 'chirp', 'chord_noise', 'clicks', 'silence', 'short'];

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'lengths differ');
  let e = 0;
  for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs((a[i] as number) - (b[i] as number)));
  return e;
}

function noise(n: number, seed: number, scale = 0.5): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: n }, () => scale * r.normal());
}

test('RealFft matches a direct DFT for sizes 8..1024 (radix-2 and radix-4 paths)', () => {
  for (const n of [8, 16, 32, 64, 512, 1024]) {
    const fft = new RealFft(n);
    const x = Float64Array.from({ length: n }, (_, i) => Math.sin(i * 1.3) + (i % 7) * 0.1 - 0.2);
    const re = new Float64Array(n / 2 + 1), im = new Float64Array(n / 2 + 1), mag = new Float64Array(n / 2 + 1);
    fft.forward(x, re, im);
    // Windowed path: a window shorter than n zero-pads the rest, as the log-mel uses it.
    const win = Float64Array.from({ length: Math.floor(0.8 * n) }, (_, i) => 0.3 + i / n);
    const x32 = Float32Array.from(x);
    fft.windowedMagnitudes(x32, 0, win, mag, 0, n / 2);
    let errSpec = 0, errMag = 0;
    for (let k = 0; k <= n / 2; k++) {
      let sr = 0, si = 0, wr = 0, wi = 0;
      for (let t = 0; t < n; t++) {
        const c = Math.cos((2 * Math.PI * k * t) / n), s = Math.sin((2 * Math.PI * k * t) / n);
        sr += (x[t] as number) * c; si -= (x[t] as number) * s;
        const xw = t < win.length ? (x32[t] as number) * (win[t] as number) : 0;
        wr += xw * c; wi -= xw * s;
      }
      errSpec = Math.max(errSpec, Math.abs(sr - (re[k] as number)), Math.abs(si - (im[k] as number)));
      errMag = Math.max(errMag, Math.abs(Math.hypot(wr, wi) - (mag[k] as number)));
    }
    assert.ok(errSpec < 1e-10 * n, `n=${n} spectrum error ${errSpec}`);
    assert.ok(errMag < 1e-10 * n, `n=${n} windowed magnitude error ${errMag}`);
  }
  assert.throws(() => new RealFft(400), UsageError);
  assert.throws(() => new RealFft(4), UsageError);
});

test('mel filterbank equals the dense HTK triangles (125-7500 Hz, DC weight 0)', () => {
  const fb = melFilterbank();
  const dense = melMatrix(fb, 257);
  const edges = Array.from({ length: 66 }, (_, i) => hzToMel(125) + ((hzToMel(7500) - hzToMel(125)) * i) / 65);
  let err = 0;
  for (let k = 0; k < 257; k++) {
    const mel = hzToMel((k * 8000) / 256);
    for (let m = 0; m < 64; m++) {
      const [lo, mid, hi] = [edges[m]!, edges[m + 1]!, edges[m + 2]!];
      const w = k === 0 ? 0 : Math.max(0, Math.min((mel - lo) / (mid - lo), (hi - mel) / (hi - mid)));
      err = Math.max(err, Math.abs(w - dense[k * 64 + m]!));
    }
  }
  assert.ok(err < 1e-12, `filterbank error ${err}`);
  // The top band ends at 7500 Hz: bin 240 (7500 Hz) and above carry nothing.
  for (let k = 240; k < 257; k++) for (let m = 0; m < 64; m++) assert.equal(dense[k * 64 + m], 0);
  const hann = periodicHann(400);
  assert.equal(hann[0], 0);
  assert.ok(Math.abs(hann[200]! - 1) < 1e-15, 'periodic Hann peaks at N/2');
});

test('frame count: 1 + floor((n - 400) / 160), 0 below one window', () => {
  assert.deepEqual([0, 399, 400, 559, 560, 16000].map(frameCount), [0, 0, 1, 1, 2, 98]);
  for (const n of [0, 399, 400, 560, 1000]) assert.equal(logMel(new Float32Array(n), 16000).frames, frameCount(n));
  assert.equal(logMel(new Float32Array(399), 16000).data.length, 0);
});

test('logMel matches every numpy reference to 1e-3 (incl. silence and the short signal)', { skip: !hasShared && 'no ../shared/reference' }, () => {
  const meta = JSON.parse(readFileSync(join(refDir, 'reference.json'), 'utf8'));
  for (const name of refNames) {
    const x = readF32(join(refDir, `signal_${name}.f32`));
    const ref = readF32(join(refDir, `logmel_${name}.f32`));
    const { data, frames } = logMel(x, 16000);
    assert.deepEqual([frames, MEL_BANDS], meta.files[name].logmel_shape, name);
    const err = maxAbsDiff(data, ref);
    assert.ok(err <= 1e-3, `${name}: max abs error ${err}`);
  }
});

test('mfcc matches every numpy reference to 1e-3', { skip: !hasShared && 'no ../shared/reference' }, () => {
  for (const name of refNames) {
    const x = readF32(join(refDir, `signal_${name}.f32`));
    const ref = readF32(join(refDir, `mfcc_${name}.f32`));
    const { data, frames } = logMel(x, 16000);
    const m = mfcc(data, frames);
    assert.equal(m.length, frames * 20);
    const err = maxAbsDiff(m, ref);
    assert.ok(err <= 1e-3, `${name}: max abs error ${err}`);
  }
});

test('log-mel of a pure tone peaks in the band holding its frequency', () => {
  const x = Float32Array.from({ length: 16000 }, (_, i) => 0.5 * Math.sin((2 * Math.PI * 1000 * i) / 16000));
  const { data, frames } = logMel(x, 16000);
  const fb = melFilterbank();
  const dense = melMatrix(fb, 257);
  // Band with the largest weight at 1000 Hz (bin 32).
  let want = 0;
  for (let m = 0; m < 64; m++) if (dense[32 * 64 + m]! > dense[32 * 64 + want]!) want = m;
  for (const f of [0, frames >> 1, frames - 1]) {
    const row = data.subarray(f * 64, f * 64 + 64);
    assert.equal(row.indexOf(Math.max(...row)), want, `frame ${f}`);
  }
  // Silence is exactly log(0.01) everywhere.
  const s = logMel(new Float32Array(1000), 16000);
  for (const v of s.data) assert.ok(Math.abs(v - Math.log(0.01)) < 1e-6);
});

test('logMel rejects a wrong sample rate and non-finite samples', () => {
  assert.throws(() => logMel(new Float32Array(1000), 44100), (e: unknown) => e instanceof InvalidAudioError && /16000 Hz/.test(e.message) && /44100/.test(e.message));
  for (const bad of [NaN, Infinity, -Infinity]) {
    const x = noise(4000, 1);
    x[2000] = bad;
    assert.throws(() => logMel(x, 16000), (e: unknown) => e instanceof InvalidAudioError && /NaN or Infinity/.test(e.message) && /frame 11,/.test(e.message));
  }
});

test('LogMelStream over random chunk sizes equals logMel exactly', () => {
  const x = noise(16000 * 3 + 123, 5);
  const whole = logMel(x, 16000);
  const r = new Rng(9);
  for (const expectedFrames of [undefined, 2, whole.frames]) {
    const s = new LogMelStream(expectedFrames === undefined ? {} : { expectedFrames });
    let o = 0;
    while (o < x.length) {
      const n = r.pick([0, 1, 7, 159, 160, 399, 400, 401, 1000, 5000]);
      s.push(x.subarray(o, Math.min(x.length, o + n)));
      o += n;
    }
    const got = s.finish();
    assert.equal(got.frames, whole.frames);
    assert.deepEqual(got.data, whole.data);
    assert.throws(() => s.push(x), UsageError);
  }
});

test('toPatches: [count, 96, 64], trailing frames dropped', () => {
  const frames = 2 * PATCH_FRAMES + 50;
  const lm = Float32Array.from({ length: frames * 64 }, (_, i) => i);
  const p = toPatches(lm, frames);
  assert.equal(p.count, 2);
  assert.equal(p.data.length, 2 * 96 * 64);
  assert.equal(p.data[96 * 64], 96 * 64, 'patch 1 starts at frame 96');
  assert.deepEqual(toPatches(lm.subarray(0, 95 * 64), 95), { data: new Float32Array(0), count: 0 });
  assert.throws(() => toPatches(lm, frames + 1), UsageError);
});

test('DCT basis is orthonormal and mfcc of a constant frame is only c0', () => {
  const b = dctBasis(64, 64);
  for (let i = 0; i < 64; i++) {
    for (let j = 0; j < 64; j++) {
      let dot = 0;
      for (let k = 0; k < 64; k++) dot += b[i * 64 + k]! * b[j * 64 + k]!;
      assert.ok(Math.abs(dot - (i === j ? 1 : 0)) < 1e-12, `rows ${i},${j}: ${dot}`);
    }
  }
  const m = mfcc(new Float32Array(64).fill(2), 1, 20);
  assert.ok(Math.abs(m[0]! - 2 * Math.sqrt(64)) < 1e-5);
  for (let c = 1; c < 20; c++) assert.ok(Math.abs(m[c]!) < 1e-5);
  assert.throws(() => mfcc(new Float32Array(64), 1, 0), UsageError);
  assert.throws(() => mfcc(new Float32Array(64), 1, 65), UsageError);
  assert.throws(() => mfcc(new Float32Array(63), 1), UsageError);
});

test('mfccStats: mean, std, and HTK deltas of each coefficient → [4 · coeffs]', () => {
  const frames = 50, coeffs = 3;
  // Coefficient 0 is a ramp (delta = slope inside), 1 alternates ±1 (std 1), 2 is constant 5.
  const x = new Float32Array(frames * coeffs);
  for (let t = 0; t < frames; t++) {
    x[t * coeffs] = 0.5 * t;
    x[t * coeffs + 1] = t % 2 === 0 ? 1 : -1;
    x[t * coeffs + 2] = 5;
  }
  const d = deltas(x, frames, coeffs);
  for (let t = 2; t < frames - 2; t++) assert.ok(Math.abs(d[t * coeffs]! - 0.5) < 1e-12);
  assert.ok(Math.abs(d[0]! - (0.5 + 2 * 1) / 10) < 1e-12, 'edge frames repeat');
  const s = mfccStats(x, frames, coeffs);
  assert.equal(s.length, 12);
  assert.ok(Math.abs(s[0]! - 0.5 * 24.5) < 1e-5, `mean ramp ${s[0]}`);
  assert.ok(Math.abs(s[1]!) < 1e-6 && Math.abs(s[2]! - 5) < 1e-6);
  const rampStd = Math.sqrt(Array.from({ length: frames }, (_, t) => (0.5 * t - 12.25) ** 2).reduce((a, b) => a + b) / frames);
  assert.ok(Math.abs(s[3]! - rampStd) < 1e-4, `std ramp ${s[3]}`);
  assert.ok(Math.abs(s[4]! - 1) < 1e-6 && s[5] === 0);
  assert.ok(s[8]! === 0 && s[11]! === 0, 'constant coefficient: zero delta mean and std');
  assert.throws(() => mfccStats(new Float32Array(0), 0, 20), InvalidAudioError);
  assert.throws(() => mfccStats(x, frames, 4), UsageError);
});
