/**
 * MPEG audio frame headers, walked as the bytes stream past, to catch a sample-rate change inside
 * one MP3. The decoder (mpg123) follows such a change silently, and a block of output then mixes
 * two rates under one label (the first part plays at the wrong speed), so both decoding paths ask
 * this walker first and refuse the file with the same error.
 *
 * A rate counts once two consecutive frames (the second exactly where the first one's length
 * ends) agree on it, so a stray sync pattern inside a tag or damaged data is never taken for one.
 */
import { InvalidAudioError } from '../util/errors.js';

const RATES: Record<number, readonly number[]> = { 3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000] };
// kbit/s by [version 1 or 2/2.5][layer I, II, III][bitrate index]
const V1 = [
  [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
  [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
  [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
];
const V2 = [
  [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
  [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
  [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
];

/** Sample rate and byte length of the frame whose header starts at `b[at]`, or undefined when it is none. */
export function mp3FrameAt(b: Uint8Array, at: number): { rate: number; length: number } | undefined {
  if (at + 4 > b.length || b[at] !== 0xff) return undefined;
  const b1 = b[at + 1] as number;
  const b2 = b[at + 2] as number;
  if ((b1 & 0xe0) !== 0xe0) return undefined;
  const version = (b1 >> 3) & 3; // 3 = MPEG-1, 2 = MPEG-2, 0 = MPEG-2.5, 1 reserved
  const layerBits = (b1 >> 1) & 3; // 3 = I, 2 = II, 1 = III, 0 reserved
  const brIndex = b2 >> 4;
  const srIndex = (b2 >> 2) & 3;
  if (version === 1 || layerBits === 0 || brIndex === 0 || brIndex === 15 || srIndex === 3) return undefined;
  const layer = 3 - layerBits; // 0 = I, 1 = II, 2 = III
  const rate = (RATES[version] as readonly number[])[srIndex] as number;
  const kbps = ((version === 3 ? V1 : V2)[layer] as number[])[brIndex] as number;
  const pad = (b2 >> 1) & 1;
  const length = layer === 0 ? (Math.floor((12 * kbps * 1000) / rate) + pad) * 4 : Math.floor(((layer === 2 && version !== 3 ? 72 : 144) * kbps * 1000) / rate) + pad;
  return length >= 4 ? { rate, length } : undefined;
}

/** Feed an MP3's bytes in order; throws InvalidAudioError at the first confirmed change of sample rate. */
export class Mp3RateWatch {
  private carry = new Uint8Array(0);
  /** Bytes of the current frame (or tag) still to pass. */
  private skip = 0;
  /** Whether the next header is expected right here (the previous frame's length ended here). */
  private chained = false;
  private chainRate = 0;
  private chainLen = 0;
  private confirmed: number | undefined;
  /** Bytes consumed before `carry`. */
  private consumed = 0;
  private started = false;

  constructor(private readonly source?: string) {}

  push(chunk: Uint8Array): void {
    let b = chunk;
    if (this.carry.length > 0) {
      b = new Uint8Array(this.carry.length + chunk.length);
      b.set(this.carry);
      b.set(chunk, this.carry.length);
    }
    let i = 0;
    if (!this.started) {
      if (b.length < 10) {
        this.keep(b, 0);
        return;
      }
      this.started = true;
      if (b[0] === 0x49 && b[1] === 0x44 && b[2] === 0x33) {
        // ID3v2 tag: synchsafe size, plus a footer when flagged.
        this.skip = 10 + (((b[6]! & 0x7f) << 21) | ((b[7]! & 0x7f) << 14) | ((b[8]! & 0x7f) << 7) | (b[9]! & 0x7f)) + (b[5]! & 0x10 ? 10 : 0);
      }
      this.chained = this.skip === 0;
    }
    while (i < b.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, b.length - i);
        this.skip -= n;
        i += n;
        continue;
      }
      if (b.length - i < 4) break;
      const f = mp3FrameAt(b, i);
      if (!f) {
        // Lost sync (a tag, junk, damage): look for the next header byte by byte.
        this.chained = false;
        this.chainLen = 0;
        i++;
        continue;
      }
      if (this.chained && f.rate === this.chainRate) this.chainLen++;
      else {
        this.chainRate = f.rate;
        this.chainLen = 1;
      }
      if (this.chainLen === 2) {
        if (this.confirmed !== undefined && this.confirmed !== f.rate) {
          throw new InvalidAudioError(`sample rate changes mid-stream (${this.confirmed} Hz, then ${f.rate} Hz at byte ${this.consumed + i}); convert the file to one rate first`, this.source);
        }
        this.confirmed = f.rate;
      }
      this.chained = true;
      this.skip = f.length;
    }
    this.keep(b, i);
  }

  private keep(b: Uint8Array, from: number): void {
    this.consumed += from;
    this.carry = b.slice(from);
  }
}
