/** musicbert's public API. Everything a user imports comes from here. */
export * from './util/errors.js';
export { Rng, seedFrom } from './util/rng.js';
export { Progress, type ProgressOptions } from './util/progress.js';
export { encodeSafetensors, decodeSafetensors, saveSafetensors, loadSafetensors, type TensorMap, type NamedArray } from './util/safetensors.js';
export { writeFileAtomic, writeJsonAtomic, writeDirAtomic } from './util/atomic.js';
export { encodeWav, type WavFormat } from './audio/wavWrite.js';
export * from './audio/index.js';
export * from './model/index.js';
export * from './search/index.js';
export * from './serve/index.js';
export { evaluate, trainingCorpus, runProbes, probe, selectParams, fitPredict, outerSplits, writeReport, renderMarkdown, renderSvg, representation, REP_NAMES, REP_LABELS, isRepName, DEFAULT_GRID, QUICK_GRID, type EvaluateOptions, type EvalProgress, type RepName, type SplitMode, type TaskName, type FeatureMatrix, type ProbeGrid, type ProbeFit, type TaskResult, type LabelledTrack, type Table1, type Table1Row, type Stat, type RunResult } from './eval/index.js';
export * from './train/index.js';
export * from './data/datasets/index.js';
export { synthesizeCorpus, GENRES, TAG_VOCABULARY, renderTrack, planCorpus, type SynthOptions, type CorpusPlan, type PlannedTrack, type PlannedAlbum, type TrackParams, type TrackLabels, type SynthManifest } from './data/synth/index.js';
export { setNativeThreads, nativeUnavailableReason } from './tensor/native.js';
