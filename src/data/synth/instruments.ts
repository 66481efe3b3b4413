/**
 * One synthesis function per timbre. Each adds one note into `out` starting at sample `start`,
 * holding for `gate` samples and then releasing; the note's own noise comes from `rng` so a track
 * renders identically from its seed. Methods are the classic cheap ones: Karplus-Strong strings,
 * additive piano and organ, two-operator FM electric piano, subtractive brass/pads/leads through a
 * swept state-variable filter, and a source-filter voice (glottal saw through vowel formants).
 */
import type { Rng } from '../../util/rng.js';
import type { InstrumentName, Timbre } from './types.js';
import { Svf, TWO_PI, bandpass, polyBlep, type Biquad } from './dsp.js';

export interface NoteSpec {
  start: number;
  gate: number;
  freq: number;
  vel: number;
}

export type Voice = (out: Float32Array, n: NoteSpec, tb: Timbre, sr: number, rng: Rng) => void;

/** Linear attack and release around a sustain of 1, sample-wise. */
function envAt(i: number, attack: number, gate: number, release: number): number {
  if (i < attack) return i / attack;
  if (i < gate) return 1;
  const r = 1 - (i - gate) / release;
  return r > 0 ? r : 0;
}

/** Karplus-Strong plucked string with an all-pass for fractional tuning. */
function pluckWith(out: Float32Array, n: NoteSpec, sr: number, rng: Rng, decayS: number, bright: number, releaseS: number): void {
  const period = sr / n.freq;
  let N = Math.floor(period - 0.6);
  if (N < 2) N = 2;
  const frac = period - 0.5 - N;
  const C = (1 - frac) / (1 + frac);
  const line = new Float32Array(N);
  const a = 0.08 + 0.9 * Math.min(1, bright);
  let lp = 0, mean = 0;
  for (let i = 0; i < N; i++) {
    lp += a * (rng.next() * 2 - 1 - lp);
    line[i] = lp;
    mean += lp;
  }
  mean /= N;
  for (let i = 0; i < N; i++) line[i] = (line[i] as number) - mean;
  const rho = Math.pow(10, -3 / (decayS * n.freq));
  const release = Math.max(1, Math.round(releaseS * sr));
  const len = Math.min(out.length - n.start, n.gate + release, Math.ceil(decayS * 1.2 * sr));
  const damp = Math.pow(0.001, 1 / release);
  let idx = 0, prev = 0, apX = 0, apY = 0, g = n.vel;
  for (let i = 0; i < len; i++) {
    const cur = line[idx] as number;
    const v = rho * 0.5 * (cur + prev);
    prev = cur;
    const y = C * v + apX - C * apY;
    apX = v;
    apY = y;
    line[idx] = y;
    if (i >= n.gate) g *= damp;
    out[n.start + i] = (out[n.start + i] as number) + cur * g;
    idx = idx + 1 === N ? 0 : idx + 1;
  }
}

const acousticGuitar: Voice = (out, n, tb, sr, rng) => pluckWith(out, n, sr, rng, 1.2 + 2.5 * tb.decay, 0.45 + 0.4 * tb.brightness * n.vel, 0.08);
const cleanGuitar: Voice = (out, n, tb, sr, rng) => pluckWith(out, n, sr, rng, 1.5 + 3 * tb.decay, 0.55 + 0.4 * tb.brightness, 0.05);
const distGuitar: Voice = (out, n, tb, sr, rng) => pluckWith(out, n, sr, rng, 2 + 3 * tb.decay, 0.7 + 0.3 * tb.brightness, 0.03);
const uprightBass: Voice = (out, n, tb, sr, rng) => pluckWith(out, n, sr, rng, 0.5 + 1 * tb.decay, 0.25 + 0.25 * tb.brightness, 0.06);

/**
 * Additive oscillator bank: partial k at freqs[k] with amplitude amps[k] decaying by decays[k] per
 * sample, computed with a rotating phasor (two multiplies per partial, no sin per sample).
 */
function additive(out: Float32Array, start: number, len: number, gate: number, freqs: number[], amps: number[], decays: number[], attackN: number, releaseN: number, sr: number): void {
  const releaseMul = Math.pow(0.001, 1 / Math.max(1, releaseN));
  for (let k = 0; k < freqs.length; k++) {
    const w = (TWO_PI * (freqs[k] as number)) / sr;
    const cw = Math.cos(w), sw = Math.sin(w);
    let c = 1, s = 0, env = amps[k] as number;
    const d = decays[k] as number;
    const end = Math.min(len, out.length - start);
    for (let i = 0; i < end; i++) {
      const att = i < attackN ? i / attackN : 1;
      out[start + i] = (out[start + i] as number) + s * env * att;
      const c2 = c * cw - s * sw;
      s = c * sw + s * cw;
      c = c2;
      env *= i < gate ? d : d * releaseMul;
    }
  }
}

