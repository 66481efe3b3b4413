/**
 * Decoding from a path or bytes, whole or block by block: WAV in-house (wavRead.ts); MP3 and Ogg
 * Vorbis through the system's libmpg123 / libvorbisfile when the addon has them (native.ts), else,
 * as FLAC always, through audio-decode's wasm decoders. Every failure becomes AudioDecodeError / InvalidAudioError
 * naming the file, and decoded audio is always validated: integer rate in range, at least one
 * channel, equal channel lengths, finite samples.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { decodeChunked } from 'audio-decode';
import { AudioDecodeError, AudioTooLongError, InvalidAudioError } from '../util/errors.js';
import { FORMAT_NAMES, parseWavHeader, sniffFormat, type AudioFormat, type WavHeader } from './formats.js';
import { Mp3RateWatch } from './mp3Frames.js';
import { nativeMp3, nativeOgg, type AudioNative } from './native.js';
import { OggPageFilter } from './oggPages.js';
import { checkFinite, validateChannelCount, validateSampleRate } from './validate.js';
import { convertWavFrames } from './wavRead.js';

export interface DecodedAudio {
  channels: Float32Array[];
  sampleRate: number;
}

export interface DecodeOptions {
  /**
   * Refuse audio longer than this many seconds (AudioTooLongError), checked block by block while
   * decoding, so a small compressed file that decodes to hours never reaches memory.
   */
  maxSeconds?: number;
  /**
   * One line per file about damage the decoder skipped (MP3 frames, Ogg pages). Default: written
   * to stderr, prefixed "musicbert: warning:".
   */
  onWarning?: (line: string) => void;
  /**
   * Blocks may come as one channel, the mean of the source's channels (as toMono computes it),
   * when the decoder can mix while it deinterleaves (the native MP3 decoder): for callers that
   * downmix anyway. Other decoders ignore it.
   */
  downmix?: boolean;
}

const stderrWarning = (line: string): void => {
  process.stderr.write(`musicbert: warning: ${line}\n`);
};

/**
 * mpg123-decoder prints every frame error with console.error (~50 lines for one bad file) and
 * offers no way to turn that off. The lines are counted instead, per decode (an
 * AsyncLocalStorage context, so concurrent decodes keep separate counts), and each file gets
 * one summary line. Lines printed outside a decode pass through untouched.
 */
interface Mp3ErrorCount {
  count: number;
  first: string | undefined;
}
const mp3Errors = new AsyncLocalStorage<Mp3ErrorCount>();
let consolePatched = false;
function collectMp3Errors(): void {
  if (consolePatched) return;
  consolePatched = true;
  const original = console.error.bind(console);
  console.error = (...args: unknown[]): void => {
    const ctx = mp3Errors.getStore();
    if (ctx && typeof args[0] === 'string' && args[0].startsWith('mpg123-decoder: ')) {
      ctx.count++;
      ctx.first ??= args[0].slice('mpg123-decoder: '.length);
      return;
    }
    original(...args);
  };
}

/** A decoded length over the limit, checked before the block is used. */
function checkDuration(samples: number, sampleRate: number, opts: DecodeOptions, source: string): void {
  if (opts.maxSeconds !== undefined && samples > opts.maxSeconds * sampleRate) throw new AudioTooLongError(opts.maxSeconds, source);
}

/** Bytes read to identify a file and check its WAV header before streaming it. */
const HEAD_BYTES = 1 << 16;
const MAX_HEAD_BYTES = 1 << 22;
/** Bytes per read when streaming a file. */
const STREAM_CHUNK_BYTES = 1 << 16;

