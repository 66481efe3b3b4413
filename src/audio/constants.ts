/**
 * The VGGish front-end parameters (published with the model): 16 kHz mono, 25 ms periodic-Hann
 * window, 10 ms hop, 512-point FFT magnitude, 64 HTK-mel bands over 125–7500 Hz, log(mel + 0.01),
 * 96-frame (0.96 s) patches. Every other module reads these names, never the literals.
 */
export const SAMPLE_RATE = 16000;
export const WINDOW = 400;
export const HOP = 160;
export const FFT_SIZE = 512;
export const MEL_BANDS = 64;
export const PATCH_FRAMES = 96;
export const MFCC_COEFFS = 20;

export const MEL_MIN_HZ = 125;
export const MEL_MAX_HZ = 7500;
/** Added before the log so silence maps to log(0.01) instead of -Infinity. */
export const LOG_OFFSET = 0.01;

/**
 * Source sample rates we accept. Below 4 kHz there is no usable music content in the mel range;
 * 192 kHz is the ceiling of the libsamplerate build we resample with.
 */
export const MIN_SOURCE_RATE = 4000;
export const MAX_SOURCE_RATE = 192000;

/** Number of log-mel frames for n samples at 16 kHz (no padding, as VGGish): 0 when n < WINDOW. */
export function frameCount(n: number): number {
  return n < WINDOW ? 0 : 1 + Math.floor((n - WINDOW) / HOP);
}
