/**
 * The drum kit: each drum is synthesised once per track (pitch-swept sine kick, tone+noise snare,
 * metallic square clusters for hats and cymbals, ...) and then mixed at every hit, which is far
 * cheaper than synthesising each hit. Kit type and timbre vary the sounds between tracks.
 */
import type { Rng } from '../../util/rng.js';
import type { KitName, Timbre } from './types.js';
import { TWO_PI, applyBiquad, bandpass, highpass, lowpass } from './dsp.js';

export type DrumName = 'kick' | 'snare' | 'clap' | 'rim' | 'hatC' | 'hatO' | 'ride' | 'crash' | 'tomH' | 'tomL' | 'shaker';

export type Kit = Record<DrumName, Float32Array>;

function kick(sr: number, rng: Rng, f0: number, f1: number, decayS: number, click: number): Float32Array {
  const n = Math.round(decayS * 1.6 * sr);
  const out = new Float32Array(n);
  const sweepK = Math.exp(-1 / (0.035 * sr));
  const ampK = Math.exp(-6.9 / (decayS * sr));
  let ph = 0, sweep = 1, amp = 1;
  const clickN = Math.round(0.003 * sr);
  for (let i = 0; i < n; i++) {
    ph += (TWO_PI * (f1 + (f0 - f1) * sweep)) / sr;
    sweep *= sweepK;
    let x = Math.sin(ph) * amp;
    if (i < clickN) x += click * (rng.next() * 2 - 1) * (1 - i / clickN);
    out[i] = x;
    amp *= ampK;
  }
  return out;
}

function noiseBurst(sr: number, rng: Rng, decayS: number, attackS = 0.0005): Float32Array {
  const n = Math.round(decayS * 1.5 * sr);
  const out = new Float32Array(n);
  const k = Math.exp(-6.9 / (decayS * sr));
  const att = Math.max(1, Math.round(attackS * sr));
  let amp = 1;
  for (let i = 0; i < n; i++) {
    out[i] = (rng.next() * 2 - 1) * amp * (i < att ? i / att : 1);
    amp *= k;
  }
  return out;
}

function snare(sr: number, rng: Rng, tone: number, decayS: number, noiseLevel: number, brightHz: number): Float32Array {
  const out = noiseBurst(sr, rng, decayS);
  applyBiquad(out, highpass(brightHz * 0.25, 0.7, sr));
  applyBiquad(out, lowpass(brightHz, 0.7, sr));
  const k = Math.exp(-6.9 / (0.09 * sr));
  let amp = 1, ph = 0;
  for (let i = 0; i < out.length; i++) {
    ph += (TWO_PI * tone) / sr;
    out[i] = (out[i] as number) * noiseLevel + Math.sin(ph) * amp * 0.6;
    amp *= k;
  }
  return out;
}

/** Six detuned square waves (the 808/909 trick) plus noise, high-passed: hats and cymbals. */
function metal(sr: number, rng: Rng, decayS: number, base: number, hpHz: number, noise: number): Float32Array {
  const n = Math.round(decayS * 1.5 * sr);
  const out = new Float32Array(n);
  const ratios = [1, 1.48, 1.8, 2.55, 2.63, 3.9];
  const phases = ratios.map(() => rng.next());
  const k = Math.exp(-6.9 / (decayS * sr));
  let amp = 1;
  for (let i = 0; i < n; i++) {
    let x = 0;
    for (let r = 0; r < 6; r++) {
      let p = (phases[r] as number) + (base * (ratios[r] as number)) / sr;
      if (p >= 1) p -= 1;
      phases[r] = p;
      x += p < 0.5 ? 1 : -1;
    }
    out[i] = (x / 6 + noise * (rng.next() * 2 - 1)) * amp;
    amp *= k;
  }
  applyBiquad(out, highpass(Math.min(hpHz, sr * 0.42), 0.7, sr));
  return out;
}

function tom(sr: number, f: number, decayS: number): Float32Array {
  const n = Math.round(decayS * 1.5 * sr);
  const out = new Float32Array(n);
  const k = Math.exp(-6.9 / (decayS * sr));
  let ph = 0, amp = 1;
  for (let i = 0; i < n; i++) {
    ph += (TWO_PI * f * (1 + 0.5 * Math.exp(-i / (0.02 * sr)))) / sr;
    out[i] = Math.sin(ph) * amp;
    amp *= k;
  }
  return out;
}

function clap(sr: number, rng: Rng): Float32Array {
  const out = noiseBurst(sr, rng, 0.2);
  const gap = Math.round(0.011 * sr);
  for (let i = 0; i < 3 * gap && i < out.length; i++) if (i % gap > gap * 0.6) out[i] = (out[i] as number) * 0.2;
  applyBiquad(out, bandpass(1200, 1.2, sr));
  for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) * 2.5;
  return out;
}

function normalizePeak(x: Float32Array, peak: number): Float32Array {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] as number));
  if (m > 0) for (let i = 0; i < x.length; i++) x[i] = ((x[i] as number) / m) * peak;
  return x;
}

