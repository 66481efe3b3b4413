/**
 * Container detection from the first bytes, and the WAV header read up front so that header
 * problems (zero channels, absurd rates, unsupported codecs, truncation) get precise messages
 * before any decoding starts.
 */
import { AudioDecodeError } from '../util/errors.js';
import { validateChannelCount, validateSampleRate } from './validate.js';

/** Formats we decode (WAV in-house, the rest by audio-decode under its codec name). */
export type AudioFormat = 'wav' | 'mp3' | 'flac' | 'oga';

export const FORMAT_NAMES: Record<AudioFormat, string> = { wav: 'WAV', mp3: 'MP3', flac: 'FLAC', oga: 'Ogg Vorbis' };
const SUPPORTED = 'WAV (PCM 8/16/24/32-bit, float 32/64-bit), MP3, FLAC, Ogg Vorbis';

const ascii = (b: Uint8Array, at: number, len: number): string => String.fromCharCode(...b.subarray(at, at + len));

function isMpegSync(b: Uint8Array, at: number): boolean {
  // 11 sync bits, a defined MPEG version, and layer I, II or III (00 is reserved / AAC ADTS).
  const b1 = b[at + 1] ?? 0;
  return b[at] === 0xff && (b1 & 0xe0) === 0xe0 && (b1 & 0x18) !== 0x08 && (b1 & 0x06) !== 0;
}

/** Which supported format `head` (the first bytes of a file, >= 64 recommended) is; throws otherwise. */
export function sniffFormat(head: Uint8Array, source?: string): AudioFormat {
  if (head.length === 0) throw new AudioDecodeError('empty file (0 bytes)', source);
  if (head.length >= 12 && ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 4) === 'WAVE') return 'wav';
  if (head.length >= 4 && ascii(head, 0, 4) === 'fLaC') return 'flac';
  if (head.length >= 4 && ascii(head, 0, 4) === 'OggS') {
    // The first Ogg page carries the codec's identification header.
    const first = ascii(head, 0, Math.min(head.length, 128));
    if (first.includes('\x01vorbis')) return 'oga';
    const codec = first.includes('OpusHead') ? 'Opus' : first.includes('\x7fFLAC') ? 'FLAC' : first.includes('Speex') ? 'Speex' : undefined;
    if (codec) throw new AudioDecodeError(`unsupported codec: Ogg ${codec} (supported: ${SUPPORTED})`, source);
    // The identification header sits within the first ~60 bytes of any Ogg stream.
    if (head.length < 64) throw new AudioDecodeError(`truncated Ogg file (${head.length} bytes, codec header cut off)`, source);
    throw new AudioDecodeError(`unsupported codec: Ogg stream of unknown codec (supported: ${SUPPORTED})`, source);
  }
  let at = 0;
  if (head.length >= 10 && ascii(head, 0, 3) === 'ID3') {
    // An ID3v2 tag (synchsafe size) precedes MP3 frames; FLAC can carry one too.
    const size = ((head[6]! & 0x7f) << 21) | ((head[7]! & 0x7f) << 14) | ((head[8]! & 0x7f) << 7) | (head[9]! & 0x7f);
    at = 10 + size + ((head[5]! & 0x10) ? 10 : 0);
    if (at + 4 <= head.length && ascii(head, at, 4) === 'fLaC') return 'flac';
    if (at >= head.length) return 'mp3'; // tag larger than the bytes we looked at: almost always MP3
  }
  if (at + 2 <= head.length && isMpegSync(head, at)) return 'mp3';
  const known: Array<[string, string]> = [['ftyp', 'MP4/AAC'], ['FORM', 'AIFF'], ['caff', 'CAF'], ['MThd', 'MIDI'], ['\x1aE\xdf\xa3', 'Matroska/WebM']];
  for (const [magic, name] of known) {
    if (ascii(head, magic === 'ftyp' ? 4 : 0, 4) === magic) throw new AudioDecodeError(`unsupported format ${name} (supported: ${SUPPORTED})`, source);
  }
  throw new AudioDecodeError(`not a recognised audio file (supported: ${SUPPORTED})`, source);
}

