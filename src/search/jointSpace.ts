/**
 * The joint text–music space of a pre-trained model: text → [CLS] text [SEP] → textProjection,
 * audio → log-mel patches → frozen encoder → segments → [CLS] music [SEP] → musicProjection. Both
 * sides land on the unit sphere of size projDim, where the alignment objective made a review and
 * its album's tracks close (cosine similarity).
 *
 * Determinism: every tensor pass runs at a fixed shape (texts in blocks of `textBatch` rows of
 * maxTextLen tokens, patches in blocks of `patchBatch`, tracks in blocks of `musicBatch` rows of
 * maxMusicLen segments), padding the last block. With the defaults (one text, one track per pass,
 * and a track's patches starting a fresh block) an input always occupies the same rows, so it gets a
 * bit-identical vector whatever else is embedded with it (DEFAULTS says why larger text and track
 * blocks are not position-free on every BLAS kernel).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ready, tf } from '../tensor/backend.js';
import { HOP, SAMPLE_RATE, WINDOW } from '../audio/constants.js';
import { loadAudio } from '../audio/load.js';
import { logMel } from '../audio/logmel.js';
import { resample } from '../audio/resample.js';
import { logMelFromFile } from '../audio/stream.js';
import { toPatches } from '../audio/patches.js';
import type { AudioEncoder } from '../model/audioEncoder.js';
import type { MusicBert } from '../model/musicbert.js';
import { CHECKPOINT_FILES, loadAudioEncoder, loadMusicBert } from '../model/checkpoint.js';
import { toSegments } from '../model/segments.js';
import { basicTokenize, type Tokenizer } from '../text/tokenizer.js';
import { CheckpointError, InvalidAudioError, UsageError } from '../util/errors.js';

/** A track to embed: a file path, encoded file bytes, or 16 kHz (or `sampleRate`) mono samples. */
export type AudioInput = string | Uint8Array | Float32Array;

export interface TrackEmbedding {
  /** [projDim], unit length. */
  vector: Float32Array;
  /** Seconds of audio (from the decoded length; ±10 ms for streamed files). */
  durationS: number;
  /** 0.96 s patches the encoder saw. */
  patches: number;
}

/** A track after the encoder: its segment vectors [count, musicDim] (count ≤ maxMusicLen). */
export interface EncodedTrack {
  data: Float32Array;
  count: number;
  durationS: number;
  patches: number;
}

export interface JointSpaceOptions {
  textBatch?: number;
  patchBatch?: number;
  musicBatch?: number;
}

// One text and one track per Transformer pass: OpenBLAS's Haswell/Zen sgemm kernels round a row
// differently depending on its position in the product (rows 6–11 of every 12-row tile differ from
// rows 0–5 by an ulp), so two texts sharing a block would make a vector depend on its neighbours.
// A track's patches always start a fresh encoder block, so patchBatch keeps its speed.
const DEFAULTS = { textBatch: 1, patchBatch: 16, musicBatch: 1 } as const;
/** Samples in one patch's worth of frames: the shortest audio that yields a patch. */
const MIN_SAMPLES = 95 * HOP + WINDOW;

export class JointSpace {
  private readonly textBatch: number;
  private readonly patchBatch: number;
  private readonly musicBatch: number;
  private disposed = false;

  private constructor(
    private readonly encoder: AudioEncoder,
    private readonly model: MusicBert,
    private readonly tokenizer: Tokenizer | undefined,
    /** Hash of the weights and vocabulary: stores record it so vectors of two models never mix. */
    readonly fingerprint: string,
    /** The model directory it was loaded from (undefined when built in memory). */
    readonly modelDir: string | undefined,
    opts: JointSpaceOptions,
  ) {
    for (const k of ['textBatch', 'patchBatch', 'musicBatch'] as const) {
      const v = opts[k] ?? DEFAULTS[k];
      if (!Number.isInteger(v) || v < 1) throw new UsageError(`JointSpace: ${k} must be a positive integer (got ${v})`);
    }
    this.textBatch = opts.textBatch ?? DEFAULTS.textBatch;
    this.patchBatch = opts.patchBatch ?? DEFAULTS.patchBatch;
    this.musicBatch = opts.musicBatch ?? DEFAULTS.musicBatch;
    if (encoder.config.embedDim !== model.config.musicDim) {
      throw new CheckpointError(`the audio encoder makes ${encoder.config.embedDim}-d vectors but MusicBert expects ${model.config.musicDim}-d ones (mismatched checkpoints)`, modelDir);
    }
  }

