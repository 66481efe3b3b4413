/**
 * Rational-ratio sample-rate conversion by a polyphase windowed-sinc FIR (Kaiser window), for the
 * ratios real files need on the way to 16 kHz (32 k → 16 k is 1:2, 44.1 k → 16 k is 160:441,
 * 48 k → 16 k is 1:3). Output sample t sits at input time t·M/L exactly (no delay, as
 * libsamplerate), and each of the L phases' taps are the sinc kernel sampled at that phase.
 *
 * Design (for a 16 kHz output): passband to 7.5 kHz (the top of the highest mel band), stopband
 * from 8.5 kHz at ≥ 90 dB; the 8–8.5 kHz band that aliases lands in 7.5–8 kHz, above every mel
 * band. Taps per output = Kaiser length for that transition at the input rate (184 at 32 kHz,
 * 252 × 160 phases at 44.1 kHz, 276 at 48 kHz), each phase normalised to unit DC gain. Checked
 * against libsamplerate's best converter in test/audio-resample.test.ts. The inner loop runs in C when the addon is built
 * (native/frontend.c firRun: the same products, summed in float with AVX2 and phase by phase).
 */
import { UsageError } from '../util/errors.js';
import type { NativeFirHandle } from '../tensor/native.js';
import { audioNative, type AudioNative } from './native.js';

export interface PolyphaseDesign {
  /** Reduced ratio: L output samples per M input samples. */
  up: number;
  down: number;
  /** Taps per output sample (even). */
  taps: number;
  /** [up, taps] tap table: row p is the kernel at phase p/up. */
  table: Float32Array;
  passbandHz: number;
  stopbandHz: number;
  attenuationDb: number;
}

/** Phases we tabulate at most (L); rarer ratios fall back to libsamplerate. */
export const MAX_PHASES = 1024;

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Modified Bessel function I0 (series; converges fast for the β we use). */
function besselI0(x: number): number {
  let sum = 1, term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 200; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < 1e-17 * sum) break;
  }
  return sum;
}

/**
 * The filter for `fromRate` → `toRate`, or undefined when the reduced ratio needs more than
 * MAX_PHASES phases. Band edges scale with the output rate: passband 0.9375·(to/2), stopband 1.0625·(to/2).
 */
export function designPolyphase(fromRate: number, toRate: number, attenuationDb = 90): PolyphaseDesign | undefined {
  // A design costs ~20 ms at 44.1 kHz (160 phases × 205 Bessel windows): once per ratio, not per file.
  const key = `${fromRate}:${toRate}:${attenuationDb}`;
  if (designs.has(key)) return designs.get(key);
  const d = computeDesign(fromRate, toRate, attenuationDb);
  designs.set(key, d);
  return d;
}

/** Designs are immutable once made (PolyphaseStream only reads the table). */
const designs = new Map<string, PolyphaseDesign | undefined>();

function computeDesign(fromRate: number, toRate: number, attenuationDb: number): PolyphaseDesign | undefined {
  if (!Number.isInteger(fromRate) || !Number.isInteger(toRate) || fromRate <= 0 || toRate <= 0) throw new UsageError(`designPolyphase: rates must be positive integers (got ${fromRate}, ${toRate})`);
  const g = gcd(fromRate, toRate);
  const up = toRate / g, down = fromRate / g;
  if (up > MAX_PHASES) return undefined;
  const nyquist = Math.min(fromRate, toRate) / 2;
  const passbandHz = nyquist * 0.9375, stopbandHz = nyquist * 1.0625;
  const fc = (passbandHz + stopbandHz) / 2 / fromRate; // cycles per input sample
  const dw = (2 * Math.PI * (stopbandHz - passbandHz)) / fromRate;
  const A = attenuationDb;
  const beta = A > 50 ? 0.1102 * (A - 8.7) : A >= 21 ? 0.5842 * (A - 21) ** 0.4 + 0.07886 * (A - 21) : 0;
  const half = Math.ceil((A - 8) / (2.285 * dw) / 2);
  const taps = 2 * half;
  const i0b = besselI0(beta);
  const table = new Float32Array(up * taps);
  const row = new Float64Array(taps);
  for (let p = 0; p < up; p++) {
    let sum = 0;
    for (let j = 0; j < taps; j++) {
      const tau = p / up + half - 1 - j; // output time minus input sample time, in input samples
      const x = tau / half;
      const w = Math.abs(x) >= 1 ? 0 : besselI0(beta * Math.sqrt(1 - x * x)) / i0b;
      const s = tau === 0 ? 1 : Math.sin(2 * Math.PI * fc * tau) / (2 * Math.PI * fc * tau);
      row[j] = 2 * fc * s * w;
      sum += row[j] as number;
    }
    for (let j = 0; j < taps; j++) table[p * taps + j] = (row[j] as number) / sum;
  }
  return { up, down, taps, table, passbandHz, stopbandHz, attenuationDb: A };
}

