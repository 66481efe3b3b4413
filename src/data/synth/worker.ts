/**
 * Worker-thread entry: renders tracks sent by the pool and writes each WAV atomically. One worker
 * per core; each render is independent, so the output does not depend on which worker did it.
 */
import { parentPort } from 'node:worker_threads';
import { renderToFile, type RenderJob } from './renderFile.js';

if (!parentPort) throw new Error('synth worker must run in a worker thread');
const port = parentPort;
port.on('message', (job: RenderJob) => {
  renderToFile(job).then(
    () => port.postMessage({ index: job.index, ok: true }),
    (err: unknown) => port.postMessage({ index: job.index, ok: false, error: (err as Error).stack ?? String(err) }),
  );
});