const piano: Voice = (out, n, tb, sr, rng) => {
  const B = 0.0001 + 0.0004 * tb.character;
  const t60 = Math.min(8, Math.max(0.35, (1.5 + 4 * tb.decay) * Math.pow(262 / n.freq, 0.6)));
  const freqs: number[] = [], amps: number[] = [], decays: number[] = [];
  const tilt = 1.1 + 1.6 * (1 - tb.brightness * n.vel);
  for (let k = 1; k <= 10; k++) {
    const f = k * n.freq * Math.sqrt(1 + B * k * k);
    if (f > sr * 0.45) break;
    freqs.push(f);
    amps.push((n.vel * 0.5) / Math.pow(k, tilt));
    decays.push(Math.exp(-6.9 / (((t60 / (1 + 0.45 * (k - 1))) * sr))));
  }
  const len = Math.min(n.gate + Math.round(0.25 * sr), Math.ceil(t60 * sr));
  additive(out, n.start, len, n.gate, freqs, amps, decays, Math.round(0.002 * sr), Math.round(0.15 * sr), sr);
  // Hammer thump: a few ms of low-passed noise.
  const hn = Math.min(Math.round(0.012 * sr), out.length - n.start);
  let lp = 0;
  for (let i = 0; i < hn; i++) {
    lp += 0.3 * (rng.next() * 2 - 1 - lp);
    out[n.start + i] = (out[n.start + i] as number) + lp * 0.08 * n.vel * (1 - i / hn);
  }
};

const epiano: Voice = (out, n, tb, sr) => {
  const t60 = Math.min(5, Math.max(0.5, (1 + 3 * tb.decay) * Math.pow(262 / n.freq, 0.4)));
  const len = Math.min(out.length - n.start, n.gate + Math.round(0.2 * sr), Math.ceil(t60 * sr));
  const d = Math.exp(-6.9 / (t60 * sr));
  const di = Math.exp(-1 / (0.15 * sr));
  const rel = Math.pow(0.001, 1 / Math.round(0.2 * sr));
  const w = (TWO_PI * n.freq) / sr;
  let env = n.vel * 0.4, idx = (0.6 + 2.2 * tb.brightness) * n.vel, ph = 0;
  const att = Math.round(0.003 * sr);
  for (let i = 0; i < len; i++) {
    const a = i < att ? i / att : 1;
    out[n.start + i] = (out[n.start + i] as number) + env * a * Math.sin(ph + idx * Math.sin(ph));
    ph += w;
    if (ph > TWO_PI) ph -= TWO_PI;
    env *= i < n.gate ? d : d * rel;
    idx *= di;
  }
};

/** Hammond-style drawbar registrations (sub, fundamental, fifth, 2nd, 3rd, 4th, 5th, 6th, 8th harmonic). */
const DRAWBARS: readonly number[][] = [
  [8, 8, 8, 0, 0, 0, 0, 0, 0],
  [8, 8, 8, 8, 8, 8, 8, 8, 8],
  [0, 8, 0, 8, 0, 0, 0, 0, 4],
  [6, 8, 4, 6, 2, 2, 0, 0, 2],
];
const DRAWBAR_RATIOS: readonly number[] = [0.5, 1, 1.5, 2, 3, 4, 5, 6, 8];

const organ: Voice = (out, n, tb, sr) => {
  const reg = DRAWBARS[Math.min(DRAWBARS.length - 1, Math.floor(tb.character * DRAWBARS.length))] as number[];
  const freqs: number[] = [], amps: number[] = [], decays: number[] = [];
  const total = reg.reduce((a, b) => a + b, 0);
  reg.forEach((lvl, k) => {
    const f = n.freq * (DRAWBAR_RATIOS[k] as number);
    if (lvl === 0 || f > sr * 0.45) return;
    freqs.push(f);
    amps.push((n.vel * 0.6 * lvl) / total);
    decays.push(1);
  });
  additive(out, n.start, n.gate + Math.round(0.04 * sr), n.gate, freqs, amps, decays, Math.round(0.004 * sr), Math.round(0.04 * sr), sr);
};

