/**
 * The refinement phrases of a conversation, as an explicit table of patterns → operations. A turn
 * is first matched whole (back, reset, questions, focus), then split into clauses ("like this but
 * calmer" → "like this", "calmer") that must each match a refinement; a turn whose clauses do not
 * all match is a new search from its words. Pure: no model, no state. Which words have an opposite
 * or a stem the model knows is decided by the caller's `knows(word)`, so the vocabulary comes from
 * the model and the catalogue rather than from this file.
 */
import { ANTONYMS } from './ask.js';

/** A track the user points at: the focus ("this", "it"), a rank in the list on screen, or a stored id. */
export type TrackRef = { kind: 'focus' } | { kind: 'rank'; rank: number } | { kind: 'id'; id: string };

export type Operation =
  | { op: 'back' }
  | { op: 'reset' }
  /** A new query from words. */
  | { op: 'search'; text: string }
  /** Start again from a track: its vector becomes the base of the query. */
  | { op: 'seed'; ref: TrackRef }
  /** Move the query toward a track ("more like the second one"). */
  | { op: 'toward'; ref: TrackRef; strength: number }
  /** A text direction: +strength·(text(word) − text(opposite)), or text(word) alone when no opposite is known. */
  | { op: 'direction'; word: string; sign: 1 | -1; strength: number }
  /** "with piano": a positive term; "without drums", "not metal": a negative term, plus a filter when the catalogue labels it. */
  | { op: 'include'; phrase: string; strength: number }
  | { op: 'exclude'; phrase: string; strength: number }
  /** Leave out every track shown so far ("something new"). */
  | { op: 'fresh' }
  | { op: 'focus'; ref: TrackRef }
  /** A question about the focus track, answered by ask.ts. */
  | { op: 'ask'; question: string }
  /** A question about the list on screen: which track ranks first on a criterion. */
  | { op: 'ask-list'; question: string; criterion: Criterion };

/** What a list question ranks by: a direction word (fastest → fast, +1) or a phrase ("has piano"). */
export type Criterion = { kind: 'direction'; word: string; sign: 1 | -1 } | { kind: 'include'; phrase: string };

export interface ParseContext {
  /** Whether the model's vocabulary (or the antonym table) knows a word: used to find a comparative's stem. */
  knows(word: string): boolean;
  /** Whether `text` is a stored track id. */
  isTrack(text: string): boolean;
}

