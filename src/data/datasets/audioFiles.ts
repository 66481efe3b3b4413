/**
 * Finding audio files and telling whether they look readable, without decoding them: decoding
 * 18k files just to load metadata would take minutes, while the first bytes catch the usual
 * faults (empty or truncated files, HTML error pages saved as .mp3, the wrong container).
 */
import { open, readdir, realpath, stat } from 'node:fs/promises';
import { extname, join, basename, relative, sep } from 'node:path';
import type { LoadProblem } from '../corpus.js';

export const AUDIO_EXTENSIONS = ['.wav', '.mp3', '.flac', '.ogg', '.au', '.aif', '.aiff', '.m4a'] as const;

export type AudioCheck = 'header' | 'exists' | 'none';

export function isAudioName(name: string): boolean {
  return !name.startsWith('.') && (AUDIO_EXTENSIONS as readonly string[]).includes(extname(name).toLowerCase());
}

/** Map file stem -> absolute path for the audio files directly inside `dir` (empty when absent). */
export async function indexAudioDir(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return out;
  }
  names.sort();
  for (const name of names) {
    if (!isAudioName(name)) continue;
    const stem = basename(name, extname(name));
    // Prefer the first extension in AUDIO_EXTENSIONS order when a stem exists twice.
    const prev = out.get(stem);
    if (prev === undefined || rank(name) < rank(prev)) out.set(stem, join(dir, name));
  }
  return out;
}

/** One file found by walkAudioFiles: its path under the walked folder (symlinks kept) and id. */
export interface FoundAudio {
  /** Absolute path as reached from the root (through any symlinks, not resolved). */
  path: string;
  /** Path relative to the root with '/' separators. */
  rel: string;
}

/**
 * Audio files under `root`, recursively, sorted by relative path. Symlinked files and folders are
 * followed (catalogues are often folders of links into a music library); a folder reached twice
 * by its real path (a link loop, or two links to one folder) is walked once. Hidden entries
 * (caches, `.DS_Store`) are skipped; dangling links are ignored.
 */
export async function walkAudioFiles(root: string): Promise<FoundAudio[]> {
  const out: FoundAudio[] = [];
  const visited = new Set<string>();
  const visit = async (dir: string): Promise<void> => {
    let real: string;
    try {
      real = await realpath(dir);
    } catch {
      return;
    }
    if (visited.has(real)) return;
    visited.add(real);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return;
    }
    names.sort();
    for (const name of names) {
      if (name.startsWith('.')) continue;
      const p = join(dir, name);
      let s;
      try {
        s = await stat(p); // follows symlinks
      } catch {
        continue;
      }
      if (s.isDirectory()) await visit(p);
      else if (s.isFile() && isAudioName(name)) out.push({ path: p, rel: relative(root, p).split(sep).join('/') });
    }
  };
  await visit(root);
  return out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

function rank(path: string): number {
  return (AUDIO_EXTENSIONS as readonly string[]).indexOf(extname(path).toLowerCase());
}

/** Why the file at `path` is not usable audio, or undefined when it looks fine. */
export async function audioProblem(path: string, check: AudioCheck): Promise<string | undefined> {
  if (check === 'none') return undefined;
  let size: number;
  try {
    const s = await stat(path);
    if (!s.isFile()) return 'unreadable: not a regular file';
    size = s.size;
  } catch {
    return 'missing: no such file';
  }
  if (size === 0) return 'unreadable: empty file';
  if (check === 'exists') return undefined;
  const head = Buffer.alloc(12);
  let got = 0;
  try {
    const fh = await open(path, 'r');
    try {
      got = (await fh.read(head, 0, 12, 0)).bytesRead;
    } finally {
      await fh.close();
    }
  } catch (err) {
    return `unreadable: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
  const kind = sniffAudio(head.subarray(0, got));
  if (!kind) return 'unreadable: not a known audio format (bad header)';
  if (kind === 'wav' && size <= 44) return 'unreadable: WAV file has no samples';
  return undefined;
}

/** Container type from the first bytes, or undefined. */
export function sniffAudio(b: Uint8Array): string | undefined {
  const ascii = (o: number, s: string) => s.split('').every((ch, k) => b[o + k] === ch.charCodeAt(0));
  if (b.length >= 12 && ascii(0, 'RIFF') && ascii(8, 'WAVE')) return 'wav';
  if (b.length >= 4 && ascii(0, 'fLaC')) return 'flac';
  if (b.length >= 4 && ascii(0, 'OggS')) return 'ogg';
  if (b.length >= 4 && ascii(0, '.snd')) return 'au';
  if (b.length >= 12 && ascii(0, 'FORM') && (ascii(8, 'AIFF') || ascii(8, 'AIFC'))) return 'aiff';
  if (b.length >= 8 && ascii(4, 'ftyp')) return 'm4a';
  if (b.length >= 3 && ascii(0, 'ID3')) return 'mp3';
  if (b.length >= 2 && b[0] === 0xff && ((b[1] as number) & 0xe0) === 0xe0) return 'mp3';
  return undefined;
}

/**
 * Check many files with bounded concurrency (file handles are limited); returns one problem per
 * bad path, in input order.
 */
export async function checkAudioFiles(paths: readonly string[], check: AudioCheck, concurrency = 32): Promise<Map<string, string>> {
  const bad = new Map<string, string>();
  if (check === 'none') return bad;
  const results: Array<string | undefined> = new Array(paths.length);
  let next = 0;
  const worker = async () => {
    while (next < paths.length) {
      const k = next++;
      results[k] = await audioProblem(paths[k] as string, check);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, paths.length) }, worker));
  paths.forEach((p, k) => { const r = results[k]; if (r !== undefined) bad.set(p, r); });
  return bad;
}

export function toProblems(bad: Map<string, string>): LoadProblem[] {
  return [...bad].map(([path, problem]) => ({ path, problem }));
}
