/**
 * `index --queue`: the one writer of a distributed indexing run. It lists the catalogue, enqueues
 * one job per batch of `batch` tracks not yet stored, and commits the vectors workers return to
 * the store (one commit per poll of up to four finished batches); then compacts and builds the approximate index as the single-machine `index` does.
 *
 * Exactly once, whatever dies: job ids are derived from (store, model, track id), so enqueuing
 * again is a no-op; a completed job is removed from Redis only after its vector is committed, and
 * an id already in the store is never added again (a writer killed between the two steps re-runs
 * into "already stored, remove the job"). If Redis lost jobs (restarted without persistence), the
 * writer sees the queue idle with tracks missing and enqueues those again. Jobs that failed keep
 * their error in Redis and are listed in the report; the next run retries them once.
 */
import type { Job } from 'bullmq';
import { Queue } from 'bullmq';
import { IoError, UsageError } from '../../util/errors.js';
import { Progress } from '../../util/progress.js';
import { finishIndex, listCatalogue, openForWriting, type CatalogueItem, type IndexFailure, type IndexOptions, type IndexReport } from '../indexer.js';
import { VectorStore, type TrackEntry } from '../store.js';
import { checkRedis, parseQueueUrl } from './connection.js';
import { EMBED, decodeVector, jobId, type EmbedJob, type EmbedResult } from './jobs.js';

export interface QueueIndexOptions extends Omit<IndexOptions, 'space'> {
  /** redis://HOST:PORT[/DB[/QUEUE]] */
  queue: string;
  /** The model the workers must use: the store records it, jobs carry its fingerprint. */
  space: { dim: number; fingerprint: string; modelDir?: string | undefined };
  /** Attempts per job before it counts as failed (default 3), with exponential back-off from backoffMs (default 1000). */
  attempts?: number;
  backoffMs?: number;
  /** Ms between polls of the queue when nothing is ready (default 200). */
  pollMs?: number;
}

type EmbedJobHandle = Job<EmbedJob, EmbedResult>;

