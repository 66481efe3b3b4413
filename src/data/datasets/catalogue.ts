/**
 * The catalogue layout: a plain folder of audio files (any depth, symlinks followed) with an
 * optional sidecar `tracks.csv` or `tracks.jsonl`, one row per file:
 *
 *   path (relative, required) · id · text (several: repeated columns, `;`/`|`-separated, or a
 *   JSON array) · tags (`;`-separated) · group (artist or album) · split · any label columns
 *
 * A column mapping (`ColumnMapping`, from flags or a small JSON file) renames these roles, so a
 * sidecar in someone else's format (e.g. the 4Q dataset's labels.csv) loads unmodified. Without a
 * sidecar, embedded tags (ID3, Vorbis comments, FLAC) give title, artist, album, genre and
 * comments, and tracks are grouped by artist (or album).
 *
 * Bad rows never stop a load: each problem (bad row, missing or unreadable file, duplicate id,
 * bad number, path outside the folder, non-audio file, unknown column) is one LoadProblem naming
 * the sidecar line, and the rest loads. Only a sidecar that cannot be used at all (unparseable,
 * no path column, a mapped column absent from the header) is a DatasetError.
 *
 * Text travels as a one-track album (`track:<id>` with one review per text column), so every reader
 * of album reviews (pre-training's text objectives, retrieval evaluation) reads catalogue text
 * without knowing this layout; splits are grouped by `group`, never by those albums.
 */
import { readFile, stat } from 'node:fs/promises';
import { extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { parseFile } from 'music-metadata';
import type { AlbumRecord, Corpus, LabelColumn, LabelKind, LoadProblem, Split, TrackRecord } from '../corpus.js';
import { DatasetError } from '../../util/errors.js';
import { audioProblem, isAudioName, walkAudioFiles, type AudioCheck } from './audioFiles.js';
import { parseCsv } from './csv.js';
import { stratifiedSplit, type SplitRatios } from './split.js';

export const SIDECAR_NAMES = ['tracks.csv', 'tracks.jsonl'] as const;

/** Which sidecar column plays which role; every field optional (defaults: the role's own name). */
export interface ColumnMapping {
  /** Sidecar file, relative to the folder (default tracks.csv, then tracks.jsonl). */
  file?: string;
  path?: string;
  id?: string;
  /** The artist or album column; every split and fold keeps a group together. */
  group?: string;
  text?: string[];
  tags?: string[];
  split?: string;
  title?: string;
  /** The categorical label column zero-shot genre is scored on (also the track's `genre`). */
  genre?: string;
  /**
   * Label columns and their kinds. When given, every other column is reported as unknown;
   * when absent, every column with no role is a label, numeric when all its values are numbers.
   */
  labels?: Record<string, LabelKind>;
}

export interface CatalogueOptions {
  columns?: ColumnMapping;
  /** Without a sidecar: group tracks by their embedded artist (default) or album tag. */
  groupBy?: 'artist' | 'album';
  checkAudio?: AudioCheck;
  splitSeed?: number;
  splitRatios?: SplitRatios;
}

const ROLE_KEYS = ['file', 'path', 'id', 'group', 'text', 'tags', 'split', 'title', 'genre', 'labels'] as const;
const KINDS: readonly LabelKind[] = ['categorical', 'numeric'];
const SPLITS: readonly Split[] = ['train', 'valid', 'test'];

/** Check a mapping read from JSON (or built from flags): unknown keys and wrong types are errors. */
export function parseColumnMapping(value: unknown, source: string): ColumnMapping {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new DatasetError('column mapping must be a JSON object', source);
  const obj = value as Record<string, unknown>;
  const out: ColumnMapping = {};
  for (const [k, v] of Object.entries(obj)) {
    if (!(ROLE_KEYS as readonly string[]).includes(k)) throw new DatasetError(`column mapping: unknown key "${k}" (known: ${ROLE_KEYS.join(', ')})`, source);
    if (k === 'text' || k === 'tags') {
      const list = typeof v === 'string' ? [v] : v;
      if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) throw new DatasetError(`column mapping: "${k}" must be a column name or a list of them`, source);
      out[k] = [...list] as string[];
    } else if (k === 'labels') {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new DatasetError('column mapping: "labels" must map column names to "categorical" or "numeric"', source);
      const labels: Record<string, LabelKind> = {};
      for (const [col, kind] of Object.entries(v as Record<string, unknown>)) {
        if (!KINDS.includes(kind as LabelKind)) throw new DatasetError(`column mapping: label "${col}" has kind ${JSON.stringify(kind)}; use "categorical" or "numeric"`, source);
        labels[col] = kind as LabelKind;
      }
      out.labels = labels;
    } else {
      if (typeof v !== 'string' || v.length === 0) throw new DatasetError(`column mapping: "${k}" must be a column name`, source);
      (out as Record<string, unknown>)[k] = v;
    }
  }
  return out;
}

