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
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
dirname, n, d, threads, M, efc, efs, nm = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8])
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
r1 = rss()
h = faiss.IndexHNSWFlat(d, M, faiss.METRIC_INNER_PRODUCT); h.hnsw.efConstruction = efc
t = time.perf_counter(); h.add(x); build = time.perf_counter() - t
print('faiss hnsw build s: %.1f' % build, file=sys.stderr, flush=True)
h.hnsw.efSearch = efs
hnsw_lat, got = lat(h)
print(json.dumps({'peer': 'faiss ' + faiss.__version__, 'flat': flat_lat, 'hnsw_build_s': build, 'hnsw': hnsw_lat, 'hnsw_top': got, 'hnsw_mem_mb': rss() - r1, 'data_mb': r0}))
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

function workload(rows: number): Workload {
  process.stderr.write(`searchScale ${rows}: generating vectors and the exact top 10 of ${QUERIES} queries\n`);
  const rng = new Rng(42);
  const data = new Float32Array(rows * DIM);
  const v = new Float32Array(DIM);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < DIM; j++) v[j] = rng.normal();
    data.set(normalize(v), i * DIM);
  }
  const qRows = Array.from({ length: QUERIES / 2 }, () => rng.int(0, rows - 1));
  const queries = [...qRows.map((r) => data.slice(r * DIM, (r + 1) * DIM)), ...Array.from({ length: QUERIES / 2 }, () => normalize(Float32Array.from({ length: DIM }, () => rng.normal())))];
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

function faissPeer(w: Workload, config: AnnConfig, threads: number): Record<string, unknown> {
  if (!pythonHas('faiss')) return { unavailable: 'python3-faiss is not installed' };
  const dir = mkdtempSync(join(tmpdir(), 'mb-scale-bench-'));
  try {
    writeFileSync(join(dir, 'data.f32'), Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength));
    const qm = new Float32Array(QUERIES * DIM);
    w.queries.forEach((q, i) => qm.set(q, i * DIM));
    writeFileSync(join(dir, 'queries.f32'), Buffer.from(qm.buffer));
    const args = [dir, w.rows, DIM, threads, config.connectivity, config.expansionAdd, config.expansionSearch, w.qRows.length].map(String);
    // The peer's progress lines go straight to our stderr (a 1M build takes many minutes).
    const r = spawnSync(PYTHON, ['-c', FAISS_PEER, ...args], { encoding: 'utf8', maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'inherit'] });
    if (r.status !== 0) return { unavailable: `python3 exited with ${r.status} (its stderr is above)` };
    const f = JSON.parse(r.stdout.trim().split('\n').pop() as string) as { peer: string; flat: Record<string, number>; hnsw: Record<string, number>; hnsw_build_s: number; hnsw_top: number[][]; hnsw_mem_mb: number };
    const rec = f.hnsw_top.map((top, i) => {
      const self = i < w.qRows.length ? (w.qRows[i] as number) : -1;
      return recallAtK(top.filter((x) => x !== self).slice(0, 10), w.truth[i] as number[]);
    });
    const m = w.qRows.length;
    const mean = (a: number[]) => r3(a.reduce((s, x) => s + x, 0) / a.length);
    const kind = (l: Record<string, number>, p: string, recall?: number) => ({ p50Ms: r3(l[`${p}_p50`] as number), p95Ms: r3(l[`${p}_p95`] as number), ...(recall !== undefined ? { recallAt10: recall } : {}) });
    return {
      peer: f.peer,
      flatIP: { musicToMusic: kind(f.flat, 'm2m'), textToMusic: kind(f.flat, 't2m') },
      hnswFlat: { buildS: r3(f.hnsw_build_s), memoryMb: Math.round(f.hnsw_mem_mb), musicToMusic: kind(f.hnsw, 'm2m', mean(rec.slice(0, m))), textToMusic: kind(f.hnsw, 't2m', mean(rec.slice(m))) },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One size: ours with `config` (unfiltered and genre-filtered) beside FAISS flat and HNSW. */
function compare(rows: number, config: AnnConfig, threads: number): Record<string, unknown> {
  const w = workload(rows);
  const { index, buildS, memoryMb } = build(w, config, threads);
  const unfiltered = measure(w, (q, self) => index.search(q, 10, { exclude: self }).map((h) => h.row));
  const filtered = measure(w, (q, self) => index.search(q, 10, { allow: w.genre, exclude: self }).map((h) => h.row), w.genreTruth);
  // The recall / latency curve of the same graph at other ef (cheap beside the build).
  const efSweep = [128, 256, 384, 512].map((ef) => ({ ef, ...measure(w, (q, self) => index.search(q, 10, { exclude: self, expansion: ef }).map((h) => h.row)) }));
  const ours = { config, buildS, memoryMb, ...unfiltered, genreFilter5pct: filtered, efSweep, jsExactScanP50Ms: r3(w.exactP50Ms) };
  process.stderr.write(`searchScale ${rows}: ours ${JSON.stringify(ours)}\n`);
  const faiss = faissPeer(w, config, threads);
  const out: Record<string, unknown> = { rows, dim: DIM, queries: QUERIES, buildThreads: threads, annIndex: ours, faiss };
  const h = (faiss as { hnswFlat?: { buildS: number; musicToMusic: Kind; textToMusic: Kind } }).hnswFlat;
  if (h) {
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
function tune(rows: number, threads: number): Record<string, unknown>[] {
  const w = workload(rows);
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

export const searchScaleBenchmark: Benchmark = {
  name: 'searchScale',
  summary: 'ANN index (usearch HNSW) vs FAISS flat/HNSW at 100k (--sizes for more) 64-d vectors: build, p50/p95 text→music and music→music, recall@10, memory, filters',
  async run(args: BenchArgs = {}) {
    const sizes = String(args.sizes ?? process.env.SCALE_BENCH_ROWS ?? '100000').split(',').map(Number);
    if (sizes.some((n) => !Number.isInteger(n) || n < 1000)) throw new Error(`--sizes wants comma-separated row counts ≥ 1000 (got ${String(args.sizes)})`);
    const threads = Number(process.env.SCALE_BENCH_THREADS ?? 2);
    if (args.tune) return { tune: sizes.flatMap((n) => tune(n, threads)) };
    const results: Record<string, unknown> = {};
    for (const n of sizes) {
      process.stderr.write(`searchScale: ${n} rows\n`);
      results[String(n)] = compare(n, DEFAULT_ANN_CONFIG, threads);
      process.stderr.write(`${JSON.stringify(results[String(n)])}\n`);
    }
    return results;
  },
};
