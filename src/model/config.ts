/**
 * One config object per model, round-tripping to `config.json` in a checkpoint. Factories fill in
 * defaults small enough to train on a 2-core CPU in minutes; presets give the published shapes.
 * `parseConfig` is strict (unknown fields are errors) so a typo in a hand-edited config fails
 * loudly instead of silently training a different model.
 */
import { ConfigError } from '../util/errors.js';

export interface AudioEncoderConfig {
  kind: 'audio-encoder';
  /** Output channels of each 3x3 conv. A 2x2 max-pool closes every run of equal widths (VGGish layout). */
  channels: number[];
  /** Hidden dense widths (ReLU) between the flattened conv features and the embedding. */
  dense: number[];
  /** Size of the per-patch embedding (128 in VGGish). */
  embedDim: number;
  /** Multi-label concept head size used to pre-train the encoder (AudioSet-style tags). */
  numConcepts: number;
  patchFrames: 96;
  melBands: 64;
}

export interface MusicBertConfig {
  kind: 'musicbert';
  /** Width of the frozen encoder vectors fed in (AudioEncoderConfig.embedDim). */
  musicDim: number;
  vocabSize: number;
  maxTextLen: number;
  maxMusicLen: number;
  dModel: number;
  layers: number;
  heads: number;
  ffn: number;
  dropout: number;
  /** `full` softmax attention, or `local`: a band of ±window within each modality segment. */
  attention: { kind: 'full' | 'local'; window: number };
  numConcepts: number;
  /** Size of the shared text–music retrieval space. */
  projDim: number;
  /**
   * Temperature of the text–music alignment (CLIP-style InfoNCE over cosine similarities): the
   * scale pre-training sharpens similarities by, so zero-shot labels are scored at it too.
   */
  alignTemperature: number;
}

export type ModelConfig = AudioEncoderConfig | MusicBertConfig;

/** The alignment temperature of every model trained before it was a config field (config.json without it loads with this). */
export const DEFAULT_ALIGN_TEMPERATURE = 0.1;

/** Small default encoder: trains on CPU in minutes. */
export function audioEncoderConfig(overrides: Partial<AudioEncoderConfig> = {}): AudioEncoderConfig {
  const c: AudioEncoderConfig = {
    kind: 'audio-encoder',
    channels: [16, 32, 64, 64],
    dense: [256],
    embedDim: 128,
    numConcepts: 32,
    patchFrames: 96,
    melBands: 64,
    ...overrides,
  };
  validateAudioEncoder(c, 'audioEncoderConfig()');
  return { ...c, channels: [...c.channels], dense: [...c.dense] };
}

/** The published VGGish shape (conv 64,128,256,256,512,512; fc 4096,4096 → 128): ~72M parameters. */
export function vggishConfig(overrides: Partial<AudioEncoderConfig> = {}): AudioEncoderConfig {
  return audioEncoderConfig({ channels: [64, 128, 256, 256, 512, 512], dense: [4096, 4096], ...overrides });
}

export function musicBertConfig(overrides: Partial<MusicBertConfig> = {}): MusicBertConfig {
  const c: MusicBertConfig = {
    kind: 'musicbert',
    musicDim: 128,
    vocabSize: 4000,
    maxTextLen: 64,
    maxMusicLen: 64,
    dModel: 256,
    layers: 4,
    heads: 4,
    ffn: 1024,
    dropout: 0.1,
    attention: { kind: 'full', window: 8 },
    numConcepts: 32,
    projDim: 128,
    alignTemperature: DEFAULT_ALIGN_TEMPERATURE,
    ...overrides,
  };
  validateMusicBert(c, 'musicBertConfig()');
  return { ...c, attention: { ...c.attention } };
}

/** Validate a parsed `config.json` (or any JSON value) and return a typed config. */
export function parseConfig(json: unknown, source: string): ModelConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ConfigError('config must be a JSON object', source);
  }
  const kind = (json as { kind?: unknown }).kind;
  if (kind === 'audio-encoder') {
    validateAudioEncoder(json as Record<string, unknown>, source);
    const c = json as unknown as AudioEncoderConfig;
    return { ...c, channels: [...c.channels], dense: [...c.dense] };
  }
  if (kind === 'musicbert') {
    // Checkpoints written before the temperature was a field were trained at the default.
    const withDefaults = { alignTemperature: DEFAULT_ALIGN_TEMPERATURE, ...(json as Record<string, unknown>) };
    validateMusicBert(withDefaults, source);
    const c = withDefaults as unknown as MusicBertConfig;
    return { ...c, attention: { ...c.attention } };
  }
  throw new ConfigError(`field "kind" must be "audio-encoder" or "musicbert" (got ${JSON.stringify(kind)})`, source);
}

