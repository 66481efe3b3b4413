/** Downmix to mono. */
import { InvalidAudioError } from '../util/errors.js';

/**
 * The mean of the channels, sample by sample. One channel is returned as is (no copy), so mono
 * input passes through bit-exact.
 */
export function toMono(channels: Float32Array[]): Float32Array {
  if (channels.length === 0) throw new InvalidAudioError('toMono: no channels');
  const first = channels[0] as Float32Array;
  if (channels.length === 1) return first;
  const n = first.length;
  for (const [c, ch] of channels.entries()) {
    if (ch.length !== n) throw new InvalidAudioError(`toMono: channel ${c} has ${ch.length} samples, channel 0 has ${n}`);
  }
  const out = new Float32Array(n);
  const k = channels.length;
  if (k === 2) {
    const l = first, r = channels[1] as Float32Array;
    for (let i = 0; i < n; i++) out[i] = 0.5 * ((l[i] as number) + (r[i] as number));
    return out;
  }
  const acc = new Float64Array(n);
  for (const ch of channels) for (let i = 0; i < n; i++) acc[i] = (acc[i] as number) + (ch[i] as number);
  for (let i = 0; i < n; i++) out[i] = (acc[i] as number) / k;
  return out;
}
