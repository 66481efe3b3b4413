/** Checks on decoded audio, shared by the whole-file and streaming paths. */
import { InvalidAudioError } from '../util/errors.js';
import { MAX_SOURCE_RATE, MIN_SOURCE_RATE } from './constants.js';

export function validateSampleRate(rate: number, source?: string): void {
  if (!Number.isFinite(rate) || !Number.isInteger(rate) || rate < MIN_SOURCE_RATE || rate > MAX_SOURCE_RATE) {
    throw new InvalidAudioError(`unsupported sample rate ${rate} Hz (expected an integer from ${MIN_SOURCE_RATE} to ${MAX_SOURCE_RATE} Hz)`, source);
  }
}

export function validateChannelCount(count: number, source?: string): void {
  if (!Number.isInteger(count) || count < 1) throw new InvalidAudioError(`audio has ${count} channels (need at least 1)`, source);
}

/**
 * Throw on the first NaN or ±Infinity. `offset` is the index of ch[0] in the whole stream, so the
 * message points at the same sample whether the audio arrived whole or in chunks.
 */
export function checkFinite(ch: Float32Array, channel: number, offset: number, sampleRate: number, source?: string): void {
  for (let i = 0; i < ch.length; i++) {
    const v = ch[i] as number;
    // v - v is 0 for finite v and NaN for NaN or ±Infinity: one test for both.
    if (v - v !== 0) {
      const at = offset + i;
      throw new InvalidAudioError(`sample ${at} (${(at / sampleRate).toFixed(3)} s) of channel ${channel} is ${v} (audio must be finite)`, source);
    }
  }
}
