/**
 * What the server needs from a model, behind one small interface so the implementation can change
 * (today a JointSpace; later the embedding facade of src/model/pipeline.ts) without touching the
 * routes: texts → vectors, and an uploaded file → its vector and duration.
 *
 * Two implementations: WorkerModel (worker threads, so decoding and model passes never block the
 * event loop, a request over its time limit really stops, and both cores serve) and
 * InProcessModel (a model only in memory, e.g. built by a test, which a worker cannot reload).
 */
import { SAMPLE_RATE } from '../audio/constants.js';
import { samplesFromFile } from '../audio/stream.js';
import type { JointSpace } from '../search/jointSpace.js';

export interface FileEmbedding {
  /** [projDim] unit vector. */
  vector: Float32Array;
  /** Seconds of decoded audio. */
  durationS: number;
}

export interface EmbedFileOptions {
  /** Refuse (AudioTooLongError) audio past this many seconds, found while decoding. */
  maxSeconds: number;
  /** Abort the work (a worker is stopped and replaced). */
  signal?: AbortSignal;
}

export interface ServeModel {
  /** Texts → [projDim] unit vectors, in order. */
  embedText(texts: readonly string[]): Promise<Float32Array[]>;
  /** An audio file on disk (an upload written to a temp file) → its vector; decoding streams. */
  embedFile(path: string, opts: EmbedFileOptions): Promise<FileEmbedding>;
  close(): Promise<void>;
}

/** The work itself, shared by both implementations (the worker calls it too). */
export async function embedFileWith(space: JointSpace, path: string, maxSeconds: number): Promise<FileEmbedding> {
  // 16 kHz mono, decoded block by block under the duration limit: at most maxSeconds of samples in memory.
  const samples = await samplesFromFile(path, { maxSeconds, onWarning: () => undefined });
  const [e] = await space.embedTracks([samples], SAMPLE_RATE);
  return { vector: e!.vector, durationS: e!.durationS };
}

/** The model on the calling thread: work blocks the event loop, and a time limit cannot stop it. */
export class InProcessModel implements ServeModel {
  constructor(private readonly space: JointSpace) {}

  embedText(texts: readonly string[]): Promise<Float32Array[]> {
    return this.space.embedText(texts);
  }

  async embedFile(path: string, opts: EmbedFileOptions): Promise<FileEmbedding> {
    opts.signal?.throwIfAborted();
    return embedFileWith(this.space, path, opts.maxSeconds);
  }

  async close(): Promise<void> {}
}
