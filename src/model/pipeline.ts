/**
 * MusicBertPipeline: the one way from a track or a text to a vector. Search, the index, the
 * server, the CLI, the library and the Table-1 rows of our own models all embed through it, so
 * Table 1 measures exactly what search serves.
 *
 *   text  → words → [CLS] text [SEP] → pooled text state → textProjection         → unit [projDim]
 *   audio → 16 kHz log-mel [frames, 64] → patches [P, 96, 64] → frozen encoder [P, musicDim]
 *         → segments [S ≤ maxMusicLen, musicDim] → [CLS] music [SEP] → pooled music state [dModel]
 *         → musicProjection                                                      → unit [projDim]
 *
 * Patching policy (one for every caller):
 *  - Patches are the VGGish ones: non-overlapping 96-frame (0.96 s) windows from the first frame;
 *    trailing frames short of a patch are dropped (audio/patches.ts).
 *  - Audio shorter than one patch has no vector: an InvalidAudioError naming the input (the
 *    indexer reports and skips it; pre-training leaves such tracks out).
 *  - Long audio goes through the second level: consecutive patch vectors are mean-pooled into at
 *    most maxMusicLen segments (model/segments.ts), so any length fits one Transformer pass.
 *  - Determinism: every tensor pass runs at a fixed shape (patches in blocks of `patchBatch`,
 *    texts in blocks of `textBatch` rows of maxTextLen tokens, tracks in blocks of `musicBatch`
 *    rows of maxMusicLen segments), padding the last block, and an input always occupies the same
 *    rows: with the defaults one text and one track per Transformer pass, and a track's patches
 *    starting a fresh encoder block. The same input then gets a bit-identical vector whatever else
 *    is embedded with it (DEFAULTS says why larger text and track blocks are not position-free on
 *    every BLAS kernel).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ready, tf } from '../tensor/backend.js';
import { HOP, PATCH_FRAMES, SAMPLE_RATE, WINDOW } from '../audio/constants.js';
import { loadAudio } from '../audio/load.js';
import { logMel, type LogMel } from '../audio/logmel.js';
import { estimateTempo } from '../audio/tempo.js';
import { resample } from '../audio/resample.js';
import { logMelFromFile } from '../audio/stream.js';
import { toPatches } from '../audio/patches.js';
import { basicTokenize } from '../text/tokenizer.js';
import { CheckpointError, InvalidAudioError, UsageError } from '../util/errors.js';
import { modelDirs } from '../util/runDirs.js';
import { AudioEncoder, PATCH_BATCH } from './audioEncoder.js';
import { CHECKPOINT_FILES } from './checkpoint.js';
import { MusicBert } from './musicbert.js';
import { toSegments } from './segments.js';
import { loadVocabulary, saveVocabulary, type ModelVocabulary } from './vocabulary.js';
import { loadPrototypes, savePrototypes, type PrototypeSet } from './prototypes.js';

/**
 * A track to embed: a file path, encoded file bytes, 16 kHz (or `sampleRate`) mono samples, or
 * its 16 kHz log-mel spectrogram (a caller that already computed it, e.g. the evaluation's memo;
 * `source` names it in errors).
 */
export type AudioInput = string | Uint8Array | Float32Array | (LogMel & { source?: string });

/** A track after the frozen encoder: one vector per patch, [count, musicDim]. */
export interface PatchVectors {
  data: Float32Array;
  count: number;
  /** Seconds of audio (from the decoded length; ±10 ms for streamed files and log-mel input). */
  durationS: number;
  /** Tempo measured from the log-mel (audio/tempo.ts), BPM; absent when the audio is too short to hold two beats. */
  bpm?: number;
}

/** A track ready for the Transformer: its segment vectors [count ≤ maxMusicLen, musicDim] and the 0.96 s patches the encoder saw. */
export interface EncodedTrack extends PatchVectors {
  patches: number;
}

export interface TrackEmbedding {
  /** [projDim], unit length: the joint-space vector search stores. */
  vector: Float32Array;
  /** [dModel]: the pooled contextual music state the vector is projected from (Table 1's MusicBERT rows). */
  state: Float32Array;
  durationS: number;
  patches: number;
}

export interface PipelineOptions {
  textBatch?: number;
  patchBatch?: number;
  musicBatch?: number;
}

