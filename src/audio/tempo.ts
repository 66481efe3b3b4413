/**
 * A rough tempo estimate from the log-mel: the tempo the store keeps per track (so a
 * conversation's "slower"/"faster" rank by measured BPM) and a genre-free auxiliary target of the
 * multi-task convnet. Onset strength (half-wave rectified band-wise flux) → autocorrelation over
 * lags of 50–200 BPM, weighted towards ~120 BPM (a log-normal prior, as common tempo trackers do,
 * to damp octave errors) → the best lag.
 */
import { HOP, MEL_BANDS, SAMPLE_RATE } from './constants.js';
import type { LogMel } from './logmel.js';

const FPS = SAMPLE_RATE / HOP; // 100 frames per second

/** Beats per minute, or undefined when the clip is too short to hold two beats at 50 BPM. */
export function estimateTempo(lm: LogMel): number | undefined {
  const n = lm.frames;
  const onset = new Float64Array(n);
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
  let best = -Infinity;
  let bestLag = 0;
  for (let lag = minLag; lag <= maxLag; lag++) {
    let ac = 0;
    for (let t = lag; t < n; t++) ac += (onset[t] as number) * (onset[t - lag] as number);
    ac /= n - lag;
    const bpm = (60 * FPS) / lag;
    const prior = Math.exp(-0.5 * (Math.log2(bpm / 120) / 1) ** 2);
    if (ac * prior > best) {
      best = ac * prior;
      bestLag = lag;
    }
  }
  return best > 0 ? (60 * FPS) / bestLag : undefined;
}

/** 0 slow (< 90 BPM), 1 moderate (90–130), 2 fast (> 130). */
export function tempoClass(bpm: number): 0 | 1 | 2 {
  return bpm < 90 ? 0 : bpm <= 130 ? 1 : 2;
}
