/**
 * MuMu-style albums (Oramas et al. 2017: Amazon album reviews mapped to MSD tracks): a JSON array
 * of albums, each with an id, genres, its tracks and its customer reviews. Field names follow the
 * Amazon/MuMu releases (`amazon_id`, `reviewText`, `MSD_track_id`) with plain alternatives
 * (`id`, `text`, `track_id`), so both real exports and the generator's output load.
 */
import { readFile } from 'node:fs/promises';
import type { AlbumRecord } from '../corpus.js';
import { DatasetError } from '../../util/errors.js';

export interface MumuAlbum {
  id: string;
  genres: string[];
  reviews: string[];
  /** Track references as written: GTZAN stems, Deezer ids or MSD track ids. */
  trackRefs: string[][];
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function str(v: Json | undefined): string | undefined {
  if (typeof v === 'string' && v.trim() !== '') return v.trim();
  if (typeof v === 'number') return String(v);
  return undefined;
}

function asObject(v: Json | undefined): Record<string, Json> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
}

/** Parse the albums JSON text; an album without an id, or a non-array file, is a DatasetError. */
export function parseMumuAlbums(text: string, path: string): MumuAlbum[] {
  let data: Json;
  try {
    data = JSON.parse(text) as Json;
  } catch (err) {
    throw new DatasetError(`albums JSON does not parse (${(err as Error).message})`, path, { cause: err });
  }
  const list = Array.isArray(data) ? data : asObject(data)?.albums;
  if (!Array.isArray(list)) throw new DatasetError('albums JSON must be an array of albums (or {"albums": [...]})', path);
  const seen = new Set<string>();
  return list.map((entry, k) => {
    const a = asObject(entry);
    if (!a) throw new DatasetError(`album #${k} is not an object`, path);
    const id = str(a.amazon_id) ?? str(a.album_id) ?? str(a.id) ?? str(a.album_mbid);
    if (!id) throw new DatasetError(`album #${k} has no id (amazon_id, album_id, id or album_mbid)`, path);
    if (seen.has(id)) throw new DatasetError(`album #${k}: id "${id}" appears twice`, path);
    seen.add(id);
    const g = a.genres ?? a.genre;
    const genres = Array.isArray(g) ? g.map(str).filter((s): s is string => s !== undefined) : (str(g)?.split(',').map((s) => s.trim()).filter(Boolean) ?? []);
    const reviews: string[] = [];
    for (const r of Array.isArray(a.reviews) ? a.reviews : []) {
      const text = str(r) ?? str(asObject(r)?.reviewText) ?? str(asObject(r)?.text);
      if (text) reviews.push(text);
    }
    const trackRefs: string[][] = [];
    const tracks = a.tracks ?? a.track_ids ?? a.trackIds ?? a.MSD_track_id;
    for (const t of Array.isArray(tracks) ? tracks : tracks === undefined ? [] : [tracks]) {
      const o = asObject(t);
      const refs = o ? [str(o.track_id), str(o.id), str(o.dzr_sng_id), str(o.MSD_track_id)].filter((s): s is string => s !== undefined) : [str(t)].filter((s): s is string => s !== undefined);
      if (refs.length > 0) trackRefs.push(refs);
    }
    return { id, genres, reviews, trackRefs };
  });
}

export async function readMumuAlbums(path: string): Promise<MumuAlbum[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new DatasetError(`cannot read albums JSON (${(err as Error).message})`, path, { cause: err });
  }
  return parseMumuAlbums(text, path);
}

/**
 * Resolve album track references against loaded track ids (directly or through aliases such as
 * MSD track id -> Deezer id). References to tracks that did not load are dropped.
 */
export function linkAlbums(albums: readonly MumuAlbum[], trackIds: ReadonlySet<string>, aliases: ReadonlyMap<string, string>): AlbumRecord[] {
  return albums.map((a) => {
    const ids: string[] = [];
    for (const refs of a.trackRefs) {
      const hit = refs.map((r) => (trackIds.has(r) ? r : aliases.get(r))).find((r) => r !== undefined && trackIds.has(r));
      if (hit !== undefined && !ids.includes(hit)) ids.push(hit);
    }
    return { id: a.id, reviews: a.reviews, genres: a.genres, trackIds: ids };
  });
}
