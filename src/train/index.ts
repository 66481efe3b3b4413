/** Pre-training: objectives, optimizer, schedule, the trainer loop and the two-stage recipe. */
export { pretrain, trainEncoder, trainMusicBert, summarizeHistory, type PretrainOptions, type PretrainResult, type EncoderOptions, type EncoderResult, type MusicBertResult, type StageSummary } from './pretrain.js';
export { OBJECTIVES, parseObjectives, parseWeights, type ObjectiveName, type LossSettings, type MusicItem } from './musicbertLoss.js';
export { preset, PRESETS, type Preset, type PresetName } from './presets.js';
export {
  train,
  stepRng,
  type TrainerOptions,
  type TrainResult,
  type TrainerState,
  type TrainerSnapshot,
  type LossOutput,
  type StepContext,
  type StepRecord,
  type ValidationRecord,
} from './trainer.js';
export { l2Normalize } from '../tensor/ops.js';
export { AdamW, adamWConfig, clipByGlobalNorm, defaultDecay, type AdamWConfig } from './optimizer.js';
export { learningRate, scheduleConfig, type ScheduleConfig } from './schedule.js';
export {
  bceWithLogits,
  infoNce,
  maskedCrossEntropy,
  maskedRegression,
  pairTargets,
  selectRows,
  similarityLogits,
  softCrossEntropy,
  symmetricInfoNce,
  weightedMean,
  type RegressionKind,
} from './objectives.js';
export { maskMusic, maskTokens, BERT_MASKING, type MaskingOptions, type MusicMasking, type TokenMasking } from './masking.js';
