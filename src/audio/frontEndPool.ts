/**
 * The front end (decode → mono → 16 kHz → log-mel, logMelFromFile) on worker threads, so indexing
 * uses every core: the workers decode the next files while the calling thread runs the encoder
 * and the Transformer. A worker's log-mel is computed by the same code as in-process, so it is
 * bit-identical; errors come back as the same classes (AudioDecodeError, InvalidAudioError, …)
 * with the same messages.
 *
 *   const pool = new FrontEndPool(4);
 *   const mel = await pool.logMel('a.mp3');   // { data: [frames, 64], frames }
 *   await pool.close();
 */
import { Worker } from 'node:worker_threads';
import { AudioDecodeError, AudioTooLongError, DatasetError, InvalidAudioError, IoError, MusicBertError, UsageError } from '../util/errors.js';
import type { LogMel } from './logmel.js';

/** Messages between FrontEndPool and frontEndWorker.ts. */
export interface FrontEndJob {
  id: number;
  path: string;
}
export interface FrontEndError {
  name: string;
  message: string;
  source?: string | undefined;
  limitS?: number | undefined;
}
export type FrontEndReply =
  | { type: 'ready' }
  | { type: 'warning'; id: number; line: string }
  | { type: 'done'; id: number; data: Float32Array; frames: number }
  | { type: 'failed'; id: number; error: FrontEndError };

const ERROR_CLASSES: Record<string, new (message: string, source?: string) => MusicBertError> = { AudioDecodeError, InvalidAudioError, DatasetError, IoError };

/** A worker's error as the class it was thrown as, with the same message and source. */
function revive(e: FrontEndError): Error {
  if (e.name === 'AudioTooLongError' && e.limitS !== undefined) return new AudioTooLongError(e.limitS, e.source);
  const Cls = ERROR_CLASSES[e.name];
  if (Cls) {
    const prefix = e.source !== undefined ? `${e.source}: ` : '';
    return new Cls(e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message, e.source);
  }
  if (e.name === 'UsageError') return new UsageError(e.message);
  return new Error(`front-end worker: ${e.message}`);
}

/** The worker's entry: the compiled .js next to this file, or the .ts source under tsx (tests). */
function spawn(): Worker {
  const url = new URL(`./frontEndWorker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);
  // One BLAS thread per worker (the front end uses none, but the addon sets it on load).
  const opts = { env: { ...process.env, MUSICBERT_THREADS: '1' } };
  if (!url.href.endsWith('.ts')) return new Worker(url, opts);
  // Workers do not inherit tsx's loader: register it first, then import the TypeScript entry.
  const tsx = import.meta.resolve('tsx/esm/api');
  return new Worker(`import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); });`, { ...opts, eval: true });
}

interface Job {
  id: number;
  path: string;
  resolve: (m: LogMel) => void;
  reject: (e: unknown) => void;
}

export interface FrontEndPoolOptions {
  /** Where decoder warnings go (default: stderr, as in-process). */
  onWarning?: (line: string) => void;
}

export class FrontEndPool {
  private readonly workers: { w: Worker; job: Job | undefined }[] = [];
  private readonly queue: Job[] = [];
  private nextId = 0;
  private closed = false;
  private failure: Error | undefined;

  constructor(
    readonly size: number,
    private readonly opts: FrontEndPoolOptions = {},
  ) {
    if (!Number.isInteger(size) || size < 1) throw new UsageError(`--jobs must be a positive integer (got ${size})`);
    for (let i = 0; i < size; i++) this.addWorker();
  }

  /** A worker died: every call fails from now on (a caller that lives on replaces the pool). */
  get broken(): boolean {
    return this.failure !== undefined;
  }

  /** logMelFromFile(path) on a worker. */
  logMel(path: string): Promise<LogMel> {
    if (this.closed) return Promise.reject(new UsageError('FrontEndPool: used after close()'));
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<LogMel>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, path, resolve, reject });
      this.pump();
    });
  }

  /**
   * The log-mels of `paths` in order, computed up to `ahead` files in advance: get(i) returns
   * file i's promise and starts the files up to i + ahead. Rejections are held until get().
   */
  prefetch(paths: readonly string[], ahead = 2 * this.size): { get(i: number): Promise<LogMel> } {
    const started: Promise<LogMel>[] = [];
    const start = (upTo: number): void => {
      for (let j = started.length; j < Math.min(paths.length, upTo); j++) {
        const p = this.logMel(paths[j] as string);
        p.catch(() => undefined); // handled when get(j) is awaited
        started.push(p);
      }
    };
    return {
      get: (i: number): Promise<LogMel> => {
        start(i + 1 + ahead);
        const p = started[i];
        if (!p) return Promise.reject(new UsageError(`FrontEndPool.prefetch: no file ${i}`));
        delete started[i]; // release the log-mel once handed out
        return p;
      },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const j of this.queue.splice(0)) j.reject(new UsageError('FrontEndPool closed'));
    await Promise.all(this.workers.map(({ w }) => w.terminate()));
  }

  private addWorker(): void {
    const slot: { w: Worker; job: Job | undefined; ready: boolean } = { w: spawn(), job: undefined, ready: false };
    this.workers.push(slot);
    // Referenced while starting or busy, so a caller awaiting a log-mel keeps the process alive;
    // unreferenced when idle, so a forgotten close() does not hang the process.
    const idle = (): void => {
      if (!slot.job) slot.w.unref();
    };
    slot.w.on('message', (m: FrontEndReply) => {
      if (m.type === 'ready') {
        slot.ready = true;
        this.pump();
        idle();
        return;
      }
      if (m.type === 'warning') {
        (this.opts.onWarning ?? ((l: string) => process.stderr.write(`musicbert: warning: ${l}\n`)))(m.line);
        return;
      }
      const job = slot.job;
      slot.job = undefined;
      if (job && job.id === m.id) {
        if (m.type === 'done') job.resolve({ data: m.data, frames: m.frames });
        else job.reject(revive(m.error));
      }
      this.pump();
      idle();
    });
    const fail = (err: Error): void => {
      if (this.closed) return;
      // A crashed worker (out of memory, a native fault) fails its job and every later one: the
      // caller sees the error rather than a silent slowdown.
      this.failure = new Error(`front-end worker died: ${err.message}`, { cause: err });
      slot.job?.reject(this.failure);
      slot.job = undefined;
      for (const j of this.queue.splice(0)) j.reject(this.failure);
    };
    slot.w.on('error', fail);
    slot.w.on('exit', (code) => fail(new Error(`exit code ${code}`)));
  }

  private pump(): void {
    for (const slot of this.workers as { w: Worker; job: Job | undefined; ready: boolean }[]) {
      if (!slot.ready || slot.job) continue;
      const job = this.queue.shift();
      if (!job) return;
      slot.job = job;
      slot.w.ref();
      slot.w.postMessage({ id: job.id, path: job.path } satisfies FrontEndJob);
    }
  }
}
