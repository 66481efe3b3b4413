/**
 * Search over a large catalogue, and indexing speed.
 *
 *  - Store: 100k random unit vectors of the default model's width (projDim of the `small` preset)
 *    in the LanceDB store with its HNSW index, against the exact brute-force scan in the same run:
 *    latency p50/p95 of each, recall@10 of the index, and end-to-end text search latency
 *    (text embedding + index lookup). Random vectors are the hard case for an approximate index
 *    (no cluster structure to exploit), so the recall here is a floor for real embeddings.
 *  - Indexing: tracks/s embedding a generated corpus (10 s tracks) into a fresh store.
 *
 * The model is the `small` preset's shapes with random weights: speed does not depend on
 * training. SEARCH_BENCH_ROWS / SEARCH_BENCH_TRACKS shrink the run for a quick look.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ready } from '../src/tensor/backend.js';
import { synthesizeCorpus } from '../src/data/synth/index.js';
import { AudioEncoder } from '../src/model/audioEncoder.js';
import { MusicBert } from '../src/model/musicbert.js';
import { audioEncoderConfig, musicBertConfig } from '../src/model/config.js';
import { preset } from '../src/train/presets.js';
import { Tokenizer } from '../src/text/tokenizer.js';
import { JointSpace } from '../src/search/jointSpace.js';
import { VectorStore } from '../src/search/store.js';
import { indexCatalogue } from '../src/search/indexer.js';
import { exactSearch, normalize, recallAtK } from '../src/search/vectors.js';
import { Rng } from '../src/util/rng.js';
import type { Benchmark } from './benchmarks.js';

const WORDS = ['slow', 'fast', 'sad', 'happy', 'piano', 'guitar', 'drums', 'ballad', 'rock', 'jazz', 'calm', 'energetic', 'acoustic', 'electronic', 'vocals', 'bass', 'song', 'track', 'with', 'a', 'dark', 'bright', 'groove', 'swing'];

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] as number;
}

const ms = (x: number) => +x.toFixed(2);

export function smallSpace(seed: number): JointSpace {
  const p = preset('small');
  const tokenizer = Tokenizer.train([WORDS.join(' ')], { minCount: 1 });
  const encoder = AudioEncoder.create(audioEncoderConfig({ ...p.encoder, numConcepts: 29 }), seed);
  const model = MusicBert.create(musicBertConfig({ ...p.model, vocabSize: tokenizer.size, numConcepts: 29, dropout: 0 }), seed + 1, tokenizer);
  return JointSpace.fromModels(encoder, model, { fingerprint: `bench-${seed}` });
}

export const searchBenchmark: Benchmark = {
  name: 'search',
  summary: 'text search over 100k vectors: HNSW index vs exact scan (latency, recall@10); indexing tracks/s',
  async run() {
    await ready();
    const rows = Number(process.env.SEARCH_BENCH_ROWS ?? 100_000);
    const tracks = Number(process.env.SEARCH_BENCH_TRACKS ?? 40);
    const queries = 100;
    const dir = await mkdtemp(join(tmpdir(), 'mb-search-bench-'));
    const space = smallSpace(1);
    try {
      const dim = space.dim;
      const rng = new Rng(42);
      // ---- store: rows random unit vectors
      const matrix = new Float32Array(rows * dim);
      for (let i = 0; i < rows; i++) matrix.set(normalize(Float32Array.from({ length: dim }, () => rng.normal())), i * dim);
      const store = await VectorStore.open(join(dir, 'store'), { create: { dim } });
      let t0 = performance.now();
      for (let start = 0; start < rows; start += 10_000) {
        const n = Math.min(10_000, rows - start);
        await store.add(Array.from({ length: n }, (_, i) => ({ id: `t${start + i}`, path: `/catalogue/t${start + i}.wav`, vector: matrix.subarray((start + i) * dim, (start + i + 1) * dim), genre: 'jazz', tags: ['piano'], durationS: 30 })));
      }
      const insertS = (performance.now() - t0) / 1000;
      t0 = performance.now();
      await store.buildIndex({ minRows: 1 });
      const indexBuildS = (performance.now() - t0) / 1000;

      const texts = Array.from({ length: queries }, () => Array.from({ length: rng.int(2, 6) }, () => rng.pick(WORDS)).join(' '));
      const embedMs: number[] = [], annMs: number[] = [], flatMs: number[] = [], exactMs: number[] = [], endToEndMs: number[] = [];
      let recall = 0;
      await store.search(new Float32Array(dim).fill(1), 10); // warm the index and caches
      for (const text of texts) {
        let t = performance.now();
        const [q] = await space.embedText(text);
        embedMs.push(performance.now() - t);
        t = performance.now();
        const approx = await store.search(q!, 10);
        annMs.push(performance.now() - t);
        endToEndMs.push(embedMs[embedMs.length - 1]! + annMs[annMs.length - 1]!);
        t = performance.now();
        await store.search(q!, 10, { exact: true });
        flatMs.push(performance.now() - t);
        t = performance.now();
        const truth = exactSearch(matrix, dim, q!, 10);
        exactMs.push(performance.now() - t);
        recall += recallAtK(approx.map((h) => h.id), truth.map((h) => `t${h.index}`)) / queries;
      }
      const ann = store.ann;
      store.close();

      // ---- indexing throughput on generated audio
      await synthesizeCorpus({ out: join(dir, 'corpus'), tracks, seconds: 10, seed: 3, workers: availableParallelism(), quiet: true });
      const report = await indexCatalogue({ space, input: join(dir, 'corpus'), db: join(dir, 'indexed'), quiet: true, ann: 'off' });

      const p = (xs: number[]) => ({ p50: ms(percentile(xs, 0.5)), p95: ms(percentile(xs, 0.95)) });
      const annP = p(annMs);
      const exactP = p(exactMs);
      return {
        rows, dim, queries,
        insertS: +insertS.toFixed(1),
        indexBuildS: +indexBuildS.toFixed(1),
        annSettings: ann,
        recallAt10: +recall.toFixed(4),
        latencyMs: { textEmbed: p(embedMs), annSearch: annP, textSearchEndToEnd: p(endToEndMs), lanceFlatScan: p(flatMs), jsExactScan: exactP },
        exactOverAnnP50: +(exactP.p50 / annP.p50).toFixed(2),
        indexing: {
          tracks: report.added,
          secondsPerTrack: 10,
          tracksPerSecond: +report.tracksPerSecond.toFixed(2),
          audioSecondsPerSecond: +(report.tracksPerSecond * 10).toFixed(1),
          failed: report.failed.length,
        },
      };
    } finally {
      space.dispose();
      await rm(dir, { recursive: true, force: true });
    }
  },
};
