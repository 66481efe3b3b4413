/** Mixing effects over whole buffers: distortion, compression, reverb, EQ tilt, noise, limiting. */
import type { Rng } from '../../util/rng.js';
import type { NoiseType } from './types.js';
import { TWO_PI, applyBiquad, applyOnePoleHighpass, highShelf, lowShelf, lowpass, rms } from './dsp.js';

/** Amp-style distortion: pre-gain into tanh, then a guitar-cabinet low-pass. */
export function distort(buf: Float32Array, amount: number, sr: number): void {
  if (amount <= 0) return;
  const pre = 1 + 40 * amount * amount;
  const post = 1 / Math.tanh(pre * 0.5);
  const level = rms(buf) || 1;
  const scale = 0.5 / level;
  for (let i = 0; i < buf.length; i++) buf[i] = Math.tanh(pre * (buf[i] as number) * scale) * post * 0.5;
  applyBiquad(buf, lowpass(Math.min(sr * 0.45, 3500 + 2500 * (1 - amount)), 0.9, sr));
}

/** Gentle master saturation. */
export function saturate(buf: Float32Array, amount: number): void {
  if (amount <= 0) return;
  const g = 1 + 3 * amount;
  const norm = 1 / Math.tanh(g);
  for (let i = 0; i < buf.length; i++) buf[i] = Math.tanh(g * (buf[i] as number)) * norm;
}

/**
 * Feed-forward compressor with a peak envelope follower; `amount` in [0,1] maps to threshold and
 * ratio. Levels are relative to the buffer's own RMS so the effect does not depend on gain staging.
 */
export function compress(buf: Float32Array, amount: number, sr: number): void {
  if (amount <= 0.02) return;
  const level = rms(buf);
  if (level === 0) return;
  const thresh = level * Math.pow(10, (3 - 12 * amount) / 20);
  const ratio = 1.5 + 6 * amount;
  const att = Math.exp(-1 / (0.005 * sr));
  const rel = Math.exp(-1 / (0.12 * sr));
  const exponent = 1 / ratio - 1;
  let env = 0, gain = 1;
  for (let i = 0; i < buf.length; i++) {
    const x = Math.abs(buf[i] as number);
    env = x > env ? att * env + (1 - att) * x : rel * env + (1 - rel) * x;
    // The envelope moves slowly, so the gain (a pow) is refreshed every 8 samples only.
    if ((i & 7) === 0) gain = env > thresh ? Math.pow(env / thresh, exponent) : 1;
    buf[i] = (buf[i] as number) * gain;
  }
}

/**
 * Schroeder/Freeverb-style reverb: four damped feedback combs in parallel into two all-passes,
 * mixed back at `wet`. Delay lengths are Freeverb's, scaled to the sample rate and room size.
 */
export function reverb(buf: Float32Array, wet: number, room: number, sr: number): void {
  if (wet <= 0) return;
  const scale = (sr / 44100) * (0.6 + 0.8 * room);
  const combLens = [1116, 1277, 1422, 1557].map((d) => Math.max(8, Math.round(d * scale)));
  const apLens = [556, 341].map((d) => Math.max(4, Math.round(d * scale)));
  const feedback = 0.7 + 0.26 * room;
  const damp = 0.3;
  const n = buf.length;
  const acc = new Float32Array(n);
  for (const L of combLens) {
    const line = new Float32Array(L);
    let idx = 0, filt = 0;
    for (let i = 0; i < n; i++) {
      const y = line[idx] as number;
      filt = y * (1 - damp) + filt * damp;
      line[idx] = (buf[i] as number) * 0.25 + filt * feedback;
      acc[i] = (acc[i] as number) + y;
      idx = idx + 1 === L ? 0 : idx + 1;
    }
  }
  for (const L of apLens) {
    const line = new Float32Array(L);
    let idx = 0;
    for (let i = 0; i < n; i++) {
      const d = line[idx] as number;
      const x = acc[i] as number;
      line[idx] = x + d * 0.5;
      acc[i] = d - x;
      idx = idx + 1 === L ? 0 : idx + 1;
    }
  }
  for (let i = 0; i < n; i++) buf[i] = (buf[i] as number) * (1 - 0.5 * wet) + (acc[i] as number) * wet;
}

