/**
 * The polyphase FIR resampler (src/audio/polyphase.ts) against libsamplerate's best converter
 * (SRC_SINC_BEST_QUALITY, 97 % bandwidth) on sines and noise: passband ripple, stopband
 * attenuation, agreement with the reference in the mel range, and chunk invariance.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import samplerate from '@alexanderolsen/libsamplerate-js';
import { designPolyphase, MAX_PHASES } from '../src/audio/polyphase.js';
import { resample, StreamResampler } from '../src/audio/resample.js';
import { logMel } from '../src/audio/logmel.js';
import { Rng } from '../src/util/rng.js';

const tone = (hz: number, rate: number, seconds: number) => Float32Array.from({ length: Math.round(rate * seconds) }, (_, i) => Math.sin((2 * Math.PI * hz * i) / rate));

/** RMS of the middle of a signal (edges hold the filters' start-up). */
function rms(x: Float32Array, edge = 800): number {
  let s = 0;
  for (let i = edge; i < x.length - edge; i++) s += (x[i] as number) ** 2;
  return Math.sqrt(s / (x.length - 2 * edge));
}

async function best(x: Float32Array, from: number, to: number): Promise<Float32Array> {
  const src = await samplerate.create(1, from, to, { converterType: samplerate.ConverterType.SRC_SINC_BEST_QUALITY });
  try {
    return src.full(x);
  } finally {
    src.destroy();
  }
}

test('polyphase design: reduced ratios, band edges at 7.5 / 8.5 kHz for a 16 kHz output, rare ratios fall back', () => {
  const d = designPolyphase(44100, 16000)!;
  assert.deepEqual([d.up, d.down, d.passbandHz, d.stopbandHz], [160, 441, 7500, 8500]);
  assert.equal(d.table.length, d.up * d.taps);
  for (let p = 0; p < d.up; p += 17) {
    const sum = d.table.subarray(p * d.taps, (p + 1) * d.taps).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) < 1e-5, `phase ${p} has DC gain ${sum}`);
  }
  assert.deepEqual([designPolyphase(32000, 16000)!.up, designPolyphase(32000, 16000)!.down], [1, 2]);
  assert.equal(designPolyphase(44101, 16000), undefined, `a ratio with more than ${MAX_PHASES} phases`);
});

for (const from of [32000, 44100, 48000]) {
  test(`resample ${from} → 16000: passband ripple ≤ 0.02 dB to 7.4 kHz, ≥ 85 dB down from 8.6 kHz, as libsamplerate best`, async () => {
    for (const hz of [100, 1000, 4000, 7000, 7400]) {
      const y = await resample(tone(hz, from, 0.5), from, 16000);
      const ref = await best(tone(hz, from, 0.5), from, 16000);
      const gainDb = 20 * Math.log10(rms(y) / Math.SQRT1_2);
      assert.ok(Math.abs(gainDb) <= 0.02, `${hz} Hz: gain ${gainDb.toFixed(4)} dB`);
      // Same timing and level as the reference converter (both place output t at input t·from/16000).
      let err = 0;
      for (let i = 800; i < y.length - 800; i++) err = Math.max(err, Math.abs((y[i] as number) - (ref[i] as number)));
      assert.ok(err < 3e-3, `${hz} Hz: differs from libsamplerate best by ${err}`);
    }
    for (const hz of [8600, 10000, 12000, from / 2 - 500]) {
      const y = await resample(tone(hz, from, 0.5), from, 16000);
      const db = 20 * Math.log10(rms(y) / Math.SQRT1_2);
      assert.ok(db < -85, `${hz} Hz leaks at ${db.toFixed(1)} dB`);
    }
  });
}

test('on noise the log-mel after the FIR matches the log-mel after libsamplerate best', async () => {
  const rng = new Rng(4);
  for (const from of [32000, 44100]) {
    const x = Float32Array.from({ length: from * 2 }, () => 0.3 * rng.normal());
    const a = logMel(await resample(x, from, 16000), 16000);
    const b = logMel(await best(x, from, 16000), 16000);
    let worst = 0;
    // Frames away from the ends (start-up of both filters).
    for (let f = 5; f < Math.min(a.frames, b.frames) - 5; f++) for (let m = 0; m < 64; m++) worst = Math.max(worst, Math.abs((a.data[f * 64 + m] as number) - (b.data[f * 64 + m] as number)));
    assert.ok(worst < 0.02, `${from} Hz: log-mel differs by up to ${worst}`);
  }
});

test('the FIR stream gives the same samples however the input is cut', async () => {
  const rng = new Rng(9);
  const x = Float32Array.from({ length: 44100 + 333 }, () => rng.normal());
  for (const from of [32000, 44100]) {
    const whole = await resample(x, from, 16000);
    assert.equal(whole.length, Math.round((x.length * 16000) / from));
    const r = await StreamResampler.create(from, 16000);
    const parts: number[] = [];
    for (let o = 0; o < x.length; ) {
      const n = Math.min(x.length - o, 1 + rng.int(0, 5000));
      parts.push(...r.push(x.subarray(o, o + n)));
      o += n;
    }
    parts.push(...r.finish());
    assert.deepEqual(Float32Array.from(parts), whole);
  }
});