/** Saw or pulse through a low-pass whose cutoff follows an envelope: brass, sax, leads, synth bass. */
function subtractive(out: Float32Array, n: NoteSpec, sr: number, rng: Rng, o: {
  pulse: number; attackS: number; releaseS: number; baseMul: number; envMul: number; envS: number; q: number;
  vibDepth: number; vibRate: number; vibDelayS: number; breath: number; gain: number; decayS?: number;
}): void {
  const attack = Math.max(1, Math.round(o.attackS * sr));
  const release = Math.max(1, Math.round(o.releaseS * sr));
  const len = Math.min(out.length - n.start, n.gate + release);
  const svf = new Svf(sr, o.q);
  const envK = Math.exp(-1 / (o.envS * sr));
  const decK = o.decayS ? Math.exp(-1 / (o.decayS * sr)) : 1;
  const vibW = (TWO_PI * o.vibRate) / sr;
  const vibDelay = Math.round(o.vibDelayS * sr);
  let ph = rng.next(), fenv = 1, amp = 1;
  for (let i = 0; i < len; i++) {
    if ((i & 15) === 0) svf.setCutoff(n.freq * (o.baseMul + o.envMul * fenv * n.vel));
    const vib = i > vibDelay ? 1 + o.vibDepth * Math.sin(vibW * i) : 1;
    const dt = (n.freq * vib) / sr;
    ph += dt;
    if (ph >= 1) ph -= 1;
    let x: number;
    if (o.pulse <= 0) x = 2 * ph - 1 - polyBlep(ph, dt);
    else {
      const p2 = ph + (1 - o.pulse) >= 1 ? ph - o.pulse : ph + (1 - o.pulse);
      x = (ph < o.pulse ? 1 : -1) + polyBlep(ph, dt) - polyBlep(p2, dt);
    }
    if (o.breath > 0) x += o.breath * (rng.next() * 2 - 1);
    const y = svf.lowpass(x);
    fenv *= envK;
    amp *= decK;
    out[n.start + i] = (out[n.start + i] as number) + y * envAt(i, attack, n.gate, release) * amp * n.vel * o.gain;
  }
}

const brass: Voice = (out, n, tb, sr, rng) => subtractive(out, n, sr, rng, {
  pulse: 0, attackS: 0.02 + 0.06 * tb.attack, releaseS: 0.08, baseMul: 1.5 + 2 * tb.brightness, envMul: 3 + 6 * tb.brightness,
  envS: 0.15 + 0.2 * tb.decay, q: 0.9, vibDepth: 0.004 * tb.vibrato, vibRate: 5.5, vibDelayS: 0.2, breath: 0.02, gain: 0.5,
});
const sax: Voice = (out, n, tb, sr, rng) => subtractive(out, n, sr, rng, {
  pulse: 0.36 + 0.1 * tb.character, attackS: 0.02 + 0.04 * tb.attack, releaseS: 0.06, baseMul: 2 + 2 * tb.brightness, envMul: 3 + 4 * tb.brightness,
  envS: 0.25, q: 1.4, vibDepth: 0.006 + 0.008 * tb.vibrato, vibRate: 5, vibDelayS: 0.15, breath: 0.06, gain: 0.5,
});
const synthLead: Voice = (out, n, tb, sr, rng) => subtractive(out, n, sr, rng, {
  pulse: tb.character < 0.5 ? 0 : 0.5, attackS: 0.005 + 0.03 * tb.attack, releaseS: 0.06, baseMul: 2 + 3 * tb.brightness, envMul: 2 + 8 * tb.brightness,
  envS: 0.1 + 0.3 * tb.decay, q: 1 + 3 * tb.character, vibDepth: 0.005 * tb.vibrato, vibRate: 6, vibDelayS: 0.25, breath: 0, gain: 0.45,
});
const synthBass: Voice = (out, n, tb, sr, rng) => subtractive(out, n, sr, rng, {
  pulse: tb.character < 0.6 ? 0 : 0.5, attackS: 0.003, releaseS: 0.04, baseMul: 1.2 + 1.5 * tb.brightness, envMul: 2 + 8 * tb.brightness,
  envS: 0.05 + 0.2 * tb.decay, q: 1.5 + 3 * tb.character, vibDepth: 0, vibRate: 0, vibDelayS: 0, breath: 0, gain: 0.6,
});

