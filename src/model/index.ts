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
export { MusicBert, CLS_ID, SEP_ID, type MusicBertInput, type MusicBertOutput } from './musicbert.js';
export { saveCheckpoint, loadCheckpoint, loadMusicBert, loadAudioEncoder, CHECKPOINT_FILES, type CheckpointParts, type LoadedCheckpoint } from './checkpoint.js';
export { countParams, type Params } from './params.js';
export { Tokenizer, basicTokenize, SPECIAL_TOKENS } from '../text/tokenizer.js';
