/**
 * Extra unlabeled audio for stage-1 pre-training (`pretrain --extra-audio DIR`): every audio file
 * under the given folders or files, recursively, symlinks followed (each real folder visited once,
 * so a link loop ends). The tracks carry no tags or text: only self-supervised objectives learn
 * from them.
 */
import { readdir, realpath, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { TrackRecord } from './corpus.js';
import { isAudioName } from './datasets/audioFiles.js';
import { DatasetError } from '../util/errors.js';

async function walk(path: string, seen: Set<string>, out: string[]): Promise<void> {
  const real = await realpath(path);
  if (seen.has(real)) return;
  seen.add(real);
  const names = (await readdir(path)).sort();
  for (const name of names) {
    if (name.startsWith('.')) continue;
    const p = join(path, name);
    const s = await stat(p).catch(() => undefined);
    if (!s) continue;
    if (s.isDirectory()) await walk(p, seen, out);
    else if (s.isFile() && isAudioName(name)) out.push(p);
  }
}

/** Tracks (id "extra:<path>", split train, no tags) for every audio file under `paths`, sorted by path. */
export async function extraAudioTracks(paths: readonly string[]): Promise<TrackRecord[]> {
  const files: string[] = [];
  const seen = new Set<string>();
  for (const p of paths) {
    const abs = resolve(p);
    const s = await stat(abs).catch((err: Error) => {
      throw new DatasetError(`cannot read extra audio (${err.message})`, abs, { cause: err });
    });
    if (s.isDirectory()) await walk(abs, seen, files);
    else files.push(abs);
  }
  const unique = [...new Set(files)].sort();
  if (unique.length === 0) throw new DatasetError('no audio files found under the extra audio paths', paths.join(', '));
  return unique.map((f) => ({ id: `extra:${f}`, audioPath: f, split: 'train', tags: [] }));
}