const AUDIO_FIELDS = ['kind', 'channels', 'dense', 'embedDim', 'numConcepts', 'patchFrames', 'melBands'];
const BERT_FIELDS = ['kind', 'musicDim', 'vocabSize', 'maxTextLen', 'maxMusicLen', 'dModel', 'layers', 'heads', 'ffn', 'dropout', 'attention', 'numConcepts', 'projDim', 'alignTemperature'];

function checkFields(o: object, allowed: string[], source: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw new ConfigError(`unknown field "${k}" (allowed: ${allowed.join(', ')})`, source);
  }
  for (const k of allowed) {
    if (!(k in o) || (o as Record<string, unknown>)[k] === undefined) throw new ConfigError(`missing field "${k}"`, source);
  }
}

function posInt(o: Record<string, unknown>, k: string, source: string, min = 1): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new ConfigError(`field "${k}" must be an integer >= ${min} (got ${JSON.stringify(v)})`, source);
  }
  return v;
}

function intList(o: Record<string, unknown>, k: string, source: string, minLen: number): number[] {
  const v = o[k];
  if (!Array.isArray(v) || v.length < minLen || !v.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 1)) {
    throw new ConfigError(`field "${k}" must be a list of at least ${minLen} positive integers (got ${JSON.stringify(v)})`, source);
  }
  return v as number[];
}

/**
 * Where the 2x2 max-pools go: after conv i when the next conv changes width, and after the last,
 * i.e. one at the end of each run of equal widths (VGGish: 64|128|256,256|512,512 → 4 pools).
 */
export function poolsAfter(channels: readonly number[]): boolean[] {
  return channels.map((c, i) => i === channels.length - 1 || channels[i + 1] !== c);
}

function validateAudioEncoder(o: Record<string, unknown> | AudioEncoderConfig, source: string): void {
  const r = o as Record<string, unknown>;
  checkFields(r, AUDIO_FIELDS, source);
  const channels = intList(r, 'channels', source, 1);
  intList(r, 'dense', source, 0);
  posInt(r, 'embedDim', source);
  posInt(r, 'numConcepts', source);
  if (r.patchFrames !== 96) throw new ConfigError(`field "patchFrames" must be 96 (VGGish patches are 0.96 s of 10 ms frames; got ${JSON.stringify(r.patchFrames)})`, source);
  if (r.melBands !== 64) throw new ConfigError(`field "melBands" must be 64 (got ${JSON.stringify(r.melBands)})`, source);
  const pools = poolsAfter(channels).filter(Boolean).length;
  // 96x64 halves per pool; it must stay at least 1x1.
  if (64 >> pools < 1) throw new ConfigError(`field "channels" implies ${pools} 2x2 pools, which shrink a 96x64 patch below 1x1 (at most 6)`, source);
}

function validateMusicBert(o: Record<string, unknown> | MusicBertConfig, source: string): void {
  const r = o as Record<string, unknown>;
  checkFields(r, BERT_FIELDS, source);
  posInt(r, 'musicDim', source);
  const vocab = posInt(r, 'vocabSize', source);
  if (vocab < 6) throw new ConfigError(`field "vocabSize" must be at least 6 (the 5 special tokens plus one word; got ${vocab})`, source);
  posInt(r, 'maxTextLen', source);
  posInt(r, 'maxMusicLen', source);
  const d = posInt(r, 'dModel', source);
  posInt(r, 'layers', source);
  const h = posInt(r, 'heads', source);
  if (d % h !== 0) throw new ConfigError(`field "dModel" (${d}) must be divisible by "heads" (${h})`, source);
  posInt(r, 'ffn', source);
  const p = r.dropout;
  if (typeof p !== 'number' || !(p >= 0 && p < 1)) throw new ConfigError(`field "dropout" must be a number in [0, 1) (got ${JSON.stringify(p)})`, source);
  const a = r.attention as Record<string, unknown> | undefined;
  if (typeof a !== 'object' || a === null || Array.isArray(a)) throw new ConfigError('field "attention" must be an object { kind, window }', source);
  for (const k of Object.keys(a)) if (k !== 'kind' && k !== 'window') throw new ConfigError(`unknown field "attention.${k}" (allowed: kind, window)`, source);
  if (a.kind !== 'full' && a.kind !== 'local') throw new ConfigError(`field "attention.kind" must be "full" or "local" (got ${JSON.stringify(a.kind)})`, source);
  if (typeof a.window !== 'number' || !Number.isInteger(a.window) || a.window < 0) {
    throw new ConfigError(`field "attention.window" must be an integer >= 0 (got ${JSON.stringify(a.window)})`, source);
  }
  posInt(r, 'numConcepts', source);
  posInt(r, 'projDim', source);
  const t = r.alignTemperature;
  if (typeof t !== 'number' || !(t > 0 && t <= 10)) throw new ConfigError(`field "alignTemperature" must be a number in (0, 10] (got ${JSON.stringify(t)})`, source);
}
