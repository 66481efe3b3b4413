/**
 * How well the joint space retrieves: text→music recall@k and median rank (an album review as the
 * query, that album's tracks as the relevant answers, every held-out track as a candidate), and
 * zero-shot genre accuracy (the genre prompt closest to a track). Each figure comes with its
 * chance level, so a reader can tell a trained space from a random one.
 */
import type { Corpus, Split, TrackRecord } from '../data/corpus.js';
import { MusicBertError, UsageError } from '../util/errors.js';
import { Progress } from '../util/progress.js';
import type { JointSpace } from './jointSpace.js';
import { dot } from './vectors.js';
import { DEFAULT_TEMPLATE, promptFor } from './zeroShot.js';

export interface RetrievalMetrics {
  queries: number;
  candidates: number;
  r1: number;
  r5: number;
  r10: number;
  medianRank: number;
  /** The same figures for a random ranking of the same queries (exact expectation). */
  chance: { r1: number; r5: number; r10: number; medianRank: number };
}

/** Tag retrieval: every relevant item counts (a mood word retrieves every clip that carries it). */
export interface TagRetrievalMetrics {
  queries: number;
  candidates: number;
  /** Mean average precision over the queries. */
  mAP: number;
  /** Mean precision of the top 10. */
  pAt10: number;
  /** Exact expectations of the same figures for a random ranking of the same queries. */
  chance: { mAP: number; pAt10: number };
}

export interface GenreAccuracy {
  tracks: number;
  genres: string[];
  accuracy: number;
  chance: number;
}

/**
 * 1-based rank of the best relevant candidate: 1 + the number of candidates scoring strictly
 * higher than it (ties resolved in the query's favour).
 */
export function bestRank(scores: ArrayLike<number>, relevant: readonly number[]): number {
  if (relevant.length === 0) throw new UsageError('bestRank: no relevant candidates');
  let best = -Infinity;
  for (const r of relevant) best = Math.max(best, scores[r] as number);
  let higher = 0;
  for (let i = 0; i < scores.length; i++) if ((scores[i] as number) > best) higher++;
  return higher + 1;
}

/** log C(n, k). */
function logChoose(n: number, k: number): number {
  if (k < 0 || k > n) return -Infinity;
  let s = 0;
  for (let i = 0; i < k; i++) s += Math.log(n - i) - Math.log(i + 1);
  return s;
}

/** P(min rank of m relevant among n shuffled candidates > r) = C(n - r, m) / C(n, m). */
function pBeyond(n: number, m: number, r: number): number {
  return r >= n ? 0 : Math.exp(logChoose(n - r, m) - logChoose(n, m));
}

/** Chance that a random ranking puts one of m relevant items in the top k of n. */
export function chanceRecall(n: number, m: number, k: number): number {
  return 1 - pBeyond(n, m, Math.min(k, n));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? (s[h] as number) : ((s[h - 1] as number) + (s[h] as number)) / 2;
}

/**
 * Text→music retrieval over unit vectors: `queries[q]` should retrieve any of `relevant[q]`
 * (indices into `candidates`).
 */
export function retrievalMetrics(queries: readonly Float32Array[], candidates: readonly Float32Array[], relevant: readonly (readonly number[])[]): RetrievalMetrics {
  if (queries.length !== relevant.length) throw new UsageError(`retrievalMetrics: ${queries.length} queries but ${relevant.length} relevance lists`);
  if (queries.length === 0) throw new UsageError('retrievalMetrics: no queries');
  const n = candidates.length;
  const ranks: number[] = [];
  const chance = { r1: 0, r5: 0, r10: 0 };
  const chanceMedians: number[] = [];
  queries.forEach((q, i) => {
    const rel = relevant[i] as readonly number[];
    for (const r of rel) if (!Number.isInteger(r) || r < 0 || r >= n) throw new UsageError(`retrievalMetrics: query ${i} names candidate ${r} of ${n}`);
    const scores = candidates.map((c) => dot(q, c));
    ranks.push(bestRank(scores, rel));
    const m = new Set(rel).size;
    chance.r1 += chanceRecall(n, m, 1);
    chance.r5 += chanceRecall(n, m, 5);
    chance.r10 += chanceRecall(n, m, 10);
    // Median of the random best rank: the smallest r with P(best ≤ r) ≥ 1/2.
    let r = 1;
    while (r < n && 1 - pBeyond(n, m, r) < 0.5) r++;
    chanceMedians.push(r);
  });
  const Q = queries.length;
  const at = (k: number) => ranks.filter((r) => r <= k).length / Q;
  return {
    queries: Q,
    candidates: n,
    r1: at(1),
    r5: at(5),
    r10: at(10),
    medianRank: median(ranks),
    chance: { r1: chance.r1 / Q, r5: chance.r5 / Q, r10: chance.r10 / Q, medianRank: median(chanceMedians) },
  };
}

