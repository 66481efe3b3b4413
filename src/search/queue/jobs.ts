/**
 * What travels through the indexing queue: one job per small batch of tracks (their catalogue
 * metadata and the model to embed them with) and, back, their joint-space vectors as base64
 * float32 bytes (exact: the writer stores the bits the worker computed) plus the tracks whose
 * files did not decode. Batches are the same slices of the catalogue `index` embeds together, so
 * the vectors equal a single-process run's bit for bit (see embedBatch).
 */
import { createHash } from 'node:crypto';
import type { CatalogueItem, IndexFailure } from '../indexer.js';

export interface EmbedJob {
  items: CatalogueItem[];
  /** Fingerprint of the model the store holds vectors of; a worker with another model refuses the job. */
  model: string;
  /** Absolute store directory the writer commits to (jobs of another store are left alone). */
  store: string;
}

export interface EmbedResult {
  tracks: {
    id: string;
    durationS: number;
    /** Measured tempo (BPM), when the audio holds one. */
    bpm?: number;
    /** [dim] float32, little-endian, base64. */
    vector: string;
  }[];
  failed: IndexFailure[];
}

/** BullMQ job name (one kind of job per queue). */
export const EMBED = 'embed';

/**
 * The job id of a batch: the same tracks for the same store and model always get the same id, so
 * enqueuing them again (a re-run, a writer restart) is a no-op in BullMQ instead of a second job.
 */
export function jobId(store: string, model: string, ids: readonly string[]): string {
  const h = createHash('sha256').update(store).update('\0').update(model);
  for (const id of ids) h.update('\0').update(id);
  return h.digest('hex').slice(0, 32);
}

export function encodeVector(v: Float32Array): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}

export function decodeVector(s: string): Float32Array {
  const b = Buffer.from(s, 'base64');
  const out = new Float32Array(b.byteLength / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}