// One text and one track per Transformer pass: OpenBLAS's Haswell/Zen sgemm kernels round a row
// differently depending on its position in the product (rows 6–11 of every 12-row tile differ from
// rows 0–5 by an ulp), so two texts sharing a block would make a vector depend on its neighbours.
// A track's patches always start a fresh encoder block, so patchBatch keeps its speed.
const DEFAULTS = { textBatch: 1, patchBatch: PATCH_BATCH, musicBatch: 1 } as const;
/** Samples in one patch's worth of frames: the shortest audio that yields a patch. */
const MIN_SAMPLES = (PATCH_FRAMES - 1) * HOP + WINDOW;

export class MusicBertPipeline {
  /** Rows per pass: texts, patches, tracks. */
  private readonly batch: Required<PipelineOptions>;
  private disposed = false;
  /** The genres, tags and prompts the model was trained with (labels.json), when saved. */
  vocabulary: ModelVocabulary | undefined;
  /** Lower-cased tag → the mean joint vector of the training tracks tagged so, with the training vectors behind them (prototypes.safetensors), when saved. */
  prototypes: PrototypeSet | undefined;

  private constructor(
    /** The frozen patch encoder (its concept head gives Table 1's concept row). */
    readonly encoder: AudioEncoder,
    private readonly bert: MusicBert | undefined,
    /** Hash of the weights and vocabulary: stores record it so vectors of two models never mix. */
    readonly fingerprint: string,
    /** The model directory it was loaded from (undefined when built in memory). */
    readonly modelDir: string | undefined,
    opts: PipelineOptions,
  ) {
    this.batch = { textBatch: opts.textBatch ?? DEFAULTS.textBatch, patchBatch: opts.patchBatch ?? DEFAULTS.patchBatch, musicBatch: opts.musicBatch ?? DEFAULTS.musicBatch };
    for (const [k, v] of Object.entries(this.batch)) if (!Number.isInteger(v) || v < 1) throw new UsageError(`MusicBertPipeline: ${k} must be a positive integer (got ${v})`);
    if (bert && encoder.config.embedDim !== bert.config.musicDim) {
      throw new CheckpointError(`the audio encoder makes ${encoder.config.embedDim}-d vectors but MusicBert expects ${bert.config.musicDim}-d ones (mismatched checkpoints)`, modelDir);
    }
  }

  /**
   * Load `modelDir` as written by `musicbert pretrain --out DIR` or `save`: DIR/audio-encoder/
   * and DIR/musicbert/ checkpoints.
   */
  static async load(modelDir: string, opts: PipelineOptions = {}): Promise<MusicBertPipeline> {
    const dir = resolve(modelDir);
    const { encoder, model: musicbert } = modelDirs(dir);
    for (const d of [encoder, musicbert]) {
      if (!existsSync(join(d, CHECKPOINT_FILES.config))) {
        throw new CheckpointError(`not a model directory: expected audio-encoder/ and musicbert/ checkpoints (from "musicbert pretrain --out DIR"), ${d} has no ${CHECKPOINT_FILES.config}`, dir);
      }
    }
    const vocabulary = await loadVocabulary(dir);
    const pipeline = await MusicBertPipeline.loadParts({ encoder, musicbert }, { ...opts, modelDir: dir });
    pipeline.vocabulary = vocabulary;
    try {
      pipeline.prototypes = await loadPrototypes(dir, pipeline.dim);
    } catch (err) {
      pipeline.dispose();
      throw err;
    }
    return pipeline;
  }

  /**
   * Load an encoder checkpoint and, optionally, a MusicBert checkpoint from anywhere (evaluation
   * runs keep them apart). Without `musicbert` only the patch-level methods work.
   */
  static async loadParts(parts: { encoder: string; musicbert?: string }, opts: PipelineOptions & { modelDir?: string } = {}): Promise<MusicBertPipeline> {
    await ready();
    const files = [join(parts.encoder, CHECKPOINT_FILES.config), join(parts.encoder, CHECKPOINT_FILES.weights)];
    if (parts.musicbert) files.push(...[CHECKPOINT_FILES.config, CHECKPOINT_FILES.weights, CHECKPOINT_FILES.vocab].map((f) => join(parts.musicbert as string, f)));
    const encoder = await AudioEncoder.load(parts.encoder);
    let bert: MusicBert | undefined;
    try {
      bert = parts.musicbert ? await MusicBert.load(parts.musicbert) : undefined;
      return new MusicBertPipeline(encoder, bert, await fingerprintFiles(files), opts.modelDir, opts);
    } catch (err) {
      encoder.dispose();
      bert?.dispose();
      throw err;
    }
  }