/** Synthesize every drum of a kit, each normalized to a sensible peak level. */
export function buildKit(kit: KitName, tb: Timbre, sr: number, rng: Rng): Kit {
  const nyq = sr / 2;
  const bright = 0.7 + 0.6 * tb.brightness;
  let k: Float32Array, s: Float32Array;
  switch (kit) {
    case 'machine':
      k = kick(sr, rng, 90 + 40 * tb.character, 42 + 10 * tb.character, 0.4 + 0.8 * tb.decay, 0);
      s = tb.character < 0.5 ? snare(sr, rng, 190, 0.15, 1.2, Math.min(nyq * 0.9, 7000)) : clap(sr, rng);
      break;
    case 'brush':
      k = kick(sr, rng, 90 + 30 * tb.character, 45, 0.2 + 0.15 * tb.decay, 0.05);
      s = noiseBurst(sr, rng, 0.18 + 0.15 * tb.decay, 0.012);
      applyBiquad(s, lowpass(Math.min(nyq * 0.9, 3000 + 2000 * tb.brightness), 0.7, sr));
      break;
    case 'heavy':
      k = kick(sr, rng, 170 + 40 * tb.character, 52, 0.15 + 0.1 * tb.decay, 0.6);
      s = snare(sr, rng, 200 + 40 * tb.character, 0.22 + 0.1 * tb.decay, 1, Math.min(nyq * 0.9, 6000 * bright));
      break;
    default:
      k = kick(sr, rng, 110 + 50 * tb.character, 48 + 10 * tb.character, 0.25 + 0.2 * tb.decay, 0.3);
      s = snare(sr, rng, 180 + 40 * tb.character, 0.15 + 0.1 * tb.decay, 0.9, Math.min(nyq * 0.9, 5000 * bright));
  }
  const hatBase = 300 + 200 * tb.character;
  const hp = (kit === 'brush' ? 5000 : 6500) * bright;
  const rim = noiseBurst(sr, rng, 0.02);
  applyBiquad(rim, bandpass(1700, 3, sr));
  const shaker = noiseBurst(sr, rng, 0.06, 0.015);
  applyBiquad(shaker, highpass(Math.min(nyq * 0.8, 5000), 0.7, sr));
  return {
    kick: normalizePeak(k, 1),
    snare: normalizePeak(s, kit === 'brush' ? 0.45 : 0.85),
    clap: normalizePeak(clap(sr, rng), 0.8),
    rim: normalizePeak(rim, 0.5),
    hatC: normalizePeak(metal(sr, rng, 0.03 + 0.05 * tb.decay, hatBase, hp, 0.6), kit === 'brush' ? 0.2 : 0.35),
    hatO: normalizePeak(metal(sr, rng, 0.25 + 0.2 * tb.decay, hatBase, hp, 0.6), 0.3),
    ride: normalizePeak(metal(sr, rng, 0.9 + 0.8 * tb.decay, hatBase * 1.3, hp * 0.5, 0.3), kit === 'brush' ? 0.3 : 0.25),
    crash: normalizePeak(metal(sr, rng, 1.2 + 1 * tb.decay, hatBase * 0.9, hp * 0.45, 1.2), 0.3),
    tomH: normalizePeak(tom(sr, 180 + 40 * tb.character, 0.3), 0.7),
    tomL: normalizePeak(tom(sr, 100 + 30 * tb.character, 0.4), 0.75),
    shaker: normalizePeak(shaker, 0.15),
  };
}

type Lane = Partial<Record<DrumName, string>>;

/**
 * Patterns per meter on a sixteenth grid ('x' hit, 'o' soft, '.' rest): 16 steps in 4/4,
 * 12 in 3/4 and in 6/8. Hats in swung patterns sit on eighths so swing moves them.
 */
export const DRUM_PATTERNS: Readonly<Record<string, Lane>> = {
  rock: { kick: 'x.......x.x.....', snare: '....x.......x...', hatC: 'x.x.x.x.x.x.x.x.' },
  rockB: { kick: 'x..x..x.x.......', snare: '....x.......x..o', hatC: 'x.x.x.x.x.x.x.x.' },
  disco: { kick: 'x...x...x...x...', snare: '....x.......x...', hatC: 'x...x...x...x...', hatO: '..x...x...x...x.' },
  boombap: { kick: 'x......x..x.....', snare: '....x.......x...', hatC: 'x.x.x.x.x.x.x.x.' },
  trap: { kick: 'x......x..x.....', clap: '........x.......', hatC: 'xxxxxxxxxxxxxxxx' },
  metal: { kick: 'xxxxxxxxxxxxxxxx', snare: '....x.......x...', ride: 'x.x.x.x.x.x.x.x.', crash: 'x...............' },
  metalHalf: { kick: 'x.x.x.x.x.x.x.x.', snare: '........x.......', hatC: 'x.x.x.x.x.x.x.x.', crash: 'x...............' },
  jazzRide: { ride: 'x...x.x.x...x.x.', hatC: '....x.......x...', kick: 'o.......o.......' },
  shuffle: { kick: 'x.......x.......', snare: '....x.......x...', hatC: 'x.x.x.x.x.x.x.x.' },
  onedrop: { kick: '........x.......', rim: '........x.......', hatC: 'x.x.x.x.x.x.x.x.' },
  steppers: { kick: 'x...x...x...x...', rim: '....x.......x...', hatC: '..x...x...x...x.' },
  train: { kick: 'x.......x.......', snare: 'o.x.o.x.o.x.o.x.', hatC: '....x.......x...' },
  pop: { kick: 'x.....x.x.......', clap: '....x.......x...', hatC: 'x.x.x.x.x.x.x.x.', shaker: 'oooooooooooooooo' },
  halftime: { kick: 'x.........x.....', snare: '........x.......', hatC: 'x.x.x.x.x.x.x.x.' },
  waltz: { kick: 'x...........', snare: '....x...x...', hatC: 'x.x.x.x.x.x.' },
  ballad68: { kick: 'x...........', snare: '......x.....', hatC: 'x.x.x.x.x.x.' },
};