function ioError(err: unknown, source: string): AudioDecodeError {
  const code = (err as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a directory, not an audio file' : `cannot read file (${(err as Error).message})`;
  return new AudioDecodeError(why, source, { cause: err });
}

function decoderError(err: unknown, format: AudioFormat, source: string): AudioDecodeError {
  const msg = err instanceof Error ? err.message : String(err);
  return new AudioDecodeError(`${FORMAT_NAMES[format]} decoder failed: ${msg} (corrupt or truncated file?)`, source, { cause: err });
}

function nothingDecoded(format: AudioFormat, source: string): AudioDecodeError {
  return new AudioDecodeError(`no audio could be decoded from this ${FORMAT_NAMES[format]} file (corrupt or truncated?)`, source);
}

/** Check one decoded block; `offset` is its first sample's index in the whole stream. */
function validateBlock(channels: Float32Array[], sampleRate: number, offset: number, source: string, knownFinite = false): void {
  validateChannelCount(channels.length, source);
  validateSampleRate(sampleRate, source);
  const n = (channels[0] as Float32Array).length;
  for (const [c, ch] of channels.entries()) {
    if (ch.length !== n) throw new InvalidAudioError(`channel ${c} has ${ch.length} samples, channel 0 has ${n}`, source);
    if (!knownFinite) checkFinite(ch, c, offset, sampleRate, source);
  }
}

/** Whole sample frames of WAV data available in a file of `fileBytes` (a short data chunk is read as far as it goes). */
export function wavFramesAvailable(hdr: WavHeader, fileBytes: number): number {
  const inFile = Math.max(0, Math.floor((fileBytes - hdr.dataOffset) / hdr.blockAlign));
  return hdr.frames === undefined ? inFile : Math.min(hdr.frames, inFile);
}

/** Decode a whole file (path) or buffer into channels at the source rate. */
export async function decodeAudio(input: string | Uint8Array, source?: string, opts: DecodeOptions = {}): Promise<DecodedAudio> {
  const src = source ?? (typeof input === 'string' ? input : '<bytes>');
  let bytes: Uint8Array;
  if (typeof input === 'string') {
    try {
      bytes = await readFile(input);
    } catch (err) {
      throw ioError(err, src);
    }
  } else {
    bytes = input;
  }
  const format = sniffFormat(bytes, src);
  if (format === 'wav') {
    const hdr = parseWavHeader(bytes, src);
    const frames = wavFramesAvailable(hdr, bytes.length);
    checkDuration(frames, hdr.sampleRate, opts, src);
    const channels = Array.from({ length: hdr.channels }, () => new Float32Array(frames));
    convertWavFrames(bytes.subarray(hdr.dataOffset), hdr, frames, channels, 0);
    validateBlock(channels, hdr.sampleRate, 0, src);
    return { channels, sampleRate: hdr.sampleRate };
  }
  // The same chunked decoder the streaming path uses, fed the same 64 KB chunks, so both see
  // identical samples and the duration limit stops a decode bomb here too.
  const blocks: DecodedBlock[] = [];
  for await (const b of compressedBlocks(memoryChunks(bytes), format, src, opts)) blocks.push(b);
  return concatBlocks(blocks);
}

async function* memoryChunks(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  for (let pos = 0; pos < bytes.length; pos += STREAM_CHUNK_BYTES) yield bytes.subarray(pos, Math.min(bytes.length, pos + STREAM_CHUNK_BYTES));
}

/**
 * Join decoded blocks. MP3 decoding reports a mono source as one channel until two channels
 * actually differ, so early blocks can have fewer channels: they are repeated, as audio-decode does.
 */
function concatBlocks(blocks: DecodedBlock[]): DecodedAudio {
  const nCh = Math.max(...blocks.map((b) => b.channels.length));
  const total = blocks.reduce((n, b) => n + (b.channels[0] as Float32Array).length, 0);
  const channels = Array.from({ length: nCh }, () => new Float32Array(total));
  for (const b of blocks) {
    for (let c = 0; c < nCh; c++) (channels[c] as Float32Array).set(b.channels[c % b.channels.length] as Float32Array, b.offset);
  }
  return { channels, sampleRate: (blocks[0] as DecodedBlock).sampleRate };
}

/** What a streamed file is, known before its audio is decoded. */
export interface StreamInfo {
  format: AudioFormat;
  /** From the WAV header; other formats learn rate and channels from their first decoded block. */
  wav: WavHeader | undefined;
  fileBytes: number;
}

async function openFile(path: string): Promise<{ fh: FileHandle; size: number }> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw ioError(err, path);
  }
  const st = await fh.stat();
  if (!st.isFile()) {
    await fh.close();
    throw new AudioDecodeError('not a regular file', path);
  }
  return { fh, size: st.size };
}

/** Identify a file from its first bytes (more of them when a WAV header is long). */
export async function probeFile(path: string): Promise<StreamInfo> {
  const { fh, size } = await openFile(path);
  try {
    let want = Math.min(size, HEAD_BYTES);
    for (;;) {
      const head = new Uint8Array(want);
      const { bytesRead } = await fh.read(head, 0, want, 0);
      const bytes = head.subarray(0, bytesRead);
      const format = sniffFormat(bytes, path);
      if (format !== 'wav') return { format, wav: undefined, fileBytes: size };
      try {
        return { format, wav: parseWavHeader(bytes, path), fileBytes: size };
      } catch (err) {
        // Metadata chunks can push the data chunk past the first read: look further before giving up.
        const grow = err instanceof AudioDecodeError && /truncated/.test(err.message) && bytesRead < size && want < MAX_HEAD_BYTES;
        if (!grow) throw err;
        want = Math.min(size, MAX_HEAD_BYTES, want * 8);
      }
    }
  } finally {
    await fh.close();
  }
}

/** One decoded block: `offset` is the index of its first sample in the whole stream. */
export interface DecodedBlock {
  channels: Float32Array[];
  sampleRate: number;
  offset: number;
}