/** Tilt EQ: -1 darkens (bass up, treble down), +1 brightens; +-6 dB at the extremes. */
export function tiltEq(buf: Float32Array, tilt: number, sr: number): void {
  if (Math.abs(tilt) < 0.01) return;
  applyBiquad(buf, lowShelf(250, -6 * tilt, sr));
  applyBiquad(buf, highShelf(2500, 6 * tilt, sr));
}

/** Rotary-speaker-ish amplitude tremolo for organs. */
export function tremolo(buf: Float32Array, rateHz: number, depth: number, sr: number): void {
  const w = (TWO_PI * rateHz) / sr;
  for (let i = 0; i < buf.length; i++) buf[i] = (buf[i] as number) * (1 - depth * 0.5 * (1 + Math.sin(w * i)));
}

/** Background noise of one kind, with unit RMS. */
export function makeNoise(type: NoiseType, n: number, sr: number, rng: Rng): Float32Array {
  const out = new Float32Array(n);
  switch (type) {
    case 'white':
      for (let i = 0; i < n; i++) out[i] = rng.next() * 2 - 1;
      break;
    case 'pink': {
      // Paul Kellet's economy pink filter.
      let b0 = 0, b1 = 0, b2 = 0;
      for (let i = 0; i < n; i++) {
        const w = rng.next() * 2 - 1;
        b0 = 0.99765 * b0 + w * 0.099046;
        b1 = 0.963 * b1 + w * 0.2965164;
        b2 = 0.57 * b2 + w * 1.0526913;
        out[i] = b0 + b1 + b2 + w * 0.1848;
      }
      break;
    }
    case 'tape': {
      for (let i = 0; i < n; i++) out[i] = rng.next() * 2 - 1;
      applyOnePoleHighpass(out, 2000, sr);
      break;
    }
    case 'hum': {
      const f = rng.bool() ? 50 : 60;
      for (let i = 0; i < n; i++) {
        const t = (TWO_PI * f * i) / sr;
        out[i] = Math.sin(t) + 0.5 * Math.sin(2 * t) + 0.3 * Math.sin(3 * t) + 0.05 * (rng.next() * 2 - 1);
      }
      break;
    }
    case 'vinyl': {
      // Surface hiss plus sparse clicks of random size.
      let lp = 0;
      for (let i = 0; i < n; i++) {
        lp += 0.2 * (rng.next() * 2 - 1 - lp);
        out[i] = lp * 0.5;
        if (rng.next() < 8 / sr) {
          const amp = 2 + 6 * rng.next();
          const len = Math.min(n - i, 2 + Math.floor(rng.next() * 12));
          for (let k = 0; k < len; k++) out[i + k] = (out[i + k] as number) + amp * (1 - k / len) * (k % 2 ? -1 : 1);
        }
      }
      break;
    }
  }
  const r = rms(out) || 1;
  for (let i = 0; i < n; i++) out[i] = (out[i] as number) / r;
  return out;
}

/** Soft knee above 0.8 so peaks round off instead of clipping. */
export function softLimit(buf: Float32Array): void {
  for (let i = 0; i < buf.length; i++) {
    const x = buf[i] as number;
    const a = Math.abs(x);
    if (a > 0.8) buf[i] = Math.sign(x) * (0.8 + 0.199 * Math.tanh((a - 0.8) / 0.2));
  }
}

export function bandLimit(buf: Float32Array, hz: number, sr: number): void {
  if (hz >= sr * 0.45) return;
  applyBiquad(buf, lowpass(hz, 0.707, sr));
}
