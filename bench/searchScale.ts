/**
 * Search at catalogue scale: the in-process ANN index the store searches through
 * (src/search/annIndex.ts, usearch HNSW, exact re-rank) against FAISS (Debian's python3-faiss:
 * exact IndexFlatIP and IndexHNSWFlat with the same M / efConstruction / efSearch) in the same run,
 * on random unit vectors of the default width (64, the `small` preset's projDim): structureless,
 * the hardest case for a graph (real embeddings cluster).
 *
 * Queries: 100 music→music (stored vectors, the track itself excluded) and 100 text→music (fresh
 * random directions). Figures per size: build seconds (SCALE_BENCH_THREADS, default 2), p50/p95
 * latency per query on one thread after one unmeasured pass, recall@10 against the exact scan, resident memory growth, and a genre filter (5 % of
 * the catalogue) at the same speed.
 *
 *   npm run bench -- searchScale                              100k (the default run)
 *   npm run bench -- searchScale --sizes 100000,1000000       the million too (minutes, ~3 GB)
 *   npm run bench -- searchScale --tune --sizes 100000        sweep M / efConstruction / ef, ours only
 *   npm run bench -- searchScale --sizes 1000000 --peers flat  FAISS flat only (its HNSW build takes longest)
 *   npm run bench -- searchScale --like MODEL --like-audio DIR   vectors with the spread of MODEL's vectors of DIR's
 *                                                             tracks, its prompts as text queries (see `workload`)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { walkAudioFiles } from '../src/data/datasets/index.js';
import { MusicBertPipeline } from '../src/model/pipeline.js';
import { AnnIndex, DEFAULT_ANN_CONFIG, type AnnConfig } from '../src/search/annIndex.js';
import { exactSearch, normalize, recallAtK } from '../src/search/vectors.js';
import { Rng } from '../src/util/rng.js';
import type { BenchArgs, Benchmark } from './benchmarks.js';
import { PYTHON, pythonHas } from './peers.js';

const DIM = 64;
const QUERIES = 200;

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] as number;
}
const r3 = (x: number) => +x.toFixed(3);

const FAISS_PEER = `
import sys, time, json, resource, numpy as np, faiss
dirname, n, d, threads, M, efc, efs, nm, with_hnsw = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8]), sys.argv[9] == '1'
faiss.omp_set_num_threads(threads)
x = np.fromfile(dirname + '/data.f32', dtype=np.float32).reshape(n, d)
q = np.fromfile(dirname + '/queries.f32', dtype=np.float32).reshape(-1, d)
def lat(index):
    faiss.omp_set_num_threads(1)
    for i in range(len(q)): index.search(q[i:i+1], 11)  # one unmeasured pass, as ours gets
    ts, out = [], []
    for i in range(len(q)):
        t = time.perf_counter(); _, I = index.search(q[i:i+1], 11); ts.append((time.perf_counter() - t) * 1000); out.append(I[0].tolist())
    faiss.omp_set_num_threads(threads)
    def pct(a, p):
        a = sorted(a); return a[min(len(a) - 1, int(p * len(a)))]
    return {'m2m_p50': pct(ts[:nm], 0.5), 'm2m_p95': pct(ts[:nm], 0.95), 't2m_p50': pct(ts[nm:], 0.5), 't2m_p95': pct(ts[nm:], 0.95)}, out
def rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
r0 = rss()
flat = faiss.IndexFlatIP(d); flat.add(x)
flat_lat, _ = lat(flat)
del flat
print('faiss flat: ' + json.dumps(flat_lat), file=sys.stderr, flush=True)
if not with_hnsw:
    print(json.dumps({'peer': 'faiss ' + faiss.__version__, 'flat': flat_lat}))
    sys.exit(0)
r1 = rss()
h = faiss.IndexHNSWFlat(d, M, faiss.METRIC_INNER_PRODUCT); h.hnsw.efConstruction = efc
t = time.perf_counter(); h.add(x); build = time.perf_counter() - t
print('faiss hnsw build s: %.1f' % build, file=sys.stderr, flush=True)
sweep = []
for ef in (128, 256, 384, 512):  # the same ef sweep as ours, cheap beside the build
    h.hnsw.efSearch = ef
    l, top = lat(h)
    sweep.append({'ef': ef, 'lat': l, 'top': top})
h.hnsw.efSearch = efs
hnsw_lat, got = lat(h)
print(json.dumps({'peer': 'faiss ' + faiss.__version__, 'flat': flat_lat, 'hnsw_build_s': build, 'hnsw': hnsw_lat, 'hnsw_top': got, 'hnsw_sweep': sweep, 'hnsw_mem_mb': rss() - r1, 'data_mb': r0}))
`;

interface Workload {
  rows: number;
  data: Float32Array;
  /** Stored rows used as music→music queries (excluded from their own results). */
  qRows: number[];
  queries: Float32Array[];
  /** Exact top 10 per query (self excluded), and within the genre filter. */
  truth: number[][];
  genre: number[];
  genreTruth: number[][];
  exactP50Ms: number;
}

