/**
 * A conversation about music over a catalogue, with no text generation: every turn is parsed into
 * operations (refine.ts), the operations edit a query made of weighted terms in the joint space,
 * and the catalogue is re-ranked by it. A term is a vector — a track's, an uploaded clip's, a
 * sentence's ("a track with piano"), or a text direction such as text("a slow track") −
 * text("a fast track") — with a weight. Each term's similarities are put on one scale (divided by
 * their spread over the catalogue), so a weight of 1 on "slower" moves the list as much as a weight
 * of 1 on the track it started from, whatever the raw cosine ranges of text and music vectors;
 * the composed query is still one vector, Σ (weight / spread) · vector. Negations also filter out
 * tracks the catalogue labels with the word ("not metal" drops genre metal), and say how many.
 * When the catalogue carries a tempo measured from each track's audio (CatalogueView.tempo),
 * "slower"/"faster" are a term on it instead (log₂ BPM, on the same standardised scale), since
 * the joint space orders tempo only a little better than chance; the turn reports the list's
 * median measured tempo before and after. "with piano" in a catalogue that labels tracks piano also
 * adds a term preferring them (1 for labelled tracks, standardised like the rest): a preference,
 * where a negation's label is a filter. A mood direction ("happier", "darker", "calmer") whose two
 * ends the model has music prototypes for (model/prototypes.ts: the mean vector of its training
 * tracks tagged with the word or a synonym, at least MIN_PROTOTYPE_TRACKS each) is taken between
 * them, in music (decorrelated within the two tags' training tracks: LDA), instead of between two
 * sentences. "Like this but calmer" re-ranks only the seed's nearest tracks (nearPool, 3 × k), so
 * "like this" stays true while "but …" orders within it.
 *
 * Questions about the focus track go to ask.ts; questions about the list rank the tracks on screen
 * by a direction. A session keeps its turns, the list, the focus and a bounded undo history
 * ("back"). The same turns on the same catalogue and model give the same results.
 */
import { UsageError } from '../util/errors.js';
import { ANTONYMS, INSTRUMENTS, SYNONYMS, askTrack, type Answer } from './ask.js';
import type { Catalogue } from './catalogue.js';
import { labelKey, loadCatalogueView, type CatalogueView } from './catalogueView.js';
import type { AudioInput } from './jointSpace.js';
import { parseTurn, type Criterion, type Operation, type TrackRef } from './refine.js';
import { MIN_PROTOTYPE_TRACKS, prototypeDirection, prototypeOf, type PrototypeSet } from '../model/prototypes.js';
import { scoreRows, topK } from './vectors.js';
import { DEFAULT_TEMPLATE, fitTemplate, promptFor, type TextEmbedder } from './zeroShot.js';

/** What a conversation needs from the model: text vectors, its vocabulary, and audio for uploads. */
export interface ConversationModel extends TextEmbedder {
  unknownWords(texts: string | readonly string[]): string[];
  embedAudio(input: AudioInput): Promise<Float32Array>;
  /**
   * The model's music prototypes, lower-cased tag → the mean joint vector of the training tracks
   * tagged so, with the training vectors behind them (tagPrototypes), when the model has them: a mood direction is
   * then taken between two prototypes, in music (prototypeDirection), rather than between two sentences.
   */
  prototypes?: PrototypeSet;
}

export interface ConversationOptions {
  /** Tracks per result list (default 10). */
  k?: number;
  /** Turns "back" can undo (default 32); older ones are forgotten. */
  maxHistory?: number;
  /** Terms a query may hold (default 16). */
  maxTerms?: number;
  /** Longest accepted turn, in characters (default 500). */
  maxInput?: number;
  /** Weight of one text refinement ("slower", "with piano") against the query's base term's 1 (default 1). */
  refineWeight?: number;
  /**
   * Tracks a "like this but …" turn re-ranks: the seed's nearest neighbours (default 3 × k). A
   * weighted sum alone trades the one against the other (a strong "calmer" leaves the seed's
   * genre behind); the pool keeps "like this" true while "but …" orders within it.
   */
  nearPool?: number;
}

const DEFAULTS: Required<ConversationOptions> = { k: 10, maxHistory: 32, maxTerms: 16, maxInput: 500, refineWeight: 1, nearPool: 30 };

/** One sentence in a term, with its sign (a direction is a positive minus a negative sentence). */
export interface TermPrompt {
  text: string;
  sign: 1 | -1;
}

