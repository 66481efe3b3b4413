/**
 * `npm run eval:real`: the whole real-data experiment on ../shared/data/real_dev (380 30-s clips
 * of commercial music, 288 artists; see ../shared/data/README.md): artist-grouped k-fold CV of
 * every row over the quadrant, valence-sign, arousal-sign and 9-genre columns, plus the joint
 * space of the full model (mood-word retrieval, zero-shot genre), each learned row pre-trained per
 * fold without that fold's audio or text. Writes OUT/real.md and OUT/real.json.
 *
 * Skips with a message (exit 0) where ../shared/data/real_dev is absent: the data is third-party
 * and never part of the repository. The pre-training recipe is a parameter (--recipe JSON) so it
 * can be tuned without touching this file; the cache (--cache) keeps decoded patches and
 * features between runs.
 *
 *   npm run eval:real -- [--folds 5] [--reps mfcc,vggish,full] [--recipe '{"config":"tiny"}']
 *                        [--out runs/eval-real] [--cache runs/eval-real/cache] [--seed 0] [--quick]
 *                        [--max-tracks N]   (the artists of the first N rows only: a smoke run)
 *                        [--min-clips 15]   (mood words on at least this many clips are queries)
 *                        [--query-template '{label} music'] [--genre-template 'a {label} track']
 *                                           (the joint space's prompts, fitted to the model's words)
 */
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Corpus } from '../src/data/corpus.js';
import { hasRealDev, loadRealDev } from './realDev.js';
import { evaluateGrouped, renderGroupedMarkdown } from '../src/eval/grouped.js';
import type { PretrainRecipe } from '../src/eval/representations/types.js';
import { isRepName, type RepName } from '../src/eval/types.js';

/** The tracks of every group among the first `n` rows (whole artists, so folds stay grouped). */
function firstGroups(c: Corpus, n: number): Corpus {
  if (!Number.isInteger(n) || n < 1) throw new Error(`--max-tracks must be a positive integer, got ${n}`);
  const keep = new Set(c.tracks.slice(0, n).map((t) => t.group ?? t.id));
  const tracks = c.tracks.filter((t) => keep.has(t.group ?? t.id));
  const ids = new Set(tracks.map((t) => t.id));
  return { ...c, tracks, albums: c.albums.filter((a) => a.trackIds.some((id) => ids.has(id))), genres: [...new Set(tracks.map((t) => t.genre).filter((g): g is string => g !== undefined))].sort() };
}

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      data: { type: 'string' },
      out: { type: 'string' },
      cache: { type: 'string' },
      folds: { type: 'string' },
      reps: { type: 'string' },
      recipe: { type: 'string' },
      seed: { type: 'string' },
      quick: { type: 'boolean' },
      'no-joint': { type: 'boolean' },
      'max-tracks': { type: 'string' },
      'min-clips': { type: 'string' },
      'query-template': { type: 'string' },
      'genre-template': { type: 'string' },
    },
  });
  const data = resolve(values.data ?? join(repo, '..', 'shared', 'data', 'real_dev'));
  if (!hasRealDev(data)) {
    process.stdout.write(`eval:real skipped: ${data}/labels.csv not found (the real_dev clips are not on this machine)\n`);
    return 0;
  }
  const out = resolve(values.out ?? join(repo, 'runs', 'eval-real'));
  const reps = (values.reps ?? 'mfcc,vggish,full').split(',').map((s) => s.trim());
  for (const r of reps) if (!isRepName(r)) throw new Error(`--reps: unknown row "${r}"`);
  // The real-audio preset (tiny for --quick) unless the recipe names another (src/train/presets.ts).
  const recipe: PretrainRecipe = { config: values.quick ? 'tiny' : 'real', ...(values.recipe ? (JSON.parse(values.recipe) as PretrainRecipe) : {}) };
  // As the CLI does: every core for the native products unless the caller chose.
  if (process.env.MUSICBERT_THREADS === undefined) process.env.MUSICBERT_THREADS = String(availableParallelism());
  const full = await loadRealDev(data);
  const corpus = values['max-tracks'] ? firstGroups(full, Number(values['max-tracks'])) : full;
  const report = await evaluateGrouped({
    data,
    out,
    corpus,
    folds: Number(values.folds ?? 5),
    seed: Number(values.seed ?? 0),
    reps: reps as RepName[],
    cacheDir: resolve(values.cache ?? join(out, 'cache')),
    quick: values.quick === true,
    verbose: true,
    recipe,
    ...(values['no-joint']
      ? { joint: false as const }
      : {
          joint: {
            ...(values['min-clips'] ? { minClips: Number(values['min-clips']) } : {}),
            ...(values['query-template'] ? { queryTemplate: values['query-template'] } : {}),
            ...(values['genre-template'] ? { genreTemplate: values['genre-template'] } : {}),
          },
        }),
    onProgress: (p) => {
      if (p.done === p.total || p.done % 50 === 0) process.stderr.write(`${p.rep} s${p.seed} ${p.stage} ${p.done}/${p.total}${p.info ? ' ' + p.info : ''}\n`);
    },
  });
  process.stdout.write(renderGroupedMarkdown(report));
  process.stdout.write(`\nwrote ${out}/real.md and real.json\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`eval:real: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
