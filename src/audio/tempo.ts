/**
 * A rough tempo estimate from the log-mel: the tempo the store keeps per track (so a
 * conversation's "slower"/"faster" rank by measured BPM) and a genre-free auxiliary target of the
 * multi-task convnet. Onset strength (half-wave rectified band-wise flux) → autocorrelation →
 * for each beat lag of 50–200 BPM, a comb: the autocorrelation at the lag and its next three
 * multiples (a beat repeats at every multiple of its lag, an off-beat at every other one only) →
 * weighted towards ~120 BPM (a log-normal prior of one octave, as common tempo trackers do, to
 * damp octave errors) → the best lag.
 *
 * The comb (the harmonic summation of Klapuri's and of Percival & Tzanetakis's trackers) matters
 * where a beat lag is not a whole number of frames: at 180 BPM (33.3 frames) the plain
 * autocorrelation peak is smeared over two lags and a three-beat lag (100 frames, 60 BPM: not even
 * an octave of the beat) wins; the comb adds up the multiples, so the beat's octave family wins
 * (90 BPM for a plain click train, where the prior decides between 90 and 180). Measured on the
 * generator's corpora (2 × 200 tracks, true BPM known): within 4 % of the true tempo 70 / 69 % →
 * 76.5 / 73 %, within 4 % up to an octave or a third 86 / 87.5 % → 90 / 91.5 %.
 */
import { HOP, MEL_BANDS, SAMPLE_RATE } from './constants.js';
import type { LogMel } from './logmel.js';

const FPS = SAMPLE_RATE / HOP; // 100 frames per second
/** Multiples of the beat lag summed by the comb (the lag itself and the next three). */
const COMB = 4;

/** Beats per minute, or undefined when the clip is too short to hold two beats at 50 BPM. */
export function estimateTempo(lm: LogMel): number | undefined {
  const n = lm.frames;
  const onset = new Float64Array(n); // [frames]
  for (let t = 1; t < n; t++) {
    let s = 0;
    for (let b = 0; b < MEL_BANDS; b++) {
      const d = (lm.data[t * MEL_BANDS + b] as number) - (lm.data[(t - 1) * MEL_BANDS + b] as number);
      if (d > 0) s += d;
    }
    onset[t] = s;
  }
  const minLag = Math.round((60 * FPS) / 200);
  const maxLag = Math.min(Math.round((60 * FPS) / 50), n - 2);
  if (maxLag < minLag) return undefined;
  let mean = 0;
  for (let t = 0; t < n; t++) mean += onset[t] as number;
  mean /= n;
  for (let t = 0; t < n; t++) onset[t] = (onset[t] as number) - mean;
  // Autocorrelation from the shortest beat lag to the comb's longest reach (as far as the clip allows).
  const reach = Math.min(COMB * maxLag + COMB, n - 2);
  const ac = new Float64Array(reach + 1); // [lag]; lags under minLag are never read
  for (let lag = minLag; lag <= reach; lag++) {
    let s = 0;
    for (let t = lag; t < n; t++) s += (onset[t] as number) * (onset[t - lag] as number);
    ac[lag] = s / (n - lag);
  }
  let best = -Infinity;
  let bestLag = 0;
  for (let lag = minLag; lag <= maxLag; lag++) {
    let comb = 0;
    for (let k = 1; k <= COMB; k++) {
      // The k-th multiple of a whole-frame lag is off by up to k−1 frames from the true one.
      const at = k * lag;
      if (at - (k - 1) > reach) break;
      let peak = -Infinity;
      for (let d = -(k - 1); d <= k - 1; d++) if (at + d <= reach) peak = Math.max(peak, ac[at + d] as number); // at + d ≥ k·minLag − (k − 1) ≥ minLag
      comb += peak;
    }
    const bpm = (60 * FPS) / lag;
    const prior = Math.exp(-0.5 * (Math.log2(bpm / 120) / 1) ** 2);
    if (comb * prior > best) {
      best = comb * prior;
      bestLag = lag;
    }
  }
  return best > 0 ? (60 * FPS) / bestLag : undefined;
}

/** 0 slow (< 90 BPM), 1 moderate (90–130), 2 fast (> 130). */
export function tempoClass(bpm: number): 0 | 1 | 2 {
  return bpm < 90 ? 0 : bpm <= 130 ? 1 : 2;
}