/**
 * Average precision of one ranking: mean over the relevant items of the precision at their rank.
 * Candidates are ranked by descending score; ties are broken by index (the first listed wins).
 */
export function averagePrecision(scores: ArrayLike<number>, relevant: ReadonlySet<number>): number {
  if (relevant.size === 0) throw new UsageError('averagePrecision: no relevant candidates');
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => (scores[b] as number) - (scores[a] as number) || a - b);
  let hits = 0;
  let sum = 0;
  order.forEach((c, k) => {
    if (relevant.has(c)) {
      hits++;
      sum += hits / (k + 1);
    }
  });
  return sum / relevant.size;
}

/** Precision of the top `k` (k capped at the number of candidates). */
export function precisionAt(scores: ArrayLike<number>, relevant: ReadonlySet<number>, k: number): number {
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => (scores[b] as number) - (scores[a] as number) || a - b);
  const top = order.slice(0, Math.min(k, order.length));
  return top.length ? top.filter((c) => relevant.has(c)).length / top.length : 0;
}

/**
 * Expected average precision of a uniformly random ranking of n candidates with m relevant:
 * E[AP] = (1/n)·(H_n + (m−1)/(n−1)·(n − H_n)), from E[rel_j rel_k] = m(m−1)/(n(n−1)) for j ≠ k.
 */
export function chanceAveragePrecision(n: number, m: number): number {
  if (!(m >= 1 && m <= n)) throw new UsageError(`chanceAveragePrecision: need 1 <= m <= n, got m=${m}, n=${n}`);
  let h = 0;
  for (let i = 1; i <= n; i++) h += 1 / i;
  return n === 1 ? 1 : (h + ((m - 1) / (n - 1)) * (n - h)) / n;
}

/** Text→music tag retrieval over unit vectors: mAP and P@k beside their chance levels. */
export function tagRetrievalMetrics(queries: readonly Float32Array[], candidates: readonly Float32Array[], relevant: readonly (readonly number[])[], k = 10): TagRetrievalMetrics {
  if (queries.length !== relevant.length) throw new UsageError(`tagRetrievalMetrics: ${queries.length} queries but ${relevant.length} relevance lists`);
  if (queries.length === 0) throw new UsageError('tagRetrievalMetrics: no queries');
  const n = candidates.length;
  let ap = 0, pk = 0, cap = 0, cpk = 0;
  queries.forEach((q, i) => {
    const rel = new Set(relevant[i]);
    for (const r of rel) if (!Number.isInteger(r) || r < 0 || r >= n) throw new UsageError(`tagRetrievalMetrics: query ${i} names candidate ${r} of ${n}`);
    const scores = candidates.map((c) => dot(q, c));
    ap += averagePrecision(scores, rel);
    pk += precisionAt(scores, rel, k);
    cap += chanceAveragePrecision(n, rel.size);
    cpk += rel.size / n; // expected precision at any cut-off of a random ranking
  });
  const Q = queries.length;
  return { queries: Q, candidates: n, mAP: ap / Q, pAt10: pk / Q, chance: { mAP: cap / Q, pAt10: cpk / Q } };
}