  /** Wrap models already in memory (tests, benchmarks). The pipeline takes ownership: dispose() frees them. */
  static fromModels(encoder: AudioEncoder, model: MusicBert | undefined, opts: PipelineOptions & { fingerprint?: string } = {}): MusicBertPipeline {
    return new MusicBertPipeline(encoder, model, opts.fingerprint ?? 'in-memory', undefined, opts);
  }

  /** Write both models in the `load` layout (each checkpoint directory atomically). */
  async save(modelDir: string): Promise<void> {
    this.check();
    const dirs = modelDirs(resolve(modelDir));
    await this.encoder.save(dirs.encoder);
    await this.model.save(dirs.model);
    if (this.vocabulary) await saveVocabulary(resolve(modelDir), this.vocabulary);
    if (this.prototypes) await savePrototypes(resolve(modelDir), this.prototypes);
  }

  /** The shared Transformer (UsageError for an encoder-only pipeline). */
  get model(): MusicBert {
    if (!this.bert) throw new UsageError('MusicBertPipeline: this pipeline has only an audio encoder (loaded without a musicbert/ checkpoint)');
    return this.bert;
  }

  /** The temperature the joint space was aligned at (zero-shot scores use it). */
  get alignTemperature(): number {
    return this.model.config.alignTemperature;
  }

  /** Width of the joint space (the model's projDim). */
  get dim(): number {
    return this.model.config.projDim;
  }

  /** Text → unit vectors [projDim], one per text, in order. */
  async embedText(texts: string | readonly string[]): Promise<Float32Array[]> {
    this.check();
    const list = typeof texts === 'string' ? [texts] : [...texts];
    const model = this.model;
    const tok = model.tokenizer;
    if (!tok) throw new CheckpointError('the model has no tokenizer (vocab.txt): text needs a model pre-trained with album reviews', this.modelDir);
    const L = model.config.maxTextLen;
    const ids = list.map((t, i) => {
      if (typeof t !== 'string') throw new UsageError(`embedText: text ${i} is not a string`);
      const e = tok.encode(t, L);
      if (e[0] === tok.padId) throw new UsageError(`embedText: text ${i} is empty (${JSON.stringify(t.slice(0, 40))} has no words)`);
      return e;
    });
    const out: Float32Array[] = [];
    const B = this.batch.textBatch;
    for (let start = 0; start < ids.length; start += B) {
      const block = new Int32Array(B * L);
      const n = Math.min(B, ids.length - start);
      for (let i = 0; i < B; i++) {
        // Filler rows hold one [UNK] so their mean pooling has something to average (no 0/0).
        if (i < n) block.set(ids[start + i] as Int32Array, i * L);
        else block[i * L] = tok.unkId;
      }
      const proj = tf.tidy(() => {
        const o = model.forward({ textIds: tf.tensor2d(block, [B, L], 'int32') });
        return model.textProjection(o.pooledText as tf.Tensor2D); // [B, P]
      });
      const data = (await proj.data()) as Float32Array;
      proj.dispose();
      for (let i = 0; i < n; i++) out.push(data.slice(i * this.dim, (i + 1) * this.dim));
    }
    return out;
  }

  /**
   * What a text's vector depends on, as a string: the model (its fingerprint) and the token ids
   * the text encodes to. Texts that differ only in what the tokenizer drops (case, spacing,
   * punctuation, words past maxTextLen) share a key, and equal keys give bit-identical vectors
   * (one text per pass at a fixed shape), so a cache keyed by it returns exactly what embedText
   * would. Without a tokenizer the key is the text itself.
   */
  textKey(text: string): string {
    const tok = this.model.tokenizer;
    if (!tok) return `${this.fingerprint}\0${text}`;
    const ids = tok.encode(text, this.model.config.maxTextLen);
    let n = ids.length;
    while (n > 0 && ids[n - 1] === tok.padId) n--;
    return `${this.fingerprint}\0${ids.subarray(0, n).join(',')}`;
  }

