/**
 * Every directory and file name the toolkit gives its runs and caches, in one place, so a reader
 * (or `main`, which publishes what eval trained) never has to know another module's layout.
 *
 *   pretrain --out OUT        OUT/audio-encoder/  OUT/musicbert/   (a model directory)
 *   corpus cache              DATA/.musicbert-cache/  (patches/, embeddings/); else OUT/cache/
 *   main --out OUT            OUT/corpus/  OUT/cache/  OUT/report/  OUT/model/
 *   evaluate cache CACHE      CACHE/<rep>-s<seed>-<key>.safetensors      (features)
 *                             CACHE/pretrain/                            (pre-training's corpus cache)
 *                             CACHE/models/<preset>-s<seed>-<key>/encoder/  (stage 1, shared by the seed's rows;
 *                                                                           key: audio, annotations, stage-1 recipe)
 *                             CACHE/models/<preset>-s<seed>-<key>/<rep>-<key2>/  (stage 2 of one row;
 *                                                                           key2: that and the text, stage-2 recipe)
 */
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/** The two checkpoints of a `pretrain --out` directory (also what JointSpace.load reads). */
export function modelDirs(out: string): { encoder: string; model: string } {
  return { encoder: join(out, 'audio-encoder'), model: join(out, 'musicbert') };
}

/** The patch/vector cache beside a corpus, shared by every run on it. */
export function corpusCacheDir(dataDir: string): string {
  return join(resolve(dataDir), '.musicbert-cache');
}

/** Where pretrain puts its cache when the corpus directory is read-only. */
export function fallbackCacheDir(out: string): string {
  return join(out, 'cache');
}

/** The layout of `musicbert main --out OUT`. */
export const mainDirs = (out: string) => ({ corpus: join(out, 'corpus'), cache: join(out, 'cache'), report: join(out, 'report'), model: join(out, 'model'), retrieval: join(out, 'report', 'retrieval.json') });

/** evaluate()'s default cache: beside its report. */
export function evalCacheDir(reportDir: string): string {
  return join(reportDir, 'cache');
}

/** One cached feature matrix of a representation. */
export function featureCachePath(cacheDir: string, rep: string, seed: number, key: string): string {
  return join(cacheDir, `${rep}-s${seed}-${key}.safetensors`);
}

/** Pre-training's patch/vector cache inside an evaluation cache. */
export function evalPretrainCacheDir(cacheDir: string): string {
  return join(cacheDir, 'pretrain');
}

/** One seed's pre-training for the evaluation: preset, seed and a key of the training tracks. */
export type EvalRun = { preset: string; seed: number; key: string };

const RUN_NAME = /^([a-z0-9]+)-s(\d+)-([0-9a-f]+)$/;

/** The directory of one stage of an evaluation run: 'encoder' (stage 1) or a row name (stage 2). */
export function evalRunDir(cacheDir: string, run: EvalRun, stage: string): string {
  return join(cacheDir, 'models', `${run.preset}-s${run.seed}-${run.key}`, stage);
}

/** The directory of one row's stage 2 in an evaluation run, named by everything it trained on. */
export function evalRowDir(cacheDir: string, run: EvalRun, rep: string, key: string): string {
  return evalRunDir(cacheDir, run, `${rep}-${key}`);
}

/** The row's stage-2 directories present in a run, most recently written first. */
export async function listEvalRowDirs(cacheDir: string, run: EvalRun, rep: string): Promise<string[]> {
  const runDir = evalRunDir(cacheDir, run, '');
  let names: string[];
  try {
    names = await readdir(runDir);
  } catch {
    return [];
  }
  const prefix = `${rep}-`;
  const dirs = names.filter((n) => n.startsWith(prefix) && /^[0-9a-f]+$/.test(n.slice(prefix.length))).map((n) => join(runDir, n));
  const times = await Promise.all(dirs.map(async (d) => (await stat(d)).mtimeMs));
  return dirs.map((d, i) => ({ d, t: times[i] as number })).sort((a, b) => b.t - a.t || (a.d < b.d ? -1 : 1)).map((e) => e.d);
}

/** The evaluation runs present in a cache (sorted by name), for publishing what eval trained. */
export async function listEvalRuns(cacheDir: string): Promise<EvalRun[]> {
  let names: string[];
  try {
    names = await readdir(join(cacheDir, 'models'));
  } catch {
    return [];
  }
  return names
    .sort()
    .map((n) => RUN_NAME.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ preset: m[1] as string, seed: Number(m[2]), key: m[3] as string }));
}
