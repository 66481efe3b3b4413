/**
 * An embedding worker: takes track jobs from the queue, embeds each with the model, and hands the
 * vector back as the job's result (the writer commits it). Any number of workers, on any machine
 * that sees the files, can serve one queue.
 *
 * Faults: a worker that dies mid-job loses its lock; another worker's stalled-job check puts the
 * job back in the queue after `lockMs` (BullMQ). A file that does not decode is listed, with its
 * error, in the job's result (the rest of the batch is embedded); a model that is not the store's
 * fails the job at once (UnrecoverableError); any other error is retried with exponential back-off. `close()` (SIGTERM in the CLI) finishes the job in flight.
 *
 * With `jobs` > 1 the files of a job are decoded to log-mel on that many front-end threads
 * (FrontEndPool, as `index --jobs`) while this thread runs the model: the log-mel is the same
 * code either way, so the vectors do not depend on `jobs`.
 */
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { RedisOptions } from 'ioredis';
import { FrontEndPool } from '../../audio/frontEndPool.js';
import { UsageError } from '../../util/errors.js';
import { embedBatch, type BatchEmbedder } from '../indexer.js';
import { encodeVector, type EmbedJob, type EmbedResult } from './jobs.js';

/** The embedding a worker needs: the batch step `index` uses, so vectors match bit for bit. */
export type TrackEmbedder = BatchEmbedder & { readonly fingerprint: string };

export interface WorkerOptions {
  /** Connection options (connection.ts: parseQueueUrl). */
  redis: RedisOptions;
  queue: string;
  space: TrackEmbedder;
  /** Ms a job stays locked without renewal before it counts as stalled (default 30000). */
  lockMs?: number;
  /** Ms between stalled-job checks (default lockMs). */
  stalledMs?: number;
  /** Called when a job starts and ends (CLI log lines). */
  onJob?: (event: 'start' | 'done' | 'failed', job: Job<EmbedJob, EmbedResult>, detail?: string) => void;
  /** Fault injection for tests: ms to wait after a job starts, before embedding. */
  delayMs?: number;
  /** Front-end threads (default 1: decoded on this thread). */
  jobs?: number;
}

export interface EmbedWorker {
  /** Jobs completed and failed by this worker so far. */
  readonly stats: { done: number; failed: number };
  /** Finish the job in flight, then stop taking jobs. */
  close(): Promise<void>;
}

/** Start a worker; it runs until close(). */
export function startWorker(opts: WorkerOptions): EmbedWorker {
  const { space } = opts;
  const stats = { done: 0, failed: 0 };
  const lockMs = opts.lockMs ?? 30000;
  const jobs = opts.jobs ?? 1;
  if (!Number.isInteger(jobs) || jobs < 1) throw new UsageError(`--jobs must be a positive integer (got ${jobs})`);
  let pool = jobs > 1 ? new FrontEndPool(jobs) : undefined;
  const process = async (job: Job<EmbedJob, EmbedResult>): Promise<EmbedResult> => {
    const data = job.data;
    if (data.model !== space.fingerprint) {
      throw new UnrecoverableError(`this worker's model (${space.fingerprint.slice(0, 12)}) is not the one the store holds (${data.model.slice(0, 12)}); start workers with the same --model as index`);
    }
    opts.onJob?.('start', job);
    if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
    let feed: ReturnType<FrontEndPool['prefetch']> | undefined;
    if (pool?.broken) {
      // A front-end thread died (out of memory, a native fault): start a fresh pool for this job.
      void pool.close();
      pool = new FrontEndPool(jobs);
    }
    if (pool) feed = pool.prefetch(data.items.map((it) => it.path));
    const { entries, failed } = await embedBatch(space, data.items, undefined, feed ? (_, i) => (feed as NonNullable<typeof feed>).get(i) : undefined);
    return { tracks: entries.map((e) => ({ id: e.id, durationS: e.durationS, ...(e.bpm !== undefined ? { bpm: e.bpm } : {}), vector: encodeVector(e.vector) })), failed };
  };
  const worker = new Worker<EmbedJob, EmbedResult>(opts.queue, process, {
    connection: opts.redis,
    concurrency: 1, // the model already uses every core for one track
    lockDuration: lockMs,
    stalledInterval: opts.stalledMs ?? lockMs,
    maxStalledCount: 3,
    autorun: true,
  });
  worker.on('completed', (job, r) => {
    stats.done++;
    opts.onJob?.('done', job, `${r.tracks.length} embedded${r.failed.length > 0 ? `, ${r.failed.length} unreadable` : ''}`);
  });
  worker.on('failed', (job, err) => {
    stats.failed++;
    if (job) opts.onJob?.('failed', job, err.message);
  });
  // Connection errors during a Redis restart are retried by ioredis; keep them off the console.
  worker.on('error', () => {});
  return {
    stats,
    close: async () => {
      await worker.close();
      await pool?.close();
    },
  };
}