export interface WavHeader {
  codec: 'pcm' | 'float';
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  /** Bytes per sample frame (all channels). */
  blockAlign: number;
  /** Byte offset of the sample data. */
  dataOffset: number;
  /** Sample frames the header declares, or undefined when the size is a streaming placeholder. */
  frames: number | undefined;
}

const WAV_CODECS: Record<number, WavHeader['codec']> = { 1: 'pcm', 3: 'float' };
const WAV_CODEC_NAMES: Record<number, string> = { 2: 'MS ADPCM', 6: 'A-law', 7: 'µ-law', 0x11: 'IMA ADPCM', 0x50: 'MPEG', 0x55: 'MPEG Layer 3', 0x161: 'WMA', 0xff: 'AAC' };

/**
 * Read and check a WAV header from the first bytes of a file (at least up to the data chunk).
 * Unsupported codecs and cut-off headers are AudioDecodeError; unusable parameters
 * (0 channels, absurd rates) are InvalidAudioError.
 */
export function parseWavHeader(head: Uint8Array, source?: string): WavHeader {
  if (head.length < 12 || ascii(head, 0, 4) !== 'RIFF' || ascii(head, 8, 4) !== 'WAVE') {
    throw new AudioDecodeError(`truncated or invalid WAV header (${head.length} bytes, no RIFF/WAVE signature)`, source);
  }
  const v = new DataView(head.buffer, head.byteOffset, head.byteLength);
  let pos = 12;
  let fmt: Omit<WavHeader, 'dataOffset' | 'frames'> | undefined;
  while (true) {
    if (pos + 8 > head.length) {
      const missing = fmt ? "'data' chunk" : "'fmt ' chunk";
      throw new AudioDecodeError(`truncated WAV header: no ${missing} within ${head.length} bytes`, source);
    }
    const id = ascii(head, pos, 4);
    const size = v.getUint32(pos + 4, true);
    if (id === 'fmt ') {
      if (size < 16 || pos + 8 + 16 > head.length) throw new AudioDecodeError(`truncated WAV header: 'fmt ' chunk is cut off (${size} bytes declared)`, source);
      let tag = v.getUint16(pos + 8, true);
      if (tag === 0xfffe) {
        // WAVE_FORMAT_EXTENSIBLE: the codec is the first two bytes of the SubFormat GUID.
        if (size < 40 || pos + 8 + 26 > head.length) throw new AudioDecodeError("truncated WAV header: extensible 'fmt ' chunk is cut off", source);
        tag = v.getUint16(pos + 8 + 24, true);
      }
      const codec = WAV_CODECS[tag];
      if (!codec) {
        const name = WAV_CODEC_NAMES[tag] ? ` (${WAV_CODEC_NAMES[tag]})` : '';
        throw new AudioDecodeError(`unsupported WAV codec 0x${tag.toString(16).padStart(4, '0')}${name} (supported: ${SUPPORTED})`, source);
      }
      const channels = v.getUint16(pos + 10, true);
      const sampleRate = v.getUint32(pos + 12, true);
      const blockAlign = v.getUint16(pos + 20, true);
      const bitsPerSample = v.getUint16(pos + 22, true);
      validateChannelCount(channels, source);
      validateSampleRate(sampleRate, source);
      const okBits = codec === 'pcm' ? [8, 16, 24, 32] : [32, 64];
      if (!okBits.includes(bitsPerSample)) throw new AudioDecodeError(`unsupported WAV sample format: ${bitsPerSample}-bit ${codec}`, source);
      if (blockAlign !== (channels * bitsPerSample) / 8) {
        throw new AudioDecodeError(`corrupt WAV header: block align ${blockAlign} does not match ${channels} channels x ${bitsPerSample} bits`, source);
      }
      fmt = { codec, channels, sampleRate, bitsPerSample, blockAlign };
    } else if (id === 'data') {
      if (!fmt) throw new AudioDecodeError("invalid WAV file: 'data' chunk before 'fmt ' chunk", source);
      // 0 and 0xFFFFFFFF are placeholders written by streaming encoders: the data runs to the end.
      const frames = size === 0xffffffff || (size === 0 && head.length > pos + 8) ? undefined : Math.floor(size / fmt.blockAlign);
      return { ...fmt, dataOffset: pos + 8, frames };
    }
    pos += 8 + size + (size % 2); // chunks are word-aligned
  }
}
