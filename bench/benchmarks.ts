/** One benchmark: measures musicbert and its peer in the same run and returns figures plus ratios. */
export interface Benchmark {
  name: string;
  summary: string;
  run(): Promise<Record<string, unknown>>;
}

/** Every benchmark `npm run bench` runs. Add new benchmarks here. */
export const benchmarks: Benchmark[] = [];
