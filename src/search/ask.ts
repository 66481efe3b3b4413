/**
 * Question answering over one track, by ranking candidate answers in the joint space: a yes/no
 * question becomes two sentences ("a danceable track" vs "a track that is not danceable", or an
 * antonym when one is known: "a happy track" vs "a sad track"), a "what/which" question becomes one
 * sentence per candidate (instruments, genres, moods, tempi, or the caller's own choices). The
 * track's vector picks the closest sentence. Parsing is plain rules over the question's first
 * words: the model never generates text, it only compares.
 */
import { GTZAN_GENRES } from '../data/datasets/gtzan.js';
import { UsageError } from '../util/errors.js';
import { article, fitTemplate, promptFor, rankLabels, type LabelScore, type TextEmbedder, temperatureFor } from './zeroShot.js';

/** Instrument names, as the generator's concept tags spell them (underscores read as spaces). */
export const INSTRUMENTS = ['piano', 'organ', 'acoustic guitar', 'electric guitar', 'distorted guitar', 'bass', 'strings', 'brass', 'synth', 'flute', 'drums', 'vocals'] as const;
export const MOODS = ['happy', 'sad', 'energetic', 'calm'] as const;
export const TEMPI = ['slow', 'medium', 'fast'] as const;

/** Opposites the generator's tags and reviews use; a yes/no question about one compares with the other. */
export const ANTONYMS: Readonly<Record<string, string>> = {
  happy: 'sad', sad: 'happy', energetic: 'calm', calm: 'energetic', fast: 'slow', slow: 'fast',
  major: 'minor', minor: 'major', acoustic: 'electronic', electronic: 'acoustic', loud: 'quiet', quiet: 'loud',
  upbeat: 'mellow', mellow: 'upbeat', bright: 'dark', dark: 'bright',
};

/**
 * Stand-ins for a direction word the model's vocabulary lacks, closest first: a catalogue's mood
 * vocabulary (AllMusic's, say) has "gloomy" and "somber" where a listener says "darker". Plain
 * English, not any one catalogue's; a stand-in is always reported in the turn's notes.
 */
export const SYNONYMS: Readonly<Record<string, readonly string[]>> = {
  dark: ['gloomy', 'somber', 'sombre', 'brooding', 'bleak', 'ominous'],
  bright: ['cheerful', 'sunny', 'joyous'],
  happy: ['cheerful', 'joyful', 'joyous'],
  sad: ['melancholy', 'sorrowful', 'mournful'],
  calm: ['peaceful', 'relaxed', 'tranquil', 'soothing'],
  energetic: ['lively', 'energetic', 'rousing', 'exuberant'],
  quiet: ['soft', 'gentle'],
  loud: ['intense', 'raucous'],
};

export type QuestionPlan =
  | { kind: 'yes-no'; question: string; yes: string; no: string }
  | { kind: 'choice'; question: string; topic: string; options: string[]; template: string; multi: boolean };

export interface Answer {
  question: string;
  kind: 'yes-no' | 'choice';
  /** "yes" / "no", or the chosen option(s) joined with ", ". */
  answer: string;
  /** Softmax share of the answer among the candidates (for several chosen options, the top one's). */
  confidence: number;
  /** Every candidate, best first ("yes"/"no" for yes/no questions). */
  candidates: LabelScore[];
  /** The sentences compared, by candidate. */
  prompts: Record<string, string>;
}

export interface AskOptions {
  /** Candidate answers for a "what/which" question the rules do not know. */
  choices?: readonly string[];
  /** Sentence for each choice, with a {label} placeholder (default "a {label} track"). */
  template?: string;
  temperature?: number;
  /** Genre answers (default: the model's saved genres; the generator's ten for older models). */
  genres?: readonly string[];
  /** Mood answers (default: the built-in mood words). */
  moods?: readonly string[];
}

const AUX = new Set(['is', 'are', 'was', 'were', 'does', 'do', 'did', 'has', 'have', 'can', 'could', 'will', 'would', 'should', 'isn\'t', 'doesn\'t', 'aren\'t']);
const SUBJECT = /^(?:(?:this|it|that|the)(?:\s+(?:track|song|piece|music|tune|recording|one|clip))?)\s*/;
const HAVE_VERBS = new Set(['have', 'has', 'feature', 'features', 'contain', 'contains', 'use', 'uses', 'include', 'includes']);

function normalise(question: string): string {
  return question.normalize('NFKC').trim().toLowerCase().replace(/[?!.\s]+$/u, '').replace(/\s+/g, ' ');
}