  /**
   * Load `modelDir` as written by `musicbert pretrain --out DIR`: DIR/audio-encoder/ and
   * DIR/musicbert/ checkpoints.
   */
  static async load(modelDir: string, opts: JointSpaceOptions = {}): Promise<JointSpace> {
    await ready();
    const dir = resolve(modelDir);
    const encDir = join(dir, 'audio-encoder');
    const bertDir = join(dir, 'musicbert');
    for (const d of [encDir, bertDir]) {
      if (!existsSync(join(d, CHECKPOINT_FILES.config))) {
        throw new CheckpointError(`not a model directory: expected audio-encoder/ and musicbert/ checkpoints (from "musicbert pretrain --out DIR"), ${d} has no ${CHECKPOINT_FILES.config}`, dir);
      }
    }
    const fingerprint = await fingerprintFiles([
      join(encDir, CHECKPOINT_FILES.config), join(encDir, CHECKPOINT_FILES.weights),
      join(bertDir, CHECKPOINT_FILES.config), join(bertDir, CHECKPOINT_FILES.weights), join(bertDir, CHECKPOINT_FILES.vocab),
    ]);
    const encoder = await loadAudioEncoder(encDir);
    let bert: Awaited<ReturnType<typeof loadMusicBert>>;
    try {
      bert = await loadMusicBert(bertDir);
    } catch (err) {
      encoder.dispose();
      throw err;
    }
    return new JointSpace(encoder, bert.model, bert.tokenizer, fingerprint, dir, opts);
  }

  /** Wrap models already in memory (tests, benchmarks). The space takes ownership: dispose() frees them. */
  static fromModels(encoder: AudioEncoder, model: MusicBert, tokenizer: Tokenizer | undefined, opts: JointSpaceOptions & { fingerprint?: string } = {}): JointSpace {
    return new JointSpace(encoder, model, tokenizer, opts.fingerprint ?? 'in-memory', undefined, opts);
  }

  /** Width of the joint space (the model's projDim). */
  get dim(): number {
    return this.model.config.projDim;
  }

  /** Text → unit vectors [projDim], one per text, in order. */
  async embedText(texts: string | readonly string[]): Promise<Float32Array[]> {
    this.check();
    const list = typeof texts === 'string' ? [texts] : [...texts];
    const tok = this.tokenizer;
    if (!tok) throw new CheckpointError('the model has no tokenizer (vocab.txt): text needs a model pre-trained with album reviews', this.modelDir);
    const L = this.model.config.maxTextLen;
    const ids = list.map((t, i) => {
      if (typeof t !== 'string') throw new UsageError(`embedText: text ${i} is not a string`);
      const e = tok.encode(t, L);
      if (e[0] === tok.padId) throw new UsageError(`embedText: text ${i} is empty (${JSON.stringify(t.slice(0, 40))} has no words)`);
      return e;
    });
    const out: Float32Array[] = [];
    const B = this.textBatch;
    for (let start = 0; start < ids.length; start += B) {
      const block = new Int32Array(B * L);
      const n = Math.min(B, ids.length - start);
      for (let i = 0; i < B; i++) {
        // Filler rows hold one [UNK] so their mean pooling has something to average (no 0/0).
        if (i < n) block.set(ids[start + i] as Int32Array, i * L);
        else block[i * L] = tok.unkId;
      }
      const proj = tf.tidy(() => {
        const o = this.model.forward({ textIds: tf.tensor2d(block, [B, L], 'int32') });
        return this.model.textProjection(o.pooledText as tf.Tensor2D); // [B, P]
      });
      const data = (await proj.data()) as Float32Array;
      proj.dispose();
      for (let i = 0; i < n; i++) out.push(data.slice(i * this.dim, (i + 1) * this.dim));
    }
    return out;
  }

