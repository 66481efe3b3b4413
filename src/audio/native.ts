/**
 * The front end's native kernels (native/frontend.c, in the optional addon): the polyphase FIR,
 * the log-mel frames, MP3 decoding through the system's libmpg123 and Ogg Vorbis decoding through
 * the system's libvorbisfile. Each has a JS/wasm twin that is the definition and the fallback
 * (polyphase.ts, logmel.ts, audio-decode's wasm mpg123 and libvorbis); test/audio-native.test.ts
 * checks the two agree within stated tolerances. Off when the addon is not built or
 * MUSICBERT_NATIVE=0; MUSICBERT_NATIVE_AUDIO=0 turns off only these kernels. A decoder library
 * that is not installed leaves its format to the wasm decoder.
 * MUSICBERT_LIBVORBISFILE names the library to load (default libvorbisfile.so.3).
 */
import { loadNative, type NativeAddon } from '../tensor/native.js';

export type AudioNative = Pick<NativeAddon, 'firDesign' | 'firRun' | 'logMelFrames' | 'mp3Available' | 'mp3Open' | 'mp3Decode' | 'oggAvailable' | 'oggOpen' | 'oggDecode'>;

export const DEFAULT_LIBVORBISFILE = 'libvorbisfile.so.3';

let forced: boolean | undefined;
let cached: { addon: AudioNative | undefined; mp3: boolean; ogg: boolean } | undefined;

function resolve(): { addon: AudioNative | undefined; mp3: boolean; ogg: boolean } {
  if (cached) return cached;
  const off = forced === false || (forced === undefined && process.env.MUSICBERT_NATIVE_AUDIO === '0');
  const addon = off ? undefined : loadNative();
  // An addon built before frontend.c (or before its current FIR) lacks these functions: JS runs.
  const usable = addon && typeof addon.logMelFrames === 'function' && typeof addon.firRun === 'function' ? addon : undefined;
  const lib = process.env.MUSICBERT_LIBVORBISFILE || DEFAULT_LIBVORBISFILE;
  const ogg = usable !== undefined && typeof usable.oggAvailable === 'function' && usable.oggAvailable(lib) === '';
  cached = { addon: usable, mp3: usable ? usable.mp3Available() === '' : false, ogg };
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

/** The addon's libvorbisfile decoder, or undefined (the wasm libvorbis of audio-decode runs). */
export function nativeOgg(): AudioNative | undefined {
  const r = resolve();
  return r.ogg ? r.addon : undefined;
}

/** Which front end runs, for benchmarks and `features`: 'native' kernels or 'js', and each decoder. */
export function audioBackend(): { kernels: 'native' | 'js'; mp3: 'libmpg123' | 'wasm mpg123'; ogg: 'libvorbisfile' | 'wasm libvorbis' } {
  const r = resolve();
  return { kernels: r.addon ? 'native' : 'js', mp3: r.mp3 ? 'libmpg123' : 'wasm mpg123', ogg: r.ogg ? 'libvorbisfile' : 'wasm libvorbis' };
}

/** Tests and benchmarks: force the native kernels on (when built) or off; undefined = environment default. */
export function useAudioNative(on: boolean | undefined): void {
  forced = on;
  cached = undefined;
}
