/**
 * WAV sample data → float32 channels. WAV is decoded here rather than by audio-decode so that the
 * streaming path can reuse one read buffer and one set of channel buffers (no per-block garbage),
 * and so the header we validated (formats.ts, which also honours RIFF's odd-size chunk padding)
 * is the one the samples are read with. Integers scale by 2^-(bits-1), the convention of
 * libsndfile / soundfile (so [-1, 1)); 8-bit is unsigned with 128 as zero.
 */
import type { WavHeader } from './formats.js';

/**
 * Convert `frames` whole sample frames from `bytes` (interleaved, little-endian, starting at
 * byte 0) into channels[c][at .. at + frames).
 */
export function convertWavFrames(bytes: Uint8Array, hdr: WavHeader, frames: number, channels: Float32Array[], at: number): void {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const nCh = hdr.channels, stride = hdr.blockAlign, width = hdr.bitsPerSample / 8;
  for (let c = 0; c < nCh; c++) {
    const out = channels[c] as Float32Array;
    let p = c * width;
    const end = at + frames;
    if (hdr.codec === 'float') {
      if (width === 4) for (let i = at; i < end; i++, p += stride) out[i] = v.getFloat32(p, true);
      else for (let i = at; i < end; i++, p += stride) out[i] = v.getFloat64(p, true);
      continue;
    }
    switch (width) {
      case 1:
        for (let i = at; i < end; i++, p += stride) out[i] = ((bytes[p] as number) - 128) / 128;
        break;
      case 2:
        for (let i = at; i < end; i++, p += stride) out[i] = v.getInt16(p, true) / 32768;
        break;
      case 3:
        for (let i = at; i < end; i++, p += stride) {
          const x = ((bytes[p] as number) | ((bytes[p + 1] as number) << 8) | ((bytes[p + 2] as number) << 16)) << 8 >> 8;
          out[i] = x / 8388608;
        }
        break;
      default:
        for (let i = at; i < end; i++, p += stride) out[i] = v.getInt32(p, true) / 2147483648;
    }
  }
}
