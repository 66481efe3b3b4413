/**
 * A front-end worker thread (see FrontEndPool in frontEndPool.ts): file path → log-mel, one job at
 * a time, the log-mel's buffer transferred back (no copy). Errors go back as plain data naming
 * their class, and frontEndPool.ts rebuilds the same class, message and source.
 */
import { parentPort } from 'node:worker_threads';
import { MusicBertError } from '../util/errors.js';
import type { FrontEndJob, FrontEndReply } from './frontEndPool.js';
import { logMelFromFile } from './stream.js';

const port = parentPort;
if (!port) throw new Error('frontEndWorker.ts must run as a worker thread');

port.on('message', async (job: FrontEndJob) => {
  let reply: FrontEndReply;
  try {
    const { data, frames } = await logMelFromFile(job.path, { onWarning: (line) => port.postMessage({ type: 'warning', id: job.id, line } satisfies FrontEndReply) });
    reply = { type: 'done', id: job.id, data, frames };
    port.postMessage(reply, [data.buffer as ArrayBuffer]);
    return;
  } catch (err) {
    if (err instanceof MusicBertError) {
      const limitS = (err as { limitS?: number }).limitS;
      reply = { type: 'failed', id: job.id, error: { name: err.name, message: err.message, source: err.source, limitS } };
    } else {
      reply = { type: 'failed', id: job.id, error: { name: 'Error', message: (err as Error)?.stack ?? String(err) } };
    }
  }
  port.postMessage(reply);
});
port.postMessage({ type: 'ready' } satisfies FrontEndReply);
