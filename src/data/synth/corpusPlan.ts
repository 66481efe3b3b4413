/**
 * Planning a whole corpus from (tracks, seed, tracksPerAlbum): ids, genres, albums, every track's
 * parameters and labels, the split, names and catalogue ids, and the album reviews. Planning is
 * cheap (milliseconds per thousand tracks) and deterministic, so a resumed run re-plans and checks
 * the result against the manifest instead of trusting files on disk.
 */
import { Rng, seedFrom } from '../../util/rng.js';
import { GTZAN_GENRES, stratifiedSplit, type Split } from '../datasets/index.js';
import { DEFAULT_KNOBS, pick, planAlbumSound, planTrack, type PlanKnobs } from './plan.js';
import { rawMood, tagsOf, tempoClass, type MoodNorm } from './labels.js';
import type { InstrumentName, KitName, TrackLabels, TrackParams } from './types.js';
import { amazonId, artistName, mbid, msdIds, reviewerId, titleFor } from './names.js';
import { writeReview, type AlbumFacts, type Review } from './reviews.js';
import { GENRE_STYLES } from './styles.js';

export interface PlannedTrack {
  params: TrackParams;
  labels: TrackLabels;
  split: Split;
  /** Path relative to the corpus root, GTZAN layout. */
  path: string;
  artist: string;
  title: string;
  dzrId: string;
  msdSongId: string;
  msdTrackId: string;
}

export interface PlannedAlbum {
  id: string;
  mbid: string;
  artist: string;
  title: string;
  genres: string[];
  trackIds: string[];
  reviews: Review[];
}

export interface CorpusPlan {
  tracks: PlannedTrack[];
  albums: PlannedAlbum[];
}

export interface PlanOptions {
  tracks: number;
  seed: number;
  tracksPerAlbum: number;
  knobs?: PlanKnobs;
}

export function trackId(genre: string, index: number): string {
  return `${genre}.${String(index).padStart(5, '0')}`;
}

/**
 * Mean and spread of the raw mood scores over a fixed reference sample of plans, so valence and
 * arousal are standardised the same way in every corpus (a track's label does not depend on
 * which other tracks were generated with it).
 */
export function moodNormalization(knobs: PlanKnobs = DEFAULT_KNOBS): MoodNorm {
  const vs: number[] = [];
  const as: number[] = [];
  for (const genre of GTZAN_GENRES) {
    for (let a = 0; a < 30; a++) {
      const rng = new Rng(seedFrom(0x5eed, `ref:${genre}:${a}`));
      const album = planAlbumSound(rng, `ref${a}`, genre, knobs);
      for (let k = 0; k < 5; k++) {
        const t = planTrack(rng, `ref.${a}.${k}`, genre, album, knobs);
        const m = rawMood(t, rng);
        vs.push(m.valence);
        as.push(m.arousal);
      }
    }
  }
  const stats = (x: number[]) => {
    const mean = x.reduce((s, v) => s + v, 0) / x.length;
    const std = Math.sqrt(x.reduce((s, v) => s + (v - mean) ** 2, 0) / x.length) || 1;
    return { mean, std };
  };
  return { valence: stats(vs), arousal: stats(as) };
}

