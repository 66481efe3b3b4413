import { evaluateGrouped, renderGroupedMarkdown } from '/work/wt/h11cat/src/eval/grouped.ts';
import { readColumnMapping } from '/work/wt/h11cat/src/data/datasets/catalogue.ts';
const columns = await readColumnMapping('/tmp/h11cat/columns.json');
const folds = Number(process.argv[2] ?? 5);
const r = await evaluateGrouped({ data: '/work/shared/data/real_dev', columns, out: '/tmp/h11cat/mfcc' + folds, cacheDir: '/tmp/h11cat/cache', folds, reps: ['mfcc'], onProgress: (p) => { if (p.done % 50 === 0) process.stderr.write(`${p.rep} ${p.stage} ${p.done}/${p.total}\n`); } });
process.stdout.write(renderGroupedMarkdown(r));
