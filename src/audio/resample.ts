/**
 * Sample-rate conversion. Ratios with at most MAX_PHASES phases (32 k, 44.1 k, 48 k, 22.05 k → 16 k:
 * every rate real files come in) use the polyphase Kaiser-windowed sinc FIR of polyphase.ts
 * (passband to 0.9375·Nyquist = 7.5 kHz, ≥ 90 dB from 8.5 kHz, checked against libsamplerate's
 * best converter in the tests); any other ratio uses libsamplerate (wasm build),
 * SINC_MEDIUM_QUALITY (121 dB SNR, 90% bandwidth). libsamplerate medium ran at ≈ 65-84x real time
 * at 44.1 → 16 kHz, which made it the front end's bottleneck; the FIR is several times faster.
 *
 * The converter keeps state across calls, so audio can be fed in pieces of any size; its output
 * does not depend on how the input was cut (checked in the tests). The end of the signal is
 * flushed by feeding zeros, and the total output is fixed at round(n · to / from) samples, so
 * `resample` on a whole signal and a `StreamResampler` fed chunk by chunk give identical samples.
 */
import samplerate from '@alexanderolsen/libsamplerate-js';
import { InvalidAudioError, UsageError } from '../util/errors.js';
import { MAX_SOURCE_RATE, MIN_SOURCE_RATE } from './constants.js';
import { PolyphaseStream, designPolyphase } from './polyphase.js';

type Src = Awaited<ReturnType<typeof samplerate.create>>;

/** Input samples per call into wasm: far below the module's fixed 1M-float transfer buffers at any ratio we allow. */
const BLOCK = 16384;

function checkRate(rate: number, what: string, source?: string): void {
  if (!Number.isInteger(rate) || rate < MIN_SOURCE_RATE || rate > MAX_SOURCE_RATE) {
    throw new InvalidAudioError(`${what} sample rate ${rate} Hz is not an integer from ${MIN_SOURCE_RATE} to ${MAX_SOURCE_RATE} Hz`, source);
  }
}

/** Output length for n input samples: the duration kept, rounded to the nearest output sample. */
export function resampledLength(n: number, fromRate: number, toRate: number): number {
  return fromRate === toRate ? n : Math.round((n * toRate) / fromRate);
}

/**
 * A mono resampler fed in chunks. `push` returns a view into a buffer the resampler reuses (no
 * garbage per chunk on long streams): consume or copy it before the next call. `finish()` returns
 * the tail as a new array and frees the wasm converter; call `destroy()` when abandoning a stream.
 */
export class StreamResampler {
  private inCount = 0;
  private outCount = 0;
  private done = false;
  private out = new Float32Array(0);
  private readonly produced = { frames: 0 };

  private constructor(
    readonly fromRate: number,
    readonly toRate: number,
    private src: Src | undefined,
    private readonly fir?: PolyphaseStream,
  ) {}

  static async create(fromRate: number, toRate: number, source?: string): Promise<StreamResampler> {
    checkRate(fromRate, 'source', source);
    checkRate(toRate, 'target', source);
    if (fromRate === toRate) return new StreamResampler(fromRate, toRate, undefined);
    const design = designPolyphase(fromRate, toRate);
    if (design) return new StreamResampler(fromRate, toRate, undefined, new PolyphaseStream(design));
    let src: Src;
    try {
      src = await samplerate.create(1, fromRate, toRate, { converterType: samplerate.ConverterType.SRC_SINC_MEDIUM_QUALITY });
    } catch (err) {
      // The library throws strings, not Errors.
      throw new InvalidAudioError(`cannot resample ${fromRate} Hz to ${toRate} Hz: ${String(err)}`, source, { cause: err });
    }
    return new StreamResampler(fromRate, toRate, src);
  }

  /** Resample the next piece of the signal; returns the output it completes (may be empty). */
  push(x: Float32Array): Float32Array {
    if (this.done) throw new UsageError('StreamResampler.push called after finish()');
    this.inCount += x.length;
    const y = this.src || this.fir ? this.convert(x) : x;
    this.outCount += y.length;
    return y;
  }

  /** Flush the converter's tail; after this the output totals round(n · to / from) samples. */
  finish(): Float32Array {
    if (this.done) throw new UsageError('StreamResampler.finish called twice');
    this.done = true;
    const want = resampledLength(this.inCount, this.fromRate, this.toRate) - this.outCount;
    if ((!this.src && !this.fir) || want <= 0) {
      this.destroy();
      return new Float32Array(0);
    }
    const tail = new Float32Array(want);
    let got = 0;
    const zeros = new Float32Array(1024);
    // The converter holds back about half its filter; zeros push it out (as end-of-input does).
    for (let i = 0; got < want; i++) {
      if (i > 10000) throw new InvalidAudioError(`the resampler produced no output while flushing (${got}/${want} samples)`);
      const y = this.convert(zeros);
      tail.set(y.subarray(0, Math.min(y.length, want - got)), got);
      got += y.length;
    }
    this.outCount += want;
    this.destroy();
    return tail;
  }

  /** Free the wasm converter (idempotent). */
  destroy(): void {
    this.done = true;
    if (this.src) {
      this.src.destroy();
      this.src = undefined;
    }
  }

  private convert(x: Float32Array): Float32Array {
    if (x.length === 0) return x;
    if (this.fir) return this.fir.push(x);
    const src = this.src as Src;
    // Room for every block's output plus slack: the library silently drops what does not fit.
    const blocks = Math.ceil(x.length / BLOCK);
    const need = Math.ceil((x.length * this.toRate) / this.fromRate) + 64 * (blocks + 1);
    if (this.out.length < need) this.out = new Float32Array(need);
    let p = 0;
    for (let o = 0; o < x.length; o += BLOCK) {
      const room = this.out.subarray(p);
      src.full(x.subarray(o, Math.min(x.length, o + BLOCK)), room, this.produced);
      if (this.produced.frames > room.length) throw new InvalidAudioError(`libsamplerate returned ${this.produced.frames} samples for a ${room.length}-sample buffer`);
      p += this.produced.frames;
    }
    return this.out.subarray(0, p);
  }
}

/**
 * Resample a whole mono signal with libsamplerate. Equal rates return `x` itself (bit-exact,
 * no copy). Output length is round(x.length · toRate / fromRate).
 */
export async function resample(x: Float32Array, fromRate: number, toRate: number): Promise<Float32Array> {
  const r = await StreamResampler.create(fromRate, toRate);
  if (fromRate === toRate) return x;
  try {
    const out = new Float32Array(resampledLength(x.length, fromRate, toRate));
    let p = 0;
    for (let o = 0; o < x.length; o += BLOCK) {
      const y = r.push(x.subarray(o, Math.min(x.length, o + BLOCK)));
      out.set(y.subarray(0, Math.min(y.length, out.length - p)), p);
      p += y.length;
    }
    const tail = r.finish();
    out.set(tail, Math.min(p, out.length));
    return out;
  } finally {
    r.destroy();
  }
}
