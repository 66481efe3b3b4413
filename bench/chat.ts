/**
 * Scripted conversations on the held-out (test-split) tracks of the built-in corpus, each turn
 * scored by what the generator knows about every track (perceived BPM, instruments, genre,
 * arousal, valence). A turn "moves the list the asked way" when:
 *   slower / faster      the median BPM of the top 10 falls / rises
 *   with piano           the share of top-10 tracks with piano rises (starts where it is < 1)
 *   without drums        the share with drums falls (starts where it is > 0)
 *   not metal            no metal remains in the top 10 (starts that show metal)
 *   calmer / happier     the mean arousal falls / the mean valence rises
 *   like this but calmer keeps the seed's genre more often than chance (its share among the other
 *                        held-out tracks) and the mean arousal is below plain "like this"
 * Each share is printed beside the same share for a random re-ranking (a seeded random top 10 of
 * the same catalogue). Starts: every held-out track ("<id>", i.e. like this track) and a query per
 * genre ("a jazz track"). "With piano" and the negations run twice: with the catalogue's labels (the hard filter the
 * product applies) and on a catalogue whose labels are hidden, so only the joint space acts.
 * The catalogue carries a tempo measured from each track's audio (estimateTempo on its log-mel,
 * not the generator's BPM), which "slower"/"faster" rank by; they also run without it (the text
 * direction alone), and the estimate's rank correlation with the generator's BPM is printed.
 * Direction words use the model's music prototypes where it saved them, as the product does
 * (happier = music tagged happy − sad); the direction kinds also run with the prototypes hidden,
 * i.e. text(happy) − text(sad).
 *
 * Model and corpus: CHAT_BENCH_MODEL and CHAT_BENCH_DATA, default runs/chat-main/{model,corpus}
 * (made by `musicbert synth --out runs/chat-main/corpus --tracks 200 --seconds 10 --seed 1` and
 * `musicbert pretrain --data runs/chat-main/corpus --out runs/chat-main/model`: the main job's
 * corpus and the full model at the default `small` preset), then runs/main/{model,corpus}.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TrackRecord } from '../src/data/corpus.js';
import { loadCorpus, readManifest } from '../src/data/datasets/index.js';
import type { SynthManifest } from '../src/data/synth/index.js';
import { perceivedBpm } from '../src/data/synth/labels.js';
import { logMelFromFile } from '../src/audio/index.js';
import { estimateTempo } from '../src/audio/tempo.js';
import { TextCache } from '../src/search/catalogue.js';
import { catalogueView, type CatalogueView } from '../src/search/catalogueView.js';
import { Conversation, type ConversationModel, type ResultTrack } from '../src/search/conversation.js';
import { JointSpace } from '../src/search/jointSpace.js';
import { Rng } from '../src/util/rng.js';
import type { Benchmark } from './benchmarks.js';

interface Labelled extends TrackRecord {
  bpm: number;
}

type Score = (before: readonly Labelled[], after: readonly Labelled[], seed: Labelled | undefined) => boolean | undefined;

const K = 10;
/** Weight of a refinement against the base term (ConversationOptions.refineWeight); CHAT_BENCH_WEIGHTS=1,2 compares several. */
const WEIGHTS = (process.env.CHAT_BENCH_WEIGHTS ?? '1').split(',').map(Number);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const share = (ts: readonly Labelled[], f: (t: Labelled) => boolean) => ts.filter(f).length / Math.max(1, ts.length);
const has = (tag: string) => (t: Labelled) => t.tags.includes(tag);
/** Spearman rank correlation (ties broken by order; enough for a printed diagnostic). */
const spearman = (a: readonly number[], b: readonly number[]): number => {
  const rank = (xs: readonly number[]) => {
    const r = new Array<number>(xs.length);
    xs.map((x, i) => [x, i] as const).sort((p, q) => p[0] - q[0]).forEach(([, i], k) => (r[i] = k));
    return r;
  };
  const ra = rank(a), rb = rank(b), m = (a.length - 1) / 2;
  let num = 0, da = 0, db = 0;
  for (let i = 0; i < a.length; i++) { num += (ra[i]! - m) * (rb[i]! - m); da += (ra[i]! - m) ** 2; db += (rb[i]! - m) ** 2; }
  return num / Math.sqrt(da * db);
};

/** Refinement kind → turn text and how to score it (undefined: the start does not qualify). */
const KINDS: Record<string, { turn: string; score: Score }> = {
  slower: { turn: 'slower', score: (b, a) => median(a.map((t) => t.bpm)) < median(b.map((t) => t.bpm)) },
  faster: { turn: 'faster', score: (b, a) => median(a.map((t) => t.bpm)) > median(b.map((t) => t.bpm)) },
  'with piano': { turn: 'with piano', score: (b, a) => (share(b, has('piano')) < 1 ? share(a, has('piano')) > share(b, has('piano')) : undefined) },
  'without drums': { turn: 'without drums', score: (b, a) => (share(b, has('drums')) > 0 ? share(a, has('drums')) < share(b, has('drums')) : undefined) },
  'not metal': { turn: 'not metal', score: (b, a) => (b.some((t) => t.genre === 'metal') ? !a.some((t) => t.genre === 'metal') : undefined) },
  calmer: { turn: 'calmer', score: (b, a) => mean(a.map((t) => t.arousal ?? 0)) < mean(b.map((t) => t.arousal ?? 0)) },
  happier: { turn: 'happier', score: (b, a) => mean(a.map((t) => t.valence ?? 0)) > mean(b.map((t) => t.valence ?? 0)) },
};

