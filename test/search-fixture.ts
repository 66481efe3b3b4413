/**
 * The search/serve tests' shared fixture: a tiny generated corpus (30 tracks x 3 s), a tiny model
 * pre-trained on it with the real `pretrain`, and that corpus indexed into a vector store.
 *
 * Building it takes ~15-30 s, so it is made once per test run and shared by the test files of
 * that run: it lives in a directory named after the test runner's pid (every test file is a child
 * of the same runner), built in a temp directory and renamed into place, so a half-built fixture
 * is never seen. Directories of runners that have exited are removed.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { synthesizeCorpus } from '../src/data/synth/index.js';
import { pretrain } from '../src/train/pretrain.js';
import { JointSpace } from '../src/search/jointSpace.js';
import { indexCatalogue } from '../src/search/indexer.js';
import { processAlive } from '../src/search/storeLock.js';

export interface SearchFixture {
  root: string;
  /** Corpus directory (generator output). */
  data: string;
  /** Model directory (audio-encoder/ + musicbert/). */
  model: string;
  /** Vector store with every corpus track indexed. */
  db: string;
}

const PREFIX = 'musicbert-search-fixture-v1-';
export const FIXTURE_TRACKS = 30;


async function removeStale(): Promise<void> {
  for (const name of await readdir(tmpdir())) {
    if (!name.startsWith(PREFIX)) continue;
    const pid = Number(name.slice(PREFIX.length).split('.')[0]);
    if (Number.isInteger(pid) && pid !== process.ppid && !processAlive(pid)) await rm(join(tmpdir(), name), { recursive: true, force: true });
  }
}

let cached: Promise<SearchFixture> | undefined;

export function searchFixture(): Promise<SearchFixture> {
  cached ??= build();
  return cached;
}

async function build(): Promise<SearchFixture> {
  const root = join(tmpdir(), `${PREFIX}${process.ppid}`);
  const f: SearchFixture = { root, data: join(root, 'data'), model: join(root, 'model'), db: join(root, 'db') };
  if (existsSync(join(root, 'done'))) return f;
  await removeStale();
  if (!existsSync(root)) {
    // Corpus and model first, renamed into place whole (their files hold no absolute paths).
    const tmp = await mkdtemp(join(tmpdir(), `${PREFIX}${process.ppid}.tmp-`));
    await synthesizeCorpus({ out: join(tmp, 'data'), tracks: FIXTURE_TRACKS, seconds: 3, seed: 7, quiet: true, workers: 1 });
    await pretrain({ data: join(tmp, 'data'), out: join(tmp, 'model'), config: 'tiny', seed: 7, encoderSteps: 20, steps: 30, quiet: true, cacheDir: join(tmp, 'cache') });
    await rm(join(tmp, 'cache'), { recursive: true, force: true });
    await rename(tmp, root).catch(() => rm(tmp, { recursive: true, force: true }));
  }
  // Then the store, which records the final absolute paths of the audio and the model.
  const dbTmp = await mkdtemp(join(root, 'db.tmp-'));
  const space = await JointSpace.load(f.model);
  try {
    await indexCatalogue({ space, input: f.data, db: dbTmp, quiet: true });
  } finally {
    space.dispose();
  }
  await rename(dbTmp, f.db).catch(() => rm(dbTmp, { recursive: true, force: true }));
  await writeFile(join(root, 'done'), '');
  return f;
}