const ORDINALS: Readonly<Record<string, number>> = {
  first: 1, second: 2, third: 3, fourth: 4, fifth: 5, sixth: 6, seventh: 7, eighth: 8, ninth: 9, tenth: 10, last: -1, top: 1,
};
const ORDINAL = '(first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|last|top|#?\\d+(?:st|nd|rd|th)?)';
const ONE = '(?:\\s+(?:one|track|song|result))?';
const DEGREE: Readonly<Record<string, number>> = { 'a bit': 0.5, 'a little': 0.5, slightly: 0.5, somewhat: 0.5, much: 2, 'a lot': 2, way: 2, far: 2, even: 1, bit: 0.5, little: 0.5 };
const DEGREE_RE = '(?:(a bit|a little|slightly|somewhat|much|a lot|way|far|even|bit|little)\\s+)?';
const AUX = /^(?:is|are|was|were|does|do|did|has|have|can|could|will|would|should|isn't|doesn't|aren't|what|which|who|how|name|list|tell)\b/;

function rankOf(word: string): number {
  const w = word.replace(/^#/, '');
  if (w in ORDINALS) return ORDINALS[w] as number;
  return Number.parseInt(w, 10);
}

function refOf(word: string): TrackRef {
  if (/^(?:this|it|that|this one|that one|the focus)$/.test(word)) return { kind: 'focus' };
  return { kind: 'rank', rank: rankOf(word) };
}

export function normaliseTurn(text: string): string {
  return text.normalize('NFKC').trim().toLowerCase().replace(/\s+/g, ' ').replace(/[.!]+$/u, '').trim();
}

/**
 * The stem of a comparative or superlative the caller knows: slower → slow, calmer → calm,
 * happier → happy, sadder → sad, gentler → gentle, fastest → fast. Undefined when none is known.
 */
export function stemOf(word: string, suffix: 'er' | 'est', knows: (w: string) => boolean): string | undefined {
  if (!word.endsWith(suffix) || word.length <= suffix.length + 2) return undefined;
  const base = word.slice(0, -suffix.length);
  const candidates = [base, `${base}e`, base.endsWith('i') ? `${base.slice(0, -1)}y` : '', /(.)\1$/.test(base) ? base.slice(0, -1) : ''].filter(Boolean);
  return candidates.find((c) => ANTONYMS[c] !== undefined || knows(c));
}

/** One clause as a refinement, or undefined when it is not one. */
function clause(c: string, ctx: ParseContext): Operation[] | undefined {
  let m: RegExpExecArray | null;
  if ((m = /^(?:something|some|anything)\s+(?:new|else|different)$|^(?:new|other|different)\s+ones$|^(?:others|next|more results|show me more)$/.exec(c))) return [{ op: 'fresh' }];
  if ((m = new RegExp(`^more\\s+like\\s+(?:the\\s+)?${ORDINAL}${ONE}$`).exec(c))) return [{ op: 'toward', ref: refOf(m[1] as string), strength: 1 }];
  if ((m = /^more\s+like\s+(this|it|that)(?:\s+one)?$/.exec(c))) return [{ op: 'toward', ref: { kind: 'focus' }, strength: 1 }];
  if ((m = new RegExp(`^(?:(?:something|songs?|tracks?|music|play something|find something)\\s+)?like\\s+(?:the\\s+)?${ORDINAL}${ONE}$`).exec(c))) return [{ op: 'seed', ref: refOf(m[1] as string) }];
  if ((m = /^(?:(?:something|songs?|tracks?|music|play something|find something)\s+)?like\s+(this|it|that)(?:\s+one)?$/.exec(c))) return [{ op: 'seed', ref: { kind: 'focus' } }];
  if ((m = /^(?:(?:something|songs?|tracks?|music)\s+)?like\s+(\S+)$/.exec(c)) && ctx.isTrack(m[1] as string)) return [{ op: 'seed', ref: { kind: 'id', id: m[1] as string } }];
  if ((m = new RegExp(`^(?:play|focus(?:\\s+on)?|select|pick|open|take)\\s+(?:the\\s+)?${ORDINAL}${ONE}$`).exec(c))) return [{ op: 'focus', ref: refOf(m[1] as string) }];
  if ((m = /^(?:not|no|without|minus|except|exclude|no more|less of)\s+(?:any\s+|the\s+)?(.+)$/.exec(c))) return [{ op: 'exclude', phrase: m[1] as string, strength: 1 }];
  if ((m = /^(?:with|add|plus|featuring|including)\s+(?:some\s+|more\s+|a\s+|an\s+)?(.+)$/.exec(c))) return [{ op: 'include', phrase: m[1] as string, strength: 1 }];
  if ((m = new RegExp(`^${DEGREE_RE}(more|less)\\s+([\\p{L}-]+)$`, 'u').exec(c))) {
    const strength = DEGREE[m[1] ?? ''] ?? 1;
    return [{ op: 'direction', word: m[3] as string, sign: m[2] === 'more' ? 1 : -1, strength }];
  }
  if ((m = new RegExp(`^${DEGREE_RE}([\\p{L}]+er)$`, 'u').exec(c))) {
    const stem = stemOf(m[2] as string, 'er', ctx.knows);
    if (stem) return [{ op: 'direction', word: stem, sign: 1, strength: DEGREE[m[1] ?? ''] ?? 1 }];
  }
  return undefined;
}

/** A question about the list: "which of these is the fastest?", "which one has piano?". */
function listQuestion(q: string, ctx: ParseContext): Criterion | undefined {
  if (!/^(?:which|what)\b/.test(q) || !/\b(?:of these|of them|one|track|song|in the list|on the list|here)\b|\bthe\s+\S+est\b|\bmost\b|\bleast\b/.test(q)) return undefined;
  let m: RegExpExecArray | null;
  if ((m = /\b(most|least)\s+([\p{L}-]+)\b/u.exec(q))) return { kind: 'direction', word: m[2] as string, sign: m[1] === 'most' ? 1 : -1 };
  if ((m = /\b([\p{L}]+est)\b/u.exec(q))) {
    const stem = stemOf(m[1] as string, 'est', ctx.knows);
    if (stem) return { kind: 'direction', word: stem, sign: 1 };
  }
  if ((m = /\b(?:has|have|features?|uses?|with|contains?)\s+(?:a\s+|an\s+|the\s+|some\s+)?(.+)$/.exec(q))) return { kind: 'include', phrase: m[1] as string };
  if ((m = /\b(?:is|sounds?)\s+(?:the\s+)?(?:most\s+)?(?:a\s+|an\s+)?([\p{L}][\p{L} -]*)$/u.exec(q)) && !/^(?:of|these|them)\b/.test(m[1] as string)) return { kind: 'direction', word: m[1] as string, sign: 1 };
  return undefined;
}

/** The operations of one turn (already normalised or not). Never throws: unknown phrasing is a search. */
export function parseTurn(text: string, ctx: ParseContext): Operation[] {
  const q = normaliseTurn(text).replace(/[?]+$/u, '').trim();
  const asked = /\?\s*$/.test(text.trim());
  if (q.length === 0) return [];
  if (/^(?:back|undo|go back|previous)$/.test(q)) return [{ op: 'back' }];
  if (/^(?:reset|start over|clear|restart)$/.test(q)) return [{ op: 'reset' }];
  if (ctx.isTrack(text.trim())) return [{ op: 'seed', ref: { kind: 'id', id: text.trim() } }];
  if (asked || AUX.test(q)) {
    const criterion = listQuestion(q, ctx);
    if (criterion) return [{ op: 'ask-list', question: text.trim(), criterion }];
    if (asked || /^(?:is|are|does|do|has|have|what|which|how)\b/.test(q)) return [{ op: 'ask', question: text.trim() }];
  }
  const parts = q.split(/\s*(?:,|;|\bbut\b|\band\b|\bthen\b)\s*/).map((s) => s.trim()).filter(Boolean);
  const ops: Operation[] = [];
  for (const p of parts) {
    const o = clause(p, ctx);
    if (!o) return [{ op: 'search', text: text.trim() }];
    ops.push(...o);
  }
  return ops;
}
