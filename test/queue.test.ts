/**
 * Distributed indexing through BullMQ on a Redis this file starts (127.0.0.1, a free port, a temp
 * dir, append-only file fsynced on every write) and stops. Faults: a worker killed with SIGKILL
 * in the middle of a job, Redis restarted between batches, the writer killed and `index` re-run.
 * Every time, each track must be stored exactly once, none lost, with vectors bit-identical to a
 * single-process `index` of the same files, whether the workers decode on their own thread
 * (--jobs 1) or on a front-end pool (--jobs 2); a broken file is a failed job listed in the summary.
 * Skips cleanly where redis-server is not installed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { extname, join } from 'node:path';
import { JointSpace } from '../src/search/jointSpace.js';
import { VectorStore } from '../src/search/store.js';
import { indexCatalogue, listCatalogue } from '../src/search/indexer.js';
import { parseQueueUrl } from '../src/search/queue/connection.js';
import { decodeVector, encodeVector, jobId } from '../src/search/queue/jobs.js';
import { indexViaQueue } from '../src/search/queue/writer.js';
import { UsageError } from '../src/util/errors.js';
import { repoRoot } from './shared.js';
import { searchFixture, type SearchFixture } from './search-fixture.js';

const hasRedis = spawnSync('redis-server', ['--version']).status === 0;
const TRACKS = 10;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

test('queue URLs parse into host, port, db and queue name, and bad ones are usage errors', () => {
  const a = parseQueueUrl('redis://127.0.0.1:6400/2/my-cat');
  assert.deepEqual([a.redis.host, a.redis.port, a.redis.db, a.name], ['127.0.0.1', 6400, 2, 'my-cat']);
  const b = parseQueueUrl('redis://u:p%40ss@example.org');
  assert.deepEqual([b.redis.port, b.redis.db, b.name, b.redis.password, b.display], [6379, 0, 'musicbert-index', 'p@ss', 'redis://example.org/0/musicbert-index']);
  for (const bad of ['http://x:1', 'not a url', 'redis://h:1/x', 'redis://h:1/0/q/extra', 'redis://h:1/0/bad name']) assert.throws(() => parseQueueUrl(bad), UsageError, bad);
  const v = Float32Array.from([1.5, -0, Math.PI, 1e-30]);
  assert.deepEqual(decodeVector(encodeVector(v)), v);
  assert.equal(jobId('/s', 'm', ['a']), jobId('/s', 'm', ['a']));
  assert.notEqual(jobId('/s', 'm', ['a']), jobId('/t', 'm', ['a']));
  assert.notEqual(jobId('/s', 'm', ['a', 'b']), jobId('/s', 'm', ['ab']));
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A child process with its stderr collected, and a promise of its exit code. */
interface Child {
  proc: ChildProcess;
  err: () => string;
  exited: Promise<number | null>;
}

