/**
 * The front end's native kernels (native/frontend.c, in the optional addon): the polyphase FIR,
 * the log-mel frames, and MP3 decoding through the system's libmpg123. Each has a JS/wasm twin
 * that is the definition and the fallback (polyphase.ts, logmel.ts, audio-decode's wasm mpg123);
 * test/audio-native.test.ts checks the two agree within stated tolerances. Off when the addon is
 * not built or MUSICBERT_NATIVE=0; MUSICBERT_NATIVE_AUDIO=0 turns off only these kernels.
 */
import { loadNative, type NativeAddon } from '../tensor/native.js';

export type AudioNative = Pick<NativeAddon, 'firPolyphase' | 'logMelFrames' | 'mp3Available' | 'mp3Open' | 'mp3Decode'>;

let forced: boolean | undefined;
let cached: { addon: AudioNative | undefined; mp3: boolean } | undefined;

function resolve(): { addon: AudioNative | undefined; mp3: boolean } {
  if (cached) return cached;
  const off = forced === false || (forced === undefined && process.env.MUSICBERT_NATIVE_AUDIO === '0');
  const addon = off ? undefined : loadNative();
  // An addon built before frontend.c existed has none of these functions.
  const usable = addon && typeof addon.logMelFrames === 'function' ? addon : undefined;
  cached = { addon: usable, mp3: usable ? usable.mp3Available() === '' : false };
  return cached;
}

/** The addon's FIR and log-mel kernels, or undefined (JS runs). */
export function audioNative(): AudioNative | undefined {
  return resolve().addon;
}

/** The addon's libmpg123 decoder, or undefined (the wasm mpg123 of audio-decode runs). */
export function nativeMp3(): AudioNative | undefined {
  const r = resolve();
  return r.mp3 ? r.addon : undefined;
}

/** Which front end runs, for benchmarks and `features`: 'native' kernels or 'js'. */
export function audioBackend(): { kernels: 'native' | 'js'; mp3: 'libmpg123' | 'wasm mpg123' } {
  const r = resolve();
  return { kernels: r.addon ? 'native' : 'js', mp3: r.mp3 ? 'libmpg123' : 'wasm mpg123' };
}

/** Tests and benchmarks: force the native kernels on (when built) or off; undefined = environment default. */
export function useAudioNative(on: boolean | undefined): void {
  forced = on;
  cached = undefined;
}