export interface QueryTerm {
  /** Stable name: merging "slower" twice adds the weights; "slower" then "faster" cancel. */
  key: string;
  /** 'tempo': the catalogue's measured tempo (log₂ BPM) per track; 'label': 1 for tracks the catalogue labels so; neither is a vector. */
  kind: 'text' | 'direction' | 'track' | 'clip' | 'tempo' | 'label';
  /** What the user sees: "slow − fast", "a track with piano", "track rock.00012". */
  label: string;
  prompts: TermPrompt[];
  weight: number;
  /** 1 / spread of this term's similarities over the catalogue: weight · scale multiplies the vector. */
  scale: number;
  /** Catalogue id for track terms. */
  trackId?: string;
}

interface Term extends QueryTerm {
  vector: Float32Array;
  /** A per-track value used in place of the similarity to `vector` (tempo and label terms; NaN-free). */
  values?: Float64Array;
  /** Mean similarity over the catalogue (subtracted so contributions read as "above average"). */
  mean: number;
}

export interface ResultTrack {
  rank: number;
  id: string;
  /** Σ weight · standardised similarity, over the query's terms. */
  score: number;
  /** Each term's share of the score, in the order of Explanation.terms. */
  contributions: number[];
  genre?: string | undefined;
  tags: string[];
  durationS: number;
  albumId?: string | undefined;
  /** Measured tempo (BPM), when the catalogue carries one for this track. */
  bpm?: number;
}

export interface Focus {
  /** A catalogue id, or "clip:NAME" for an uploaded clip. */
  id: string;
  /** Its rank in the current list, when it is on screen. */
  rank?: number;
}

export interface ListAnswer {
  question: string;
  /** What the list was ranked by ("fast − slow"). */
  criterion: string;
  prompts: TermPrompt[];
  /** The winning track's id, and its rank on screen. */
  answer: string;
  rank: number;
  /** Every track on screen by the criterion, best first (similarity to the criterion vector; for the measured tempo, ±BPM, NaN where unknown). */
  candidates: { id: string; rank: number; score: number }[];
}

export interface Explanation {
  /** One line per operation applied, in words ("slower: +1 × (slow − fast)"). */
  operations: string[];
  terms: QueryTerm[];
  /** Labels filtered out, with the number of catalogue tracks each removes. */
  excludedLabels: { label: string; tracks: number }[];
  /** Tracks left out because they were shown before ("something new") or are the query's own tracks. */
  excludedTracks: number;
}

export interface TurnResult {
  turn: number;
  input: string;
  /** What the turn did: a new list, an answer, a focus change, an undo or a reset. */
  kind: 'results' | 'answer' | 'list-answer' | 'focus' | 'back' | 'reset';
  results: ResultTrack[];
  focus?: Focus | undefined;
  answer?: Answer | undefined;
  listAnswer?: ListAnswer | undefined;
  explanation: Explanation;
  /** Words of this turn the model's vocabulary lacks (they read as [UNK]); never dropped silently. */
  unknownWords: string[];
  /** Anything the turn could not do as asked (a refinement whose words are all unknown, etc.). */
  notes: string[];
}

interface FocusTrack {
  id: string;
  label: string;
  vector: Float32Array;
}

interface State {
  terms: Term[];
  excludedLabels: string[];
  /** Ids shown before a "something new" turn: left out of later lists. */
  excludedIds: string[];
  shown: string[];
  results: ResultTrack[];
  focus: FocusTrack | undefined;
  operations: string[];
  /**
   * "like this but calmer": the seed track's vector; while the turns refine it, only its nearPool
   * nearest tracks that the filters leave are candidates ("like this" holds, "but …" re-ranks them).
   */
  near?: Float32Array;
}

const EMPTY: State = { terms: [], excludedLabels: [], excludedIds: [], shown: [], results: [], focus: undefined, operations: [] };
/** Direction words "slower"/"faster" use the catalogue's measured tempo for, when it has one. */
const TEMPO_WORDS: ReadonlySet<string> = new Set(['slow', 'fast']);
const INSTRUMENT_WORDS: ReadonlySet<string> = new Set<string>([...INSTRUMENTS, 'drum', 'guitar', 'vocal', 'voice', 'singing', 'saxophone', 'trumpet', 'violin', 'cello', 'keys', 'keyboard', 'beat', 'beats']);