function child(cmd: string, args: string[], env: Record<string, string> = {}): Child {
  const proc = spawn(cmd, args, { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  proc.stdout?.on('data', () => {});
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  return { proc, err: () => err, exited };
}

const cliArgs = (...args: string[]) => ['--import', 'tsx', join(repoRoot, 'src', 'cli.ts'), ...args];

async function until(what: string, ok: () => boolean, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('indexing through a Redis queue', { skip: hasRedis ? false : 'redis-server is not installed', timeout: 480_000 }, () => {
  let f: SearchFixture;
  let dir: string;
  let input: string;
  let url: string;
  let port: number;
  let redis: Child | undefined;
  let reference: Map<string, Float32Array>;
  let model: { dim: number; fingerprint: string; modelDir: string };
  const workers: Child[] = [];

  const startRedis = async () => {
    redis = child('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', join(dir, 'redis'), '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--protected-mode', 'yes']);
    await until('redis to accept connections', () => spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'ping'], { encoding: 'utf8' }).stdout.trim() === 'PONG', 20_000);
  };
  const stopRedis = async () => {
    redis?.proc.kill('SIGTERM'); // a clean shutdown: the append-only file keeps every job
    await redis?.exited;
    redis = undefined;
  };
  // Each job waits 300 ms after starting, so a kill lands mid-job. One BLAS thread, as in this
  // process: OpenBLAS's thread count changes the last bits of a product, so bit-identical vectors
  // need the same thread count on both sides.
  const startWorker = (jobs: number) => {
    const w = child(process.execPath, cliArgs('worker', '--queue', url, '--model', f.model, '--lock-ms', '1500', '--jobs', String(jobs)), { MUSICBERT_WORKER_TEST_DELAY_MS: '300', MUSICBERT_THREADS: '1' });
    workers.push(w);
    return w;
  };

  async function storedVectors(db: string): Promise<Map<string, Float32Array>> {
    const s = await VectorStore.open(db);
    try {
      const { ids, data } = await s.matrix();
      assert.equal(new Set(ids).size, ids.length, 'an id is stored twice');
      return new Map(ids.map((id, i) => [id, data.slice(i * s.dim, (i + 1) * s.dim)]));
    } finally {
      s.close();
    }
  }

  function assertSameAsReference(got: Map<string, Float32Array>) {
    assert.deepEqual([...got.keys()].sort(), [...reference.keys()].sort());
    for (const [id, v] of reference) assert.deepEqual(got.get(id), v, `vector of ${id} differs from the single-process run`);
  }

  before(async () => {
    f = await searchFixture();
    dir = mkdtempSync(join(tmpdir(), 'mb-queue-test-'));
    await mkdir(join(dir, 'redis'));
    // A folder of TRACKS fixture files (copies: the folder walk skips symlinks) plus one that is not audio.
    input = join(dir, 'input');
    await mkdir(input);
    const tracks = (await listCatalogue(f.data)).items.slice(0, TRACKS);
    assert.equal(tracks.length, TRACKS);
    for (const [i, t] of tracks.entries()) await copyFile(t.path, join(input, `t${i}${extname(t.path)}`));
    await writeFile(join(input, 'broken.wav'), 'this is not a wav file');
    const space = await JointSpace.load(f.model);
    model = { dim: space.dim, fingerprint: space.fingerprint, modelDir: f.model };
    try {
      const r = await indexCatalogue({ space, input, db: join(dir, 'reference'), batch: 2, quiet: true });
      assert.equal(r.added, TRACKS);
    } finally {
      space.dispose();
    }
    reference = await storedVectors(join(dir, 'reference'));
    port = await freePort();
    url = `redis://127.0.0.1:${port}/0/test-index`;
    await startRedis();
  });

  after(async () => {
    for (const w of workers) w.proc.kill('SIGKILL');
    await Promise.all(workers.map((w) => w.exited));
    await stopRedis();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a worker killed mid-job and a Redis restart between batches lose nothing and store nothing twice (workers on 2 front-end threads)', async () => {
    const w1 = startWorker(2);
    const w2 = startWorker(2);
    const db = join(dir, 'db1');
    let restarted: Promise<void> | undefined;
    // The writer starts while the workers load; kill w1 as soon as it is inside its first job.
    const killed = until('worker 1 to start a job', () => /start /.test(w1.err())).then(() => w1.proc.kill('SIGKILL'));
    killed.catch(() => {}); // awaited below; keep an early timeout from being unhandled
    const report = await indexViaQueue({
      queue: url, space: model, input, db, batch: 2, quiet: true, pollMs: 50,
      onBatch: () => {
        restarted ??= stopRedis().then(startRedis);
      },
    });
    await killed;
    await restarted;
    assert.equal(await w1.exited, null, 'worker 1 was killed by a signal');
    assert.equal(report.added, TRACKS);
    assert.equal(report.stored, TRACKS);
    assert.deepEqual(report.failed.map((x) => x.id), ['broken']);
    assert.match(report.failed[0]!.problem, /broken\.wav/);
    assertSameAsReference(await storedVectors(db));
    // SIGTERM is a graceful stop: the worker exits 0 and says what it did.
    w2.proc.kill('SIGTERM');
    assert.equal(await w2.exited, 0, w2.err());
    assert.match(w2.err(), /\d+ done, \d+ failed/);
    assert.match(w2.err(), /front end on 2 threads/, 'worker 2 decoded on its front-end pool');
    assert.match(w2.err(), /done [0-9a-f]+: \d+ embedded/, 'worker 2 embedded at least one job');
  });

  test('a writer killed mid-run and re-run stores every track exactly once (workers decoding on their own thread)', async () => {
    const db = join(dir, 'db2');
    startWorker(1);
    startWorker(1);
    const writer = child(process.execPath, cliArgs('index', '--queue', url, '--model', f.model, '--input', input, '--db', db, '--batch', '2', '--ann', 'off'), { MUSICBERT_THREADS: '1' });
    // Kill it right after its first commit.
    let writerExit: number | null | undefined;
    void writer.exited.then((c) => (writerExit = c));
    await until('the writer to commit a batch', () => {
      if (writerExit !== undefined) throw new Error(`the writer exited (${writerExit}) before committing: ${writer.err()}`);
      return existsSync(join(db, 'tracks.lance', '_versions')) && readdirSync(join(db, 'tracks.lance', '_versions')).length > 0;
    }, 150_000);
    writer.proc.kill('SIGKILL');
    await writer.exited;
    const partial = await storedVectors(db);
    assert.ok(partial.size > 0 && partial.size < TRACKS, `the first run stored ${partial.size} tracks`);
    const report = await indexViaQueue({ queue: url, space: model, input, db, batch: 2, quiet: true, pollMs: 50 });
    assert.equal(report.skipped, partial.size);
    assert.equal(report.added, TRACKS - partial.size);
    assert.equal(report.stored, TRACKS);
    assert.deepEqual(report.failed.map((x) => x.id), ['broken']);
    assertSameAsReference(await storedVectors(db));
  });
});
