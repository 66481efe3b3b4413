/**
 * Small DSP building blocks over Float32Arrays: band-limited oscillator corrections, biquad and
 * one-pole filters, and a state-variable filter for swept cutoffs. Everything runs in place on a
 * [start, end) range and keeps no state between calls, so voices can be rendered independently.
 */

export const TWO_PI = 2 * Math.PI;

/** PolyBLEP residual for a phase `t` in [0,1) advancing by `dt` per sample (removes saw aliasing). */
export function polyBlep(t: number, dt: number): number {
  if (t < dt) {
    const x = t / dt;
    return x + x - x * x - 1;
  }
  if (t > 1 - dt) {
    const x = (t - 1) / dt;
    return x * x + x + x + 1;
  }
  return 0;
}

export interface Biquad {
  b0: number; b1: number; b2: number; a1: number; a2: number;
}

/** RBJ cookbook coefficients; `fc` is clamped below Nyquist so callers can pass musical values. */
function rbj(kind: 'lp' | 'hp' | 'bp' | 'peak' | 'lowshelf' | 'highshelf', fc: number, q: number, sr: number, gainDb = 0): Biquad {
  const f = Math.min(Math.max(fc, 10), sr * 0.49);
  const w = (TWO_PI * f) / sr;
  const cw = Math.cos(w);
  const sw = Math.sin(w);
  const alpha = sw / (2 * q);
  const A = Math.pow(10, gainDb / 40);
  let b0: number, b1: number, b2: number, a0: number, a1: number, a2: number;
  switch (kind) {
    case 'lp': b0 = (1 - cw) / 2; b1 = 1 - cw; b2 = b0; a0 = 1 + alpha; a1 = -2 * cw; a2 = 1 - alpha; break;
    case 'hp': b0 = (1 + cw) / 2; b1 = -(1 + cw); b2 = b0; a0 = 1 + alpha; a1 = -2 * cw; a2 = 1 - alpha; break;
    case 'bp': b0 = alpha; b1 = 0; b2 = -alpha; a0 = 1 + alpha; a1 = -2 * cw; a2 = 1 - alpha; break;
    case 'peak': b0 = 1 + alpha * A; b1 = -2 * cw; b2 = 1 - alpha * A; a0 = 1 + alpha / A; a1 = -2 * cw; a2 = 1 - alpha / A; break;
    case 'lowshelf': {
      const s = 2 * Math.sqrt(A) * alpha;
      b0 = A * ((A + 1) - (A - 1) * cw + s); b1 = 2 * A * ((A - 1) - (A + 1) * cw); b2 = A * ((A + 1) - (A - 1) * cw - s);
      a0 = (A + 1) + (A - 1) * cw + s; a1 = -2 * ((A - 1) + (A + 1) * cw); a2 = (A + 1) + (A - 1) * cw - s;
      break;
    }
    case 'highshelf': {
      const s = 2 * Math.sqrt(A) * alpha;
      b0 = A * ((A + 1) + (A - 1) * cw + s); b1 = -2 * A * ((A - 1) + (A + 1) * cw); b2 = A * ((A + 1) + (A - 1) * cw - s);
      a0 = (A + 1) - (A - 1) * cw + s; a1 = 2 * ((A - 1) - (A + 1) * cw); a2 = (A + 1) - (A - 1) * cw - s;
      break;
    }
  }
  return { b0: b0 / a0, b1: b1 / a0, b2: b2 / a0, a1: a1 / a0, a2: a2 / a0 };
}

export const lowpass = (fc: number, q: number, sr: number): Biquad => rbj('lp', fc, q, sr);
export const highpass = (fc: number, q: number, sr: number): Biquad => rbj('hp', fc, q, sr);
/** Band-pass with 0 dB gain at the centre. */
export const bandpass = (fc: number, q: number, sr: number): Biquad => rbj('bp', fc, q, sr);
export const peaking = (fc: number, q: number, gainDb: number, sr: number): Biquad => rbj('peak', fc, q, sr, gainDb);
export const lowShelf = (fc: number, gainDb: number, sr: number): Biquad => rbj('lowshelf', fc, 0.707, sr, gainDb);
export const highShelf = (fc: number, gainDb: number, sr: number): Biquad => rbj('highshelf', fc, 0.707, sr, gainDb);

/** Filter buf[start, end) in place (transposed direct form II, zero initial state). */
export function applyBiquad(buf: Float32Array, c: Biquad, start = 0, end = buf.length): void {
  const { b0, b1, b2, a1, a2 } = c;
  let z1 = 0, z2 = 0;
  for (let i = start; i < end; i++) {
    const x = buf[i] as number;
    const y = b0 * x + z1;
    z1 = b1 * x - a1 * y + z2;
    z2 = b2 * x - a2 * y;
    buf[i] = y;
  }
}

export function onePoleCoef(fc: number, sr: number): number {
  return 1 - Math.exp((-TWO_PI * Math.min(fc, sr * 0.49)) / sr);
}

export function applyOnePoleHighpass(buf: Float32Array, fc: number, sr: number, start = 0, end = buf.length): void {
  const a = onePoleCoef(fc, sr);
  let y = 0;
  for (let i = start; i < end; i++) {
    y += a * ((buf[i] as number) - y);
    buf[i] = (buf[i] as number) - y;
  }
}

/**
 * Topology-preserving state-variable filter (Zavalishin), low-pass output. The cutoff may change
 * per block; coefficients are recomputed only when asked, because tan() per sample is costly.
 */
export class Svf {
  private ic1 = 0;
  private ic2 = 0;
  private a1 = 0;
  private a2 = 0;
  private a3 = 0;
  constructor(private readonly sr: number, private readonly q: number) {}

  setCutoff(fc: number): void {
    const g = Math.tan((Math.PI * Math.min(Math.max(fc, 20), this.sr * 0.45)) / this.sr);
    const k = 1 / this.q;
    this.a1 = 1 / (1 + g * (g + k));
    this.a2 = g * this.a1;
    this.a3 = g * this.a2;
  }

  lowpass(x: number): number {
    const v3 = x - this.ic2;
    const v1 = this.a1 * this.ic1 + this.a2 * v3;
    const v2 = this.ic2 + this.a2 * this.ic1 + this.a3 * v3;
    this.ic1 = 2 * v1 - this.ic1;
    this.ic2 = 2 * v2 - this.ic2;
    return v2;
  }
}

export function rms(buf: Float32Array, start = 0, end = buf.length): number {
  let s = 0;
  for (let i = start; i < end; i++) s += (buf[i] as number) * (buf[i] as number);
  return end > start ? Math.sqrt(s / (end - start)) : 0;
}

export function dbToGain(db: number): number {
  return Math.pow(10, db / 20);
}

/** out[offset + i] += src[i] * gain, clipped to out's length. */
export function mixInto(out: Float32Array, src: Float32Array, offset: number, gain: number): void {
  const start = Math.max(0, offset);
  const end = Math.min(out.length, offset + src.length);
  for (let i = start; i < end; i++) out[i] = (out[i] as number) + (src[i - offset] as number) * gain;
}
