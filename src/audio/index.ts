/** The audio front end: decode → mono → 16 kHz → log-mel → patches; MFCCs. */
export { SAMPLE_RATE, WINDOW, HOP, FFT_SIZE, MEL_BANDS, PATCH_FRAMES, MFCC_COEFFS, MEL_MIN_HZ, MEL_MAX_HZ, LOG_OFFSET, MIN_SOURCE_RATE, MAX_SOURCE_RATE, frameCount } from './constants.js';
export { decodeAudio, type DecodedAudio } from './decode.js';
export { toMono } from './mono.js';
export { resample } from './resample.js';
export { loadAudio } from './load.js';
export { logMel, LogMelStream, type LogMel } from './logmel.js';
export { toPatches, PATCH_SIZE, type PatchSet } from './patches.js';
export { mfcc, mfccStats } from './mfcc.js';
export { estimateTempo, tempoClass } from './tempo.js';
export { logMelFromFile, patchesFromFile, type StreamOptions } from './stream.js';
export { encodeWav, type WavFormat } from './wavWrite.js';