/** Turn a question into the sentences to compare. Throws UsageError when it cannot tell what to rank. */
export function parseQuestion(question: string, opts: AskOptions = {}): QuestionPlan {
  const q = normalise(question);
  if (q.length === 0) throw new UsageError('the question is empty');
  if (opts.choices && opts.choices.length > 0) {
    const options = [...new Set(opts.choices.map((c) => c.trim()).filter(Boolean))];
    if (options.length < 2) throw new UsageError('give at least two different choices to rank');
    return { kind: 'choice', question, topic: 'choices', options, template: opts.template ?? 'a {label} track', multi: false };
  }
  const words = q.split(' ');
  const first = words[0] as string;
  if (AUX.has(first)) return yesNo(question, first.replace(/n't$/, ''), words.slice(1).join(' '));
  if (/^(?:what|which|who|how|name|list|tell)\b/.test(q)) {
    const choice = (topic: string, options: readonly string[], template: string, multi = false): QuestionPlan => ({ kind: 'choice', question, topic, options: [...options], template: opts.template ?? template, multi });
    if (/\binstrument|\bplay(?:s|ing|ed)?\b|\bhear\b/.test(q)) return choice('instruments', INSTRUMENTS, 'a track with {label}', true);
    if (/\bgenre|\bstyle\b|\bkind of (?:music|song)|\btype of (?:music|song)/.test(q)) return choice('genre', opts.genres && opts.genres.length > 1 ? opts.genres : GTZAN_GENRES, 'a {label} track');
    if (/\bmood|\bfeel|\bemotion|\bvibe/.test(q)) return choice('mood', opts.moods && opts.moods.length > 1 ? opts.moods : MOODS, 'a {label} track');
    if (/\btempo|\bfast\b|\bspeed|\bpace|\bbpm\b|\bslow\b/.test(q)) return choice('tempo', TEMPI, 'a {label} track');
  }
  throw new UsageError(`cannot tell which answers to compare for ${JSON.stringify(question)}: ask a yes/no question ("is this danceable?") or about instruments, genre, mood or tempo, or give the candidate answers (--choices "a,b,c")`);
}

function yesNo(question: string, aux: string, rest: string): QuestionPlan {
  const plan = (yes: string, no: string): QuestionPlan => ({ kind: 'yes-no', question, yes, no });
  let r = rest;
  // "are there drums" / "is there a piano": does the track contain X.
  const there = /^there\s+(?:(?:any|some)\s+)?(.+)$/.exec(r);
  if (there) return plan(`a track with ${there[1]}`, `a track without ${there[1]}`);
  r = r.replace(SUBJECT, '');
  if (r.length === 0) throw new UsageError(`the question ${JSON.stringify(question)} asks nothing about the track`);
  if (aux === 'does' || aux === 'do' || aux === 'did' || aux === 'has' || aux === 'have') {
    const [verb, ...obj] = r.split(' ');
    const object = obj.join(' ');
    if ((HAVE_VERBS.has(verb as string) || aux === 'has' || aux === 'have') && object) {
      const x = HAVE_VERBS.has(verb as string) ? object : r;
      return plan(`a track with ${x}`, `a track without ${x}`);
    }
    if ((verb === 'sound' || verb === 'feel' || verb === 'seem') && object) return adjective(plan, object.replace(/^like\s+/, ''));
    return plan(`a track that ${[thirdPerson(verb as string), ...obj].join(' ')}`, `a track that does not ${r}`);
  }
  if (aux === 'is' || aux === 'are' || aux === 'was' || aux === 'were') return adjective(plan, r);
  return plan(r, `not ${r}`);
}

/** swing → swings, touch → touches, carry → carries. */
function thirdPerson(verb: string): string {
  if (/(?:s|sh|ch|x|z|o)$/.test(verb)) return `${verb}es`;
  if (/[^aeiou]y$/.test(verb)) return `${verb.slice(0, -1)}ies`;
  return `${verb}s`;
}

/** "danceable" → a danceable track / not; "a jazz song" → itself / not; antonyms when known. */
function adjective(plan: (yes: string, no: string) => QuestionPlan, x: string): QuestionPlan {
  if (/^(?:a|an)\s/.test(x)) return plan(x, `not ${x}`);
  if (/^(?:in|with|without|by|for|from|about)\s/.test(x)) return plan(`a track ${x}`, `a track not ${x}`);
  const anti = ANTONYMS[x];
  if (anti) return plan(`${article(x)} ${x} track`, `${article(anti)} ${anti} track`);
  return plan(`${article(x)} ${x} track`, `a track that is not ${x}`);
}

/** Answer `question` about a track given its joint-space vector. */
export async function askTrack(space: TextEmbedder, track: Float32Array, question: string, opts: AskOptions = {}): Promise<Answer> {
  const plan = parseQuestion(question, opts);
  const temperature = temperatureFor(space, opts.temperature);
  if (plan.kind === 'yes-no') {
    const [yes, no] = await space.embedText([plan.yes, plan.no]);
    const candidates = rankLabels(track, ['yes', 'no'], [[yes as Float32Array], [no as Float32Array]], temperature);
    const top = candidates[0] as LabelScore;
    return { question, kind: 'yes-no', answer: top.label, confidence: top.score, candidates, prompts: { yes: plan.yes, no: plan.no } };
  }
  const prompts: Record<string, string> = {};
  for (const o of plan.options) prompts[o] = plan.template.includes('{label}') ? promptFor(o, fitTemplate(space, plan.template)) : `${plan.template} ${o}`;
  const vecs = await space.embedText(plan.options.map((o) => prompts[o] as string));
  const candidates = rankLabels(track, plan.options, vecs.map((v) => [v]), temperature);
  const top = candidates[0] as LabelScore;
  // Several instruments play at once: keep every option above the uniform share (at most 3).
  const chosen = plan.multi ? candidates.filter((c, i) => i === 0 || c.score >= 1 / candidates.length).slice(0, 3) : [top];
  return { question, kind: 'choice', answer: chosen.map((c) => c.label).join(', '), confidence: top.score, candidates, prompts };
}
