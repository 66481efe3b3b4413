/**
 * Search at catalogue scale: the in-process ANN index (src/search/annIndex.ts, usearch HNSW)
 * against FAISS (Debian's python3-faiss: exact IndexFlatIP and IndexHNSWFlat, M=16,
 * efConstruction=128, efSearch=96 — the same graph settings) in the same run, on SCALE_BENCH_ROWS
 * (default 100000; set 1000000 for the million-track figure) random unit vectors of the default
 * width (64, the `small` preset's projDim). Queries: 200 music→music (stored vectors, the track
 * itself excluded) and 200 text-like (fresh random directions). Figures: build seconds, p50/p95
 * latency per query on one thread, recall@10 against the exact scan, resident memory growth,
 * and a genre filter (5 % of the catalogue) at the same speed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AnnIndex } from '../src/search/annIndex.js';
import { exactSearch, normalize, recallAtK } from '../src/search/vectors.js';
import { Rng } from '../src/util/rng.js';
import type { Benchmark } from './benchmarks.js';
import { PYTHON, pythonHas } from './peers.js';

const DIM = 64;
const QUERIES = 200;

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] as number;
}
const r2 = (x: number) => +x.toFixed(3);

const FAISS_PEER = `
import sys, time, json, resource, numpy as np, faiss
faiss.omp_set_num_threads(int(sys.argv[4]))
n, d = int(sys.argv[2]), int(sys.argv[3])
x = np.fromfile(sys.argv[1] + '/data.f32', dtype=np.float32).reshape(n, d)
q = np.fromfile(sys.argv[1] + '/queries.f32', dtype=np.float32).reshape(-1, d)
def lat(index):
    faiss.omp_set_num_threads(1)
    ts, out = [], []
    for i in range(len(q)):
        t = time.perf_counter(); _, I = index.search(q[i:i+1], 11); ts.append((time.perf_counter() - t) * 1000); out.append(I[0].tolist())
    faiss.omp_set_num_threads(int(sys.argv[4]))
    ts.sort()
    return ts[len(ts)//2], ts[int(len(ts)*0.95)], out
r0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
flat = faiss.IndexFlatIP(d); flat.add(x)
f50, f95, truth = lat(flat)
h = faiss.IndexHNSWFlat(d, 16, faiss.METRIC_INNER_PRODUCT); h.hnsw.efConstruction = 128
t = time.perf_counter(); h.add(x); build = time.perf_counter() - t
h.hnsw.efSearch = 96
h50, h95, got = lat(h)
print(json.dumps({'peer': 'faiss ' + faiss.__version__, 'flat_p50_ms': f50, 'flat_p95_ms': f95, 'hnsw_build_s': build, 'hnsw_p50_ms': h50, 'hnsw_p95_ms': h95, 'hnsw_top': got, 'maxrss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
`;

export const searchScaleBenchmark: Benchmark = {
  name: 'searchScale',
  summary: 'ANN index (usearch HNSW) vs FAISS flat/HNSW at 100k (or SCALE_BENCH_ROWS) 64-d vectors: build, p50/p95, recall@10, filters',
  async run() {
    const rows = Number(process.env.SCALE_BENCH_ROWS ?? 100_000);
    const threads = Number(process.env.SCALE_BENCH_THREADS ?? 2);
    const rng = new Rng(42);
    const data = new Float32Array(rows * DIM);
    for (let i = 0; i < rows; i++) data.set(normalize(Float32Array.from({ length: DIM }, () => rng.normal())), i * DIM);
    // Half music→music (stored rows), half text-like (new directions).
    const qRows = Array.from({ length: QUERIES / 2 }, () => rng.int(0, rows - 1));
    const queries = [...qRows.map((r) => data.slice(r * DIM, (r + 1) * DIM)), ...Array.from({ length: QUERIES / 2 }, () => normalize(Float32Array.from({ length: DIM }, () => rng.normal())))];
    const rss0 = process.memoryUsage().rss;
    let t0 = performance.now();
    const index = AnnIndex.build(data, DIM, undefined, threads);
    const buildS = (performance.now() - t0) / 1000;
    const rssMb = (process.memoryUsage().rss - rss0) / 2 ** 20;
    const genre = Array.from({ length: rows }, (_, i) => i).filter((i) => i % 20 === 7); // 5 %
    const lat: number[] = [], latFiltered: number[] = [], latExact: number[] = [];
    let recall = 0, recallFiltered = 0;
    const truths: number[][] = [];
    for (const [i, q] of queries.entries()) {
      const self = i < qRows.length ? new Set([qRows[i] as number]) : undefined;
      let t = performance.now();
      const hits = index.search(q, 10, { exclude: self });
      lat.push(performance.now() - t);
      t = performance.now();
      const exact = exactSearch(data, DIM, q, 11).map((h) => h.index).filter((r) => !self?.has(r)).slice(0, 10);
      latExact.push(performance.now() - t);
      truths.push(exact);
      recall += recallAtK(hits.map((h) => h.row), exact) / queries.length;
      t = performance.now();
      const fh = index.search(q, 10, { allow: genre, exclude: self });
      latFiltered.push(performance.now() - t);
      const subset = new Set(genre);
      const scores = genre.map((r) => ({ r, s: data.subarray(r * DIM, (r + 1) * DIM).reduce((a, v, j) => a + v * (q[j] as number), 0) })).filter((x) => !self?.has(x.r) && subset.has(x.r)).sort((a, b) => b.s - a.s).slice(0, 10).map((x) => x.r);
      recallFiltered += recallAtK(fh.map((h) => h.row), scores) / queries.length;
    }
    const ours = { buildS: r2(buildS), p50Ms: r2(percentile(lat, 0.5)), p95Ms: r2(percentile(lat, 0.95)), recallAt10: r2(recall), memoryMb: Math.round(rssMb), genreFilter: { p50Ms: r2(percentile(latFiltered, 0.5)), p95Ms: r2(percentile(latFiltered, 0.95)), recallAt10: r2(recallFiltered) }, jsExactScan: { p50Ms: r2(percentile(latExact, 0.5)) } };
    const result: Record<string, unknown> = { rows, dim: DIM, queries: QUERIES, buildThreads: threads, annIndex: ours };
    if (!pythonHas('faiss')) {
      result.faiss_unavailable = 'python3-faiss is not installed';
      return result;
    }
    const dir = mkdtempSync(join(tmpdir(), 'mb-scale-bench-'));
    try {
      writeFileSync(join(dir, 'data.f32'), Buffer.from(data.buffer));
      const qm = new Float32Array(QUERIES * DIM);
      queries.forEach((q, i) => qm.set(q, i * DIM));
      writeFileSync(join(dir, 'queries.f32'), Buffer.from(qm.buffer));
      const r = spawnSync(PYTHON, ['-c', FAISS_PEER, dir, String(rows), String(DIM), String(threads)], { encoding: 'utf8', maxBuffer: 1 << 26 });
      if (r.status !== 0) {
        result.faiss_unavailable = r.stderr.trim().split('\n').slice(-2).join(' ');
        return result;
      }
      const f = JSON.parse(r.stdout.trim().split('\n').pop() as string) as Record<string, number | string | number[][]>;
      let fRecall = 0;
      (f.hnsw_top as number[][]).forEach((top, i) => {
        const self = i < qRows.length ? (qRows[i] as number) : -1;
        fRecall += recallAtK(top.filter((x) => x !== self).slice(0, 10), truths[i] as number[]) / queries.length;
      });
      const faiss = { peer: f.peer, flatP50Ms: r2(f.flat_p50_ms as number), flatP95Ms: r2(f.flat_p95_ms as number), hnswBuildS: r2(f.hnsw_build_s as number), hnswP50Ms: r2(f.hnsw_p50_ms as number), hnswP95Ms: r2(f.hnsw_p95_ms as number), hnswRecallAt10: r2(fRecall), maxRssMb: Math.round(f.maxrss_mb as number) };
      Object.assign(result, {
        faiss,
        ratios: {
          annP50_over_faissHnswP50: r2(ours.p50Ms / faiss.hnswP50Ms),
          annP50_over_faissFlatP50: r2(ours.p50Ms / faiss.flatP50Ms),
          annBuild_over_faissHnswBuild: r2(ours.buildS / faiss.hnswBuildS),
          genreFilterP50_over_unfilteredP50: r2(ours.genreFilter.p50Ms / ours.p50Ms),
        },
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return result;
  },
};