export const chatBenchmark: Benchmark = {
  name: 'chat',
  summary: 'scripted conversations on held-out generated tracks: share of turns that move the top 10 the asked way, vs a random re-ranking',
  async run() {
    const model = resolve(process.env.CHAT_BENCH_MODEL ?? (existsSync('runs/chat-main/model') ? 'runs/chat-main/model' : 'runs/main/model'));
    const data = resolve(process.env.CHAT_BENCH_DATA ?? join(model, '..', 'corpus'));
    if (!existsSync(join(model, 'musicbert')) || !existsSync(join(data, 'manifest.json'))) {
      return { skipped: `no model/corpus at ${model} and ${data}: run "npm start" (or see bench/chat.ts) first` };
    }
    const corpus = await loadCorpus(data, { quiet: true });
    const manifest = await readManifest<SynthManifest>(join(data, 'manifest.json'));
    const bpm = new Map(manifest.tracks.map((t) => [t.id, perceivedBpm(t.params)]));
    const held: Labelled[] = corpus.tracks.filter((t) => t.split === 'test').map((t) => ({ ...t, bpm: bpm.get(t.id) as number }));
    const byId = new Map(held.map((t) => [t.id, t]));
    const space = await JointSpace.load(model);
    try {
      const t0 = performance.now();
      const vectors: Float32Array[] = [];
      for (const t of held) vectors.push(await space.embedAudio(t.audioPath));
      const embedS = (performance.now() - t0) / 1000;
      const measured: (number | undefined)[] = [];
      for (const t of held) measured.push(estimateTempo(await logMelFromFile(t.audioPath)));
      const known = held.map((t, i) => [t.bpm, measured[i]] as const).filter((x): x is readonly [number, number] => x[1] !== undefined);
      const rows = (labels: boolean, tempo = true) => held.map((t, i) => ({ id: t.id, path: t.audioPath, durationS: t.durationS ?? 0, tags: labels ? t.tags : [], genre: labels ? t.genre : undefined, vector: vectors[i] as Float32Array, ...(tempo ? { bpm: measured[i] } : {}) }));
      const labelled = catalogueView(space.dim, rows(true));
      const hidden = catalogueView(space.dim, rows(false));
      const noTempo = catalogueView(space.dim, rows(true, false));
      const text = new TextCache(space, 4096);
      // The product's model (its music prototypes where saved) and the same model with them hidden.
      const textOnly: ConversationModel = { embedText: (t) => text.embedText(t), unknownWords: (t) => space.unknownWords(t), embedAudio: (a) => space.embedAudio(a) };
      const cm: ConversationModel = { ...textOnly, ...(space.prototypes ? { prototypes: space.prototypes } : {}) };
      // The same prototypes without their members: directions as plain differences of means (no LDA).
      const plainProto: ConversationModel | undefined = space.prototypes?.members ? { ...textOnly, prototypes: { byTag: space.prototypes.byTag } } : undefined;
      const genres = [...new Set(held.map((t) => t.genre).filter((g): g is string => !!g))].sort();
      const starts = [...held.map((t) => t.id), ...genres.map((g) => `a ${g === 'hiphop' ? 'hip hop' : g} track`)];
      const lab = (rs: readonly ResultTrack[]) => rs.map((r) => byId.get(r.id) as Labelled);
      // Seeded per kind, so each kind's random baseline is the same whatever ran before it.
      let rng = new Rng(12);
      const randomTop = (exclude: string | undefined) => rng.shuffle(held.filter((t) => t.id !== exclude)).slice(0, K);

      const runAt = async (w: number): Promise<Record<string, unknown>> => {
      const tally = async (view: CatalogueView, kind: string, model = cm): Promise<{ turns: number; model: number; random: number }> => {
        let n = 0, ok = 0, rnd = 0;
        rng = new Rng(12);
        for (const s of starts) {
          const c = new Conversation(model, view, { k: K, refineWeight: w });
          const before = lab((await c.turn(s)).results);
          const seed = byId.get(s);
          const after = lab((await c.turn((KINDS[kind] as { turn: string }).turn)).results);
          const verdict = (KINDS[kind] as { score: Score }).score(before, after, seed);
          if (verdict === undefined) continue;
          n++;
          if (verdict) ok++;
          if ((KINDS[kind] as { score: Score }).score(before, randomTop(seed?.id), seed)) rnd++;
        }
        return { turns: n, model: +(ok / Math.max(1, n)).toFixed(3), random: +(rnd / Math.max(1, n)).toFixed(3) };
      };

      const out: Record<string, unknown> = {};
      for (const kind of Object.keys(KINDS)) out[kind] = await tally(labelled, kind);
      out['slower (text direction, no measured tempo)'] = await tally(noTempo, 'slower', textOnly);
      out['faster (text direction, no measured tempo)'] = await tally(noTempo, 'faster', textOnly);
      if (cm.prototypes) {
        out['slower (prototypes, no measured tempo)'] = await tally(noTempo, 'slower');
        out['faster (prototypes, no measured tempo)'] = await tally(noTempo, 'faster');
        out['calmer (text direction, prototypes hidden)'] = await tally(labelled, 'calmer', textOnly);
        out['happier (text direction, prototypes hidden)'] = await tally(labelled, 'happier', textOnly);
        if (plainProto) {
          out['calmer (plain prototype difference, no LDA)'] = await tally(labelled, 'calmer', plainProto);
          out['happier (plain prototype difference, no LDA)'] = await tally(labelled, 'happier', plainProto);
        }
      }
      out['with piano (space only, labels hidden)'] = await tally(hidden, 'with piano');
      out['without drums (space only, labels hidden)'] = await tally(hidden, 'without drums');
      out['not metal (space only, labels hidden)'] = await tally(hidden, 'not metal');

      // "like this but calmer", from every held-out track: genre kept above chance, arousal below "like this".
      const likeThisCalmer = async (model: ConversationModel): Promise<Record<string, number>> => {
      rng = new Rng(12);
      let n = 0, both = 0, genreKept = 0, calmer = 0, rBoth = 0;
      let genreShare = 0, chanceShare = 0;
      for (const seed of held) {
        const c = new Conversation(model, labelled, { k: K, refineWeight: w });
        const plain = lab((await c.turn(seed.id)).results);
        const refined = lab((await c.turn('like this but calmer')).results);
        const others = held.filter((t) => t.id !== seed.id);
        const chance = share(others, (t) => t.genre === seed.genre);
        const g = share(refined, (t) => t.genre === seed.genre);
        const calm = mean(refined.map((t) => t.arousal ?? 0)) < mean(plain.map((t) => t.arousal ?? 0));
        const r = randomTop(seed.id);
        n++;
        genreShare += g / held.length;
        chanceShare += chance / held.length;
        if (g > chance) genreKept++;
        if (calm) calmer++;
        if (g > chance && calm) both++;
        if (share(r, (t) => t.genre === seed.genre) > chance && mean(r.map((t) => t.arousal ?? 0)) < mean(plain.map((t) => t.arousal ?? 0))) rBoth++;
      }
      return {
        turns: n, model: +(both / n).toFixed(3), random: +(rBoth / n).toFixed(3),
        genreAboveChance: +(genreKept / n).toFixed(3), arousalBelowLikeThis: +(calmer / n).toFixed(3),
        meanGenreShareTop10: +genreShare.toFixed(3), meanChanceShare: +chanceShare.toFixed(3),
      };
      };
      out['like this but calmer'] = await likeThisCalmer(cm);
      if (cm.prototypes) out['like this but calmer (text direction, prototypes hidden)'] = await likeThisCalmer(textOnly);
      if (plainProto) out['like this but calmer (plain prototype difference, no LDA)'] = await likeThisCalmer(plainProto);
      return out;
      };
      const byWeight: Record<string, Record<string, unknown>> = {};
      for (const w of WEIGHTS) byWeight[String(w)] = await runAt(w);
      const out = byWeight[String(WEIGHTS[0])] as Record<string, unknown>;
      const kinds = Object.entries(out).filter(([k]) => !k.includes('(')).map(([, v]) => (v as { model: number }).model);
      return {
        refineWeight: WEIGHTS[0],
        model, catalogue: `${held.length} held-out (test split) tracks of ${data}`, starts: starts.length, k: K,
        embedSeconds: +embedS.toFixed(1),
        measuredTempo: {
          tracks: known.length,
          spearmanWithGeneratorBpm: +spearman(known.map((x) => x[0]), known.map((x) => x[1])).toFixed(3),
          // The MIREX tempo accuracies: within 4 % of the generator's BPM, and up to a factor 2, 3, ½ or ⅓.
          within4pct: +(known.filter(([g, m]) => Math.abs(m / g - 1) <= 0.04).length / known.length).toFixed(3),
          within4pctUpToOctave: +(known.filter(([g, m]) => [1, 2, 3, 1 / 2, 1 / 3].some((f) => Math.abs(m / (g * f) - 1) <= 0.04)).length / known.length).toFixed(3),
        },
        kinds: out,
        ...(WEIGHTS.length > 1 ? { byRefineWeight: byWeight } : {}),
        allKindsAtLeast80: kinds.every((m) => m >= 0.8),
        realDev: 'see `npm run bench -- chat-real`',
      };
    } finally {
      space.dispose();
    }
  },
};