/** Read a mapping file such as `columns.json`. */
export async function readColumnMapping(path: string): Promise<ColumnMapping> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new DatasetError(`cannot read the column mapping (${(err as Error).message})`, path, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new DatasetError(`column mapping is not valid JSON (${(err as Error).message})`, path, { cause: err });
  }
  return parseColumnMapping(json, path);
}

/** `a; b | c` → ["a", "b", "c"] (trimmed, empties dropped, order kept, repeats dropped). */
export function splitList(value: string, separators: RegExp = /[;|]/): string[] {
  return [...new Set(value.split(separators).map((s) => s.trim()).filter((s) => s.length > 0))];
}

/** The sidecar the folder holds (or the mapping names), or undefined. */
export async function findSidecar(root: string, mapping: ColumnMapping = {}): Promise<string | undefined> {
  if (mapping.file) {
    const p = resolve(root, mapping.file);
    if (!(await isFile(p))) throw new DatasetError(`the column mapping names sidecar "${mapping.file}", which does not exist`, p);
    return p;
  }
  for (const name of SIDECAR_NAMES) if (await isFile(join(root, name))) return join(root, name);
  return undefined;
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

/** One sidecar row before interpretation: each column's values (a repeated CSV column or a JSON array gives several). */
interface RawRow {
  line: number;
  values: Map<string, Array<string | number>>;
}

interface RawTable {
  columns: string[];
  rows: RawRow[];
  problems: LoadProblem[];
}

function readCsvRows(text: string, path: string): RawTable {
  const records = parseCsv(text, path);
  const head = records[0];
  if (!head) throw new DatasetError('empty sidecar; expected a header row with at least a "path" column', path);
  const header = head.fields.map((h) => h.trim());
  const problems: LoadProblem[] = [];
  const rows: RawRow[] = [];
  for (const r of records.slice(1)) {
    if (r.fields.length !== header.length) {
      problems.push({ path: `${path}:${r.line}`, problem: `bad row: expected ${header.length} fields, got ${r.fields.length}` });
      continue;
    }
    const values = new Map<string, Array<string | number>>();
    header.forEach((h, k) => {
      const v = r.fields[k] as string;
      const list = values.get(h);
      if (list) list.push(v);
      else values.set(h, [v]);
    });
    rows.push({ line: r.line, values });
  }
  return { columns: [...new Set(header)], rows, problems };
}

function readJsonlRows(text: string, path: string): RawTable {
  const problems: LoadProblem[] = [];
  const rows: RawRow[] = [];
  const columns: string[] = [];
  text.split(/\r?\n/).forEach((raw, k) => {
    const line = k + 1;
    if (raw.trim().length === 0) return;
    let obj: unknown;
    try {
      obj = JSON.parse(raw);
    } catch (err) {
      problems.push({ path: `${path}:${line}`, problem: `bad row: not JSON (${(err as Error).message})` });
      return;
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
      problems.push({ path: `${path}:${line}`, problem: 'bad row: expected a JSON object' });
      return;
    }
    const values = new Map<string, Array<string | number>>();
    for (const [key, v] of Object.entries(obj as Record<string, unknown>)) {
      if (!columns.includes(key)) columns.push(key);
      const list = Array.isArray(v) ? v : [v];
      values.set(key, list.filter((x) => x !== null && x !== undefined).map((x) => (typeof x === 'number' ? x : String(x))));
    }
    rows.push({ line, values });
  });
  return { columns, rows, problems };
}

/** The roles resolved against the sidecar's columns. */
interface Roles {
  path: string;
  id?: string;
  group?: string;
  text: string[];
  tags: string[];
  split?: string;
  title?: string;
  genre?: string;
  labels: LabelColumn[];
}

const DEFAULT_ROLE_NAMES = new Set(['path', 'id', 'group', 'text', 'tags', 'split', 'title']);

function resolveRoles(table: RawTable, mapping: ColumnMapping, path: string, problems: LoadProblem[]): Roles {
  const has = (c: string) => table.columns.includes(c);
  const need = (role: string, c: string): string => {
    if (!has(c)) throw new DatasetError(`the sidecar has no column "${c}" (mapped as ${role}); columns: ${table.columns.join(', ')}`, path);
    return c;
  };
  const pick = (role: keyof ColumnMapping, fallback: string): string | undefined => {
    const m = mapping[role];
    if (typeof m === 'string') return need(role, m);
    return has(fallback) ? fallback : undefined;
  };
  const pathCol = mapping.path ? need('path', mapping.path) : has('path') ? 'path' : undefined;
  if (!pathCol) throw new DatasetError(`the sidecar has no "path" column (columns: ${table.columns.join(', ')}); add one or map it (--columns)`, path);
  const roles: Roles = {
    path: pathCol,
    text: mapping.text ? mapping.text.map((c) => need('text', c)) : has('text') ? ['text'] : [],
    tags: mapping.tags ? mapping.tags.map((c) => need('tags', c)) : has('tags') ? ['tags'] : [],
    labels: [],
  };
  const id = pick('id', 'id');
  const group = pick('group', 'group');
  const split = pick('split', 'split');
  const title = pick('title', 'title');
  const genre = mapping.genre ? need('genre', mapping.genre) : undefined;
  if (id) roles.id = id;
  if (group) roles.group = group;
  if (split) roles.split = split;
  if (title) roles.title = title;
  if (genre) roles.genre = genre;
  const used = new Set<string>([pathCol, ...roles.text, ...roles.tags, ...[id, group, split, title].filter((c): c is string => c !== undefined)]);
  if (mapping.labels) {
    for (const [c, kind] of Object.entries(mapping.labels)) roles.labels.push({ name: need('labels', c), kind });
    if (genre && !mapping.labels[genre]) roles.labels.push({ name: genre, kind: 'categorical' });
    const labelled = new Set(roles.labels.map((l) => l.name));
    for (const c of table.columns) {
      if (!used.has(c) && !labelled.has(c)) problems.push({ path, problem: `unknown column: "${c}" has no role in the column mapping (ignored)` });
    }
  } else {
    // No label list: every column without a role is a label; numeric when every value parses.
    for (const c of table.columns) {
      if (used.has(c) || (DEFAULT_ROLE_NAMES.has(c) && !mapping[c as keyof ColumnMapping])) continue;
      const vals = table.rows.flatMap((r) => r.values.get(c) ?? []).filter((v) => String(v).trim() !== '');
      const numeric = vals.length > 0 && vals.every((v) => typeof v === 'number' || Number.isFinite(Number(v)));
      roles.labels.push({ name: c, kind: numeric ? 'numeric' : 'categorical' });
    }
  }
  return roles;
}

const strings = (row: RawRow, col: string | undefined): string[] => (col ? (row.values.get(col) ?? []).map((v) => String(v).trim()).filter((v) => v.length > 0) : []);
const first = (row: RawRow, col: string | undefined): string | undefined => strings(row, col)[0];

/** Is `abs` inside `root` (lexically: symlinks inside the folder may point anywhere)? */
function inside(root: string, abs: string): boolean {
  const rel = relative(root, abs);
  return rel.length > 0 && !rel.startsWith('..') && !isAbsolute(rel);
}

function stemId(rel: string): string {
  return rel.slice(0, rel.length - extname(rel).length);
}

interface Draft {
  track: TrackRecord;
  /** Split from the sidecar, when it has one. */
  split?: Split;
  /** The track's texts per sidecar text column (one review each); absent: all texts are one review. */
  textColumns?: string[][];
}

async function fromSidecar(root: string, sidecar: string, opts: CatalogueOptions, problems: LoadProblem[]): Promise<{ drafts: Draft[]; labelColumns: LabelColumn[] }> {
  let text: string;
  try {
    text = await readFile(sidecar, 'utf8');
  } catch (err) {
    throw new DatasetError(`cannot read the sidecar (${(err as Error).message})`, sidecar, { cause: err });
  }
  const table = sidecar.toLowerCase().endsWith('.jsonl') ? readJsonlRows(text, sidecar) : readCsvRows(text, sidecar);
  problems.push(...table.problems);
  const roles = resolveRoles(table, opts.columns ?? {}, sidecar, problems);
  const drafts: Draft[] = [];
  const seenIds = new Map<string, number>();
  const seenPaths = new Map<string, number>();
  const check = opts.checkAudio ?? 'header';
  const at = (line: number) => `${sidecar}:${line}`;
  for (const row of table.rows) {
    const relPath = first(row, roles.path);
    if (!relPath) {
      problems.push({ path: at(row.line), problem: 'bad row: empty path' });
      continue;
    }
    const abs = resolve(root, relPath);
    if (!inside(root, abs)) {
      problems.push({ path: at(row.line), problem: `outside folder: "${relPath}" is not inside ${root}` });
      continue;
    }
    if (!isAudioName(relPath)) {
      problems.push({ path: at(row.line), problem: `not audio: "${relPath}" has no audio extension (.wav, .mp3, .flac, .ogg, ...)` });
      continue;
    }
    const rel = relative(root, abs).split(sep).join('/');
    const id = first(row, roles.id) ?? stemId(rel);
    const dupLine = seenIds.get(id);
    if (dupLine !== undefined) {
      problems.push({ path: at(row.line), problem: `duplicate id: "${id}" already on line ${dupLine} (row skipped)` });
      continue;
    }
    const dupPath = seenPaths.get(abs);
    if (dupPath !== undefined) {
      problems.push({ path: at(row.line), problem: `duplicate path: "${relPath}" already on line ${dupPath} (row skipped)` });
      continue;
    }
    const bad = await audioProblem(abs, check);
    if (bad) {
      problems.push({ path: at(row.line), problem: `${bad} (${relPath})` });
      continue;
    }
    seenIds.set(id, row.line);
    seenPaths.set(abs, row.line);
    const labels: Record<string, string | number> = {};
    for (const col of roles.labels) {
      const v = first(row, col.name);
      if (v === undefined) continue;
      if (col.kind === 'numeric') {
        const x = Number(v);
        if (!Number.isFinite(x)) {
          problems.push({ path: at(row.line), problem: `bad number: column "${col.name}" is ${JSON.stringify(v)} (label left out)` });
          continue;
        }
        labels[col.name] = x;
      } else labels[col.name] = v;
    }
    // [text column][its texts]: each column becomes one review (asSentences).
    const textColumns = roles.text.map((c) => strings(row, c).flatMap((v) => splitList(v))).filter((x) => x.length > 0);
    const track: TrackRecord = {
      id,
      audioPath: abs,
      split: 'train',
      tags: roles.tags.flatMap((c) => strings(row, c).flatMap((v) => splitList(v))).filter((t, k, a) => a.indexOf(t) === k),
      texts: textColumns.flat(),
      labels,
    };
    const group = first(row, roles.group);
    if (group) track.group = group;
    const title = first(row, roles.title);
    if (title) track.title = title;
    if (roles.genre && typeof labels[roles.genre] === 'string') track.genre = labels[roles.genre] as string;
    const draft: Draft = { track, textColumns };
    const split = first(row, roles.split);
    if (split !== undefined) {
      if ((SPLITS as readonly string[]).includes(split)) draft.split = split as Split;
      else problems.push({ path: at(row.line), problem: `bad split: ${JSON.stringify(split)} is not train, valid or test (split assigned)` });
    }
    drafts.push(draft);
  }
  return { drafts, labelColumns: roles.labels };
}

/** No sidecar: every audio file under the folder, described by its embedded tags. */
async function fromEmbedded(root: string, opts: CatalogueOptions, problems: LoadProblem[]): Promise<{ drafts: Draft[]; labelColumns: LabelColumn[] }> {
  const files = await walkAudioFiles(root);
  const check = opts.checkAudio ?? 'header';
  const drafts: Draft[] = [];
  const seen = new Set<string>();
  const groupBy = opts.groupBy ?? 'artist';
  let anyGenre = false;
  for (const f of files) {
    const bad = await audioProblem(f.path, check);
    if (bad) {
      problems.push({ path: f.path, problem: bad });
      continue;
    }
    // The same stem in two formats (a.wav, a.mp3) keeps the extension on the second, as the indexer does.
    let id = stemId(f.rel);
    if (seen.has(id)) id = f.rel;
    seen.add(id);
    const track: TrackRecord = { id, audioPath: f.path, split: 'train', tags: [], texts: [], labels: {} };
    try {
      const meta = await parseFile(f.path, { duration: false, skipCovers: true });
      const c = meta.common;
      const genres = (c.genre ?? []).flatMap((g) => splitList(g, /[;|/,]/));
      track.tags = genres;
      if (genres[0]) {
        track.genre = genres[0];
        (track.labels as Record<string, string>).genre = genres[0];
        anyGenre = true;
      }
      track.texts = (c.comment ?? []).map((x) => (x.text ?? '').trim()).filter((x) => x.length > 0);
      if (c.title) track.title = c.title;
      const group = groupBy === 'album' ? (c.album ?? c.artist) : (c.artist ?? c.albumartist ?? c.album);
      if (group) track.group = group;
      if (meta.format.duration !== undefined && Number.isFinite(meta.format.duration)) track.durationS = meta.format.duration;
    } catch (err) {
      // Tags are optional: an unparseable tag block leaves the track untagged, it still loads.
      problems.push({ path: f.path, problem: `unreadable tags: ${(err as Error).message} (loaded without metadata)` });
    }
    drafts.push({ track });
  }
  return { drafts, labelColumns: anyGenre ? [{ name: 'genre', kind: 'categorical' }] : [] };
}

/**
 * A track's texts (descriptions, mood words, genres) as one review of sentences, "a. b. c.": stage 2
 * takes some of its text views as one whole sentence (train/musicbertLoss cropTokens), so a text of
 * one word is seen alone as well as among the others, the shape of a search query or zero-shot prompt.
 * Each sidecar text column is its own review (stage 2 draws one review per view, uniformly): a
 * column of three genre words beside one of thirty mood words is then half the views, not a tenth,
 * so every kind of text the catalogue has is learned, not only the most numerous.
 */
export function asSentences(texts: readonly string[]): string {
  return texts.map((x) => x.trim().replace(/[.!?]+$/, '')).filter((x) => x.length > 0).map((x) => `${x}.`).join(' ');
}

/**
 * Load a catalogue folder into a Corpus. Tracks without a sidecar split get a seeded split that
 * keeps each group (artist/album) whole; tracks with no group are their own group.
 */
export async function loadCatalogue(dir: string, opts: CatalogueOptions = {}): Promise<Omit<Corpus, 'root'>> {
  const root = resolve(dir);
  const problems: LoadProblem[] = [];
  const sidecar = await findSidecar(root, opts.columns);
  const { drafts, labelColumns } = sidecar ? await fromSidecar(root, sidecar, opts, problems) : await fromEmbedded(root, opts, problems);
  const groupOf = (d: Draft) => d.track.group ?? `track:${d.track.id}`;
  const splits = stratifiedSplit(drafts, () => '', opts.splitSeed ?? 0, { group: groupOf, ...(opts.splitRatios ? { ratios: opts.splitRatios } : {}) });
  const tracks: TrackRecord[] = [];
  const albums: AlbumRecord[] = [];
  drafts.forEach((d, k) => {
    const t = d.track;
    t.split = d.split ?? (splits[k] as Split);
    if (t.texts && t.texts.length > 0) {
      t.albumId = `track:${t.id}`;
      const reviews = (d.textColumns ?? [t.texts]).map(asSentences).filter((r) => r.length > 0);
      albums.push({ id: t.albumId, reviews, genres: t.genre ? [t.genre] : [], trackIds: [t.id] });
    }
    tracks.push(t);
  });
  const tagVocabulary = [...new Set(tracks.flatMap((t) => t.tags))].sort();
  const genres = [...new Set(tracks.map((t) => t.genre).filter((g): g is string => g !== undefined))].sort();
  return { tracks, albums, genres, tagVocabulary, problems, labelColumns };
}
