/**
 * The fixed tables of the VGGish log-mel: the periodic Hann window and the HTK mel filterbank.
 *
 * The filterbank is 64 triangles whose edges e_0 < … < e_65 are evenly spaced in mel; band b rises
 * over [e_b, e_b+1] and falls over [e_b+1, e_b+2]. A bin whose mel value lies in segment
 * [e_j, e_j+1) therefore has weight r = (mel - e_j) / (e_j+1 - e_j) in band j and exactly 1 - r in
 * band j - 1, and nothing elsewhere. Storing the segment boundaries and r per bin is the whole
 * matrix (257 numbers instead of 257 × 64), and lets the product run as one pass over the bins.
 */
import { FFT_SIZE, MEL_BANDS, MEL_MAX_HZ, MEL_MIN_HZ, SAMPLE_RATE } from './constants.js';

/** Periodic Hann: w[i] = 0.5 - 0.5 cos(2πi / N), as the VGGish reference (not the symmetric N - 1 form). */
export function periodicHann(n: number): Float64Array {
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) w[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n);
  return w;
}

export function hzToMel(hz: number): number {
  return 1127 * Math.log(1 + hz / 700);
}

export interface MelFilterbank {
  bands: number;
  /** Segment j (0 ≤ j ≤ bands) holds bins segStart[j] .. segStart[j + 1] - 1. */
  segStart: Int32Array;
  /** Rising weight of bin k in band j (its segment); its weight in band j - 1 is 1 - rise[k]. */
  rise: Float64Array;
}

/**
 * HTK-mel triangles between fmin and fmax evaluated at the bin centre frequencies k · sr / nfft.
 * The DC bin carries no weight (it is never placed in a segment).
 */
export function melFilterbank(
  bands = MEL_BANDS,
  nfft = FFT_SIZE,
  sampleRate = SAMPLE_RATE,
  fmin = MEL_MIN_HZ,
  fmax = MEL_MAX_HZ,
): MelFilterbank {
  const nbins = nfft / 2 + 1;
  const lo = hzToMel(fmin), hi = hzToMel(fmax);
  const edge = (i: number): number => lo + ((hi - lo) * i) / (bands + 1);
  const binMel = (k: number): number => hzToMel((k * (sampleRate / 2)) / (nbins - 1));
  const segStart = new Int32Array(bands + 2);
  const rise = new Float64Array(nbins);
  // Bins are in increasing mel order, so each segment is one contiguous run; bins outside
  // (e_0, e_65) belong to none. A bin exactly on e_0 would have weight 0 everywhere: skip it too.
  let k = 1;
  while (k < nbins && binMel(k) <= edge(0)) k++;
  for (let j = 0; j <= bands; j++) {
    segStart[j] = k;
    const a = edge(j), b = edge(j + 1);
    while (k < nbins && binMel(k) < b) {
      rise[k] = (binMel(k) - a) / (b - a);
      k++;
    }
  }
  segStart[bands + 1] = k;
  return { bands, segStart, rise };
}

/** The dense [nbins, bands] weight matrix of a filterbank (for tests and inspection). */
export function melMatrix(fb: MelFilterbank, nbins: number): Float64Array {
  const w = new Float64Array(nbins * fb.bands);
  for (let j = 0; j <= fb.bands; j++) {
    for (let k = fb.segStart[j] as number; k < (fb.segStart[j + 1] as number); k++) {
      const r = fb.rise[k] as number;
      if (j < fb.bands) w[k * fb.bands + j] = r;
      if (j > 0) w[k * fb.bands + j - 1] = 1 - r;
    }
  }
  return w;
}