/** Bowed strings: detuned saws, slow attack, vibrato; the ensemble size sets the chorus. */
function bowed(out: Float32Array, n: NoteSpec, tb: Timbre, sr: number, rng: Rng, voices: number, attackS: number, vib: number): void {
  const attack = Math.max(1, Math.round(attackS * sr));
  const release = Math.round((0.15 + 0.25 * tb.decay) * sr);
  const len = Math.min(out.length - n.start, n.gate + release);
  const svf = new Svf(sr, 0.8);
  svf.setCutoff(Math.min(sr * 0.45, n.freq * (3 + 6 * tb.brightness)));
  const detune = Array.from({ length: voices }, (_, k) => 1 + (voices === 1 ? 0 : (k / (voices - 1) - 0.5) * 0.012));
  const phase = detune.map(() => rng.next());
  const vibW = (TWO_PI * (5 + rng.next())) / sr;
  const gain = (0.5 * n.vel) / Math.sqrt(voices);
  for (let i = 0; i < len; i++) {
    const v = 1 + vib * Math.sin(vibW * i) * Math.min(1, i / attack);
    let x = 0;
    for (let k = 0; k < voices; k++) {
      const dt = (n.freq * v * (detune[k] as number)) / sr;
      let p = (phase[k] as number) + dt;
      if (p >= 1) p -= 1;
      phase[k] = p;
      x += 2 * p - 1 - polyBlep(p, dt);
    }
    out[n.start + i] = (out[n.start + i] as number) + svf.lowpass(x) * envAt(i, attack, n.gate, release) * gain;
  }
}

const strings: Voice = (out, n, tb, sr, rng) => bowed(out, n, tb, sr, rng, 3, 0.08 + 0.35 * tb.attack, 0.002 + 0.004 * tb.vibrato);
const fiddle: Voice = (out, n, tb, sr, rng) => bowed(out, n, tb, sr, rng, 1, 0.03 + 0.08 * tb.attack, 0.004 + 0.008 * tb.vibrato);
const bowedBass: Voice = (out, n, tb, sr, rng) => bowed(out, n, tb, sr, rng, 2, 0.06 + 0.1 * tb.attack, 0.002 * tb.vibrato);
const pad: Voice = (out, n, tb, sr, rng) => bowed(out, n, { ...tb, brightness: tb.brightness * 0.5 }, sr, rng, 3, 0.25 + 0.8 * tb.attack, 0.001);

const flute: Voice = (out, n, tb, sr, rng) => {
  const attack = Math.round((0.04 + 0.08 * tb.attack) * sr);
  const release = Math.round(0.08 * sr);
  const len = Math.min(out.length - n.start, n.gate + release);
  const vibW = (TWO_PI * 5) / sr;
  const depth = 0.003 + 0.006 * tb.vibrato;
  const h2 = 0.1 + 0.25 * tb.brightness;
  let ph = 0, lp = 0;
  for (let i = 0; i < len; i++) {
    ph += (TWO_PI * n.freq * (1 + depth * Math.sin(vibW * i))) / sr;
    lp += 0.4 * (rng.next() * 2 - 1 - lp);
    const x = Math.sin(ph) + h2 * Math.sin(2 * ph) + 0.05 * Math.sin(3 * ph) + 0.15 * lp;
    out[n.start + i] = (out[n.start + i] as number) + x * envAt(i, attack, n.gate, release) * n.vel * 0.4;
  }
};

/** Vowel formants (F1-F3, Hz) and their relative levels. */
const VOWELS: ReadonlyArray<{ f: readonly number[]; a: readonly number[] }> = [
  { f: [730, 1090, 2440], a: [1, 0.5, 0.25] },
  { f: [530, 1840, 2480], a: [1, 0.4, 0.2] },
  { f: [270, 2290, 3010], a: [1, 0.25, 0.2] },
  { f: [570, 840, 2410], a: [1, 0.45, 0.15] },
  { f: [300, 870, 2240], a: [1, 0.3, 0.1] },
];

