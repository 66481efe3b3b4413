import { sklearnParity } from './sklearnParity.js';
import { frontendBenchmark } from './frontend.js';
import { transformerStepBenchmark } from './transformerStep.js';
import { synthBenchmark } from './synth.js';
import { searchBenchmark } from './search.js';
import { searchScaleBenchmark } from './searchScale.js';
import { realFilesBenchmark } from './realFiles.js';
import { serveBenchmark } from './serve.js';
import { chatBenchmark } from './chat.js';
import { chatRealBenchmark } from './chatReal.js';
import { realPretrainBenchmark } from './realPretrain.js';

/** Options after the names: `--sizes 100000,1000000` → { sizes: '100000,1000000' }, `--tune` → { tune: true }. */
export type BenchArgs = Record<string, string | true>;

/** One benchmark: measures musicbert and its peer in the same run and returns figures plus ratios. */
export interface Benchmark {
  name: string;
  summary: string;
  run(args?: BenchArgs): Promise<Record<string, unknown>>;
}

/** Every benchmark `npm run bench` runs. Add new benchmarks here. */
export const benchmarks: Benchmark[] = [sklearnParity, frontendBenchmark, transformerStepBenchmark, synthBenchmark, searchBenchmark, searchScaleBenchmark, realFilesBenchmark, realPretrainBenchmark, serveBenchmark, chatBenchmark, chatRealBenchmark];
