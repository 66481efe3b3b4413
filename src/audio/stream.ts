/**
 * Log-mel of a file of any length in bounded memory: chunked decode → mono → streaming resampler
 * → incremental log-mel. Only the current block, the converter state and the log-mel (~100x
 * smaller than the audio) are held. The output equals logMel(loadAudio(path)) exactly.
 */
import { SAMPLE_RATE, frameCount } from './constants.js';
import { decodeFileBlocks, probeFile, wavFramesAvailable, type DecodeOptions } from './decode.js';
import { LogMelStream, type LogMel } from './logmel.js';
import { toMono } from './mono.js';
import { toPatches } from './patches.js';
import { StreamResampler, resampledLength } from './resample.js';

export interface StreamOptions extends DecodeOptions {
  /** Called after each decoded block with the seconds of audio decoded so far. */
  onProgress?: (seconds: number) => void;
}

/**
 * [frames, 64] log-mel of an audio file of any length, streamed (see the module comment).
 * `onProgress` gets the seconds decoded so far after each block.
 */
export async function logMelFromFile(path: string, opts: StreamOptions = {}): Promise<LogMel> {
  const info = await probeFile(path);
  // A WAV's length is known up front (header and file size), so the output is allocated once at its final size.
  const expectedFrames = info.wav ? frameCount(resampledLength(wavFramesAvailable(info.wav, info.fileBytes), info.wav.sampleRate, SAMPLE_RATE)) : undefined;
  const mel = new LogMelStream(expectedFrames !== undefined ? { expectedFrames } : {});
  let resampler: StreamResampler | undefined;
  try {
    for await (const block of decodeFileBlocks(path, info, { ...opts, downmix: true })) {
      resampler ??= await StreamResampler.create(block.sampleRate, SAMPLE_RATE, path);
      mel.push(resampler.push(toMono(block.channels)));
      opts.onProgress?.((block.offset + (block.channels[0] as Float32Array).length) / block.sampleRate);
    }
    if (resampler) mel.push(resampler.finish());
  } finally {
    resampler?.destroy();
  }
  return mel.finish();
}

/** [count, 96, 64] patches of a file of any length (see logMelFromFile). */
export async function patchesFromFile(path: string): Promise<{ data: Float32Array; count: number }> {
  const { data, frames } = await logMelFromFile(path);
  return toPatches(data, frames);
}

/**
 * A file of any format as 16 kHz mono samples, decoded and resampled block by block: memory is
 * the output (bounded by `maxSeconds`) plus one block. Equals loadAudio(path) sample for sample.
 */
export async function samplesFromFile(path: string, opts: DecodeOptions = {}): Promise<Float32Array> {
  const info = await probeFile(path);
  let out = new Float32Array(info.wav ? resampledLength(wavFramesAvailable(info.wav, info.fileBytes), info.wav.sampleRate, SAMPLE_RATE) : 1 << 16);
  let n = 0;
  const append = (x: Float32Array): void => {
    if (n + x.length > out.length) {
      const grown = new Float32Array(Math.max(n + x.length, 2 * out.length));
      grown.set(out.subarray(0, n));
      out = grown;
    }
    out.set(x, n); // copies: the resampler reuses its output buffer
    n += x.length;
  };
  let resampler: StreamResampler | undefined;
  try {
    for await (const block of decodeFileBlocks(path, info, { ...opts, downmix: true })) {
      resampler ??= await StreamResampler.create(block.sampleRate, SAMPLE_RATE, path);
      append(resampler.push(toMono(block.channels)));
    }
    if (resampler) append(resampler.finish());
  } finally {
    resampler?.destroy();
  }
  return out.length === n ? out : out.slice(0, n);
}