/** Share of tracks whose closest genre prompt is their own genre. */
export function genreAccuracy(tracks: readonly Float32Array[], truth: readonly string[], genres: readonly string[], genreVectors: readonly Float32Array[]): GenreAccuracy {
  if (tracks.length !== truth.length) throw new UsageError(`genreAccuracy: ${tracks.length} tracks but ${truth.length} labels`);
  if (genres.length !== genreVectors.length || genres.length === 0) throw new UsageError('genreAccuracy: need one vector per genre');
  let right = 0;
  tracks.forEach((t, i) => {
    let best = 0;
    let bestScore = -Infinity;
    genreVectors.forEach((g, j) => {
      const s = dot(t, g);
      if (s > bestScore) {
        bestScore = s;
        best = j;
      }
    });
    if (genres[best] === truth[i]) right++;
  });
  return { tracks: tracks.length, genres: [...genres], accuracy: tracks.length ? right / tracks.length : NaN, chance: 1 / genres.length };
}

export interface RetrievalEvalOptions {
  /** Held-out split; default 'test', or 'valid' when the corpus has no test tracks. */
  split?: Split;
  /** Genre prompt template (default "a {label} track"). */
  template?: string;
  quiet?: boolean;
}

export interface RetrievalEval {
  split: Split;
  tracks: number;
  /** Held-out tracks that could not be embedded (decode errors, too short). */
  skipped: number;
  retrieval: RetrievalMetrics | null;
  genre: GenreAccuracy | null;
}

/** Embed a corpus's held-out split and measure retrieval and zero-shot genre accuracy. */
export async function evaluateRetrieval(space: JointSpace, corpus: Corpus, opts: RetrievalEvalOptions = {}): Promise<RetrievalEval> {
  const split: Split = opts.split ?? (corpus.tracks.some((t) => t.split === 'test') ? 'test' : 'valid');
  const held = corpus.tracks.filter((t) => t.split === split);
  if (held.length === 0) throw new UsageError(`${corpus.root}: no tracks in the "${split}" split to evaluate on`);
  const progress = new Progress({ label: `embed ${split}`, total: held.length, quiet: opts.quiet ?? false });
  const tracks: TrackRecord[] = [];
  const vectors: Float32Array[] = [];
  let skipped = 0;
  for (const t of held) {
    try {
      const enc = await space.encodeTrack(t.audioPath);
      vectors.push((await space.embedSegments([enc]))[0] as Float32Array);
      tracks.push(t);
    } catch (err) {
      if (!(err instanceof MusicBertError)) throw err;
      skipped++;
    }
    progress.tick();
  }
  progress.finish();
  if (tracks.length === 0) throw new UsageError(`${corpus.root}: none of the ${held.length} "${split}" tracks could be embedded`);

  // Retrieval: each review of an album with held-out tracks is one query.
  const index = new Map(tracks.map((t, i) => [t.id, i]));
  const queries: string[] = [];
  const relevant: number[][] = [];
  for (const album of corpus.albums) {
    const rel = album.trackIds.map((id) => index.get(id)).filter((i): i is number => i !== undefined);
    if (rel.length === 0) continue;
    for (const review of album.reviews) {
      if (review.trim().length === 0) continue;
      queries.push(review);
      relevant.push(rel);
    }
  }
  let retrieval: RetrievalMetrics | null = null;
  if (queries.length > 0) retrieval = retrievalMetrics(await space.embedText(queries), vectors, relevant);

  // Zero-shot genre over the genres present in the corpus.
  const withGenre = tracks.map((t, i) => ({ g: t.genre, i })).filter((x): x is { g: string; i: number } => typeof x.g === 'string');
  let genre: GenreAccuracy | null = null;
  const genres = corpus.genres.length > 0 ? corpus.genres : [...new Set(withGenre.map((x) => x.g))].sort();
  if (withGenre.length > 0 && genres.length > 1) {
    const gv = await space.embedText(genres.map((g) => promptFor(g, opts.template ?? DEFAULT_TEMPLATE)));
    genre = genreAccuracy(withGenre.map((x) => vectors[x.i] as Float32Array), withGenre.map((x) => x.g), genres, gv);
  }
  return { split, tracks: tracks.length, skipped, retrieval, genre };
}