  /**
   * Words of `texts` the model's vocabulary lacks (they all read as [UNK]), in first-seen order.
   * Labels made of unknown words cannot be told apart, so callers warn about them.
   */
  unknownWords(texts: string | readonly string[]): string[] {
    const tok = this.model.tokenizer;
    if (!tok) return [];
    const out = new Set<string>();
    for (const t of typeof texts === 'string' ? [texts] : texts) {
      for (const w of basicTokenize(t)) if (tok.id(w) === tok.unkId && /[\p{L}\p{N}]/u.test(w)) out.add(w);
    }
    return [...out];
  }

  /** One whole track (any length) → unit vector [projDim]. Float32Array input is mono at `sampleRate` (default 16 kHz). */
  async embedAudio(input: AudioInput, sampleRate: number = SAMPLE_RATE): Promise<Float32Array> {
    return (await this.embedTracks([input], sampleRate))[0]!.vector;
  }

  /**
   * Tracks → vectors with their music states and durations. Each track's patches go through the
   * encoder on their own (so memory is one track's log-mel, whatever the batch), then the
   * Transformer pass is batched over tracks.
   */
  async embedTracks(inputs: readonly AudioInput[], sampleRate: number = SAMPLE_RATE): Promise<TrackEmbedding[]> {
    const encoded: EncodedTrack[] = [];
    for (const input of inputs) encoded.push(await this.encodeTrack(input, sampleRate));
    const out = await this.musicPass(encoded);
    return out.map((o, i) => ({ ...o, durationS: encoded[i]!.durationS, patches: encoded[i]!.patches }));
  }

  /** Audio → every patch's frozen encoder vector, [P, musicDim] (encoder only; Table 1's encoder rows). */
  async encodeAudio(input: AudioInput, sampleRate: number = SAMPLE_RATE): Promise<PatchVectors> {
    this.check();
    const { mel, durationS, source } = await toLogMel(input, sampleRate);
    const { data, count } = toPatches(mel.data, mel.frames);
    if (count === 0) throw tooShort(durationS, source);
    const bpm = estimateTempo(mel); // a few ms beside the encoder, and the store keeps it for "slower"/"faster"
    return { data: await this.encoder.embedPatches(data, count, this.batch.patchBatch), count, durationS, ...(bpm !== undefined ? { bpm } : {}) };
  }

  /**
   * Audio → every patch's pooled all-layer encoder activations (AudioEncoder.layerFeatures),
   * [P, layerFeatureDim]: the input of Table 1's `layers` row.
   */
  async encodeAudioLayers(input: AudioInput, sampleRate: number = SAMPLE_RATE): Promise<{ data: Float32Array; count: number; dim: number }> {
    this.check();
    const { mel, durationS, source } = await toLogMel(input, sampleRate);
    const { data, count } = toPatches(mel.data, mel.frames);
    if (count === 0) throw tooShort(durationS, source);
    return { data: await this.encoder.layerPatches(data, count, this.batch.patchBatch), count, dim: this.encoder.layerFeatureDim };
  }

  /**
   * The first half of embedding one track: audio → patch vectors → at most maxMusicLen segment
   * vectors. Separate so a caller can catch a bad file before batching the Transformer pass
   * (embedSegments) over the good ones.
   */
  async encodeTrack(input: AudioInput, sampleRate: number = SAMPLE_RATE): Promise<EncodedTrack> {
    const maxSegments = this.model.config.maxMusicLen;
    const v = await this.encodeAudio(input, sampleRate);
    const seg = toSegments(v.data, v.count, maxSegments); // [S, musicDim]
    return { data: seg.data, count: seg.count, durationS: v.durationS, patches: v.count, ...(v.bpm !== undefined ? { bpm: v.bpm } : {}) };
  }

  /**
   * Per-track segment vectors ([S_i, musicDim], S_i ≤ maxMusicLen, from encodeTrack) → joint-space
   * unit vectors, with the music-only pass [CLS] music [SEP].
   */
  async embedSegments(tracks: readonly { data: Float32Array; count: number }[]): Promise<Float32Array[]> {
    return (await this.musicPass(tracks)).map((o) => o.vector);
  }

