/**
 * WorkerModel: the server's model work on worker threads.
 *
 * - Each worker loads the model directory once and runs one job at a time.
 * - Text jobs waiting when a worker frees up are merged into one job (concurrent searches share
 *   one message and one call; JointSpace embeds at fixed shapes, so a text's vector is the same
 *   whatever it is merged with).
 * - Uploads run on at most `workers - 1` workers at once (one, with a single worker), so a slow
 *   upload never holds every worker while searches wait.
 * - Workers run at a lower priority (WORKER_NICE) than the thread answering requests.
 * - A job whose signal aborts (the request's time limit) is dropped from the queue, or, when it
 *   is running, its worker is terminated and replaced: the work really stops.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { AudioDecodeError, AudioTooLongError, CheckpointError, ConfigError, DatasetError, InvalidAudioError, IoError, MusicBertError, UsageError } from '../util/errors.js';
import { HttpError } from './http.js';
import type { EmbedFileOptions, FileEmbedding, ServeModel } from './model.js';
import type { WorkerError, WorkerJob, WorkerReply } from './workerProtocol.js';

/** Most texts merged into one job (a few model blocks: bounded latency for the first). */
const MAX_TEXTS_PER_JOB = 64;
/** Text jobs allowed to wait, per allowed upload. */
const TEXT_QUEUE_FACTOR = 16;