/**
 * Decode a file block by block (~64 KB of input each), validated, never holding the whole file.
 * The channel arrays of a block may be reused for the next one: consume them before iterating on.
 */
export async function* decodeFileBlocks(path: string, info: StreamInfo, opts: DecodeOptions = {}): AsyncGenerator<DecodedBlock> {
  if (info.wav) {
    // A WAV's length is in its header and size: refuse an over-long one before reading it.
    checkDuration(wavFramesAvailable(info.wav, info.fileBytes), info.wav.sampleRate, opts, path);
    yield* wavBlocks(path, info.wav, info.fileBytes);
  } else yield* compressedBlocks(fileChunks(path), info.format, path, opts);
}

async function* wavBlocks(path: string, hdr: WavHeader, fileBytes: number): AsyncGenerator<DecodedBlock> {
  const total = wavFramesAvailable(hdr, fileBytes);
  if (total === 0) return;
  const perRead = Math.max(1, Math.floor(STREAM_CHUNK_BYTES / hdr.blockAlign));
  const buf = new Uint8Array(perRead * hdr.blockAlign);
  const chans = Array.from({ length: hdr.channels }, () => new Float32Array(perRead));
  const { fh } = await openFile(path);
  try {
    for (let done = 0; done < total; ) {
      const frames = Math.min(perRead, total - done);
      const want = frames * hdr.blockAlign;
      let got = 0;
      while (got < want) {
        let r: { bytesRead: number };
        try {
          r = await fh.read(buf, got, want - got, hdr.dataOffset + done * hdr.blockAlign + got);
        } catch (err) {
          throw ioError(err, path);
        }
        if (r.bytesRead === 0) throw new AudioDecodeError(`file shrank while being read (at byte ${hdr.dataOffset + done * hdr.blockAlign + got})`, path);
        got += r.bytesRead;
      }
      convertWavFrames(buf, hdr, frames, chans, 0);
      const view = frames === perRead ? chans : chans.map((c) => c.subarray(0, frames));
      validateBlock(view, hdr.sampleRate, done, path);
      yield { channels: view, sampleRate: hdr.sampleRate, offset: done };
      done += frames;
    }
  } finally {
    await fh.close();
  }
}

/** The file in fresh, unpooled 64 KB reads (audio-decode's decoders keep references to them). */
async function* fileChunks(path: string): AsyncGenerator<Uint8Array> {
  const { fh, size } = await openFile(path);
  try {
    for (let pos = 0; pos < size; ) {
      const chunk = new Uint8Array(Math.min(STREAM_CHUNK_BYTES, size - pos));
      let r: { bytesRead: number };
      try {
        r = await fh.read(chunk, 0, chunk.length, pos);
      } catch (err) {
        throw ioError(err, path);
      }
      if (r.bytesRead === 0) break;
      pos += r.bytesRead;
      yield r.bytesRead === chunk.length ? chunk : chunk.subarray(0, r.bytesRead);
    }
  } finally {
    await fh.close();
  }
}

/**
 * Container checks in front of the decoder: MP3 frame headers are watched for a change of sample
 * rate (refused), and Ogg pages with a bad checksum are dropped and counted.
 */
async function* checkedChunks(input: AsyncIterable<Uint8Array>, format: AudioFormat, path: string, damaged: { oggPages: number }): AsyncGenerator<Uint8Array> {
  if (format === 'mp3') {
    const watch = new Mp3RateWatch(path);
    for await (const chunk of input) {
      watch.push(chunk);
      yield chunk;
    }
  } else if (format === 'oga') {
    const pages = new OggPageFilter();
    for await (const chunk of input) {
      const good = pages.push(chunk);
      damaged.oggPages = pages.damaged;
      if (good.length > 0) yield good;
    }
    pages.finish();
    damaged.oggPages = pages.damaged;
  } else {
    yield* input;
  }
}

/**
 * MP3 through the system's libmpg123 (native/frontend.c), the same library audio-decode runs as
 * wasm, with the same settings (float output, gapless trimming): about 4× faster. Frame errors
 * are counted into `errors` as the wasm decoder's console lines are.
 */
async function* nativeMp3Blocks(native: AudioNative, input: AsyncIterable<Uint8Array>, errors: Mp3ErrorCount, mono: boolean): AsyncGenerator<{ channelData: Float32Array[]; sampleRate: number; finite?: boolean }> {
  const h = native.mp3Open();
  for await (const chunk of input) {
    const r = native.mp3Decode(h, chunk, mono);
    if (r.errors > 0) {
      errors.count += r.errors;
      errors.first ??= r.firstError;
    }
    if (r.channels.length > 0) yield { channelData: r.channels, sampleRate: r.sampleRate, finite: r.finite };
  }
}

