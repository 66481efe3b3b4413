/**
 * Corpus generation speed: render tracks x 10 s with one worker per core and project the time
 * for the 1,000-track corpus (the target is under 5 minutes on a 2-core machine). There is no
 * external peer to compare with; the figure to watch is the projection against the target.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { synthesizeCorpus } from '../src/data/synth/index.js';
import type { Benchmark } from './benchmarks.js';

export const synthBenchmark: Benchmark = {
  name: 'synth',
  summary: 'corpus generator: tracks/second at 10 s per track, projected time for 1,000 x 10 s (target < 300 s)',
  async run() {
    const tracks = Number(process.env.SYNTH_BENCH_TRACKS ?? 60);
    const seconds = 10;
    const workers = availableParallelism();
    const dir = await mkdtemp(join(tmpdir(), 'mb-synth-bench-'));
    try {
      const t0 = performance.now();
      await synthesizeCorpus({ out: join(dir, 'c'), tracks, seconds, seed: 1, workers, quiet: true });
      const wall = (performance.now() - t0) / 1000;
      const tracksPerSecond = tracks / wall;
      const projected1000 = 1000 / tracksPerSecond;
      return {
        tracks, seconds, workers,
        wallS: +wall.toFixed(2),
        tracksPerSecond: +tracksPerSecond.toFixed(2),
        realtimeFactor: +((tracks * seconds) / wall).toFixed(1),
        projected1000x10sS: +projected1000.toFixed(1),
        targetS: 300,
        withinTarget: projected1000 < 300,
      };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
