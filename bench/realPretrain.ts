/**
 * The default real-audio recipe's pre-training time: `pretrain --config real` (stage 1 on the
 * catalogue's concepts: mood words, genre and label columns; every stage-2 objective, text = mood
 * words and genres), on the 380 real_dev clips as eval:real reads them. Target: at most 20 minutes on the 2-core machine
 * (issue 11). Log-mel decoding is timed apart (cached across runs in the OS temp folder). Skips
 * when ../shared/data/real_dev is absent. REAL_BENCH_CLIPS limits the clips for a quick look.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { corpusPatches } from '../src/data/cache.js';
import { pretrain } from '../src/train/pretrain.js';
import { hasRealDev, loadRealDev } from '../scripts/realDev.js';
import { sharedDir } from './peers.js';
import type { Benchmark } from './benchmarks.js';

const TARGET_S = 1200;

export const realPretrainBenchmark: Benchmark = {
  name: 'real-pretrain',
  summary: `pretrain --config real (concept tags + all objectives) on the 380 real_dev clips (target < ${TARGET_S} s)`,
  async run() {
    const dir = join(sharedDir, 'data', 'real_dev'); // found from bench/ and from dist/bench/
    if (!hasRealDev(dir)) return { skipped: `${dir} not found` };
    const corpus = await loadRealDev(dir);
    const limit = Number(process.env.REAL_BENCH_CLIPS ?? corpus.tracks.length);
    corpus.tracks = corpus.tracks.slice(0, limit);
    const cacheDir = join(tmpdir(), 'musicbert-bench-real-cache');
    const t0 = performance.now();
    await corpusPatches(corpus.tracks, cacheDir, { quiet: true });
    const decodeS = (performance.now() - t0) / 1000;
    const out = await mkdtemp(join(tmpdir(), 'mb-real-bench-'));
    try {
      const r = await pretrain({ data: dir, corpus, out, cacheDir, config: 'real', quiet: true });
      const s = r.summary;
      const totalS = decodeS + s.seconds;
      return {
        clips: corpus.tracks.length,
        decodeS: +decodeS.toFixed(1),
        encoderS: +s.encoder.seconds.toFixed(1),
        stage2S: +s.model.seconds.toFixed(1),
        pretrainS: +s.seconds.toFixed(1),
        totalS: +totalS.toFixed(1),
        targetS: TARGET_S,
        withinTarget: totalS < TARGET_S,
      };
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  },
};