  /**
   * Words of `texts` the model's vocabulary lacks (they all read as [UNK]), in first-seen order.
   * Labels made of unknown words cannot be told apart, so callers warn about them.
   */
  unknownWords(texts: string | readonly string[]): string[] {
    const tok = this.tokenizer;
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

  async embedAudioBatch(inputs: readonly AudioInput[], sampleRate: number = SAMPLE_RATE): Promise<Float32Array[]> {
    return (await this.embedTracks(inputs, sampleRate)).map((e) => e.vector);
  }

  /**
   * Tracks → vectors with their durations. Each track's patches go through the encoder on their
   * own (so memory is one track's log-mel, whatever the batch), then the Transformer pass is
   * batched over tracks.
   */
  async embedTracks(inputs: readonly AudioInput[], sampleRate: number = SAMPLE_RATE): Promise<TrackEmbedding[]> {
    const encoded: EncodedTrack[] = [];
    for (const input of inputs) encoded.push(await this.encodeTrack(input, sampleRate));
    const vectors = await this.embedSegments(encoded);
    return vectors.map((vector, i) => ({ vector, durationS: encoded[i]!.durationS, patches: encoded[i]!.patches }));
  }

  /**
   * The first half of embedding one track: audio → patches → frozen encoder → at most
   * maxMusicLen segment vectors. Separate so a caller can catch a bad file before batching the
   * Transformer pass (embedSegments) over the good ones.
   */
  async encodeTrack(input: AudioInput, sampleRate: number = SAMPLE_RATE): Promise<EncodedTrack> {
    this.check();
    let mel: { data: Float32Array; frames: number };
    let durationS: number;
    const source = typeof input === 'string' ? input : input instanceof Float32Array ? '<samples>' : '<upload>';
    if (typeof input === 'string') {
      mel = await logMelFromFile(input);
      durationS = mel.frames > 0 ? ((mel.frames - 1) * HOP + WINDOW) / SAMPLE_RATE : 0;
    } else {
      let samples: Float32Array;
      if (input instanceof Float32Array) {
        if (!Number.isFinite(sampleRate) || sampleRate <= 0) throw new UsageError(`embedAudio: sampleRate must be a positive number (got ${sampleRate})`);
        samples = sampleRate === SAMPLE_RATE ? input : await resample(input, sampleRate, SAMPLE_RATE);
      } else if (input instanceof Uint8Array) {
        samples = await loadAudio(input, { source });
      } else {
        throw new UsageError('embedAudio: input must be a file path, file bytes (Uint8Array) or samples (Float32Array)');
      }
      durationS = samples.length / SAMPLE_RATE;
      if (samples.length < MIN_SAMPLES) throw tooShort(durationS, source);
      mel = logMel(samples, SAMPLE_RATE);
    }
    const { data, count } = toPatches(mel.data, mel.frames);
    if (count === 0) throw tooShort(durationS, source);
    const vectors = await this.encodePatches(data, count); // [count, musicDim]
    const seg = toSegments(vectors, count, this.model.config.maxMusicLen); // [S, musicDim]
    return { data: seg.data, count: seg.count, durationS, patches: count };
  }

  /** [count, 96, 64] patches → [count, musicDim], in fixed blocks of patchBatch. */
  private async encodePatches(patches: Float32Array, count: number): Promise<Float32Array> {
    const per = patches.length / count;
    const D = this.encoder.config.embedDim;
    const B = this.patchBatch;
    const out = new Float32Array(count * D);
    const block = new Float32Array(B * per);
    for (let start = 0; start < count; start += B) {
      const n = Math.min(B, count - start);
      block.fill(0);
      block.set(patches.subarray(start * per, (start + n) * per));
      const v = await this.encoder.embedPatches(block, B, B);
      out.set(v.subarray(0, n * D), start * D);
    }
    return out;
  }

  /**
   * Per-track segment vectors ([S_i, musicDim], S_i ≤ maxMusicLen, from toSegments) → joint-space
   * unit vectors, with the music-only pass [CLS] music [SEP].
   */
  async embedSegments(tracks: readonly { data: Float32Array; count: number }[]): Promise<Float32Array[]> {
    this.check();
    const c = this.model.config;
    const S = c.maxMusicLen;
    const D = c.musicDim;
    const B = this.musicBatch;
    const out: Float32Array[] = [];
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
      const proj = tf.tidy(() => {
        const o = this.model.forward({ music: tf.tensor3d(music, [B, S, D]), musicMask: tf.tensor2d(mask, [B, S]) });
        return this.model.musicProjection(o.pooledMusic as tf.Tensor2D); // [B, P]
      });
      const data = (await proj.data()) as Float32Array;
      proj.dispose();
      for (let i = 0; i < n; i++) out.push(data.slice(i * this.dim, (i + 1) * this.dim));
    }
    return out;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.encoder.dispose();
    this.model.dispose();
  }

  private check(): void {
    if (this.disposed) throw new UsageError('JointSpace: used after dispose()');
  }
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
