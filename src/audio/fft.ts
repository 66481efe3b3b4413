/**
 * Real FFT for the log-mel front end. A real frame of n samples is packed as n/2 complex values
 * (even samples real, odd imaginary), transformed by an iterative radix-4 complex FFT (one radix-2
 * stage first when log2(n/2) is odd), then split into the n/2 + 1 bins of the real spectrum. The
 * tables (input permutation, per-stage twiddles, split twiddles, window gathers) are built once per
 * size and shared; each RealFft owns only its scratch, so a frame costs no allocation and a new
 * instance costs almost nothing. Values stay in float64 throughout.
 */
import { UsageError } from '../util/errors.js';

/** The immutable tables of one transform size, shared by every RealFft of that size. */
interface Plan {
  m: number;
  /** perm[j] = index of the packed complex input that goes to slot j (mixed-radix digit reversal). */
  perm: Int32Array;
  radix2First: boolean;
  /** Twiddles of the radix-4 stages with q > 1, concatenated: (cos, sin) of -2π·s·j / 4q for s = 1..3. */
  tw: Float64Array;
  /** Split-step twiddles 0.5 · e^{-2πik/n} for k in [0, m]. */
  splitRe: Float64Array;
  splitIm: Float64Array;
  /** Per window: slot j reads samples idx[2j], idx[2j+1] with weights w (0 past the window). */
  gathers: WeakMap<Float64Array, { idx: Int32Array; w: Float64Array }>;
}

// Tables are pure functions of n, so they are built once per size and never mutated.
const plans = new Map<number, Plan>();

function planFor(n: number): Plan {
  const cached = plans.get(n);
  if (cached) return cached;
  const m = n / 2;
  const log2m = Math.round(Math.log2(m));
  const radix2First = log2m % 2 === 1;
  // Radices from the last stage (top of the recursion) down to the first.
  const radices: number[] = [];
  for (let i = 0; i < Math.floor(log2m / 2); i++) radices.push(4);
  if (radix2First) radices.push(2);
  const perm = Int32Array.from(digitReversal(Array.from({ length: m }, (_, i) => i), radices));
  const tws: number[] = [];
  for (let q = radix2First ? 2 : 4; q < m; q *= 4) {
    for (let j = 0; j < q; j++) {
      for (let s = 1; s <= 3; s++) {
        const a = (-2 * Math.PI * s * j) / (4 * q);
        tws.push(Math.cos(a), Math.sin(a));
      }
    }
  }
  const splitRe = new Float64Array(m + 1), splitIm = new Float64Array(m + 1);
  for (let k = 0; k <= m; k++) {
    const a = (-2 * Math.PI * k) / n;
    splitRe[k] = 0.5 * Math.cos(a);
    splitIm[k] = 0.5 * Math.sin(a);
  }
  const plan: Plan = { m, perm, radix2First, tw: Float64Array.from(tws), splitRe, splitIm, gathers: new WeakMap() };
  plans.set(n, plan);
  return plan;
}

export class RealFft {
  /** Real transform length (a power of two, >= 8). */
  readonly n: number;
  private readonly m: number;
  private readonly plan: Plan;
  /** Scratch owned by this instance: one frame's complex values. */
  private readonly re: Float64Array;
  private readonly im: Float64Array;

  constructor(n: number) {
    if (!Number.isInteger(n) || n < 8 || (n & (n - 1)) !== 0) throw new UsageError(`RealFft: size must be a power of two >= 8, got ${n}`);
    this.n = n;
    this.plan = planFor(n);
    this.m = this.plan.m;
    this.re = new Float64Array(this.m);
    this.im = new Float64Array(this.m);
  }

  /** Full spectrum of a real frame x[n]: bins 0..n/2 into outRe / outIm (length >= n/2 + 1). */
  forward(x: Float64Array | Float32Array, outRe: Float64Array, outIm: Float64Array): void {
    if (x.length < this.n) throw new UsageError(`RealFft.forward: frame has ${x.length} samples, needs ${this.n}`);
    const { re, im, m } = this;
    const { perm } = this.plan;
    for (let j = 0; j < m; j++) {
      const p = (perm[j] as number) << 1;
      re[j] = x[p] as number;
      im[j] = x[p + 1] as number;
    }
    this.butterflies();
    const { splitRe, splitIm } = this.plan;
    for (let k = 0; k <= m; k++) {
      const ka = k === m ? 0 : k, kb = k === 0 ? 0 : m - k;
      const a = re[ka] as number, b = im[ka] as number, c = re[kb] as number, d = im[kb] as number;
      const hr = splitRe[k] as number, hi = splitIm[k] as number;
      outRe[k] = 0.5 * (a + c) + hr * (b + d) - hi * (c - a);
      outIm[k] = 0.5 * (b - d) + hr * (c - a) + hi * (b + d);
    }
  }

  /**
   * |X[k]| for k in [k0, k1] of the frame src[offset + i] · window[i] (zero for i >= window.length),
   * written to out[k]. The window is applied while gathering the FFT input, so no frame buffer.
   */
  windowedMagnitudes(src: Float32Array, offset: number, window: Float64Array, out: Float64Array, k0: number, k1: number): void {
    const { idx: srcIdx, w: srcW } = this.gather(window);
    const { re, im, m } = this;
    for (let j = 0, t = 0; j < m; j++, t += 2) {
      re[j] = (src[offset + (srcIdx[t] as number)] as number) * (srcW[t] as number);
      im[j] = (src[offset + (srcIdx[t + 1] as number)] as number) * (srcW[t + 1] as number);
    }
    this.butterflies();
    const { splitRe, splitIm } = this.plan;
    for (let k = k0; k <= k1; k++) {
      const ka = k === m ? 0 : k, kb = k === 0 ? 0 : m - k;
      const a = re[ka] as number, b = im[ka] as number, c = re[kb] as number, d = im[kb] as number;
      const hr = splitRe[k] as number, hi = splitIm[k] as number;
      const bd = b + d, ca = c - a;
      const xr = 0.5 * (a + c) + hr * bd - hi * ca;
      const xi = 0.5 * (b - d) + hr * ca + hi * bd;
      out[k] = Math.sqrt(xr * xr + xi * xi);
    }
  }