/** The addon's aligned copy of a design's table, made once per design (and thread). */
const nativeTables = new WeakMap<PolyphaseDesign, NativeFirHandle>();
function nativeTable(native: AudioNative, d: PolyphaseDesign): NativeFirHandle {
  let h = nativeTables.get(d);
  if (!h) nativeTables.set(d, (h = native.firDesign(d.table, d.up, d.taps)));
  return h;
}

/**
 * A streaming polyphase converter. push() returns the outputs whose whole input window has
 * arrived (a view into a reused buffer); the caller flushes the end by pushing zeros. Output
 * does not depend on how the input is cut.
 */
export class PolyphaseStream {
  /** Pending input: buf[0] is input sample `bufStart` (negative indices are the zero history). */
  private buf: Float32Array;
  private bufLen: number;
  private bufStart: number;
  /** Next output sample to produce. */
  private t = 0;
  private out = new Float32Array(0);
  private readonly half: number;

  constructor(private readonly d: PolyphaseDesign) {
    this.half = d.taps / 2;
    // Samples before the start are zeros: keep `half` of them so the first outputs see them.
    this.buf = new Float32Array(4096 + d.taps);
    this.bufLen = this.half;
    this.bufStart = -this.half;
  }

  push(x: Float32Array): Float32Array {
    const { up, down, taps, table } = this.d;
    const half = this.half;
    if (this.bufLen + x.length > this.buf.length) {
      const grown = new Float32Array(Math.max(this.buf.length * 2, this.bufLen + x.length));
      grown.set(this.buf.subarray(0, this.bufLen));
      this.buf = grown;
    }
    this.buf.set(x, this.bufLen);
    this.bufLen += x.length;
    const lastAvail = this.bufStart + this.bufLen - 1;
    // Output t needs input up to floor(t·M/L) + half.
    const tEnd = Math.max(this.t, Math.floor(((lastAvail - half + 1) * up - 1) / down) + 1);
    const n = tEnd - this.t;
    if (this.out.length < n) this.out = new Float32Array(Math.max(n, 1024));
    const buf = this.buf;
    const native = audioNative();
    if (native && n > 0) native.firRun(nativeTable(native, this.d), down, buf, -half + 1 - this.bufStart, this.t, n, this.out);
    else for (let i = 0; i < n; i++) {
      const tm = (this.t + i) * down;
      const n0 = Math.floor(tm / up);
      const p = tm - n0 * up;
      const o = n0 - half + 1 - this.bufStart;
      const r = p * taps;
      let acc = 0;
      for (let j = 0; j < taps; j++) acc += (table[r + j] as number) * (buf[o + j] as number);
      this.out[i] = acc;
    }
    this.t = tEnd;
    // Drop input no future output needs (the next one starts at floor(t·M/L) − half + 1).
    const keepFrom = Math.floor((this.t * down) / up) - half + 1 - this.bufStart;
    if (keepFrom > 0) {
      buf.copyWithin(0, keepFrom, this.bufLen);
      this.bufLen -= keepFrom;
      this.bufStart += keepFrom;
    }
    return this.out.subarray(0, n);
  }
}