/**
 * Where the stored vectors come from. `random`: unit Gaussian directions (no structure at all).
 * `like`: draws from the Gaussian with the mean and covariance of a real model's track vectors
 * (`--like MODEL --like-audio DIR`), normalised, with that model's own text prompts as the
 * text→music queries: a catalogue with the spectrum of real embeddings (their effective dimension
 * is far below 64), though not their clusters.
 */
export interface LikeSample {
  /** [n, DIM] unit track vectors of the model on real audio. */
  music: Float32Array[];
  /** [m, DIM] the model's text vectors of its own tag and genre prompts. */
  text: Float32Array[];
  source: string;
}

/** Participation ratio (Σλ)² / Σλ² of the sample covariance: how many directions carry the spread. */
export function effectiveDimension(xs: readonly Float32Array[]): number {
  const n = xs.length;
  const mu = new Float64Array(DIM);
  for (const x of xs) for (let j = 0; j < DIM; j++) mu[j] += (x[j] as number) / n;
  // tr(C) and tr(C²) = ||C||_F² without the eigenvalues.
  const c = new Float64Array(DIM * DIM);
  for (const x of xs) {
    for (let a = 0; a < DIM; a++) {
      const da = (x[a] as number) - (mu[a] as number);
      for (let b = 0; b < DIM; b++) c[a * DIM + b] += (da * ((x[b] as number) - (mu[b] as number))) / (n - 1);
    }
  }
  let tr = 0;
  let fro = 0;
  for (let a = 0; a < DIM; a++) tr += c[a * DIM + a] as number;
  for (const v of c) fro += v * v;
  return tr * tr / fro;
}

/**
 * `rows` unit vectors [rows, DIM] drawn from the Gaussian with the sample mean and covariance of
 * `sample`: μ + Σ_j z_j (x_j − μ) / √(n−1) with z ~ N(0, I_n) has exactly that covariance, with no
 * factorisation (n·DIM work per row).
 */
export function gaussianLike(sample: readonly Float32Array[], rows: number, rng: Rng): Float32Array {
  const n = sample.length;
  const mu = new Float32Array(DIM);
  for (const x of sample) for (let j = 0; j < DIM; j++) mu[j] += (x[j] as number) / n;
  const centred = sample.map((x) => Float32Array.from(x, (xj, j) => (xj - (mu[j] as number)) / Math.sqrt(n - 1)));
  const out = new Float32Array(rows * DIM);
  const v = new Float32Array(DIM);
  for (let i = 0; i < rows; i++) {
    v.set(mu);
    for (const c of centred) {
      const z = rng.normal();
      for (let j = 0; j < DIM; j++) v[j] += z * (c[j] as number);
    }
    out.set(normalize(v), i * DIM);
  }
  return out;
}