  private gather(window: Float64Array): { idx: Int32Array; w: Float64Array } {
    const { gathers, perm, m } = this.plan;
    const cached = gathers.get(window);
    if (cached) return cached;
    if (window.length > this.n) throw new UsageError(`RealFft: window of ${window.length} exceeds FFT size ${this.n}`);
    const idx = new Int32Array(2 * m), w = new Float64Array(2 * m);
    for (let j = 0; j < m; j++) {
      for (let h = 0; h < 2; h++) {
        const i = 2 * (perm[j] as number) + h;
        // Past the window: read the frame's first sample with weight 0. The index stays in range,
        // and a NaN/Inf there taints the frame that already contains it, so nothing new is flagged.
        idx[2 * j + h] = i < window.length ? i : 0;
        w[2 * j + h] = i < window.length ? (window[i] as number) : 0;
      }
    }
    // The cache keys on the window array's identity, so a caller must not mutate a window after use.
    const tables = { idx, w };
    gathers.set(window, tables);
    return tables;
  }

  /** In-place complex FFT of this.re / this.im, input in slot (digit-reversed) order, output natural. */
  private butterflies(): void {
    const { re, im, m } = this;
    const { tw, radix2First } = this.plan;
    let q: number;
    if (radix2First) {
      for (let j = 0; j < m; j += 2) {
        const ar = re[j] as number, ai = im[j] as number, br = re[j + 1] as number, bi = im[j + 1] as number;
        re[j] = ar + br; im[j] = ai + bi;
        re[j + 1] = ar - br; im[j + 1] = ai - bi;
      }
      q = 2;
    } else {
      // The first radix-4 stage (q = 1) has unit twiddles.
      for (let j = 0; j < m; j += 4) {
        const r0 = re[j] as number, i0 = im[j] as number, r1 = re[j + 1] as number, i1 = im[j + 1] as number;
        const r2 = re[j + 2] as number, i2 = im[j + 2] as number, r3 = re[j + 3] as number, i3 = im[j + 3] as number;
        const t0r = r0 + r2, t0i = i0 + i2, t1r = r0 - r2, t1i = i0 - i2;
        const t2r = r1 + r3, t2i = i1 + i3, t3r = r1 - r3, t3i = i1 - i3;
        re[j] = t0r + t2r; im[j] = t0i + t2i;
        re[j + 2] = t0r - t2r; im[j + 2] = t0i - t2i;
        re[j + 1] = t1r + t3i; im[j + 1] = t1i - t3r;
        re[j + 3] = t1r - t3i; im[j + 3] = t1i + t3r;
      }
      q = 4;
    }
    let t = 0;
    for (; q < m; q *= 4) {
      const L = 4 * q;
      for (let j = 0; j < q; j++, t += 6) {
        const c1 = tw[t] as number, s1 = tw[t + 1] as number;
        const c2 = tw[t + 2] as number, s2 = tw[t + 3] as number;
        const c3 = tw[t + 4] as number, s3 = tw[t + 5] as number;
        for (let i0 = j; i0 < m; i0 += L) {
          const i1 = i0 + q, i2 = i1 + q, i3 = i2 + q;
          const ar0 = re[i0] as number, ai0 = im[i0] as number;
          const xr1 = re[i1] as number, xi1 = im[i1] as number;
          const xr2 = re[i2] as number, xi2 = im[i2] as number;
          const xr3 = re[i3] as number, xi3 = im[i3] as number;
          const ar1 = xr1 * c1 - xi1 * s1, ai1 = xr1 * s1 + xi1 * c1;
          const ar2 = xr2 * c2 - xi2 * s2, ai2 = xr2 * s2 + xi2 * c2;
          const ar3 = xr3 * c3 - xi3 * s3, ai3 = xr3 * s3 + xi3 * c3;
          const t0r = ar0 + ar2, t0i = ai0 + ai2, t1r = ar0 - ar2, t1i = ai0 - ai2;
          const t2r = ar1 + ar3, t2i = ai1 + ai3, t3r = ar1 - ar3, t3i = ai1 - ai3;
          re[i0] = t0r + t2r; im[i0] = t0i + t2i;
          re[i2] = t0r - t2r; im[i2] = t0i - t2i;
          // X[k+q] = t1 - i·t3, X[k+3q] = t1 + i·t3 (forward transform, e^{-iθ}).
          re[i1] = t1r + t3i; im[i1] = t1i - t3r;
          re[i3] = t1r - t3i; im[i3] = t1i + t3r;
        }
      }
    }
  }
}

/**
 * Input order for an iterative decimation-in-time FFT: the top stage splits the sequence into
 * `radices[0]` interleaved subsequences, each ordered the same way recursively.
 */
function digitReversal(indices: number[], radices: number[]): number[] {
  if (indices.length <= 1 || radices.length === 0) return indices;
  const r = radices[0] as number;
  const out: number[] = [];
  for (let s = 0; s < r; s++) out.push(...digitReversal(indices.filter((_, i) => i % r === s), radices.slice(1)));
  return out;
}