interface Pending {
  kind: 'text' | 'file';
  texts: string[];
  path: string;
  maxSeconds: number;
  resolve: (r: { vectors: Float32Array[]; durationS?: number }) => void;
  reject: (err: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort?: () => void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  /** The jobs of the message in flight (several merged text jobs, or one upload). */
  running: Pending[];
  runningKind: 'text' | 'file' | undefined;
  msgId: number;
}

const ERROR_CLASSES: Record<string, new (message: string, source?: string) => MusicBertError> = {
  AudioDecodeError, InvalidAudioError, DatasetError, CheckpointError, ConfigError, IoError,
};

/** A worker's error as the same class it was thrown as (so statuses and messages match in-process ones). */
export function reviveError(e: WorkerError): Error {
  if (e.name === 'AudioTooLongError' && e.limitS !== undefined) return new AudioTooLongError(e.limitS, e.source);
  if (e.name === 'UsageError') return new UsageError(e.message);
  const Cls = ERROR_CLASSES[e.name];
  if (Cls) {
    const prefix = e.source !== undefined ? `${e.source}: ` : '';
    return new Cls(e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message, e.source);
  }
  return new Error(`model worker: ${e.message}`);
}

/**
 * Nice value of the model workers (Linux): a decoding upload or a burst of model passes then
 * never delays the event loop's answers (GET /api/info while an upload decodes; cached searches).
 */
export const WORKER_NICE = 5;

/** The worker's entry: the compiled .js next to this file, or the .ts source under tsx (tests). */
function spawn(modelDir: string): Worker {
  const url = new URL(`./modelWorker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);
  // One BLAS thread per worker: the workers themselves use the cores.
  const opts = { workerData: { modelDir, nice: WORKER_NICE }, env: { ...process.env, MUSICBERT_THREADS: '1' } };
  if (!url.href.endsWith('.ts')) return new Worker(url, opts);
  // Workers do not inherit tsx's loader: register it first, then import the TypeScript entry.
  const tsx = import.meta.resolve('tsx/esm/api');
  return new Worker(`import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); });`, { ...opts, eval: true });
}

export interface WorkerModelOptions {
  modelDir: string;
  /** Worker threads (default: the machine's cores, at most 4). */
  workers?: number;
  /** Jobs allowed to wait; more are refused with a 503 "busy". */
  maxQueue?: number;
}

export class WorkerModel implements ServeModel {
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 1;
  /** Workers terminated because a request ran over its time limit (replaced each time). */
  stopped = 0;
  private closed = false;
  private fatal: Error | undefined;
  private readonly maxFiles: number;
  private readonly maxQueue: number;

  private constructor(private readonly opts: WorkerModelOptions) {
    const n = opts.workers ?? Math.min(4, availableParallelism());
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`workers must be a positive integer (got ${n})`);
    this.maxFiles = Math.max(1, n - 1);
    this.maxQueue = opts.maxQueue ?? 16;
    for (let i = 0; i < n; i++) this.slots.push(this.start());
  }

  /** Start the workers and wait until they have loaded the model (so a bad model fails here). */
  static async start(opts: WorkerModelOptions): Promise<WorkerModel> {
    const m = new WorkerModel(opts);
    try {
      await m.ready();
    } catch (err) {
      await m.close();
      throw err;
    }
    return m;
  }

  /** Resolves once every worker has loaded the model (e.g. after one was replaced); rejects if the model cannot load. */
  ready(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (this.fatal) reject(this.fatal);
        else if (this.slots.every((s) => s.ready)) resolve();
        else setTimeout(check, 20);
      };
      check();
    });
  }

  /** Worker threads running (for tests and /api/info). */
  get size(): number {
    return this.slots.length;
  }

  embedText(texts: readonly string[]): Promise<Float32Array[]> {
    return this.enqueue({ kind: 'text', texts: [...texts], path: '', maxSeconds: 0 }, undefined).then((r) => r.vectors);
  }

  embedFile(path: string, opts: EmbedFileOptions): Promise<FileEmbedding> {
    return this.enqueue({ kind: 'file', texts: [], path, maxSeconds: opts.maxSeconds }, opts.signal).then((r) => ({ vector: r.vectors[0] as Float32Array, durationS: r.durationS ?? 0 }));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.queue.splice(0)) this.settle(p, new HttpError(503, 'the server is shutting down'));
    await Promise.all(this.slots.map(async (s) => {
      for (const p of s.running.splice(0)) this.settle(p, new HttpError(503, 'the server is shutting down'));
      await s.worker.terminate();
    }));
  }

  private enqueue(job: Omit<Pending, 'resolve' | 'reject' | 'signal'>, signal: AbortSignal | undefined): Promise<{ vectors: Float32Array[]; durationS?: number }> {
    if (this.closed) return Promise.reject(new HttpError(503, 'the server is shutting down'));
    if (this.fatal) return Promise.reject(this.fatal);
    if (signal?.aborted) return Promise.reject(signal.reason);
    // Uploads wait at most maxQueue deep; text jobs are short and merged, so they may queue deeper.
    const waiting = this.queue.filter((p) => p.kind === job.kind).length;
    if (waiting >= (job.kind === 'file' ? this.maxQueue : TEXT_QUEUE_FACTOR * this.maxQueue)) return Promise.reject(new HttpError(503, 'the server is busy; try again shortly'));
    return new Promise((resolve, reject) => {
      const p: Pending = { ...job, resolve, reject, signal };
      if (signal) {
        p.onAbort = () => this.abort(p);
        signal.addEventListener('abort', p.onAbort, { once: true });
      }
      this.queue.push(p);
      this.dispatch();
    });
  }

  private settle(p: Pending, err: unknown, value?: { vectors: Float32Array[]; durationS?: number }): void {
    if (p.onAbort) p.signal?.removeEventListener('abort', p.onAbort);
    if (err !== undefined) p.reject(err);
    else p.resolve(value as { vectors: Float32Array[]; durationS?: number });
  }

  private abort(p: Pending): void {
    const q = this.queue.indexOf(p);
    if (q >= 0) {
      this.queue.splice(q, 1);
      this.settle(p, p.signal?.reason);
      return;
    }
    const slot = this.slots.find((s) => s.running.includes(p));
    if (!slot) return;
    // Stop the work for real: terminate the worker (any texts merged into its job fail with it) and replace it.
    const running = slot.running.splice(0);
    for (const r of running) this.settle(r, r === p ? p.signal?.reason : new HttpError(503, 'the request was cut off with another that ran over its time limit; try again'));
    void slot.worker.terminate();
    this.stopped++;
    this.slots[this.slots.indexOf(slot)] = this.start();
  }

  private start(): Slot {
    const slot: Slot = { worker: spawn(this.opts.modelDir), ready: false, running: [], runningKind: undefined, msgId: 0 };
    slot.worker.on('message', (m: WorkerReply) => this.onMessage(slot, m));
    slot.worker.on('error', (err) => this.onExit(slot, err));
    slot.worker.on('exit', (code) => this.onExit(slot, new Error(`model worker exited with code ${code}`)));
    slot.worker.unref();
    return slot;
  }

  private onMessage(slot: Slot, m: WorkerReply): void {
    if (m.type === 'ready') {
      slot.ready = true;
      this.dispatch();
      return;
    }
    if (m.type === 'fatal') {
      this.fatal = reviveError(m.error);
      for (const p of this.queue.splice(0)) this.settle(p, this.fatal);
      return;
    }
    if (m.id !== slot.msgId) return; // a reply for work already given up on
    const running = slot.running.splice(0);
    slot.runningKind = undefined;
    slot.worker.unref();
    if (m.type === 'failed') {
      const err = reviveError(m.error);
      for (const p of running) this.settle(p, err);
    } else {
      let at = 0;
      for (const p of running) {
        if (p.kind === 'text') {
          this.settle(p, undefined, { vectors: m.vectors.slice(at, at + p.texts.length) });
          at += p.texts.length;
        } else this.settle(p, undefined, { vectors: m.vectors, ...(m.durationS !== undefined ? { durationS: m.durationS } : {}) });
      }
    }
    this.dispatch();
  }

  private onExit(slot: Slot, err: Error): void {
    const i = this.slots.indexOf(slot);
    if (i < 0 || this.closed) return; // already replaced (terminated on abort) or shutting down
    const running = slot.running.splice(0);
    for (const p of running) this.settle(p, new MusicBertError('IO', `the model worker stopped while working on this request (${err.message})`));
    if (this.fatal) {
      this.slots.splice(i, 1);
      return;
    }
    this.slots[i] = this.start();
  }

  private dispatch(): void {
    for (;;) {
      const idle = this.slots.find((s) => s.ready && s.running.length === 0);
      if (!idle || this.queue.length === 0) return;
      const filesRunning = this.slots.filter((s) => s.runningKind === 'file').length;
      const qi = this.queue.findIndex((p) => p.kind === 'text' || filesRunning < this.maxFiles);
      if (qi < 0) return;
      const first = this.queue[qi] as Pending;
      let batch: Pending[];
      if (first.kind === 'file') batch = this.queue.splice(qi, 1);
      else {
        batch = [];
        let texts = 0;
        for (let i = 0; i < this.queue.length; ) {
          const p = this.queue[i] as Pending;
          if (p.kind === 'text' && (batch.length === 0 || texts + p.texts.length <= MAX_TEXTS_PER_JOB)) {
            batch.push(p);
            texts += p.texts.length;
            this.queue.splice(i, 1);
          } else i++;
        }
      }
      idle.running = batch;
      idle.runningKind = first.kind;
      idle.msgId = this.nextId++;
      const msg: WorkerJob = first.kind === 'file'
        ? { id: idle.msgId, kind: 'file', path: first.path, maxSeconds: first.maxSeconds }
        : { id: idle.msgId, kind: 'text', texts: batch.flatMap((p) => p.texts) };
      idle.worker.ref(); // pending work keeps the process alive; an idle worker does not
      idle.worker.postMessage(msg);
    }
  }
}
