/** The model layer's public API (re-exported by src/index.ts). */
export {
  audioEncoderConfig,
  musicBertConfig,
  vggishConfig,
  parseConfig,
  type AudioEncoderConfig,
  type MusicBertConfig,
  type ModelConfig,
} from './config.js';
export { toSegments } from './segments.js';
export { AudioEncoder } from './audioEncoder.js';
export { MusicBert, type MusicBertInput, type MusicBertOutput } from './musicbert.js';
export { MusicBertPipeline, type AudioInput, type EncodedTrack, type PatchVectors, type PipelineOptions, type TrackEmbedding } from './pipeline.js';
export { saveCheckpoint, loadCheckpoint, loadCheckpointOf, CHECKPOINT_FILES, type CheckpointParts, type CheckpointOf, type LoadedCheckpoint, type TrainingState } from './checkpoint.js';
export { countParams, type Params } from './params.js';
export { tagPrototypes, prototypeOf, prototypeDirection, ledoitWolf, type Prototype, type PrototypeSet } from './prototypes.js';
export { Tokenizer, basicTokenize, SPECIAL_TOKENS, PAD_ID, UNK_ID, CLS_ID, SEP_ID, MASK_ID } from '../text/tokenizer.js';
