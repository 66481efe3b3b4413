/**
 * `index --input LIST`: a text file naming the tracks, one path per line. Blank lines and lines
 * starting with # are skipped, surrounding spaces trimmed; a relative path is relative to the
 * list file's folder. A track's id is its path relative to that folder (or as written, for a path
 * outside it), without the extension, with / separators; a repeated path is listed once, and the
 * same stem in two formats keeps the extension on the second (as for a folder).
 */
import { readFile } from 'node:fs/promises';
import { dirname, extname, isAbsolute, relative, resolve, sep } from 'node:path';
import { UsageError } from '../util/errors.js';

export interface ListedTrack {
  id: string;
  path: string;
}

const AUDIO_EXTENSIONS = new Set(['.wav', '.mp3', '.flac', '.ogg', '.oga']);

export async function readInputList(listPath: string): Promise<ListedTrack[]> {
  if (AUDIO_EXTENSIONS.has(extname(listPath).toLowerCase())) throw new UsageError(`--input ${listPath}: an audio file, not a list; give a folder or a text file of paths (one per line)`);
  let text: string;
  try {
    text = await readFile(listPath, 'utf8');
  } catch (err) {
    throw new UsageError(`--input ${listPath}: cannot read the list (${(err as Error).message})`);
  }
  const base = dirname(resolve(listPath));
  const seenPaths = new Set<string>();
  const seenIds = new Set<string>();
  const out: ListedTrack[] = [];
  for (const [n, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.includes('\0')) throw new UsageError(`--input ${listPath}: line ${n + 1} is not a path`);
    const path = resolve(base, line);
    if (seenPaths.has(path)) continue;
    seenPaths.add(path);
    const rel = relative(base, path);
    const name = (rel.startsWith('..') || isAbsolute(rel) ? line : rel).split(sep).join('/');
    let id = name.slice(0, name.length - extname(name).length);
    if (seenIds.has(id)) id = name;
    seenIds.add(id);
    out.push({ id, path });
  }
  if (out.length === 0) throw new UsageError(`--input ${listPath}: the list names no files (one path per line; # starts a comment)`);
  return out;
}
