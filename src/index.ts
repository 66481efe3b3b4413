/** musicbert's public API. Everything a user imports comes from here. */
export * from './util/errors.js';
export { Rng, seedFrom } from './util/rng.js';
export { Progress, type ProgressOptions } from './util/progress.js';
export { encodeSafetensors, decodeSafetensors, saveSafetensors, loadSafetensors, type TensorMap, type NamedArray } from './util/safetensors.js';
export { writeFileAtomic, writeJsonAtomic, writeDirAtomic } from './util/atomic.js';
export { encodeWav, type WavFormat } from './audio/wavWrite.js';
