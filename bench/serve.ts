/**
 * The HTTP server under load (issue 14's targets: ≥ 500 req/s and p99 ≤ 50 ms for search at
 * concurrency 16, repeated and new short queries; GET /api/info p99 ≤ 10 ms while an upload
 * decodes), measured with autocannon against `musicbert serve` in a child process, so the load
 * generator does not share the server's event loop.
 *
 * The peer is the same server with its model work in-process (--workers 0), as it was before
 * worker threads: the ratios say what the workers, the text cache and the merged model passes buy.
 * The catalogue is a small generated corpus (30 tracks x 3 s) with a tiny model pre-trained on it.
 * SERVE_BENCH_SECONDS sets each measurement's duration (default 5 s).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { encodeWav } from '../src/audio/wavWrite.js';
import { synthesizeCorpus } from '../src/data/synth/index.js';
import { indexCatalogue } from '../src/search/indexer.js';
import { JointSpace } from '../src/search/jointSpace.js';
import { pretrain } from '../src/train/pretrain.js';
import type { Benchmark } from './benchmarks.js';

const WORDS = ['slow', 'fast', 'sad', 'happy', 'piano', 'guitar', 'drums', 'ballad', 'rock', 'jazz', 'calm', 'energetic', 'acoustic', 'electronic', 'vocals', 'bass', 'dark', 'bright', 'groove', 'swing'];

/** The i-th short query of a sequence that does not repeat for 8000 queries: three words. */
function newQuery(i: number): string {
  const n = WORDS.length;
  return `${WORDS[i % n]} ${WORDS[Math.floor(i / n) % n]} ${WORDS[Math.floor(i / (n * n)) % n]}`;
}

async function startServe(db: string, workers: number): Promise<{ url: string; child: ChildProcess }> {
  const here = import.meta.url;
  const cli = new URL(here.endsWith('.ts') ? '../src/cli.ts' : '../src/cli.js', here);
  const args = [...(here.endsWith('.ts') ? ['--import', 'tsx'] : []), cli.pathname, 'serve', '--db', db, '--port', '0', '--workers', String(workers), '--timeout-s', '120'];
  // The server's log (a line per request) goes to a file, not a pipe: a pipe the busy load
  // generator drains late fills up and stalls the server's writes, which is not the server's cost.
  const logPath = join(db, '..', `serve-${workers}.log`);
  const fd = openSync(logPath, 'w');
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', fd] });
  closeSync(fd);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /tracks at (http:\/\/[^\s/]+)\//.exec(readFileSync(logPath, 'utf8'));
      if (m) {
        clearInterval(timer);
        resolve(m[1] as string);
      }
    }, 50);
    child.once('exit', (code) => {
      clearInterval(timer);
      reject(new Error(`musicbert serve exited (${code}): ${readFileSync(logPath, 'utf8').slice(-2000)}`));
    });
  });
  return { url, child };
}

function post(url: string, body: Uint8Array): Promise<number> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method: 'POST', headers: { 'content-length': body.length } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

interface Figures {
  reqPerS: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

async function load(url: string, path: (i: number) => string, seconds: number, connections: number): Promise<Figures> {
  let i = 0;
  const r = await autocannon({ url, connections, duration: seconds, requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: path(i++) }) }] });
  return { reqPerS: Math.round(r.requests.average), p50Ms: r.latency.p50, p99Ms: r.latency.p99, errors: r.errors + r.non2xx + r.timeouts };
}

async function measure(db: string, workers: number, upload: Uint8Array, seconds: number): Promise<Record<string, Figures>> {
  const { url, child } = await startServe(db, workers);
  try {
    // Warm up: first model passes compile kernels.
    await load(url, (i) => `/api/search?q=${encodeURIComponent(newQuery(7000 + i))}`, 1, 4);
    const repeated = await load(url, () => `/api/search?q=${encodeURIComponent('slow sad piano ballad')}&k=10`, seconds, 16);
    const fresh = await load(url, (i) => `/api/search?q=${encodeURIComponent(newQuery(i))}&k=10`, seconds, 16);
    // /api/info while uploads decode back to back.
    let uploading = true;
    let uploads = 0;
    const uploader = (async () => {
      while (uploading) {
        await post(`${url}/api/upload?k=3`, upload);
        uploads++;
      }
    })();
    const info = await load(url, () => '/api/info', seconds, 4);
    uploading = false;
    await uploader;
    return { repeatedSearch: repeated, newSearch: fresh, infoDuringUpload: { ...info, uploadsDone: uploads } as Figures };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

export const serveBenchmark: Benchmark = {
  name: 'serve',
  summary: 'HTTP server under autocannon: search req/s and p99 at concurrency 16, /api/info p99 while an upload decodes; worker threads vs in-process',
  async run() {
    const seconds = Number(process.env.SERVE_BENCH_SECONDS ?? 5);
    const root = await mkdtemp(join(tmpdir(), 'musicbert-bench-serve-'));
    try {
      const data = join(root, 'data');
      const model = join(root, 'model');
      const db = join(root, 'db');
      await synthesizeCorpus({ out: data, tracks: 30, seconds: 3, seed: 7, quiet: true, workers: 1 });
      await pretrain({ data, out: model, config: 'tiny', seed: 7, encoderSteps: 10, steps: 10, quiet: true, cacheDir: join(root, 'cache') });
      const space = await JointSpace.load(model);
      try {
        await indexCatalogue({ space, input: data, db, quiet: true });
      } finally {
        space.dispose();
      }
      // A 60 s clip: its decode and model pass take a few seconds on this machine.
      const tone = Float32Array.from({ length: 16000 * 60 }, (_, i) => 0.3 * Math.sin(i * 0.07) * Math.sin(i * 0.0003));
      const upload = encodeWav([tone], 16000);
      const workers = await measure(db, 2, upload, seconds);
      const inProcess = await measure(db, 0, upload, seconds);
      const ratio = (k: string, f: keyof Figures) => +(((workers[k] as Figures)[f] as number) / Math.max(1e-9, (inProcess[k] as Figures)[f] as number)).toFixed(2);
      return {
        workers,
        inProcess,
        ratios: {
          repeatedReqPerS: ratio('repeatedSearch', 'reqPerS'),
          newReqPerS: ratio('newSearch', 'reqPerS'),
          infoP99: ratio('infoDuringUpload', 'p99Ms'),
        },
        targets: { searchReqPerS: 500, searchP99Ms: 50, infoP99Ms: 10 },
        note: 'wall-clock figures on a shared 2-core machine (other jobs running): compare ratios',
      };
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  },
};