/** audio-decode's channel order for 3-8 channel Vorbis (WAV order), applied to the native decoder's Vorbis order. */
const VORBIS_TO_WAV: Record<number, number[]> = { 3: [0, 2, 1], 5: [0, 2, 1, 3, 4], 6: [0, 2, 1, 5, 3, 4], 7: [0, 2, 1, 6, 5, 3, 4], 8: [0, 2, 1, 7, 5, 6, 3, 4] };
const NO_BYTES = new Uint8Array(0);

/**
 * Ogg Vorbis through the system's libvorbisfile (native/frontend.c), the library audio-decode runs
 * as wasm: about 2× faster. Pages arrive checked by OggPageFilter; a fatal decoder error ends the
 * stream and is kept in `fatal` (a warning, or the error when nothing decoded).
 */
async function* nativeOggBlocks(native: AudioNative, input: AsyncIterable<Uint8Array>, fatal: { why: string | undefined }, mono: boolean): AsyncGenerator<{ channelData: Float32Array[]; sampleRate: number; finite?: boolean }> {
  const h = native.oggOpen();
  function* drain(bytes: Uint8Array, end: boolean): Generator<{ channelData: Float32Array[]; sampleRate: number; finite?: boolean }> {
    for (let r = native.oggDecode(h, bytes, end, mono); ; r = native.oggDecode(h, NO_BYTES, end, mono)) {
      if (r.errors > 0) fatal.why ??= r.firstError;
      const order = VORBIS_TO_WAV[r.channels.length];
      if (r.channels.length > 0) yield { channelData: order ? order.map((c) => r.channels[c] as Float32Array) : r.channels, sampleRate: r.sampleRate, finite: r.finite };
      if (!r.more) return;
    }
  }
  for await (const chunk of input) yield* drain(chunk, false);
  yield* drain(NO_BYTES, true);
}

async function* compressedBlocks(input: AsyncIterable<Uint8Array>, format: AudioFormat, path: string, opts: DecodeOptions = {}): AsyncGenerator<DecodedBlock> {
  collectMp3Errors();
  const errors: Mp3ErrorCount = { count: 0, first: undefined };
  const damaged = { oggPages: 0 };
  const warn = opts.onWarning ?? stderrWarning;
  let offset = 0;
  let rate: number | undefined;
  const checked = checkedChunks(input, format, path, damaged);
  const mp3 = format === 'mp3' ? nativeMp3() : undefined;
  const ogg = format === 'oga' ? nativeOgg() : undefined;
  const fatal: { why: string | undefined } = { why: undefined };
  const it = mp3
    ? nativeMp3Blocks(mp3, checked, errors, opts.downmix === true)
    : ogg
      ? nativeOggBlocks(ogg, checked, fatal, opts.downmix === true)
      : decodeChunked(checked, format)[Symbol.asyncIterator]();
  try {
    for (;;) {
      let r: IteratorResult<{ channelData: Float32Array[]; sampleRate: number; finite?: boolean }>;
      try {
        r = await mp3Errors.run(errors, () => it.next());
      } catch (err) {
        if (err instanceof AudioDecodeError || err instanceof InvalidAudioError) throw err;
        throw decoderError(err, format, path);
      }
      if (r.done) break;
      const { channelData, sampleRate } = r.value;
      if (channelData.length === 0 || (channelData[0] as Float32Array).length === 0) continue;
      if (rate !== undefined && sampleRate !== rate) {
        throw new InvalidAudioError(`sample rate changes mid-stream (${rate} Hz, then ${sampleRate} Hz at sample ${offset}); convert the file to one rate first`, path);
      }
      rate = sampleRate;
      validateBlock(channelData, sampleRate, offset, path, r.value.finite === true);
      checkDuration(offset + (channelData[0] as Float32Array).length, sampleRate, opts, path);
      yield { channels: channelData, sampleRate, offset };
      offset += (channelData[0] as Float32Array).length;
    }
  } finally {
    await mp3Errors.run(errors, async () => it.return?.(undefined));
    if (errors.count > 0) warn(`${path}: ${errors.count} MP3 frame${errors.count === 1 ? '' : 's'} could not be decoded and ${errors.count === 1 ? 'was' : 'were'} skipped (mpg123: ${errors.first})`);
    if (damaged.oggPages > 0) warn(`${path}: ${damaged.oggPages} damaged Ogg page${damaged.oggPages === 1 ? '' : 's'} (checksum mismatch or cut off) skipped`);
    if (fatal.why !== undefined && offset > 0) warn(`${path}: Ogg Vorbis decoding stopped after ${(offset / (rate ?? 1)).toFixed(2)} s (libvorbisfile: ${fatal.why}); the rest is skipped`);
  }
  if (offset === 0) throw fatal.why !== undefined ? decoderError(new Error(`libvorbisfile: ${fatal.why}`), format, path) : nothingDecoded(format, path);
}