function workload(rows: number, like?: LikeSample): Workload {
  process.stderr.write(`searchScale ${rows}: generating ${like ? `vectors like ${like.source}` : 'random vectors'} and the exact top 10 of ${QUERIES} queries\n`);
  const rng = new Rng(42);
  const data = new Float32Array(rows * DIM);
  const v = new Float32Array(DIM);
  if (like) data.set(gaussianLike(like.music, rows, rng));
  else {
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < DIM; j++) v[j] = rng.normal();
      data.set(normalize(v), i * DIM);
    }
  }
  const qRows = Array.from({ length: QUERIES / 2 }, () => rng.int(0, rows - 1));
  const textQueries = like
    ? Array.from({ length: QUERIES / 2 }, (_, i) => like.text[i % like.text.length] as Float32Array)
    : Array.from({ length: QUERIES / 2 }, () => normalize(Float32Array.from({ length: DIM }, () => rng.normal())));
  const queries = [...qRows.map((r) => data.slice(r * DIM, (r + 1) * DIM)), ...textQueries];
  const genre = Array.from({ length: rows }, (_, i) => i).filter((i) => i % 20 === 7); // 5 %
  const truth: number[][] = [];
  const genreTruth: number[][] = [];
  const lat: number[] = [];
  const sub = new Float32Array(genre.length * DIM);
  genre.forEach((r, i) => sub.set(data.subarray(r * DIM, (r + 1) * DIM), i * DIM));
  for (const [i, q] of queries.entries()) {
    const self = i < qRows.length ? qRows[i] : -1;
    const t = performance.now();
    truth.push(exactSearch(data, DIM, q, 11).map((h) => h.index).filter((r) => r !== self).slice(0, 10));
    lat.push(performance.now() - t);
    genreTruth.push(exactSearch(sub, DIM, q, 11).map((h) => genre[h.index] as number).filter((r) => r !== self).slice(0, 10));
  }
  return { rows, data, qRows, queries, truth, genre, genreTruth, exactP50Ms: percentile(lat, 0.5) };
}

interface Kind {
  p50Ms: number;
  p95Ms: number;
  recallAt10: number;
}

/**
 * Latency and recall of music→music (first half of the queries) and text→music (second half),
 * after one unmeasured pass over the queries (JIT, caches; the FAISS peer does the same).
 */
function measure(w: Workload, search: (q: Float32Array, self: ReadonlySet<number> | undefined) => number[], truth = w.truth): { musicToMusic: Kind; textToMusic: Kind } {
  for (const [i, q] of w.queries.entries()) search(q, i < w.qRows.length ? new Set([w.qRows[i] as number]) : undefined);
  const lat: number[] = [];
  const rec: number[] = [];
  for (const [i, q] of w.queries.entries()) {
    const self = i < w.qRows.length ? new Set([w.qRows[i] as number]) : undefined;
    const t = performance.now();
    const hits = search(q, self);
    lat.push(performance.now() - t);
    rec.push(recallAtK(hits, truth[i] as number[]));
  }
  const kind = (a: number, b: number): Kind => ({ p50Ms: r3(percentile(lat.slice(a, b), 0.5)), p95Ms: r3(percentile(lat.slice(a, b), 0.95)), recallAt10: r3(rec.slice(a, b).reduce((s, x) => s + x, 0) / (b - a)) });
  const m = w.qRows.length;
  return { musicToMusic: kind(0, m), textToMusic: kind(m, w.queries.length) };
}

function build(w: Workload, config: AnnConfig, threads: number): { index: AnnIndex; buildS: number; memoryMb: number } {
  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  process.stderr.write(`searchScale ${w.rows}: building the graph ${JSON.stringify(config)} on ${threads} threads\n`);
  const index = AnnIndex.build(w.data, DIM, config, threads);
  return { index, buildS: r3((performance.now() - t0) / 1000), memoryMb: Math.round((process.memoryUsage().rss - rss0) / 2 ** 20) };
}