  /** The music-only pass over blocks of musicBatch tracks: pooled state [dModel] and its projection [projDim]. */
  private async musicPass(tracks: readonly { data: Float32Array; count: number }[]): Promise<{ vector: Float32Array; state: Float32Array }[]> {
    this.check();
    const model = this.model;
    const c = model.config;
    const S = c.maxMusicLen;
    const D = c.musicDim;
    const B = this.batch.musicBatch;
    const out: { vector: Float32Array; state: Float32Array }[] = [];
    for (let start = 0; start < tracks.length; start += B) {
      const n = Math.min(B, tracks.length - start);
      const music = new Float32Array(B * S * D);
      const mask = new Float32Array(B * S);
      for (let i = 0; i < B; i++) {
        if (i >= n) {
          mask[i * S] = 1; // filler row: one zero vector, so pooling never divides by zero
          continue;
        }
        const t = tracks[start + i] as { data: Float32Array; count: number };
        if (t.count < 1 || t.count > S || t.data.length !== t.count * D) {
          throw new UsageError(`embedSegments: track ${start + i} has ${t.count} segments of ${t.data.length / Math.max(1, t.count)} values; need 1..${S} of ${D}`);
        }
        music.set(t.data, i * S * D);
        mask.fill(1, i * S, i * S + t.count);
      }
      const [pooled, proj] = tf.tidy(() => {
        const o = model.forward({ music: tf.tensor3d(music, [B, S, D]), musicMask: tf.tensor2d(mask, [B, S]) });
        const p = o.pooledMusic as tf.Tensor2D; // [B, dModel]
        return [p, model.musicProjection(p)]; // [B, projDim]
      });
      const states = (await pooled.data()) as Float32Array;
      const vectors = (await proj.data()) as Float32Array;
      pooled.dispose();
      proj.dispose();
      const d = c.dModel;
      for (let i = 0; i < n; i++) out.push({ vector: vectors.slice(i * this.dim, (i + 1) * this.dim), state: states.slice(i * d, (i + 1) * d) });
    }
    return out;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.encoder.dispose();
    this.bert?.dispose();
  }

  private check(): void {
    if (this.disposed) throw new UsageError('MusicBertPipeline: used after dispose()');
  }
}

/** Any AudioInput → its 16 kHz log-mel, the audio's duration and a name for errors. */
async function toLogMel(input: AudioInput, sampleRate: number): Promise<{ mel: LogMel; durationS: number; source: string }> {
  const framesToSeconds = (frames: number): number => (frames > 0 ? ((frames - 1) * HOP + WINDOW) / SAMPLE_RATE : 0);
  if (typeof input === 'string') {
    const mel = await logMelFromFile(input);
    return { mel, durationS: framesToSeconds(mel.frames), source: input };
  }
  if (input instanceof Float32Array || input instanceof Uint8Array) {
    let samples: Float32Array;
    const source = input instanceof Float32Array ? '<samples>' : '<upload>';
    if (input instanceof Float32Array) {
      if (!Number.isFinite(sampleRate) || sampleRate <= 0) throw new UsageError(`embedAudio: sampleRate must be a positive number (got ${sampleRate})`);
      samples = sampleRate === SAMPLE_RATE ? input : await resample(input, sampleRate, SAMPLE_RATE);
    } else {
      samples = await loadAudio(input, { source });
    }
    const durationS = samples.length / SAMPLE_RATE;
    if (samples.length < MIN_SAMPLES) throw tooShort(durationS, source);
    return { mel: logMel(samples, SAMPLE_RATE), durationS, source };
  }
  if (typeof input === 'object' && input !== null && input.data instanceof Float32Array && Number.isInteger(input.frames)) {
    return { mel: input, durationS: framesToSeconds(input.frames), source: input.source ?? '<log-mel>' };
  }
  throw new UsageError('embedAudio: input must be a file path, file bytes (Uint8Array), samples (Float32Array) or a log-mel { data, frames }');
}

function tooShort(durationS: number, source: string): InvalidAudioError {
  return new InvalidAudioError(`${durationS.toFixed(2)} s of audio is shorter than one 0.96 s patch (need at least ${(MIN_SAMPLES / SAMPLE_RATE).toFixed(3)} s)`, source);
}

/** sha256 over the named files (missing optional files count as empty). */
async function fingerprintFiles(paths: string[]): Promise<string> {
  const h = createHash('sha256');
  for (const p of paths) {
    h.update(p.split('/').slice(-2).join('/'));
    h.update('\0');
    if (existsSync(p)) h.update(await readFile(p));
    h.update('\0');
  }
  return h.digest('hex');
}
