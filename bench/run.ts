/**
 * `npm run bench`: every benchmark, each measuring musicbert and its peer (../shared/peers) in the
 * same run and printing the ratio. Pass names to run a subset: `npm run bench -- frontend`, and
 * options to the benchmarks: `npm run bench -- searchScale --sizes 100000,1000000`.
 */
import { benchmarks, type BenchArgs } from './benchmarks.js';

/** Options that take a value (the next argument); any other `--flag` is boolean. */
const VALUED = new Set(['sizes', 'seconds']);
const wanted: string[] = [];
const args: BenchArgs = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i] as string;
  if (!a.startsWith('--')) wanted.push(a);
  else {
    const [key, inline] = a.slice(2).split('=', 2) as [string, string | undefined];
    if (inline !== undefined) args[key] = inline;
    else if (VALUED.has(key)) {
      const v = argv[++i];
      if (v === undefined) throw new Error(`bench: --${key} needs a value`);
      args[key] = v;
    } else args[key] = true;
  }
}
const json = args.json === true;
const results: Record<string, unknown> = {};
for (const b of benchmarks) {
  // A name matches as written or in kebab case (searchScale or search-scale).
  const kebab = b.name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  if (wanted.length > 0 && !wanted.includes(b.name) && !wanted.includes(kebab)) continue;
  process.stderr.write(`\n== ${b.name}: ${b.summary}\n`);
  const r = await b.run(args);
  results[b.name] = r;
  if (!json) process.stdout.write(`${b.name}: ${JSON.stringify(r)}\n`);
}
if (json) process.stdout.write(JSON.stringify(results, null, 2) + '\n');
