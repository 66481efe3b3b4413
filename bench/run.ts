/**
 * `npm run bench`: every benchmark, each measuring musicbert and its peer (../shared/peers) in the
 * same run and printing the ratio. Pass names to run a subset: `npm run bench -- frontend real-files`.
 */
import { benchmarks } from './benchmarks.js';

/** Names match ignoring case and dashes: `real-files` runs realFiles. */
const key = (name: string): string => name.toLowerCase().replace(/-/g, '');
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const json = process.argv.includes('--json');
const results: Record<string, unknown> = {};
for (const b of benchmarks) {
  if (wanted.length > 0 && !wanted.some((w) => key(w) === key(b.name))) continue;
  process.stderr.write(`\n== ${b.name}: ${b.summary}\n`);
  const r = await b.run();
  results[b.name] = r;
  if (!json) process.stdout.write(`${b.name}: ${JSON.stringify(r)}\n`);
}
if (json) process.stdout.write(JSON.stringify(results, null, 2) + '\n');