/** Source-filter voice: a glottal saw (plus breath) through three formant band-passes. */
function sing(out: Float32Array, n: NoteSpec, tb: Timbre, sr: number, rng: Rng, o: { vib: number; scoop: number; consonant: number; fall: number; attackS: number }): void {
  const vowel = VOWELS[Math.floor(rng.next() * VOWELS.length)] as (typeof VOWELS)[number];
  const shift = 1 + 0.18 * tb.character;
  const filters: Biquad[] = vowel.f.map((f) => bandpass(Math.min(f * shift, sr * 0.45), 6 + 6 * tb.brightness, sr));
  const z = filters.map(() => [0, 0]);
  const attack = Math.max(1, Math.round(o.attackS * sr));
  const release = Math.round(0.07 * sr);
  const len = Math.min(out.length - n.start, n.gate + release);
  const scoopN = Math.round(0.06 * sr);
  const vibW = (TWO_PI * (5 + 1.5 * tb.vibrato)) / sr;
  const consonantN = Math.round(0.025 * sr);
  let ph = rng.next();
  for (let i = 0; i < len; i++) {
    let f = n.freq;
    if (i < scoopN) f *= Math.pow(2, (-o.scoop * (1 - i / scoopN)) / 12);
    if (o.fall !== 0) f *= Math.pow(2, (o.fall * i) / len / 12);
    if (i > scoopN * 2) f *= 1 + o.vib * Math.sin(vibW * i);
    const dt = f / sr;
    ph += dt;
    if (ph >= 1) ph -= 1;
    const src = 2 * ph - 1 - polyBlep(ph, dt) + 0.08 * (rng.next() * 2 - 1);
    let y = 0;
    for (let k = 0; k < 3; k++) {
      const c = filters[k] as Biquad;
      const s = z[k] as number[];
      const v = c.b0 * src + (s[0] as number);
      s[0] = c.b1 * src - c.a1 * v + (s[1] as number);
      s[1] = c.b2 * src - c.a2 * v;
      y += v * (vowel.a[k] as number);
    }
    if (i < consonantN && o.consonant > 0) y += o.consonant * (rng.next() * 2 - 1) * (1 - i / consonantN);
    out[n.start + i] = (out[n.start + i] as number) + y * envAt(i, attack, n.gate, release) * n.vel * 0.9;
  }
}

const vocal: Voice = (out, n, tb, sr, rng) => sing(out, n, tb, sr, rng, { vib: 0.006 + 0.01 * tb.vibrato, scoop: 1, consonant: 0.15, fall: 0, attackS: 0.03 + 0.04 * tb.attack });
const rapVocal: Voice = (out, n, tb, sr, rng) => sing(out, n, tb, sr, rng, { vib: 0, scoop: 0.5, consonant: 0.5, fall: -2 - 2 * rng.next(), attackS: 0.008 });

const electricBass: Voice = (out, n, tb, sr) => {
  const freqs: number[] = [], amps: number[] = [], decays: number[] = [];
  const t60 = 1 + 2.5 * tb.decay;
  [1, 0.5 * (0.3 + tb.brightness), 0.3 * tb.brightness, 0.15 * tb.brightness].forEach((a, k) => {
    const f = n.freq * (k + 1);
    if (f > sr * 0.45) return;
    freqs.push(f);
    amps.push(a * n.vel * 0.6);
    decays.push(Math.exp(-6.9 / ((t60 / (1 + k)) * sr)));
  });
  additive(out, n.start, n.gate + Math.round(0.05 * sr), n.gate, freqs, amps, decays, Math.round(0.004 * sr), Math.round(0.05 * sr), sr);
};

const sub808: Voice = (out, n, tb, sr) => {
  const decayS = 0.4 + 1.4 * tb.decay;
  const len = Math.min(out.length - n.start, n.gate + Math.round(0.06 * sr), Math.ceil(decayS * 1.5 * sr));
  const d = Math.exp(-6.9 / (decayS * sr));
  const rel = Math.pow(0.001, 1 / Math.round(0.06 * sr));
  const sweepK = Math.exp(-1 / (0.03 * sr));
  const drive = 1 + 2 * tb.character;
  let ph = 0, env = n.vel, sweep = 1;
  for (let i = 0; i < len; i++) {
    ph += (TWO_PI * n.freq * (1 + sweep)) / sr;
    sweep *= sweepK;
    out[n.start + i] = (out[n.start + i] as number) + (Math.tanh(drive * Math.sin(ph)) / Math.tanh(drive)) * env * 0.7;
    env *= i < n.gate ? d : d * rel;
  }
};

export const VOICES: Readonly<Record<InstrumentName, Voice>> = {
  acousticGuitar, cleanGuitar, distGuitar, piano, epiano, organ, brass, sax, strings, fiddle, pad,
  synthLead, flute, vocal, rapVocal, electricBass, uprightBass, synthBass, sub808, bowedBass,
};

/** The middle of each instrument's playing range (midi), before a part's octave shift. */
export const HOME_PITCH: Readonly<Record<InstrumentName, number>> = {
  acousticGuitar: 57, cleanGuitar: 59, distGuitar: 52, piano: 62, epiano: 62, organ: 62, brass: 62, sax: 60,
  strings: 64, fiddle: 71, pad: 62, synthLead: 69, flute: 76, vocal: 64, rapVocal: 50,
  electricBass: 36, uprightBass: 36, synthBass: 36, sub808: 33, bowedBass: 38,
};
