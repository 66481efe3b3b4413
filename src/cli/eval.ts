/** `musicbert eval`: the Table-1 evaluation (representations → SVM probes → report). */
import { evaluate, type EvalProgress } from '../eval/index.js';
import { TASK_TITLES, renderMarkdown } from '../eval/report.js';
import { REP_NAMES, isRepName, type RepName, type SplitMode } from '../eval/types.js';
import { UsageError } from '../util/errors.js';
import { Progress } from '../util/progress.js';
import { opt, parseOptions, type Command } from './command.js';
import { evaluateGrouped, renderGroupedMarkdown } from '../eval/grouped.js';
import type { PretrainRecipe } from '../eval/representations/types.js';
import { loadCorpus } from '../data/datasets/index.js';
import { CATALOGUE_FLAGS, CATALOGUE_USAGE, catalogueLoadOptions } from './catalogueArgs.js';

const SPLITS: readonly SplitMode[] = ['ff', 'random', 'cv10'];

const usage = `usage: musicbert eval --data DIR --out DIR [--reps ${REP_NAMES.slice(0, 3).join(',')},...] [--seeds 3]
                     [--split ff|random|cv10] [--train-data DIR] [--cache DIR] [--quick] [--json] [--quiet]
       musicbert eval --data DIR --out DIR --folds K [--group COL] [--columns FILE] [--reps mfcc,full]
                     [--recipe JSON] [--seed S] [--no-joint] [--train-data DIR] [--cache DIR] [--quick]

Catalogue mode (--folds, --group or --columns): K-fold cross-validation grouped by COL (no artist
is split across folds), one task per label column of the catalogue (categorical: accuracy and
macro-F1; numeric: r²). Learned rows are pre-trained per fold on the other folds only (or once on
--train-data minus the evaluated files); the full row adds mood-word retrieval (mAP, P@10 beside
chance) and zero-shot genre (beside the majority class). Writes OUT/real.md and OUT/real.json.
${CATALOGUE_USAGE}
  --folds K       outer folds (default 5)
  --recipe JSON   pre-training overrides for learned rows, e.g. '{"config":"tiny","steps":40}'
  --no-joint      skip the joint-space figures

Table 1: probe frozen representations of every track in --data with SVMs (genre accuracy) and
epsilon-SVRs (valence / arousal r²). Kernel and C are chosen by 5-fold cross-validation inside
the training data; features are standardised with training statistics only.

  --reps LIST    rows to compute, comma-separated (default every row but local and layers; with --folds, mfcc):
                 ${REP_NAMES.join(', ')}
  --seeds N      training runs per learned row, reported as mean ± std (default 3)
  --split MODE   ff: the corpus' own train/valid/test split (the fault-filtered GTZAN split when
                 the corpus has one); random: a seeded 80/20 split; cv10: 10-fold cross-validation
  --train-data D corpus the learned representations train on (default: --data minus held-out tracks)
  --cache DIR    feature and model cache (default OUT/cache); re-runs reuse it
  --quick        short training and a small probe grid (smoke test, not for reporting)
  --json         print the whole table as JSON on stdout
Writes OUT/table1.json, OUT/table1.md and OUT/table1.svg. Progress goes to stderr unless --quiet.`;

export function parseReps(text: string | undefined): RepName[] | undefined {
  if (text === undefined) return undefined;
  const names = text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (names.length === 0) throw new UsageError('--reps is empty');
  for (const n of names) if (!isRepName(n)) throw new UsageError(`--reps: unknown representation "${n}" (known: ${REP_NAMES.join(', ')})`);
  return [...new Set(names)] as RepName[];
}

/** One progress bar per (row, seed, stage) on stderr; shared with the main job. */
export function evalProgressPrinter(quiet: boolean): { onProgress: (p: EvalProgress) => void; finish: () => void } {
  let current: { key: string; bar: Progress } | undefined;
  return {
    onProgress(p) {
      const key = `${p.rep} seed ${p.seed} ${p.stage}`;
      if (current?.key !== key) {
        current?.bar.finish();
        current = { key, bar: new Progress({ label: key, total: p.total, quiet }) };
      }
      current.bar.set(p.done, p.info);
    },
    finish() {
      current?.bar.finish();
    },
  };
}

