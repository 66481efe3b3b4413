/**
 * A model worker thread (see WorkerModel in workerPool.ts): loads the model directory once, then
 * answers one job at a time. Errors go back as plain data naming their class, so the server can
 * map them to statuses exactly as in-process errors; an upload's temp path is replaced by "upload".
 */
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { JointSpace } from '../search/jointSpace.js';
import { MusicBertError } from '../util/errors.js';
import { embedFileWith } from './model.js';
import type { WorkerJob, WorkerReply, WorkerError } from './workerProtocol.js';

const port = parentPort;
if (!port) throw new Error('modelWorker.ts must run as a worker thread');
const { modelDir, nice } = workerData as { modelDir: string; nice: number };
// Model work yields the CPU to the thread that answers requests: on Linux a nice value belongs to
// the calling thread (setpriority's documented NPTL behaviour), so this lowers this worker only.
// Elsewhere it may apply to the whole process, so it is only done on Linux.
if (nice > 0 && process.platform === 'linux') {
  try {
    setPriority(nice);
  } catch {
    // not permitted here: run at the default priority
  }
}

function errorOf(err: unknown, hide?: string): WorkerError {
  const scrub = (s: string): string => (hide ? s.split(hide).join('upload') : s);
  if (err instanceof MusicBertError) {
    const limitS = (err as { limitS?: number }).limitS;
    const out: WorkerError = { name: err.name, code: err.code, message: scrub(err.message) };
    if (err.source !== undefined) out.source = scrub(err.source);
    if (limitS !== undefined) out.limitS = limitS;
    return out;
  }
  return { name: 'Error', code: 'INTERNAL', message: (err as Error)?.stack ?? String(err) };
}

let space: JointSpace;
try {
  space = await JointSpace.load(modelDir);
  port.postMessage({ type: 'ready' } satisfies WorkerReply);
} catch (err) {
  port.postMessage({ type: 'fatal', error: errorOf(err) } satisfies WorkerReply);
  process.exit(1);
}

port.on('message', async (job: WorkerJob) => {
  let reply: WorkerReply;
  try {
    if (job.kind === 'text') {
      reply = { type: 'done', id: job.id, vectors: await space.embedText(job.texts) };
    } else {
      const e = await embedFileWith(space, job.path, job.maxSeconds);
      reply = { type: 'done', id: job.id, vectors: [e.vector], durationS: e.durationS };
    }
  } catch (err) {
    reply = { type: 'failed', id: job.id, error: errorOf(err, job.kind === 'file' ? job.path : undefined) };
  }
  port.postMessage(reply);
});
