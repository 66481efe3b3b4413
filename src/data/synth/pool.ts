/**
 * A small worker_threads pool for rendering: N workers each take the next job when done. With
 * `workers: 0` jobs run on the main thread (handy in tests and for debugging).
 */
import { Worker } from 'node:worker_threads';
import { renderToFile, type RenderJob } from './renderFile.js';

function spawnWorker(): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./worker.js', import.meta.url));
  // Running from TypeScript sources (tsx): on Node 20 tsx registers its loader in the main thread
  // only, so the worker registers it itself before importing the .ts entry.
  const target = new URL('./worker.ts', import.meta.url).href;
  const api = import.meta.resolve('tsx/esm/api');
  const code = `(async () => { const { register } = await import(${JSON.stringify(api)}); register(); await import(${JSON.stringify(target)}); })()`;
  return new Worker(code, { eval: true });
}

export async function runJobs(jobs: RenderJob[], workers: number, onDone: (job: RenderJob) => void): Promise<void> {
  if (jobs.length === 0) return;
  if (workers <= 0) {
    for (const job of jobs) {
      await renderToFile(job);
      onDone(job);
    }
    return;
  }
  const n = Math.min(workers, jobs.length);
  const pending = [...jobs];
  const byIndex = new Map(jobs.map((j) => [j.index, j]));
  const pool: Worker[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let active = 0;
      let failed = false;
      const feed = (w: Worker) => {
        const job = pending.shift();
        if (!job) {
          if (active === 0) resolve();
          return;
        }
        active++;
        w.postMessage(job);
      };
      for (let k = 0; k < n; k++) {
        const w = spawnWorker();
        pool.push(w);
        w.on('message', (msg: { index: number; ok: boolean; error?: string }) => {
          active--;
          if (failed) return;
          if (!msg.ok) {
            failed = true;
            reject(new Error(`rendering ${byIndex.get(msg.index)?.params.id ?? msg.index} failed: ${msg.error}`));
            return;
          }
          onDone(byIndex.get(msg.index) as RenderJob);
          feed(w);
        });
        w.on('error', (err) => {
          if (!failed) { failed = true; reject(err); }
        });
        w.on('exit', (code) => {
          if (code !== 0 && !failed) { failed = true; reject(new Error(`synth worker exited with code ${code}`)); }
        });
        feed(w);
      }
    });
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
}