function ordinal(n: number): string {
  const s = n % 100 >= 11 && n % 100 <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${s}`;
}

const round = (x: number, d = 3): number => Number(x.toFixed(d));
const signed = (x: number): string => `${x > 0 ? '+' : x < 0 ? '−' : ''}${Math.abs(x)}`;

export class Conversation {
  private readonly opts: Required<ConversationOptions>;
  private state: State = EMPTY;
  private readonly history: State[] = [];
  private turns = 0;

  constructor(private readonly model: ConversationModel, private readonly view: CatalogueView, opts: ConversationOptions = {}) {
    this.opts = { ...DEFAULTS, nearPool: 3 * (opts.k ?? DEFAULTS.k), ...opts };
    if (!(this.opts.refineWeight > 0 && Number.isFinite(this.opts.refineWeight))) throw new UsageError(`Conversation: refineWeight must be a positive number (got ${this.opts.refineWeight})`);
    for (const [k, v] of Object.entries(this.opts)) {
      if (k !== 'refineWeight' && (!Number.isInteger(v) || v < 1)) throw new UsageError(`Conversation: ${k} must be a positive integer (got ${v})`);
    }
  }

  /** A conversation over an open catalogue (loads its vectors into memory; pass `view` to share one). */
  static async open(catalogue: Catalogue, opts: ConversationOptions & { view?: CatalogueView } = {}): Promise<Conversation> {
    const { view: shared, ...rest } = opts;
    const view = shared ?? (await loadCatalogueView(catalogue.store));
    const space = catalogue.space;
    const model: ConversationModel = {
      embedText: (t) => catalogue.text.embedText(t),
      unknownWords: (t) => space.unknownWords(t),
      embedAudio: (a) => space.embedAudio(a),
      ...(space.prototypes ? { prototypes: space.prototypes } : {}),
    };
    return new Conversation(model, view, rest);
  }

  /** The list on screen. */
  get results(): readonly ResultTrack[] {
    return this.state.results;
  }

  get focus(): Focus | undefined {
    return this.focusView(this.state);
  }

  /** Turns taken so far (an undo counts as a turn). */
  get turnCount(): number {
    return this.turns;
  }

  /** One turn of text. A turn that cannot be carried out throws a UsageError and changes nothing. */
  async turn(text: string): Promise<TurnResult> {
    if (typeof text !== 'string') throw new UsageError('a turn must be text');
    if (text.length > this.opts.maxInput) throw new UsageError(`a turn is at most ${this.opts.maxInput} characters (got ${text.length})`);
    const ops = parseTurn(text, { knows: (w) => ANTONYMS[w] !== undefined || this.model.unknownWords(w).length === 0, isTrack: (t) => this.view.row.has(t) });
    if (ops.length === 0) throw new UsageError('the turn is empty: type a description, a refinement ("slower", "with piano") or a question');
    return this.apply(text, ops);
  }

  /** Start (or restart) from an uploaded clip: its nearest catalogue tracks, with the clip as focus. */
  async startFromClip(audio: AudioInput, name = 'clip'): Promise<TurnResult> {
    return this.startFromVector(await this.model.embedAudio(audio), name);
  }

  /** Start from a clip already embedded elsewhere (the server's model worker): its joint-space vector. */
  async startFromVector(vector: Float32Array, name = 'clip'): Promise<TurnResult> {
    if (vector.length !== this.view.dim) throw new UsageError(`a clip vector must have ${this.view.dim} values (got ${vector.length})`);
    const label = `clip ${name}`;
    const focus: FocusTrack = { id: `clip:${name}`, label, vector };
    const term = this.makeTerm({ key: `clip:${name}`, kind: 'clip', label, prompts: [] }, vector, 1);
    const next: State = { ...EMPTY, terms: [term], focus, operations: [`start from ${label}: +1 × its vector`] };
    return this.commit(`<${label}>`, 'results', this.rank(next, false), { notes: [], unknown: [] });
  }

  private async apply(input: string, ops: Operation[]): Promise<TurnResult> {
    const only = ops[0] as Operation;
    if (only.op === 'back') {
      const prev = this.history.pop();
      this.turns++;
      const notes = prev ? [] : ['nothing to undo'];
      if (prev) this.state = prev;
      return this.result(input, 'back', this.state, { notes, unknown: [] });
    }
    if (only.op === 'reset') return this.commit(input, 'reset', EMPTY, { notes: [], unknown: [] });
    if (only.op === 'ask') {
      const focus = this.state.focus;
      if (!focus) throw new UsageError('there is no track to ask about yet: search first, or pick one ("play the second one")');
      const answer = await askTrack(this.model, focus.vector, only.question);
      const unknown = this.model.unknownWords(Object.values(answer.prompts));
      return this.commit(input, 'answer', { ...this.state, operations: [`ask about ${focus.label}: ${answer.answer} (${(answer.confidence * 100).toFixed(0)}%)`] }, { notes: [], unknown, answer });
    }
    if (only.op === 'ask-list') return this.askList(input, only.question, only.criterion);
    if (only.op === 'focus' && ops.length === 1) {
      const f = this.resolve(only.ref);
      return this.commit(input, 'focus', { ...this.state, focus: f, operations: [`focus on ${f.label}`] }, { notes: [], unknown: [] });
    }

    // Refinements and searches: edit the query, then re-rank.
    let s: State = { ...this.state, operations: [] };
    const notes: string[] = [];
    const unknown: string[] = [];
    let focusChosen = false;
    for (const op of ops) {
      switch (op.op) {
        case 'search': {
          const words = this.model.unknownWords(op.text);
          unknown.push(...words);
          if (words.length > 0 && words.length >= op.text.split(/\s+/).filter((x) => /[\p{L}\p{N}]/u.test(x)).length) {
            throw new UsageError(`none of the words of “${op.text}” are in the model's vocabulary (${words.join(', ')}): nothing to search for`);
          }
          const vec = (await this.model.embedText(op.text))[0] as Float32Array;
          s = { ...EMPTY, shown: s.shown, terms: [this.makeTerm({ key: `text:${op.text}`, kind: 'text', label: `“${op.text}”`, prompts: [{ text: op.text, sign: 1 }] }, vec, 1)], operations: [`search “${op.text}”: +1 × text`] };
          break;
        }
        case 'seed': {
          const f = this.resolve(op.ref);
          const { near: _, ...rest } = s;
          s = { ...rest, terms: [this.trackTerm(f, 1)], focus: f, operations: [...s.operations, `like ${f.label}: +1 × its vector (the query starts again from it)`] };
          if (op !== ops[ops.length - 1]) {
            // "like this but …": the rest of the turn re-ranks the seed's neighbours only.
            s = { ...s, near: f.vector, operations: [...s.operations, `but …: among the ${this.opts.nearPool} tracks nearest to ${f.label}`] };
          }
          focusChosen = true;
          break;
        }
        case 'toward': {
          const f = this.resolve(op.ref);
          s = this.addTerm(s, this.trackTerm(f, op.strength), `more like ${f.label}: +${op.strength} × its vector`);
          break;
        }
        case 'direction': {
          const t = await this.directionTerm(op.word, op.sign * op.strength * this.opts.refineWeight, unknown, notes);
          if (t) s = this.addTerm(s, t, `${op.sign > 0 ? 'more' : 'less'} ${op.word}: ${signed(t.weight)} × (${t.label})`);
          break;
        }
        case 'include':
        case 'exclude': {
          const sign = op.op === 'include' ? 1 : -1;
          const t = await this.phraseTerm(op.phrase, sign * op.strength * this.opts.refineWeight, unknown, notes);
          if (t) s = this.addTerm(s, t, `${op.op === 'include' ? 'with' : 'without'} ${op.phrase}: ${signed(t.weight)} × “${t.label}”`);
          const labelled = op.op === 'include' ? this.labelFor(op.phrase) : undefined;
          if (labelled) {
            // The catalogue says which tracks have it: prefer those (a term, not a filter).
            const lt = this.labelTerm(labelled, op.strength * this.opts.refineWeight);
            s = this.addTerm(s, lt, `with ${op.phrase}: prefer tracks labelled ${labelled} (${this.view.labels.get(labelled)?.length ?? 0} in the catalogue): ${signed(lt.weight)} × label`);
            if (!t) notes[notes.length - 1] = `“${op.phrase}” is not in the model's vocabulary: only the catalogue's label ${labelled} is used`;
          }
          if (op.op === 'exclude') {
            const key = this.labelFor(op.phrase);
            if (key) {
              if (!s.excludedLabels.includes(key)) s = { ...s, excludedLabels: [...s.excludedLabels, key] };
              s = { ...s, operations: [...s.operations, `leave out tracks labelled ${key} (${this.view.labels.get(key)?.length ?? 0} in the catalogue)`] };
            } else if (!t) {
              notes.push(`“${op.phrase}” is neither a catalogue label nor in the model's vocabulary: nothing to leave out`);
            }
          }
          break;
        }
        case 'fresh':
          s = { ...s, excludedIds: [...new Set([...s.excludedIds, ...s.shown])], operations: [...s.operations, `something new: leave out the ${s.shown.length} tracks shown so far`] };
          break;
        case 'focus': {
          s = { ...s, focus: this.resolve(op.ref) };
          focusChosen = true;
          break;
        }
        default:
          throw new UsageError(`“${input}” mixes a question or an undo with other requests: send them as separate turns`);
      }
    }
    if (s.terms.length > this.opts.maxTerms) throw new UsageError(`the query would hold ${s.terms.length} terms (at most ${this.opts.maxTerms}): say "reset" or "back"`);
    if (s.terms.length === 0) {
      // Nothing left to rank by (every word unknown, or "a metal track" then "not metal"): keep
      // the list in its order, minus what the filters now leave out, and say why.
      notes.push('the query has no terms left, so the list keeps its order (filters still apply)');
      const out = new Set<string>(s.excludedIds);
      for (const l of s.excludedLabels) for (const r of this.view.labels.get(l) ?? []) out.add(this.view.ids[r] as string);
      const results = this.state.results.filter((r) => !out.has(r.id)).map((r, i) => ({ ...r, rank: i + 1 }));
      return this.commit(input, 'results', { ...s, terms: this.state.terms.length === 0 ? [] : s.terms, results, focus: s.focus ?? this.state.focus }, { notes, unknown });
    }
    const next = this.rank(s, !focusChosen);
    if (ops.some((o) => o.op === 'direction' && TEMPO_WORDS.has(o.word)) && s.terms.some((t) => t.kind === 'tempo')) {
      const before = this.medianTempo(this.state.results);
      const after = this.medianTempo(next.results);
      next.operations = [...next.operations, `measured tempo of the list (median): ${before === undefined ? '' : `${before} → `}${after ?? 'unknown'} BPM`];
    }
    return this.commit(input, 'results', next, { notes, unknown });
  }

  private async askList(input: string, question: string, c: Criterion): Promise<TurnResult> {
    const list = this.state.results;
    if (list.length === 0) throw new UsageError('there is no list to ask about yet: search first');
    const unknown: string[] = [];
    const notes: string[] = [];
    const t = c.kind === 'direction' ? await this.directionTerm(c.word, c.sign, unknown, notes) : await this.phraseTerm(c.phrase, 1, unknown, notes);
    if (!t) throw new UsageError(`cannot rank the list by “${c.kind === 'direction' ? c.word : c.phrase}”: ${notes.join('; ')}`);
    const rows = list.map((r) => this.view.row.get(r.id) as number);
    const candidates = rows
      .map((row, i) => {
        let s = 0;
        if (t.kind === 'tempo') s = this.view.tempo?.[row] ?? Number.NaN; // rank by the measured BPM itself
        else for (let j = 0; j < this.view.dim; j++) s += (this.view.data[row * this.view.dim + j] as number) * (t.vector[j] as number);
        return { id: (list[i] as ResultTrack).id, rank: i + 1, score: round(Math.sign(t.weight) * s, 4) };
      })
      .sort((a, b) => (Number.isNaN(a.score) ? 1 : 0) - (Number.isNaN(b.score) ? 1 : 0) || b.score - a.score || a.rank - b.rank);
    const best = candidates[0] as { id: string; rank: number };
    const listAnswer: ListAnswer = { question, criterion: t.label, prompts: t.prompts, answer: best.id, rank: best.rank, candidates };
    const focus = this.focusOf(best.id);
    return this.commit(input, 'list-answer', { ...this.state, focus, operations: [`rank the ${list.length} tracks on screen by ${t.label}: the ${ordinal(best.rank)} one`] }, { notes, unknown, listAnswer });
  }

  /** A word's prompt, "a calm track", cut to the words the model knows ("calm" for a model of mood words: fitTemplate). */
  private prompt(word: string): string {
    return promptFor(word, fitTemplate(this.model, DEFAULT_TEMPLATE));
  }

  /** Term for a direction word: text(word) − text(opposite) when an opposite is known, text(word) alone otherwise. */
  private async directionTerm(word: string, weight: number, unknown: string[], notes: string[]): Promise<Term | undefined> {
    let w = word.trim();
    if (TEMPO_WORDS.has(w) && this.view.tempo) return this.tempoTerm(w === 'fast' ? weight : -weight);
    let anti: string | undefined = ANTONYMS[w];
    // Both ends with music the model was trained on, tagged with the word or a synonym: the
    // direction between their prototypes. On real music the joint space's text side orders mood
    // only a little better than chance, while tagged training tracks carry it (bench chat-real).
    const protos = this.model.prototypes;
    const p = anti !== undefined && protos ? [prototypeOf(protos.byTag, w, SYNONYMS[w]), prototypeOf(protos.byTag, anti, SYNONYMS[anti])] : [];
    if (protos && p[0] && p[1] && p[0].count >= MIN_PROTOTYPE_TRACKS && p[1].count >= MIN_PROTOTYPE_TRACKS) {
      const [pp, pn] = w < anti! ? [p[0], p[1]] : [p[1], p[0]];
      const v = prototypeDirection(protos, pp, pn);
      const label = `music tagged ${pp.tags.join('/')} (${pp.count}) − ${pn.tags.join('/')} (${pn.count})${protos.members ? ', decorrelated (LDA)' : ''}`;
      return this.makeTerm({ key: `proto:${pp.tags[0]}|${pn.tags[0]}`, kind: 'direction', label, prompts: [] }, v, (w < anti! ? 1 : -1) * weight);
    }
    // A word (or its opposite) the model lacks, with a known synonym: the synonym stands in, said so.
    const standIn = (x: string, what: string): string => {
      const lacking = this.model.unknownWords(x);
      const s = lacking.length > 0 ? SYNONYMS[x]?.find((y) => this.model.unknownWords(y).length === 0) : undefined;
      if (s === undefined) return x;
      unknown.push(...lacking);
      notes.push(`“${x}”${what} is not in the model's vocabulary: using its synonym “${s}”`);
      return s;
    };
    w = standIn(w, '');
    if (anti) anti = standIn(anti, ` (the opposite of “${word.trim()}”)`);
    const missing = this.model.unknownWords(w);
    unknown.push(...missing);
    const antiMissing = anti ? this.model.unknownWords(anti) : [];
    if (missing.length > 0 && (!anti || antiMissing.length > 0)) {
      notes.push(`“${w}” is not in the model's vocabulary: not applied`);
      return undefined;
    }
    if (anti && missing.length > 0) {
      // Only the opposite is known: move away from it ("faster" = −text("a slow track")).
      notes.push(`“${w}” is not in the model's vocabulary: using −“${this.prompt(anti)}” alone`);
      const [v] = await this.model.embedText(this.prompt(anti));
      return this.makeTerm({ key: `text:${this.prompt(anti)}`, kind: 'text', label: this.prompt(anti), prompts: [{ text: this.prompt(anti), sign: 1 }] }, v as Float32Array, -weight);
    }
    if (anti && antiMissing.length > 0) {
      unknown.push(...antiMissing);
      notes.push(`“${anti}” (the opposite of “${w}”) is not in the model's vocabulary: using “${this.prompt(w)}” alone`);
      anti = undefined;
    }
    if (!anti) {
      const prompt = INSTRUMENT_WORDS.has(w) ? `a track with ${w}` : this.prompt(w);
      const [v] = await this.model.embedText(prompt);
      return this.makeTerm({ key: `text:${prompt}`, kind: 'text', label: prompt, prompts: [{ text: prompt, sign: 1 }] }, v as Float32Array, weight);
    }
    // One key per pair, oriented alphabetically, so opposite refinements add up (and cancel).
    const [pos, neg] = w < anti ? [w, anti] : [anti, w];
    const sign = w === pos ? 1 : -1;
    const prompts: TermPrompt[] = [{ text: this.prompt(pos), sign: 1 }, { text: this.prompt(neg), sign: -1 }];
    const [a, b] = await this.model.embedText(prompts.map((p) => p.text));
    const v = new Float32Array(this.view.dim);
    for (let i = 0; i < v.length; i++) v[i] = (a as Float32Array)[i]! - (b as Float32Array)[i]!;
    return this.makeTerm({ key: `dir:${pos}|${neg}`, kind: 'direction', label: `${pos} − ${neg}`, prompts }, v, sign * weight);
  }

  /** Term for "with X" / "without X": "a track with piano", or "a metal track" for a genre. */
  private async phraseTerm(phrase: string, weight: number, unknown: string[], notes: string[]): Promise<Term | undefined> {
    const p = phrase.trim();
    const missing = this.model.unknownWords(p);
    unknown.push(...missing);
    if (missing.length > 0 && missing.length === p.split(/\s+/).length) {
      notes.push(`“${p}” is not in the model's vocabulary: no term added`);
      return undefined;
    }
    const genre = this.view.genres.has(labelKey(p));
    const prompt = genre || (!INSTRUMENT_WORDS.has(p) && ANTONYMS[p] !== undefined) ? promptFor(p) : `a track with ${p}`;
    const [v] = await this.model.embedText(prompt);
    return this.makeTerm({ key: `text:${prompt}`, kind: 'text', label: prompt, prompts: [{ text: prompt, sign: 1 }] }, v as Float32Array, weight);
  }

  /** The catalogue label a negated phrase names ("drums", "metal", "distorted guitars"), if any. */
  private labelFor(phrase: string): string | undefined {
    const k = labelKey(phrase);
    for (const c of [k, k.replace(/s$/, ''), `${k}s`]) if (this.view.labels.has(c)) return c;
    return undefined;
  }

  private trackTerm(f: FocusTrack, weight: number): Term {
    const kind = f.id.startsWith('clip:') ? 'clip' : 'track';
    const t = this.makeTerm({ key: f.id.startsWith('clip:') ? f.id : `track:${f.id}`, kind, label: f.label, prompts: [] }, f.vector, weight);
    if (kind === 'track') t.trackId = f.id;
    return t;
  }

  /** The catalogue's measured tempo as a term: log₂ BPM per track. */
  private tempoTerm(weight: number): Term {
    const bpm = this.view.tempo as Float64Array;
    return this.featureTerm({ key: 'tempo', kind: 'tempo', label: 'measured tempo (log₂ BPM)', prompts: [] }, Float64Array.from(bpm, (b) => (Number.isFinite(b) ? Math.log2(b) : Number.NaN)), weight);
  }

  /** A catalogue label as a term: 1 for the tracks carrying it, 0 for the others. */
  private labelTerm(key: string, weight: number): Term {
    const values = new Float64Array(this.view.ids.length);
    for (const r of this.view.labels.get(key) ?? []) values[r] = 1;
    return this.featureTerm({ key: `label:${key}`, kind: 'label', label: `labelled ${key}`, prompts: [] }, values, weight);
  }

  /** A per-track value as a term, on the same standardised scale as similarities (NaN values at the mean). */
  private featureTerm(base: Omit<QueryTerm, 'weight' | 'scale'>, raw: Float64Array, weight: number): Term {
    let known = 0, sum = 0;
    for (const x of raw) if (Number.isFinite(x)) { known++; sum += x; }
    const mean = known > 0 ? sum / known : 0;
    const values = Float64Array.from(raw, (x) => (Number.isFinite(x) ? x : mean));
    let v = 0;
    for (const x of values) v += (x - mean) * (x - mean);
    const sd = Math.sqrt(v / Math.max(1, values.length));
    return { ...base, weight, vector: new Float32Array(0), values, mean, scale: sd > 1e-9 ? 1 / sd : 0 };
  }

  /** Median measured tempo (BPM, rounded) of a list, or undefined when none is known. */
  private medianTempo(list: readonly ResultTrack[]): number | undefined {
    const xs = list.map((r) => r.bpm).filter((b): b is number => b !== undefined).sort((a, b) => a - b);
    if (xs.length === 0) return undefined;
    const m = xs.length >> 1;
    return Math.round(xs.length % 2 ? (xs[m] as number) : ((xs[m - 1] as number) + (xs[m] as number)) / 2);
  }

  /** A term with its catalogue statistics (mean and spread of the similarities). */
  private makeTerm(base: Omit<QueryTerm, 'weight' | 'scale'>, vector: Float32Array, weight: number): Term {
    const n = this.view.ids.length;
    let mean = 0;
    let sd = 1;
    if (n > 0) {
      const sims = scoreRows(this.view.data, this.view.dim, vector);
      let s = 0;
      for (const x of sims) s += x;
      mean = s / n;
      let v = 0;
      for (const x of sims) v += (x - mean) * (x - mean);
      sd = Math.sqrt(v / n);
    }
    return { ...base, vector, weight, mean, scale: sd > 1e-9 ? 1 / sd : 0 };
  }

  private addTerm(s: State, t: Term, line: string): State {
    const terms = [...s.terms];
    const at = terms.findIndex((x) => x.key === t.key);
    if (at >= 0) {
      const merged = { ...(terms[at] as Term), weight: round((terms[at] as Term).weight + t.weight, 6) };
      if (Math.abs(merged.weight) < 1e-9) terms.splice(at, 1);
      else terms[at] = merged;
    } else terms.push(t);
    return { ...s, terms, operations: [...s.operations, line] };
  }

  private resolve(ref: TrackRef): FocusTrack {
    if (ref.kind === 'focus') {
      if (!this.state.focus) throw new UsageError('there is no track in focus yet: search first');
      return this.state.focus;
    }
    if (ref.kind === 'id') return this.focusOf(ref.id);
    const list = this.state.results;
    const i = ref.rank < 0 ? list.length + ref.rank : ref.rank - 1;
    const r = list[i];
    if (!Number.isInteger(ref.rank) || !r) throw new UsageError(`there is no ${ref.rank < 0 ? 'last' : ordinal(ref.rank)} track on screen (${list.length} shown)`);
    return this.focusOf(r.id);
  }

  private focusOf(id: string): FocusTrack {
    const row = this.view.row.get(id);
    if (row === undefined) throw new UsageError(`no track with id ${JSON.stringify(id)} in the catalogue`);
    const d = this.view.dim;
    return { id, label: `track ${id}`, vector: this.view.data.subarray(row * d, (row + 1) * d) };
  }

  /** Score every catalogue row by the query, leave out filtered rows, keep the top k. */
  private rank(s: State, resetFocus: boolean): State {
    const { dim, data, ids, meta, labels } = this.view;
    const n = ids.length;
    const total = new Float64Array(n);
    const perTerm = s.terms.map((t) => {
      const sims = t.values ?? scoreRows(data, dim, t.vector);
      const f = t.weight * t.scale;
      for (let i = 0; i < n; i++) total[i] = (total[i] as number) + f * ((sims[i] as number) - t.mean);
      return { sims, t };
    });
    const out = new Set<number>();
    for (const l of s.excludedLabels) for (const r of labels.get(l) ?? []) out.add(r);
    for (const id of s.excludedIds) {
      const r = this.view.row.get(id);
      if (r !== undefined) out.add(r);
    }
    // A query's own tracks are not results ("more like the second one" should not show it again).
    for (const t of s.terms) if (t.trackId && t.weight > 0) out.add(this.view.row.get(t.trackId) as number);
    for (const r of out) total[r] = Number.NaN; // topK skips NaN
    if (s.near) {
      // The pool is taken after the filters, so "something new" or "not metal" leave it full.
      const sims = scoreRows(data, dim, s.near);
      for (let i = 0; i < n; i++) if (Number.isNaN(total[i] as number)) sims[i] = Number.NaN;
      const keep = new Uint8Array(n);
      for (const h of topK(sims, this.opts.nearPool)) keep[h.index] = 1;
      for (let i = 0; i < n; i++) if (!keep[i]) total[i] = Number.NaN;
    }
    const hits = topK(total, this.opts.k);
    const results: ResultTrack[] = hits.map((h, i) => {
      const m = meta[h.index]!;
      return {
        rank: i + 1,
        id: m.id,
        score: round(h.score, 4),
        contributions: perTerm.map(({ sims, t }) => round(t.weight * t.scale * ((sims[h.index] as number) - t.mean), 4)),
        genre: m.genre,
        tags: m.tags,
        durationS: m.durationS,
        albumId: m.albumId,
        ...(this.view.tempo && Number.isFinite(this.view.tempo[h.index]) ? { bpm: round(this.view.tempo[h.index] as number, 1) } : {}),
      };
    });
    const shown = [...new Set([...s.shown, ...results.map((r) => r.id)])];
    const top = results[0];
    const focus = resetFocus || !s.focus ? (top ? this.focusOf(top.id) : s.focus) : s.focus;
    return { ...s, results, shown, focus };
  }

  private commit(input: string, kind: TurnResult['kind'], next: State, extra: { notes: string[]; unknown: string[]; answer?: Answer; listAnswer?: ListAnswer }): TurnResult {
    this.history.push(this.state);
    while (this.history.length > this.opts.maxHistory) this.history.shift();
    this.state = next;
    this.turns++;
    return this.result(input, kind, next, extra);
  }

  private focusView(s: State): Focus | undefined {
    if (!s.focus) return undefined;
    const at = s.results.findIndex((r) => r.id === s.focus!.id);
    return at >= 0 ? { id: s.focus.id, rank: at + 1 } : { id: s.focus.id };
  }

  private result(input: string, kind: TurnResult['kind'], s: State, extra: { notes: string[]; unknown: string[]; answer?: Answer; listAnswer?: ListAnswer }): TurnResult {
    const excludedRows = new Set<number>();
    for (const l of s.excludedLabels) for (const r of this.view.labels.get(l) ?? []) excludedRows.add(r);
    return {
      turn: this.turns,
      input,
      kind,
      results: s.results,
      focus: this.focusView(s),
      ...(extra.answer ? { answer: extra.answer } : {}),
      ...(extra.listAnswer ? { listAnswer: extra.listAnswer } : {}),
      explanation: {
        operations: s.operations,
        terms: s.terms.map(({ key, kind: k, label, prompts, weight, scale, trackId }) => ({ key, kind: k, label, prompts, weight, scale: round(scale, 3), ...(trackId ? { trackId } : {}) })),
        excludedLabels: s.excludedLabels.map((label) => ({ label, tracks: this.view.labels.get(label)?.length ?? 0 })),
        excludedTracks: s.excludedIds.length + s.terms.filter((t) => t.trackId && t.weight > 0).length,
      },
      unknownWords: [...new Set(extra.unknown)],
      notes: extra.notes,
    };
  }
}
