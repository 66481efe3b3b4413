/**
 * The label vocabularies a model was trained with, saved beside its checkpoints as
 * `labels.json`: the genres and tags of its training corpus (whatever taxonomy the catalogue
 * has) and the prompt templates. Zero-shot defaults (`serve`, `ask`) come from here, so a model
 * trained on a real catalogue offers that catalogue's genres, not the generator's ten.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeJsonAtomic } from '../util/atomic.js';
import { CheckpointError } from '../util/errors.js';

export const VOCABULARY_FILE = 'labels.json';

export interface ModelVocabulary {
  format: 'musicbert-labels';
  version: 1;
  /** Genre labels of the training corpus (zero-shot default), sorted. */
  genres: string[];
  /** Tag (concept) vocabulary the encoder learned, in its output order. */
  tags: string[];
  /** Prompt templates with a {label} placeholder. */
  templates: { genre: string; tag: string };
}

export function modelVocabulary(genres: readonly string[], tags: readonly string[], templates = { genre: 'a {label} track', tag: '{label} music' }): ModelVocabulary {
  return { format: 'musicbert-labels', version: 1, genres: [...genres], tags: [...tags], templates: { ...templates } };
}

export async function saveVocabulary(modelDir: string, v: ModelVocabulary): Promise<void> {
  await writeJsonAtomic(join(modelDir, VOCABULARY_FILE), v);
}

/** The saved vocabulary of a model directory, or undefined for models saved before it existed. */
export async function loadVocabulary(modelDir: string): Promise<ModelVocabulary | undefined> {
  const path = join(modelDir, VOCABULARY_FILE);
  if (!existsSync(path)) return undefined;
  let v: Partial<ModelVocabulary>;
  try {
    v = JSON.parse(await readFile(path, 'utf8')) as Partial<ModelVocabulary>;
  } catch (err) {
    throw new CheckpointError(`cannot read the label vocabulary (${(err as Error).message})`, path, { cause: err });
  }
  if (v.format !== 'musicbert-labels' || !Array.isArray(v.genres) || !Array.isArray(v.tags) || !v.templates) {
    throw new CheckpointError('not a musicbert label vocabulary (expected format "musicbert-labels" with genres, tags, templates)', path);
  }
  return v as ModelVocabulary;
}