function faissPeer(w: Workload, config: AnnConfig, threads: number, withHnsw: boolean): Record<string, unknown> {
  if (!pythonHas('faiss')) return { unavailable: 'python3-faiss is not installed' };
  const dir = mkdtempSync(join(tmpdir(), 'mb-scale-bench-'));
  try {
    writeFileSync(join(dir, 'data.f32'), Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength));
    const qm = new Float32Array(QUERIES * DIM);
    w.queries.forEach((q, i) => qm.set(q, i * DIM));
    writeFileSync(join(dir, 'queries.f32'), Buffer.from(qm.buffer));
    const args = [dir, w.rows, DIM, threads, config.connectivity, config.expansionAdd, config.expansionSearch, w.qRows.length, withHnsw ? 1 : 0].map(String);
    // The peer's progress lines go straight to our stderr (a 1M build takes many minutes).
    const r = spawnSync(PYTHON, ['-c', FAISS_PEER, ...args], { encoding: 'utf8', maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'inherit'] });
    if (r.status !== 0) return { unavailable: `python3 exited with ${r.status} (its stderr is above)` };
    const f = JSON.parse(r.stdout.trim().split('\n').pop() as string) as {
      peer: string; flat: Record<string, number>; hnsw: Record<string, number>; hnsw_build_s: number; hnsw_top: number[][]; hnsw_mem_mb: number;
      hnsw_sweep: { ef: number; lat: Record<string, number>; top: number[][] }[];
    };
    const recall = (tops: number[][]) => tops.map((top, i) => {
      const self = i < w.qRows.length ? (w.qRows[i] as number) : -1;
      return recallAtK(top.filter((x) => x !== self).slice(0, 10), w.truth[i] as number[]);
    });
    const m = w.qRows.length;
    const mean = (a: number[]) => r3(a.reduce((s, x) => s + x, 0) / a.length);
    const kind = (l: Record<string, number>, p: string, recall?: number) => ({ p50Ms: r3(l[`${p}_p50`] as number), p95Ms: r3(l[`${p}_p95`] as number), ...(recall !== undefined ? { recallAt10: recall } : {}) });
    const both = (l: Record<string, number>, tops: number[][]) => {
      const rec = recall(tops);
      return { musicToMusic: kind(l, 'm2m', mean(rec.slice(0, m))), textToMusic: kind(l, 't2m', mean(rec.slice(m))) };
    };
    const flatIP = { musicToMusic: kind(f.flat, 'm2m'), textToMusic: kind(f.flat, 't2m') };
    if (!withHnsw) return { peer: f.peer, flatIP, hnswFlat: 'not run (--peers flat)' };
    return {
      peer: f.peer,
      flatIP,
      hnswFlat: { buildS: r3(f.hnsw_build_s), memoryMb: Math.round(f.hnsw_mem_mb), ...both(f.hnsw, f.hnsw_top), efSweep: f.hnsw_sweep.map((s) => ({ ef: s.ef, ...both(s.lat, s.top) })) },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One size: ours with `config` (unfiltered and genre-filtered) beside FAISS flat and HNSW. */
function compare(rows: number, config: AnnConfig, threads: number, like?: LikeSample, withHnsw = true): Record<string, unknown> {
  const w = workload(rows, like);
  const { index, buildS, memoryMb } = build(w, config, threads);
  const unfiltered = measure(w, (q, self) => index.search(q, 10, { exclude: self }).map((h) => h.row));
  const filtered = measure(w, (q, self) => index.search(q, 10, { allow: w.genre, exclude: self }).map((h) => h.row), w.genreTruth);
  // The recall / latency curve of the same graph at other ef (cheap beside the build).
  const efSweep = [128, 256, 384, 512].map((ef) => ({ ef, ...measure(w, (q, self) => index.search(q, 10, { exclude: self, expansion: ef }).map((h) => h.row)) }));
  const ours = { config, buildS, memoryMb, ...unfiltered, genreFilter5pct: filtered, efSweep, jsExactScanP50Ms: r3(w.exactP50Ms) };
  process.stderr.write(`searchScale ${rows}: ours ${JSON.stringify(ours)}\n`);
  const faiss = faissPeer(w, config, threads, withHnsw);
  const vectors = like
    ? { like: like.source, tracks: like.music.length, textPrompts: like.text.length, effectiveDim: r3(effectiveDimension(like.music)), storedEffectiveDim: r3(effectiveDimension(Array.from({ length: 4096 }, (_, i) => w.data.subarray(i * DIM, (i + 1) * DIM)))) }
    : { random: true, effectiveDim: DIM };
  const out: Record<string, unknown> = { rows, dim: DIM, vectors, queries: QUERIES, buildThreads: threads, annIndex: ours, faiss };
  const h = (faiss as { hnswFlat?: { buildS: number; musicToMusic: Kind; textToMusic: Kind } | string }).hnswFlat;
  if (typeof h === 'object') {
    out.ratios = {
      textP50_over_faissHnsw: r3(ours.textToMusic.p50Ms / h.textToMusic.p50Ms),
      musicP50_over_faissHnsw: r3(ours.musicToMusic.p50Ms / h.musicToMusic.p50Ms),
      build_over_faissHnsw: r3(buildS / h.buildS),
      genreFilterP50_over_unfiltered: r3(filtered.textToMusic.p50Ms / ours.textToMusic.p50Ms),
    };
  }
  return out;
}

/** Sweep graph settings at one size (ours only): which M / efConstruction / ef reach recall 0.95 fastest. */
function tune(rows: number, threads: number, like?: LikeSample): Record<string, unknown>[] {
  const w = workload(rows, like);
  const out: Record<string, unknown>[] = [];
  const efs = [128, 256, 512];
  const graphs: AnnConfig[] = [
    { connectivity: 16, expansionAdd: 128, expansionSearch: 128, quantization: 'f32' },
    { connectivity: 32, expansionAdd: 128, expansionSearch: 128, quantization: 'f32' },
    { connectivity: 32, expansionAdd: 128, expansionSearch: 128, quantization: 'i8' },
  ];
  for (const g of graphs) {
    const { index, buildS, memoryMb } = build(w, g, threads);
    for (const ef of efs) {
      const r = measure(w, (q, self) => index.search(q, 10, { exclude: self, expansion: ef }).map((h) => h.row));
      const line = { rows, connectivity: g.connectivity, expansionAdd: g.expansionAdd, quantization: g.quantization, ef, buildS, memoryMb, ...r };
      process.stderr.write(`${JSON.stringify(line)}\n`);
      out.push(line);
    }
  }
  return out;
}

/**
 * The model's vectors of every audio file under `audioDir` (through the one embedding path) and of
 * its own prompts: each non-`key=value` tag in its tag template, each genre in its genre template.
 */
async function likeSample(modelDir: string, audioDir: string): Promise<LikeSample> {
  const space = await MusicBertPipeline.load(modelDir);
  try {
    if (space.dim !== DIM) throw new Error(`--like: ${modelDir} makes ${space.dim}-d vectors; this benchmark stores ${DIM}-d ones`);
    const files = await walkAudioFiles(audioDir);
    if (files.length < 2 * DIM) throw new Error(`--like-audio: ${audioDir} has ${files.length} audio files; the covariance of ${DIM}-d vectors wants at least ${2 * DIM}`);
    const music: Float32Array[] = [];
    for (const [i, f] of files.entries()) {
      music.push(await space.embedAudio(f.path));
      if ((i + 1) % 50 === 0 || i + 1 === files.length) process.stderr.write(`searchScale --like: embedded ${i + 1}/${files.length} tracks\n`);
    }
    const vocab = space.vocabulary;
    const prompts = vocab
      ? [...vocab.tags.filter((t) => !t.includes('=')).map((t) => vocab.templates.tag.replace('{label}', t)), ...vocab.genres.map((g) => vocab.templates.genre.replace('{label}', g))]
      : [];
    if (prompts.length === 0) throw new Error(`--like: ${modelDir} has no labels.json tags or genres to make text queries from`);
    return { music, text: await space.embedText(prompts), source: `${basename(resolve(modelDir))} on ${files.length} files of ${basename(resolve(audioDir))}` };
  } finally {
    space.dispose();
  }
}

export const searchScaleBenchmark: Benchmark = {
  name: 'searchScale',
  summary: 'ANN index (usearch HNSW) vs FAISS flat/HNSW at 100k (--sizes for more) 64-d vectors: build, p50/p95 text→music and music→music, recall@10, memory, filters',
  async run(args: BenchArgs = {}) {
    const sizes = String(args.sizes ?? process.env.SCALE_BENCH_ROWS ?? '100000').split(',').map(Number);
    if (sizes.some((n) => !Number.isInteger(n) || n < 1000)) throw new Error(`--sizes wants comma-separated row counts ≥ 1000 (got ${String(args.sizes)})`);
    const threads = Number(process.env.SCALE_BENCH_THREADS ?? 2);
    if ((args.like === undefined) !== (args['like-audio'] === undefined)) throw new Error('--like MODEL_DIR and --like-audio DIR go together');
    const like = args.like ? await likeSample(String(args.like), String(args['like-audio'])) : undefined;
    if (args.tune) return { tune: sizes.flatMap((n) => tune(n, threads, like)) };
    // `--peers flat` skips FAISS's HNSW (its build is the longest part of a 1M run); default both.
    const peers = String(args.peers ?? 'flat,hnsw').split(',');
    if (peers.some((p) => p !== 'flat' && p !== 'hnsw') || !peers.includes('flat')) throw new Error(`--peers wants flat or flat,hnsw (got ${String(args.peers)})`);
    const results: Record<string, unknown> = {};
    for (const n of sizes) {
      process.stderr.write(`searchScale: ${n} rows\n`);
      results[String(n)] = compare(n, DEFAULT_ANN_CONFIG, threads, like, peers.includes('hnsw'));
      process.stderr.write(`${JSON.stringify(results[String(n)])}\n`);
    }
    return results;
  },
};