/** Jobs per addBulk call. */
const ENQUEUE_CHUNK = 500;
/** Consecutive idle polls with tracks missing and nothing enqueued before giving up. */
const MAX_IDLE_REFILLS = 5;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function indexViaQueue(opts: QueueIndexOptions): Promise<IndexReport> {
  const started = Date.now();
  const batch = opts.batch ?? 8;
  if (!Number.isInteger(batch) || batch < 1) throw new UsageError(`--batch must be a positive integer (got ${batch})`);
  const attempts = opts.attempts ?? 3;
  const pollMs = opts.pollMs ?? 200;
  const addr = parseQueueUrl(opts.queue);
  const listing = await listCatalogue(opts.input, opts.load);
  const { space } = opts;
  const create: { dim: number; model: string; modelDir?: string } = { dim: space.dim, model: space.fingerprint };
  if (space.modelDir) create.modelDir = space.modelDir;
  const { store, lock, duplicatesRemoved } = await openForWriting(opts.db, create);
  await checkRedis(addr).catch(async (err) => {
    store.close();
    await lock.release();
    throw err;
  });
  const queue = new Queue<EmbedJob, EmbedResult, string>(addr.name, { connection: addr.redis });
  queue.on('error', () => {}); // reconnects during a Redis restart
  try {
    const have = await store.ids();
    // Fixed slices of the whole listing (not of what is left), so a batch is the same set of
    // tracks in every run: its job id is stable and its vectors equal a single-process run's.
    const chunks: CatalogueItem[][] = [];
    for (let s = 0; s < listing.items.length; s += batch) chunks.push(listing.items.slice(s, s + batch));
    const todoChunks = chunks.filter((c) => c.some((it) => !have.has(it.id)));
    const todo = todoChunks.flat().filter((it) => !have.has(it.id));
    const chunkOf = new Map<string, CatalogueItem[]>();
    for (const c of todoChunks) for (const it of c) chunkOf.set(it.id, c);
    const byId = new Map(todo.map((it) => [it.id, it]));
    const mine = (j: EmbedJobHandle | undefined): j is EmbedJobHandle => j !== undefined && j.data?.store === store.path && j.data.model === space.fingerprint;
    const enqueue = async (list: CatalogueItem[][]) => {
      for (let s = 0; s < list.length; s += ENQUEUE_CHUNK) {
        await queue.addBulk(list.slice(s, s + ENQUEUE_CHUNK).map((items) => ({
          name: EMBED,
          data: { items, model: space.fingerprint, store: store.path },
          opts: { jobId: jobId(store.path, space.fingerprint, items.map((it) => it.id)), attempts, backoff: { type: 'exponential', delay: opts.backoffMs ?? 1000 }, removeOnComplete: false, removeOnFail: false },
        })));
      }
    };

    // Batches that failed in an earlier run get one more try (a file may have been fixed).
    for (const j of (await queue.getJobs(['failed'])) as EmbedJobHandle[]) {
      if (mine(j) && j.data.items.some((it) => byId.has(it.id))) await j.retry('failed');
    }
    await enqueue(todoChunks);

    const progress = new Progress({ label: 'index', total: todo.length, quiet: opts.quiet ?? false });
    const failed = new Map<string, IndexFailure>();
    const fail = (f: IndexFailure) => {
      if (failed.has(f.id) || !byId.has(f.id)) return;
      failed.set(f.id, f);
      progress.tick(1, `${failed.size} failed`);
    };
    let added = 0;
    let interrupted = false;
    let idleRefills = 0;
    const embedStart = Date.now();
    for (;;) {
      if (opts.signal?.aborted) {
        interrupted = true;
        break;
      }
      // Commit completed batches, then remove their jobs (in that order: see the module comment).
      const window = (await queue.getJobs(['completed'], 0, 3, true)) as EmbedJobHandle[];
      const done = window.filter(mine);
      if (done.length === 0 && window.length > 0) {
        throw new UsageError(`queue ${addr.display} holds completed jobs of another store or model; give each catalogue its own queue name (redis://HOST:PORT/DB/NAME)`);
      }
      const entries: TrackEntry[] = [];
      const seen = new Set<string>();
      for (const j of done) {
        for (const t of j.returnvalue?.tracks ?? []) {
          const item = byId.get(t.id);
          // Stored already (a batch that ran twice, a writer restart) or no longer in the input: skip.
          if (!item || have.has(t.id) || seen.has(t.id)) continue;
          seen.add(t.id);
          entries.push({ ...item, durationS: t.durationS, ...(t.bpm !== undefined ? { bpm: t.bpm } : {}), vector: decodeVector(t.vector) });
        }
        for (const f of j.returnvalue?.failed ?? []) fail(f);
      }
      if (entries.length > 0) {
        await store.add(entries);
        for (const e of entries) have.add(e.id);
        added += entries.length;
        progress.tick(entries.length, failed.size > 0 ? `${failed.size} failed` : undefined);
        opts.onBatch?.(have.size);
      }
      await Promise.all(done.map((j) => j.remove()));
      if (done.length > 0) {
        idleRefills = 0;
        continue;
      }

      // Batches whose job failed for good (every attempt threw): each of their tracks failed.
      for (const j of (await queue.getJobs(['failed'])) as EmbedJobHandle[]) {
        if (mine(j)) for (const it of j.data.items) if (!have.has(it.id)) fail({ id: it.id, path: it.path, problem: j.failedReason || 'failed' });
      }
      const left = todo.filter((it) => !have.has(it.id) && !failed.has(it.id));
      if (left.length === 0) break;
      const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'paused', 'waiting-children', 'completed');
      const pending = Object.values(c).reduce((a, b) => a + b, 0);
      if (pending === 0) {
        // Idle yet tracks missing: their jobs were lost (Redis restarted without its data).
        if (++idleRefills > MAX_IDLE_REFILLS) throw new IoError(`${left.length} tracks are neither stored, queued nor failed after ${MAX_IDLE_REFILLS} re-enqueues (first: ${left[0]?.id})`, addr.display);
        await enqueue([...new Set(left.map((it) => chunkOf.get(it.id) as CatalogueItem[]))]);
      }
      await sleep(pollMs);
    }
    return await finishIndex(store, { listing, todo: todo.length, added, failed: [...failed.values()], interrupted, ann: opts.ann ?? 'auto', duplicatesRemoved, started, embedStart, progress });
  } finally {
    await queue.close().catch(() => {});
    store.close();
    await lock.release();
  }
}
