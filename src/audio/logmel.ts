/**
 * VGGish log-mel spectrogram: periodic Hann (400) → |rfft 512| → 64 HTK-mel bands (125–7500 Hz,
 * DC weight 0) → log(mel + 0.01), hop 160, no padding. `logMel` does a whole signal; `LogMelStream`
 * does the same frames incrementally (carrying the last partial window between chunks), so a
 * stream cut anywhere gives exactly the whole-signal result. Arithmetic is float64; output float32.
 * With the addon built the frames run in C (native/frontend.c logMelFrames: the same maths, a
 * radix-2 FFT instead of this radix-4 one, so values agree to float rounding, not bit for bit).
 */
import { InvalidAudioError, UsageError } from '../util/errors.js';
import { HOP, LOG_OFFSET, MEL_BANDS, SAMPLE_RATE, WINDOW, FFT_SIZE, frameCount } from './constants.js';
import { RealFft } from './fft.js';
import { melFilterbank, periodicHann } from './mel.js';
import { audioNative } from './native.js';

const HANN = periodicHann(WINDOW);
const MEL = melFilterbank();

/** Per-computation scratch: the magnitudes and the FFT plan's buffers. */
class FrameKernel {
  private readonly fft = new RealFft(FFT_SIZE);
  private readonly mag = new Float64Array(FFT_SIZE / 2 + 1);

  /**
   * Frames f0 .. f0 + n - 1 of `src`, frame f starting at sample srcStart + (f - f0) · HOP, written
   * to out[f · 64 ..]. Throws when a frame is not finite (NaN or ±Infinity in its samples).
   */
  run(src: Float32Array, srcStart: number, n: number, out: Float32Array, f0: number): void {
    const native = audioNative();
    if (native) {
      const bad = n > 0 ? native.logMelFrames(src, srcStart, n, out, f0, HANN, MEL.rise, MEL.segStart) : -1;
      if (bad >= 0) throw nonFinite(f0 + bad);
      return;
    }
    const { mag, fft } = this;
    const { segStart, rise } = MEL;
    // Imported constants become getter calls under some loaders (tsx); read them once.
    const hop = HOP, bands = MEL_BANDS, logOffset = LOG_OFFSET;
    const k0 = segStart[0] as number, k1 = (segStart[bands + 1] as number) - 1;
    for (let f = 0; f < n; f++) {
      fft.windowedMagnitudes(src, srcStart + f * hop, HANN, mag, k0, k1);
      const o0 = (f0 + f) * bands - 1;
      let check = 0;
      let prevRise = 0;
      let k = k0;
      // Band j - 1 = rising part (segment j - 1) + falling part (segment j); see mel.ts.
      for (let j = 0; j <= bands; j++) {
        const end = segStart[j + 1] as number;
        let up = 0, down = 0;
        for (; k < end; k++) {
          const v = mag[k] as number;
          const a = v * (rise[k] as number);
          up += a;
          down += v - a;
        }
        if (j > 0) {
          const v = Math.log(prevRise + down + logOffset);
          out[o0 + j] = v;
          check += v;
        }
        prevRise = up;
      }
      // A sum of finite logs is finite; NaN or Infinity anywhere in the window poisons it.
      if (!Number.isFinite(check)) throw nonFinite(f0 + f);
    }
  }
}

function nonFinite(frame: number): InvalidAudioError {
  const first = frame * HOP;
  return new InvalidAudioError(`samples contain NaN or Infinity (log-mel frame ${frame}, samples ${first}..${first + WINDOW - 1})`);
}

function requireRate(sampleRate: number): void {
  if (sampleRate !== SAMPLE_RATE) {
    throw new InvalidAudioError(`logMel needs ${SAMPLE_RATE} Hz samples, got ${sampleRate} Hz (resample first: loadAudio or resample)`);
  }
}

/** A log-mel spectrogram: `data` is [frames, 64] row-major. */
export interface LogMel {
  data: Float32Array;
  frames: number;
}

/** [frames, 64] row-major; frames = 1 + floor((n - 400) / 160), 0 when n < 400. Throws unless sampleRate === 16000. */
export function logMel(samples: Float32Array, sampleRate: number): LogMel {
  requireRate(sampleRate);
  const frames = frameCount(samples.length);
  const data = new Float32Array(frames * MEL_BANDS); // [frames, 64]
  if (frames > 0) new FrameKernel().run(samples, 0, frames, data, 0);
  return { data, frames };
}

/**
 * Incremental log-mel over a 16 kHz stream. Memory is the pending partial window (< 400 samples
 * beyond the last chunk) plus the output, which grows by doubling unless `expectedFrames` is given.
 */
export class LogMelStream {
  private readonly kernel = new FrameKernel();
  private pending = new Float32Array(4096);
  private pendingLen = 0;
  private frames = 0;
  private out: Float32Array;
  private finished = false;

  constructor(opts: { expectedFrames?: number } = {}) {
    this.out = new Float32Array(Math.max(1, Math.floor(opts.expectedFrames ?? 1024)) * MEL_BANDS);
  }

  /** Frames computed so far. */
  get frameCount(): number {
    return this.frames;
  }

  push(samples: Float32Array): void {
    if (this.finished) throw new UsageError('LogMelStream.push called after finish()');
    if (samples.length === 0) return;
    const need = this.pendingLen + samples.length;
    if (need > this.pending.length) {
      const grown = new Float32Array(Math.max(need, 2 * this.pending.length));
      grown.set(this.pending.subarray(0, this.pendingLen));
      this.pending = grown;
    }
    this.pending.set(samples, this.pendingLen);
    this.pendingLen = need;
    const n = frameCount(this.pendingLen);
    if (n === 0) return;
    this.reserve(this.frames + n);
    this.kernel.run(this.pending, 0, n, this.out, this.frames);
    this.frames += n;
    // The next frame starts n hops in; everything before it is no longer needed.
    const consumed = n * HOP;
    this.pending.copyWithin(0, consumed, this.pendingLen);
    this.pendingLen -= consumed;
  }

  /** The whole log-mel [frames, 64]; trailing samples shorter than a window are dropped, as in logMel. */
  finish(): LogMel {
    this.finished = true;
    const len = this.frames * MEL_BANDS;
    const data = this.out.length === len ? this.out : this.out.slice(0, len);
    return { data, frames: this.frames };
  }

  private reserve(frames: number): void {
    const need = frames * MEL_BANDS;
    if (need <= this.out.length) return;
    const grown = new Float32Array(Math.max(need, 2 * this.out.length));
    grown.set(this.out.subarray(0, this.frames * MEL_BANDS));
    this.out = grown;
  }
}
