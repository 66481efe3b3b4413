/**
 * Named sizes for `musicbert pretrain --config`. Each preset is a whole recipe (both model
 * shapes, steps, batch sizes, learning rates), chosen so that `small` (the default) pre-trains a
 * few hundred 10-second tracks in minutes on a 2-core CPU. Timings measured are in the report of
 * bench/ and the pretrain CLI's summary.
 */
import type { AudioEncoderConfig, MusicBertConfig } from '../model/config.js';
import { UsageError } from '../util/errors.js';
import type { ConceptSpec } from './concepts.js';

export type PresetName = 'tiny' | 'small' | 'real' | 'base';
export const PRESETS: readonly PresetName[] = ['tiny', 'small', 'real', 'base'];

export interface Preset {
  encoder: Partial<AudioEncoderConfig>;
  model: Partial<MusicBertConfig>;
  encoderSteps: number;
  encoderBatch: number;
  encoderLr: number;
  steps: number;
  batch: number;
  lr: number;
  /** Tokenizer vocabulary cap (specials included). */
  vocabSize: number;
  /** Concept targets of the tag head and the concept objective (default: the tags, min 1 track). */
  concepts?: ConceptSpec;
}

const TABLE: Record<PresetName, Preset> = {
  // For tests and smoke runs: seconds.
  tiny: {
    encoder: { channels: [8, 16, 16], dense: [64], embedDim: 128 },
    model: { dModel: 32, layers: 1, heads: 2, ffn: 64, maxTextLen: 32, maxMusicLen: 12, projDim: 32, dropout: 0 },
    encoderSteps: 40,
    encoderBatch: 16,
    encoderLr: 3e-3,
    steps: 60,
    batch: 8,
    lr: 3e-3,
    vocabSize: 1000,
  },
  // The default: minutes for ~300-1000 tracks x 10 s.
  small: {
    encoder: { channels: [8, 16, 32, 32], dense: [128], embedDim: 128 },
    model: { dModel: 128, layers: 2, heads: 4, ffn: 256, maxTextLen: 48, maxMusicLen: 16, projDim: 64, dropout: 0.1 },
    encoderSteps: 150,
    encoderBatch: 32,
    encoderLr: 2e-3,
    steps: 300,
    batch: 16,
    lr: 1e-3,
    vocabSize: 3000,
  },
  // Real recordings (a few hundred 30-s clips to full tracks): the encoder is the part that must
  // learn from little labelled audio, so it gets the steps. First figures in docs/real-recipe.md;
  // the 20-minute pre-training budget on 380 clips is checked by `npm run bench -- real-pretrain`
  // (not yet run on an idle machine).
  real: {
    encoder: { channels: [8, 16, 32, 32], dense: [128], embedDim: 128 },
    model: { dModel: 128, layers: 2, heads: 4, ffn: 256, maxTextLen: 32, maxMusicLen: 16, projDim: 64, dropout: 0.1 },
    // Measured on real_dev (README "Real music, measured"): 1,200 steps of 32 patches (each
    // training patch seen about 4 times) lift every learned row over 300 steps; about 2.5 min a
    // fold on the idle machine.
    encoderSteps: 1200,
    encoderBatch: 32,
    encoderLr: 2e-3,
    // eval:real trains four stage-2 rows per fold, so its budget sets these: measured on real_dev
    // with the machine shared, 0.26–0.43 s a step at batch 16, 1.8 s at batch 32.
    steps: 150,
    batch: 16,
    lr: 1e-3,
    vocabSize: 2000,
    // A real catalogue's supervision is all it has: its tags (mood words and the like) on at least
    // 5 training tracks (rarer ones are memorised, not learned), its genre and its categorical
    // label columns, all as tags of the encoder's multi-label head.
    concepts: { sources: ['tags', 'genre', 'labels'], minTracks: 5 },
  },
  // Closer to the proposal's sizes; tens of minutes to hours on CPU.
  base: {
    encoder: { channels: [32, 64, 128, 128], dense: [512], embedDim: 128 },
    model: { dModel: 256, layers: 4, heads: 4, ffn: 1024, maxTextLen: 96, maxMusicLen: 32, projDim: 128, dropout: 0.1 },
    encoderSteps: 2000,
    encoderBatch: 32,
    encoderLr: 1e-3,
    steps: 3000,
    batch: 32,
    lr: 5e-4,
    vocabSize: 8000,
  },
};

export function preset(name: string): Preset {
  if (!(PRESETS as readonly string[]).includes(name)) throw new UsageError(`unknown config "${name}" (choose from ${PRESETS.join(', ')})`);
  const p = TABLE[name as PresetName];
  return { ...p, encoder: { ...p.encoder }, model: { ...p.model }, ...(p.concepts ? { concepts: { ...p.concepts, sources: [...p.concepts.sources] } } : {}) };
}