export const evalCommand: Command = {
  name: 'eval',
  summary: 'Table 1: probe representations for genre, valence and arousal; write table1.{md,json,svg}',
  usage,
  async run(argv) {
    const { values: o } = parseOptions(
      argv,
      {
        data: opt.string({ required: true, meta: 'DIR' }),
        out: opt.string({ required: true, meta: 'DIR' }),
        reps: opt.string(),
        seeds: opt.int({ min: 1, default: 3 }),
        split: opt.string({ choices: SPLITS, default: 'ff' }),
        'train-data': opt.string(),
        cache: opt.string(),
        quick: opt.flag(),
        json: opt.flag(),
        quiet: opt.flag(),
        folds: opt.int({ min: 2 }),
        recipe: opt.string({ meta: 'JSON' }),
        seed: opt.int({ min: 0, default: 0 }),
        'no-joint': opt.flag(),
        ...CATALOGUE_FLAGS,
      },
      usage,
    );
    const { data, out, seeds, quiet } = o;
    const split = o.split as SplitMode;
    const reps = parseReps(o.reps);
    if (o.folds !== undefined || o.group !== undefined || o.columns !== undefined) {
      return runGrouped({ ...o, folds: o.folds ?? 5 }, reps);
    }

    const progress = evalProgressPrinter(quiet);
    const onProgress = progress.onProgress;
    const trainData = o['train-data'];
    const cacheDir = o.cache;
    const table = await evaluate({
      data,
      out,
      seeds,
      split,
      quick: o.quick,
      onProgress,
      verbose: !quiet,
      ...(reps ? { reps } : {}),
      ...(trainData ? { trainData } : {}),
      ...(cacheDir ? { cacheDir } : {}),
    });
    progress.finish();
    if (o.json) process.stdout.write(JSON.stringify(table, null, 2) + '\n');
    else {
      process.stdout.write(renderMarkdown(table));
      process.stdout.write(`\nwrote ${out}/table1.md, table1.json, table1.svg (${table.tasks.map((t) => TASK_TITLES[t]).join(', ')})\n`);
    }
    return 0;
  },
};

function parseRecipe(text: string | undefined): PretrainRecipe | undefined {
  if (text === undefined) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--recipe must be a JSON object (${(err as Error).message})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new UsageError('--recipe must be a JSON object, e.g. {"config":"tiny","steps":40}');
  return v as PretrainRecipe;
}

interface GroupedArgs {
  data: string;
  out: string;
  folds: number;
  seed: number;
  quick: boolean;
  quiet: boolean;
  json: boolean;
  recipe: string | undefined;
  cache: string | undefined;
  'train-data': string | undefined;
  'no-joint': boolean;
  columns: string | undefined;
  group: string | undefined;
}

/** Catalogue mode: artist-grouped k-fold over the label columns (eval/grouped.ts). */
async function runGrouped(o: GroupedArgs, reps: RepName[] | undefined): Promise<number> {
  const corpus = await loadCorpus(o.data, await catalogueLoadOptions(o));
  const recipe = parseRecipe(o.recipe);
  const progress = evalProgressPrinter(o.quiet);
  const report = await evaluateGrouped({
    data: o.data,
    out: o.out,
    corpus,
    folds: o.folds,
    seed: o.seed,
    quick: o.quick,
    onProgress: progress.onProgress,
    verbose: !o.quiet,
    ...(reps ? { reps } : {}),
    ...(o['train-data'] ? { trainData: o['train-data'] } : {}),
    ...(o.cache ? { cacheDir: o.cache } : {}),
    ...(recipe ? { recipe } : {}),
    ...(o['no-joint'] ? { joint: false as const } : {}),
  });
  progress.finish();
  if (o.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  else process.stdout.write(renderGroupedMarkdown(report) + `\nwrote ${o.out}/real.md, real.json\n`);
  return 0;
}
