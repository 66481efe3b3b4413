/**
 * A checkpoint is a directory, written atomically (a crash leaves the old or the new one, never a
 * mix):
 *   config.json              the model config (kind: "musicbert" | "audio-encoder")
 *   model.safetensors        every parameter, F32, by name
 *   vocab.txt                the tokenizer (optional)
 *   optimizer.safetensors    optimizer slots (optional, for resume)
 *   trainer_state.json       step, schedule, RNG state… whatever the trainer needs (optional)
 * Weights reload bit-for-bit; every weight is checked against the config before use. This is the
 * format; the models load and save themselves through it (`MusicBert.load/save`,
 * `AudioEncoder.load/save`).
 */
import { readFile, writeFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { tf } from '../tensor/backend.js';
import { writeDirAtomic } from '../util/atomic.js';
import { CheckpointError } from '../util/errors.js';
import { decodeSafetensors, encodeSafetensors, type TensorMap } from '../util/safetensors.js';
import { Tokenizer } from '../text/tokenizer.js';
import { parseConfig, type AudioEncoderConfig, type ModelConfig, type MusicBertConfig } from './config.js';
import { paramsToTensorMap } from './params.js';

export const CHECKPOINT_FILES = {
  config: 'config.json',
  weights: 'model.safetensors',
  vocab: 'vocab.txt',
  optimizer: 'optimizer.safetensors',
  state: 'trainer_state.json',
} as const;

/** What a trainer adds to a checkpoint so a killed run resumes exactly. */
export interface TrainingState {
  optimizer?: TensorMap;
  state?: unknown;
}

export interface CheckpointParts extends TrainingState {
  config: AudioEncoderConfig | MusicBertConfig;
  params: Record<string, tf.Variable>;
  tokenizer?: Tokenizer;
}

export interface LoadedCheckpoint {
  config: ModelConfig;
  weights: TensorMap;
  tokenizer?: Tokenizer;
  optimizer?: TensorMap;
  state?: unknown;
}

export async function saveCheckpoint(dir: string, parts: CheckpointParts): Promise<void> {
  // Copy everything out of tensors before touching the disk, so a failure leaves nothing behind.
  const weights = encodeSafetensors(paramsToTensorMap(parts.params), { format: 'pt', kind: parts.config.kind });
  const optimizer = parts.optimizer ? encodeSafetensors(parts.optimizer) : undefined;
  await writeDirAtomic(dir, async (tmp) => {
    await writeFile(join(tmp, CHECKPOINT_FILES.config), JSON.stringify(parts.config, null, 2) + '\n');
    await writeFile(join(tmp, CHECKPOINT_FILES.weights), weights);
    if (parts.tokenizer) await writeFile(join(tmp, CHECKPOINT_FILES.vocab), parts.tokenizer.toVocab());
    if (optimizer) await writeFile(join(tmp, CHECKPOINT_FILES.optimizer), optimizer);
    if (parts.state !== undefined) await writeFile(join(tmp, CHECKPOINT_FILES.state), JSON.stringify(parts.state, null, 2) + '\n');
  });
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function readBytes(path: string, what: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new CheckpointError(`cannot read the ${what} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, path, { cause: err });
  }
}

async function readJson(path: string, what: string): Promise<unknown> {
  const text = Buffer.from(await readBytes(path, what)).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CheckpointError(`the ${what} is not valid JSON (${(err as Error).message})`, path, { cause: err });
  }
}

/** Read and validate a checkpoint directory (config, weight names and shapes are checked by the model loaders). */
export async function loadCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  if (!(await exists(dir))) throw new CheckpointError('checkpoint directory does not exist', dir);
  const configPath = join(dir, CHECKPOINT_FILES.config);
  const config = parseConfig(await readJson(configPath, 'model config'), configPath);
  const weightsPath = join(dir, CHECKPOINT_FILES.weights);
  const weights = decodeSafetensors(await readBytes(weightsPath, 'weights file'), weightsPath).tensors;
  for (const [name, t] of Object.entries(weights)) {
    if (t.dtype === 'F32') {
      for (let i = 0; i < t.data.length; i++) {
        if (!Number.isFinite(t.data[i])) throw new CheckpointError(`weight "${name}" holds a non-finite value at index ${i}`, weightsPath);
      }
    }
  }
  const out: LoadedCheckpoint = { config, weights };
  const vocabPath = join(dir, CHECKPOINT_FILES.vocab);
  if (await exists(vocabPath)) out.tokenizer = Tokenizer.fromVocab(Buffer.from(await readBytes(vocabPath, 'vocabulary')).toString('utf8'), vocabPath);
  const optPath = join(dir, CHECKPOINT_FILES.optimizer);
  if (await exists(optPath)) out.optimizer = decodeSafetensors(await readBytes(optPath, 'optimizer state'), optPath).tensors;
  const statePath = join(dir, CHECKPOINT_FILES.state);
  if (await exists(statePath)) out.state = await readJson(statePath, 'trainer state');
  return out;
}

/** A checkpoint of one model kind, its config typed accordingly. */
export type CheckpointOf<K extends ModelConfig['kind']> = Omit<LoadedCheckpoint, 'config'> & {
  config: Extract<ModelConfig, { kind: K }>;
  weightsPath: string;
};

/** loadCheckpoint, then insist on the model kind (a CheckpointError names config.json otherwise). */
export async function loadCheckpointOf<K extends ModelConfig['kind']>(dir: string, kind: K): Promise<CheckpointOf<K>> {
  const ck = await loadCheckpoint(dir);
  if (ck.config.kind !== kind) throw new CheckpointError(`holds a "${ck.config.kind}" model, not "${kind}"`, join(dir, CHECKPOINT_FILES.config));
  return { ...ck, config: ck.config as Extract<ModelConfig, { kind: K }>, weightsPath: join(dir, CHECKPOINT_FILES.weights) };
}