function round(x: number, d = 4): number {
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

/** Genre -> albums (lists of track ids); a few albums swap a track with a neighbouring genre's album. */
function groupAlbums(ids: string[], genreOf: Map<string, string>, perAlbum: number, rng: Rng): Array<{ genre: string; trackIds: string[] }> {
  const albums: Array<{ genre: string; trackIds: string[] }> = [];
  for (const genre of GTZAN_GENRES) {
    const mine = ids.filter((id) => genreOf.get(id) === genre);
    for (let k = 0; k < mine.length; k += perAlbum) albums.push({ genre, trackIds: mine.slice(k, k + perAlbum) });
  }
  for (const a of albums) {
    if (a.trackIds.length < 3 || !rng.bool(0.12)) continue;
    const neighbours = GENRE_STYLES[a.genre as keyof typeof GENRE_STYLES].neighbours;
    const others = albums.filter((b) => b !== a && neighbours.includes(b.genre as never) && b.trackIds.length >= 3);
    if (others.length === 0) continue;
    const b = rng.pick(others);
    const i = rng.int(0, a.trackIds.length - 1);
    const j = rng.int(0, b.trackIds.length - 1);
    const t = a.trackIds[i] as string;
    a.trackIds[i] = b.trackIds[j] as string;
    b.trackIds[j] = t;
  }
  return albums;
}

function albumFacts(tracks: PlannedTrack[], primary: string, artist: string, title: string): AlbumFacts {
  const n = tracks.length;
  const share = (pred: (t: PlannedTrack) => boolean) => tracks.filter(pred).length / n;
  const genreCount = new Map<string, number>();
  for (const t of tracks) genreCount.set(t.params.genre, (genreCount.get(t.params.genre) ?? 0) + 1);
  const genres = [primary, ...[...genreCount].filter(([g]) => g !== primary).sort((a, b) => b[1] - a[1]).map(([g]) => g)];
  const tempo = new Map<string, number>();
  for (const t of tracks) tempo.set(tempoClass(t.params), (tempo.get(tempoClass(t.params)) ?? 0) + 1);
  const tempoCls = [...tempo].sort((a, b) => b[1] - a[1])[0]?.[0] as AlbumFacts['tempoClass'];
  const inst = new Map<InstrumentName, number>();
  for (const t of tracks) for (const i of new Set(t.params.parts.map((p) => p.instrument))) inst.set(i, (inst.get(i) ?? 0) + 1);
  const instruments = [...inst].filter(([, c]) => c / n >= 0.4).sort((a, b) => b[1] - a[1]).slice(0, 4).map(([i]) => i);
  const kits = new Map<KitName, number>();
  for (const t of tracks) if (t.params.drums) kits.set(t.params.drums.kit, (kits.get(t.params.drums.kit) ?? 0) + 1);
  const kit = share((t) => t.params.drums !== null) >= 0.5 ? ([...kits].sort((a, b) => b[1] - a[1])[0]?.[0] ?? null) : null;
  const has = (tag: string) => share((t) => t.labels.tags.includes(tag)) >= 0.5;
  return {
    artist, title, genres, tempoClass: tempoCls,
    valence: tracks.reduce((s, t) => s + t.labels.valence, 0) / n,
    arousal: tracks.reduce((s, t) => s + t.labels.arousal, 0) / n,
    instruments, kit,
    danceable: kit !== null && tempoCls !== 'slow' && !has('triple_meter'),
    swing: has('swing'), triple: has('triple_meter'), distortion: has('distortion'), electronic: has('electronic'),
    acoustic: has('acoustic'), reverb: has('reverb'), lofi: has('lofi'),
  };
}

export function planCorpus(o: PlanOptions): CorpusPlan {
  const knobs = o.knobs ?? DEFAULT_KNOBS;
  const norm = moodNormalization(knobs);
  const genreOf = new Map<string, string>();
  const ids: string[] = [];
  for (let i = 0; i < o.tracks; i++) {
    const genre = GTZAN_GENRES[i % GTZAN_GENRES.length] as string;
    const id = trackId(genre, Math.floor(i / GTZAN_GENRES.length));
    ids.push(id);
    genreOf.set(id, genre);
  }
  const order = new Map(ids.map((id, k) => [id, k]));
  const groups = groupAlbums(ids, genreOf, Math.max(1, o.tracksPerAlbum), new Rng(seedFrom(o.seed, 'albums')));
  const tracks = new Map<string, PlannedTrack>();
  const albums: PlannedAlbum[] = [];
  groups.forEach((grp, k) => {
    const arng = new Rng(seedFrom(o.seed, `album:${k}:${grp.genre}`));
    const id = amazonId(arng, k);
    const sound = planAlbumSound(arng, id, grp.genre, knobs);
    const artist = artistName(arng);
    const title = titleFor(arng, grp.genre);
    const albumMbid = mbid(arng);
    const planned: PlannedTrack[] = [];
    for (const tid of grp.trackIds) {
      const genre = genreOf.get(tid) as string;
      const trng = new Rng(seedFrom(o.seed, `track:${tid}`));
      // A guest track from another genre keeps less of the album's sound.
      const tk = genre === grp.genre ? knobs : { ...knobs, cohesion: knobs.cohesion * 0.4 };
      const params = planTrack(trng, tid, genre, sound, tk);
      const raw = rawMood(params, new Rng(seedFrom(o.seed, `mood:${tid}`)));
      const valence = round((raw.valence - norm.valence.mean) / norm.valence.std);
      const arousal = round((raw.arousal - norm.arousal.mean) / norm.arousal.std);
      const index = order.get(tid) as number;
      const msd = msdIds(trng);
      const t: PlannedTrack = {
        params,
        labels: { valence, arousal, tags: tagsOf(params, valence, arousal) },
        split: 'train',
        path: `genres/${genre}/${tid}.wav`,
        artist,
        title: titleFor(trng, genre),
        dzrId: String(300000 + index * 37 + trng.int(0, 36)),
        msdSongId: msd.song,
        msdTrackId: msd.track,
      };
      tracks.set(tid, t);
      planned.push(t);
    }
    // MuMu albums gather several reviews each; more of them is free (text only) and gives the
    // text side of the model more than a handful of sentences per genre to learn from.
    const nReviews = pick(arng, [[2, 3], [3, 3], [4, 2], [6, 1]] as const);
    const facts = albumFacts(planned, grp.genre, artist, title);
    const reviews: Review[] = [];
    for (let r = 0; r < nReviews; r++) {
      const rating = pick(arng, [[5, 3], [4, 4], [3, 2], [2, 1], [1, 0.5]] as const);
      reviews.push(writeReview(arng, facts, rating, reviewerId(arng)));
    }
    albums.push({ id, mbid: albumMbid, artist, title, genres: facts.genres, trackIds: [...grp.trackIds], reviews });
  });
  const list = ids.map((id) => tracks.get(id) as PlannedTrack);
  // Stratify by the album's genre so an album with a guest track from another genre stays whole.
  const albumGenre = new Map(albums.map((a) => [a.id, a.genres[0] as string]));
  const splits = stratifiedSplit(list, (t) => albumGenre.get(t.params.albumId) as string, o.seed, { group: (t) => t.params.albumId });
  list.forEach((t, k) => { t.split = splits[k] as Split; });
  return { tracks: list, albums };
}
