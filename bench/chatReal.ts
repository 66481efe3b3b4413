/**
 * The chat benchmark on real music: scripted conversations over the held-out artists of
 * `../shared/data/real_dev` (380 30-s clips, 4Q emotion labels, AllMusic mood words and genres),
 * each turn scored by the clips' own labels. A turn "moves the list the asked way" when:
 *   happier / darker / sadder     the share of top-10 clips with valence_sign +1 rises / falls / falls
 *   calmer / more energetic       the share with arousal_sign +1 falls / rises
 *   like this but calmer          the share of top-10 clips sharing an AllMusic genre with the start
 *                                 clip is above chance (that share among the other held-out clips)
 *                                 and the arousal_sign +1 share is below plain "like this"
 * A start qualifies for a kind only when the list can move that way (a rise needs a share < 1).
 * Each share is printed beside a seeded random top 10 of the same catalogue, as `chat` does.
 * Starts: every held-out clip ("like this") and one query per genre9 value the model knows ("jazz").
 *
 * Mood directions use the model's music prototypes (the training clips' mood words), never the
 * held-out clips' tags. Model: `pretrain --config real` on the other artists only (catalogueFolds, 5 artist-grouped
 * folds, seed 0: fold 0 is held out), in CHAT_REAL_OUT (default runs/chat-real): pretrain reuses a
 * finished model, and the held-out vectors are cached beside it by model fingerprint, so a re-run
 * only replays the conversations. CHAT_REAL_DATA overrides the clips' folder. Skips when absent.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { TrackRecord } from '../src/data/corpus.js';
import { parseCsv } from '../src/data/datasets/csv.js';
import { catalogueFolds, foldTrainingCorpus } from '../src/eval/grouped.js';
import { TextCache } from '../src/search/catalogue.js';
import { catalogueView } from '../src/search/catalogueView.js';
import { Conversation, type ConversationModel, type ResultTrack } from '../src/search/conversation.js';
import { JointSpace } from '../src/search/jointSpace.js';
import { pretrain } from '../src/train/pretrain.js';
import { UsageError } from '../src/util/errors.js';
import { Rng } from '../src/util/rng.js';
import { hasRealDev, loadRealDev } from '../scripts/realDev.js';
import type { Benchmark } from './benchmarks.js';

const K = 10;
const FOLDS = 5;
const SEED = 0;

/** What a scripted turn is scored by: the clip's signs and its AllMusic genres. */
export interface MoodClip {
  id: string;
  valence: number;
  arousal: number;
  genres: readonly string[];
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const positive = (ts: readonly MoodClip[], f: (t: MoodClip) => number): number => mean(ts.map((t) => (f(t) > 0 ? 1 : 0)));
const V = (t: MoodClip): number => t.valence;
const A = (t: MoodClip): number => t.arousal;
/** Share of +1 rises (undefined when it is already 1: the start cannot qualify). */
const rises = (f: (t: MoodClip) => number) => (b: readonly MoodClip[], a: readonly MoodClip[]): boolean | undefined => (positive(b, f) < 1 ? positive(a, f) > positive(b, f) : undefined);
const falls = (f: (t: MoodClip) => number) => (b: readonly MoodClip[], a: readonly MoodClip[]): boolean | undefined => (positive(b, f) > 0 ? positive(a, f) < positive(b, f) : undefined);

interface MoodKind {
  turn: string;
  asked: string;
  /** The share the turn should move, and which way (+1 up, −1 down). */
  share: (ts: readonly MoodClip[]) => number;
  way: 1 | -1;
  score: (before: readonly MoodClip[], after: readonly MoodClip[]) => boolean | undefined;
}
const kind = (turn: string, f: (t: MoodClip) => number, way: 1 | -1, what: string): MoodKind => ({
  turn, asked: `${what} +1 share ${way > 0 ? 'rises' : 'falls'}`, share: (ts) => positive(ts, f), way, score: way > 0 ? rises(f) : falls(f),
});

/** Refinement kind → the turn typed and its verdict on (list before, list after). */
export const MOOD_KINDS: Readonly<Record<string, MoodKind>> = {
  happier: kind('happier', V, 1, 'valence'),
  darker: kind('darker', V, -1, 'valence'),
  sadder: kind('sadder', V, -1, 'valence'),
  calmer: kind('calmer', A, -1, 'arousal'),
  'more energetic': kind('more energetic', A, 1, 'arousal'),
};

/** Share of `ts` sharing at least one AllMusic genre with `seed`. */
export function genreOverlap(seed: MoodClip, ts: readonly MoodClip[]): number {
  const g = new Set(seed.genres);
  return mean(ts.map((t) => (t.genres.some((x) => g.has(x)) ? 1 : 0)));
}

/** "like this but calmer" from `seed`: genre kept above chance and arousal below plain "like this". */
export function likeThisButCalmer(seed: MoodClip, plain: readonly MoodClip[], refined: readonly MoodClip[], others: readonly MoodClip[]): { genre: boolean; calmer: boolean } {
  return { genre: genreOverlap(seed, refined) > genreOverlap(seed, others), calmer: positive(refined, A) < positive(plain, A) };
}

/** AllMusic genres per song id, from labels.csv's `genres` column (";"-separated). */
async function allMusicGenres(dir: string): Promise<Map<string, string[]>> {
  const file = join(dir, 'labels.csv');
  const rows = parseCsv(await readFile(file, 'utf8'), file);
  const head = rows[0]?.fields ?? [];
  const id = head.indexOf('song_id');
  const genres = head.indexOf('genres');
  if (id < 0 || genres < 0) throw new UsageError(`${file}: expected song_id and genres columns`);
  return new Map(rows.slice(1).map((r) => [r.fields[id] as string, (r.fields[genres] ?? '').split(';').map((s) => s.trim().toLowerCase()).filter(Boolean)]));
}

/** Held-out clip vectors, computed once per model (keyed by its fingerprint and the clip ids). */
async function heldVectors(space: JointSpace, held: readonly TrackRecord[], file: string): Promise<{ vectors: Float32Array[]; cached: boolean; skipped: string[] }> {
  const key = `${space.fingerprint} ${held.map((t) => t.id).join(',')}`;
  if (existsSync(file)) {
    const c = JSON.parse(await readFile(file, 'utf8')) as { key: string; vectors: (number[] | null)[] };
    if (c.key === key) return { vectors: c.vectors.map((v) => Float32Array.from(v ?? [])), cached: true, skipped: held.filter((_, i) => !c.vectors[i]).map((t) => t.id) };
  }
  const vectors: Float32Array[] = [];
  const skipped: string[] = [];
  for (const t of held) {
    try {
      vectors.push(await space.embedAudio(t.audioPath));
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      vectors.push(new Float32Array(0));
      skipped.push(t.id);
    }
  }
  await writeFile(file, JSON.stringify({ key, vectors: vectors.map((v) => (v.length ? Array.from(v) : null)) }));
  return { vectors, cached: false, skipped };
}

export const chatRealBenchmark: Benchmark = {
  name: 'chat-real',
  summary: 'scripted mood conversations on real_dev held-out artists (model pre-trained on the other artists): share of turns moving the top 10 the asked way, vs a random re-ranking',
  async run() {
    const dir = resolve(process.env.CHAT_REAL_DATA ?? join('..', 'shared', 'data', 'real_dev'));
    if (!hasRealDev(dir)) return { skipped: `${dir} not found (no real_dev clips on this machine)` };
    const outDir = resolve(process.env.CHAT_REAL_OUT ?? join('runs', 'chat-real'));
    await mkdir(outDir, { recursive: true });
    const corpus = await loadRealDev(dir);
    const { fold, stratifiedBy } = catalogueFolds(corpus, FOLDS, SEED);
    const heldTracks = corpus.tracks.filter((_, i) => fold[i] === 0);
    const trainCorpus = foldTrainingCorpus(corpus, fold, 0, SEED);
    const modelDir = join(outDir, 'model');

    process.stderr.write(`chat-real: pretrain --config real on ${trainCorpus.tracks.length} clips of the other artists into ${modelDir} (reused when finished)\n`);
    const t0 = performance.now();
    const r = await pretrain({ data: dir, corpus: trainCorpus, out: modelDir, cacheDir: join(outDir, 'cache'), config: 'real', seed: SEED, quiet: true });
    const pretrainS = (performance.now() - t0) / 1000;
    const space = await JointSpace.load(modelDir);
    try {
      const t1 = performance.now();
      const emb = await heldVectors(space, heldTracks, join(outDir, 'held-vectors.json'));
      const embedS = (performance.now() - t1) / 1000;
      const genresOf = await allMusicGenres(dir);
      const sign = (t: TrackRecord, c: string): number => Number(t.labels?.[c] ?? 0);
      const kept = heldTracks.map((t, i) => ({ t, v: emb.vectors[i] as Float32Array })).filter((x) => x.v.length > 0);
      const clips = new Map<string, MoodClip>(kept.map(({ t }) => [t.id, { id: t.id, valence: sign(t, 'valence_sign'), arousal: sign(t, 'arousal_sign'), genres: genresOf.get(t.id) ?? [] }]));
      const held = [...clips.values()];
      const view = catalogueView(space.dim, kept.map(({ t, v }) => ({ id: t.id, path: t.audioPath, durationS: t.durationS ?? 30, tags: t.tags, genre: t.genre, vector: v })));
      const text = new TextCache(space, 4096);
      const cm: ConversationModel = { embedText: (x) => text.embedText(x), unknownWords: (x) => space.unknownWords(x), embedAudio: (a) => space.embedAudio(a), ...(space.prototypes ? { prototypes: space.prototypes } : {}) };
      const lab = (rs: readonly ResultTrack[]): MoodClip[] => rs.map((x) => clips.get(x.id) as MoodClip);

      const genre9 = [...new Set(kept.map(({ t }) => t.genre).filter((g): g is string => !!g))].sort();
      // The genre word alone: the real preset's vocabulary is mood words and genres, without "a" or "track".
      const queries = genre9.map((g) => g.toLowerCase()).filter((q) => space.unknownWords(q).length === 0);
      const starts = [...held.map((c) => c.id), ...queries];
      let rng = new Rng(12);
      const randomTop = (exclude: string | undefined): MoodClip[] => rng.shuffle(held.filter((t) => t.id !== exclude)).slice(0, K);

      // The mood kinds, over a model: the product's (prototypes where the model has them) and,
      // beside it, the same model with its prototypes hidden (text directions only).
      const moodKinds = async (cm: ConversationModel): Promise<Record<string, unknown>> => {
        const kinds: Record<string, unknown> = {};
        for (const [kind, spec] of Object.entries(MOOD_KINDS)) {
          rng = new Rng(12); // each kind's random baseline is the same whatever ran before it
          let n = 0, ok = 0, rnd = 0, unchanged = 0, wrong = 0;
          let operation = '';
          const unknown = new Set<string>();
          const notes = new Set<string>();
          for (const s of starts) {
            const c = new Conversation(cm, view, { k: K });
            const before = lab((await c.turn(s)).results);
            const turn = await c.turn(spec.turn);
            turn.unknownWords.forEach((w) => unknown.add(w));
            turn.notes.forEach((w) => notes.add(w));
            operation ||= turn.explanation.operations.join('; ');
            const verdict = spec.score(before, lab(turn.results));
            if (verdict === undefined) continue;
            n++;
            if (verdict) ok++;
            const d = spec.share(lab(turn.results)) - spec.share(before);
            if (d === 0) unchanged++;
            else if (Math.sign(d) !== spec.way) wrong++;
            if (spec.score(before, randomTop(clips.has(s) ? s : undefined))) rnd++;
          }
          kinds[kind] = { asked: spec.asked, turns: n, model: +(ok / Math.max(1, n)).toFixed(3), random: +(rnd / Math.max(1, n)).toFixed(3), unchanged, wrongWay: wrong, operation, unknownWords: [...unknown], notes: [...notes] };
        }
        return kinds;
      };
      const kinds = await moodKinds(cm);
      const { prototypes: _hidden, ...textOnly } = cm;
      const textDirections = cm.prototypes ? await moodKinds(textOnly) : undefined;
      // The same prototypes without their members: plain differences of means (no LDA).
      const plainDifferences = cm.prototypes?.members ? await moodKinds({ ...textOnly, prototypes: { byTag: cm.prototypes.byTag } }) : undefined;

      rng = new Rng(12);
      let both = 0, genreKept = 0, calmer = 0, rBoth = 0, genreShare = 0, chanceShare = 0;
      for (const seed of held) {
        const c = new Conversation(cm, view, { k: K });
        const plain = lab((await c.turn(seed.id)).results);
        const refined = lab((await c.turn('like this but calmer')).results);
        const others = held.filter((t) => t.id !== seed.id);
        const m = likeThisButCalmer(seed, plain, refined, others);
        const rr = likeThisButCalmer(seed, plain, randomTop(seed.id), others);
        genreShare += genreOverlap(seed, refined) / held.length;
        chanceShare += genreOverlap(seed, others) / held.length;
        if (m.genre) genreKept++;
        if (m.calmer) calmer++;
        if (m.genre && m.calmer) both++;
        if (rr.genre && rr.calmer) rBoth++;
      }
      const n = held.length;
      kinds['like this but calmer'] = {
        asked: 'AllMusic genre overlap above chance and arousal +1 share below "like this"',
        turns: n, model: +(both / n).toFixed(3), random: +(rBoth / n).toFixed(3),
        genreAboveChance: +(genreKept / n).toFixed(3), arousalBelowLikeThis: +(calmer / n).toFixed(3),
        meanGenreShareTop10: +genreShare.toFixed(3), meanChanceShare: +chanceShare.toFixed(3),
      };
      const base = (f: (t: MoodClip) => number) => +positive(held, f).toFixed(3);
      return {
        data: dir,
        catalogue: `${held.length} held-out clips (fold 0 of ${FOLDS} artist-grouped folds, stratified by ${stratifiedBy ?? 'nothing'}, seed ${SEED}) of ${corpus.tracks.length}`,
        trainedOn: r.summary.tracks, model: modelDir, pretrainS: +pretrainS.toFixed(1),
        embedSeconds: +embedS.toFixed(1), vectorsCached: emb.cached, unembeddable: emb.skipped,
        heldOutShares: { valencePositive: base(V), arousalPositive: base(A) },
        starts: starts.length, genreQueries: queries, k: K,
        kinds,
        ...(textDirections ? { textDirectionsOnly: textDirections } : {}),
        ...(plainDifferences ? { plainPrototypeDifferences: plainDifferences } : {}),
        allKindsAtLeast80: Object.values(kinds).every((v) => (v as { model: number }).model >= 0.8),
      };
    } finally {
      space.dispose();
    }
  },
};
