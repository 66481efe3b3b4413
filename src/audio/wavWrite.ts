/**
 * A minimal RIFF/WAVE writer for mono or multi-channel audio, used by the corpus generator and
 * by tests to make fixtures in every PCM/float format the decoder must read.
 */
export type WavFormat = 'pcm8' | 'pcm16' | 'pcm24' | 'pcm32' | 'float32' | 'float64';

/** The 44-byte header of a WAV file holding `frames` sample frames (for writing long files in pieces). */
export function wavHeader(nCh: number, sampleRate: number, format: WavFormat, frames: number): Uint8Array {
  const bits = { pcm8: 8, pcm16: 16, pcm24: 24, pcm32: 32, float32: 32, float64: 64 }[format];
  const isFloat = format === 'float32' || format === 'float64';
  const bytesPer = bits / 8;
  const dataBytes = frames * nCh * bytesPer;
  const out = new Uint8Array(44);
  const v = new DataView(out.buffer);
  const ascii = (off: number, s: string) => { for (let i = 0; i < s.length; i++) out[off + i] = s.charCodeAt(i); };
  ascii(0, 'RIFF');
  v.setUint32(4, 36 + dataBytes + (dataBytes % 2), true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, isFloat ? 3 : 1, true);
  v.setUint16(22, nCh, true);
  v.setUint32(24, sampleRate, true);
  v.setUint32(28, sampleRate * nCh * bytesPer, true);
  v.setUint16(32, nCh * bytesPer, true);
  v.setUint16(34, bits, true);
  ascii(36, 'data');
  v.setUint32(40, dataBytes, true);
  return out;
}

/** Encode channels (each a Float32Array of equal length, samples in [-1, 1]) as a WAV file. */
export function encodeWav(channels: Float32Array[], sampleRate: number, format: WavFormat = 'pcm16'): Uint8Array {
  const nCh = channels.length;
  const n = nCh > 0 ? (channels[0] as Float32Array).length : 0;
  const bytesPer = { pcm8: 1, pcm16: 2, pcm24: 3, pcm32: 4, float32: 4, float64: 8 }[format];
  const dataBytes = n * nCh * bytesPer;
  const header = 44;
  const out = new Uint8Array(header + dataBytes + (dataBytes % 2));
  const v = new DataView(out.buffer);
  out.set(wavHeader(nCh, sampleRate, format, n));
  let off = header;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < nCh; c++) {
      const x = (channels[c] as Float32Array)[i] as number;
      const s = Math.max(-1, Math.min(1, x));
      switch (format) {
        case 'pcm8': v.setUint8(off, Math.round(s * 127) + 128); break;
        case 'pcm16': v.setInt16(off, Math.round(s * 32767), true); break;
        case 'pcm24': {
          const q = Math.round(s * 8388607);
          v.setUint8(off, q & 0xff); v.setUint8(off + 1, (q >> 8) & 0xff); v.setUint8(off + 2, (q >> 16) & 0xff);
          break;
        }
        case 'pcm32': v.setInt32(off, Math.round(s * 2147483647), true); break;
        case 'float32': v.setFloat32(off, x, true); break;
        case 'float64': v.setFloat64(off, x, true); break;
      }
      off += bytesPer;
    }
  }
  return out;
}
