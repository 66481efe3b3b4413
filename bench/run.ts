/**
 * `npm run bench`: every benchmark, each measuring musicbert and its peer (../shared/peers) in the
 * same run and printing the ratio. Pass names to run a subset: `npm run bench -- frontend real-files`,
 * and options to the benchmarks: `npm run bench -- search-scale --sizes 100000,1000000`.
 */
import { benchmarks, type BenchArgs } from './benchmarks.js';

/** Names match ignoring case and dashes: `real-files` runs realFiles, `search-scale` searchScale. */
const key = (name: string): string => name.toLowerCase().replace(/-/g, '');
/** Options that take a value (the next argument); any other `--flag` is boolean. */
const VALUED = new Set(['sizes', 'seconds', 'peers', 'like', 'like-audio']);
const wanted: string[] = [];
const args: BenchArgs = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i] as string;
  if (!a.startsWith('--')) wanted.push(a);
  else {
    const [opt, inline] = a.slice(2).split('=', 2) as [string, string | undefined];
    if (inline !== undefined) args[opt] = inline;
    else if (VALUED.has(opt)) {
      const v = argv[++i];
      if (v === undefined) throw new Error(`bench: --${opt} needs a value`);
      args[opt] = v;
    } else args[opt] = true;
  }
}
const json = args.json === true;
const results: Record<string, unknown> = {};
for (const b of benchmarks) {
  if (wanted.length > 0 && !wanted.some((w) => key(w) === key(b.name))) continue;
  process.stderr.write(`\n== ${b.name}: ${b.summary}\n`);
  const r = await b.run(args);
  results[b.name] = r;
  if (!json) process.stdout.write(`${b.name}: ${JSON.stringify(r)}\n`);
}
if (json) process.stdout.write(JSON.stringify(results, null, 2) + '\n');
