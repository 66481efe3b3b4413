/** Whole-file loading: decode → mono → 16 kHz. */
import { SAMPLE_RATE } from './constants.js';
import { decodeAudio, type DecodeOptions } from './decode.js';
import { toMono } from './mono.js';
import { resample } from './resample.js';

/**
 * decode → mono → 16 kHz, validated (NaN/Inf, rates, channels). A 16 kHz mono file is returned
 * exactly as decoded (no resampling). For files of any length prefer logMelFromFile, which streams.
 */
export async function loadAudio(input: string | Uint8Array, opts: DecodeOptions & { source?: string } = {}): Promise<Float32Array> {
  const source = opts.source ?? (typeof input === 'string' ? input : undefined);
  const { channels, sampleRate } = await decodeAudio(input, source, opts);
  const mono = toMono(channels);
  return sampleRate === SAMPLE_RATE ? mono : resample(mono, sampleRate, SAMPLE_RATE);
}
