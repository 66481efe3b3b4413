/**
 * `musicbert main` (what `npm start` runs): the whole experiment on the built-in data. Generate the
 * corpus, pre-train every learned representation, probe all Table-1 rows, write and print the
 * report. Every stage caches under --out, so a re-run (or a run after an interruption) reuses the
 * corpus, the checkpoints and the features it already has.
 */
import { cp } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { evaluateRetrieval, type RetrievalEval } from '../search/metrics.js';
import { JointSpace } from '../search/jointSpace.js';
import { writeDirAtomic, writeJsonAtomic } from '../util/atomic.js';
import { synthesizeCorpus } from '../data/synth/index.js';
import { evaluate } from '../eval/index.js';
import { renderMarkdown } from '../eval/report.js';
import { REP_NAMES } from '../eval/types.js';
import { UsageError } from '../util/errors.js';
import { evalRunDir, listEvalRowDirs, listEvalRuns, mainDirs, modelDirs } from '../util/runDirs.js';
import { formatSeconds } from '../util/progress.js';
import { opt, parseOptions, type Command } from './command.js';
import { evalProgressPrinter, parseReps } from './eval.js';
import { formatEval } from './search.js';

/**
 * Publish the first seed's full model (its stage-1 encoder + the all-objectives MusicBert) as one
 * `pretrain --out`-style directory, so search/serve/tags can use what the main job trained.
 * Returns undefined when the run did not train the full row.
 */
async function publishFullModel(cacheDir: string, modelDir: string): Promise<string | undefined> {
  for (const run of await listEvalRuns(cacheDir)) {
    if (run.seed !== 0) continue;
    const encoder = modelDirs(evalRunDir(cacheDir, run, 'encoder')).encoder;
    // The most recently trained stage 2 over this encoder (a re-run with new text trains another).
    const bert = (await listEvalRowDirs(cacheDir, run, 'full')).map((d) => modelDirs(d).model).find((m) => existsSync(join(m, 'config.json')));
    if (!existsSync(join(encoder, 'config.json')) || bert === undefined) continue;
    await writeDirAtomic(modelDir, async (tmp) => {
      const published = modelDirs(tmp);
      await cp(encoder, published.encoder, { recursive: true });
      await cp(bert, published.model, { recursive: true });
    });
    return modelDir;
  }
  return undefined;
}

/** The defaults are sized so the whole job fits in about half an hour on a 2-core machine. */
export const MAIN_DEFAULTS = { out: 'runs/main', tracks: 200, seconds: 10, seed: 1, seeds: 3 } as const;

const usage = `usage: musicbert main [--out DIR] [--tracks N] [--seconds S] [--seed K] [--seeds N]
                     [--reps LIST] [--quick] [--json] [--quiet]

The main job on the built-in data: generate a corpus (DIR/corpus), pre-train and probe every
Table-1 row (checkpoints and features in DIR/cache), write DIR/report/table1.{md,json,svg} and
print the table. Re-running reuses whatever is already there.

  --out DIR      working directory (default ${MAIN_DEFAULTS.out})
  --tracks N     generated tracks (default ${MAIN_DEFAULTS.tracks}), --seconds S each (default ${MAIN_DEFAULTS.seconds})
  --seed K       corpus seed (default ${MAIN_DEFAULTS.seed}); --seeds N training seeds per learned row (default ${MAIN_DEFAULTS.seeds})
  --reps LIST    rows to compute (default every row but local and layers): ${REP_NAMES.join(', ')}
  --quick        a small corpus, short training, small probe grid: a smoke run of a few minutes
  --json         print the table as JSON on stdout`;

export const mainCommand: Command = {
  name: 'main',
  summary: 'the main job: generate the built-in corpus, pre-train, evaluate Table 1, print it',
  usage,
  async run(argv) {
    const { values: o } = parseOptions(
      argv,
      {
        out: opt.string({ default: MAIN_DEFAULTS.out }), tracks: opt.int({ min: 20 }), seconds: opt.number({ positive: true }),
        seed: opt.int({ default: MAIN_DEFAULTS.seed }), seeds: opt.int({ min: 1 }), reps: opt.string(), quick: opt.flag(), json: opt.flag(), quiet: opt.flag()
      },
      usage,
    );
    const { quick, quiet, seed } = o;
    const out = resolve(o.out);
    const tracks = o.tracks ?? (quick ? 60 : MAIN_DEFAULTS.tracks);
    const seconds = o.seconds ?? (quick ? 4 : MAIN_DEFAULTS.seconds);
    const seeds = o.seeds ?? (quick ? 1 : MAIN_DEFAULTS.seeds);
    const reps = parseReps(o.reps);
    const log = (line: string): void => {
      if (!quiet) process.stderr.write(`${line}\n`);
    };

    const t0 = Date.now();
    const dirs = mainDirs(out);
    const corpusDir = dirs.corpus;
    log(`[1/2] corpus: ${tracks} tracks x ${seconds} s, seed ${seed} -> ${corpusDir}`);
    const corpus = await synthesizeCorpus({ out: corpusDir, tracks, seconds, seed, quiet });
    const tCorpus = (Date.now() - t0) / 1000;
    log(`      ${corpus.tracks.length} tracks, ${corpus.albums.length} albums (${formatSeconds(tCorpus)})`);

    log(`[2/2] Table 1: pre-training and probing ${reps ? reps.join(', ') : 'all rows'} (${seeds} seed${seeds === 1 ? '' : 's'} per learned row)`);
    const progress = evalProgressPrinter(quiet);
    const table = await evaluate({
      data: corpusDir,
      corpus,
      out: dirs.report,
      cacheDir: dirs.cache,
      seeds,
      quick,
      onProgress: progress.onProgress,
      verbose: !quiet,
      ...(reps ? { reps } : {}),
    });
    progress.finish();

    // The joint space in use: text→music retrieval and zero-shot genre on the held-out split.
    let retrieval: RetrievalEval | undefined;
    const modelDir = await publishFullModel(dirs.cache, dirs.model);
    if (modelDir) {
      log(`      retrieval with the full model (seed 0, ${modelDir})`);
      const space = await JointSpace.load(modelDir);
      try {
        retrieval = await evaluateRetrieval(space, corpus, { split: 'test', quiet });
      } finally {
        space.dispose();
      }
      await writeJsonAtomic(dirs.retrieval, retrieval);
    }
    const total = (Date.now() - t0) / 1000;
    if (o.json) {
      process.stdout.write(JSON.stringify({ ...table, retrieval, model: modelDir, elapsedS: Math.round(total) }, null, 2) + '\n');
    } else {
      process.stdout.write(renderMarkdown(table));
      if (retrieval) process.stdout.write(`\n## The joint space (full model, seed 0: ${modelDir})\n\n${formatEval(retrieval)}\n`);
      process.stdout.write(`\nwrote ${dirs.report}/table1.{md,json,svg} in ${formatSeconds(total)} (corpus ${formatSeconds(tCorpus)})\n`);
    }
    return 0;
  },
};
