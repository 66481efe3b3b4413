/**
 * Word-level tokenizer trained on the review corpus and saved beside the model (`vocab.txt`, one
 * token per line, line number = id, BERT-style). Normalisation: Unicode NFKC, lower-case; a token
 * is a run of letters/marks/digits, and every other non-space character (punctuation, symbols,
 * emoji) is a token of its own. Word-level rather than WordPiece because album reviews have a
 * small, repetitive vocabulary and a word-level vocab keeps text-MLM targets interpretable.
 */
import { CheckpointError, UsageError } from '../util/errors.js';

/** The special tokens, in id order: every vocab.txt starts with them, and MusicBert reads their ids from here. */
export const SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;
export const PAD_ID = 0;
export const UNK_ID = 1;
export const CLS_ID = 2;
export const SEP_ID = 3;
export const MASK_ID = 4;

const TOKEN_RE = /[\p{L}\p{M}\p{N}]+|[^\s\p{L}\p{M}\p{N}]/gu;
/** Punctuation decoded without a space before it. */
const CLOSE_PUNCT = new Set(['.', ',', '!', '?', ';', ':', ')', ']', '}', '%', '…']);
const OPEN_PUNCT = new Set(['(', '[', '{']);

/** Split text into normalised word and punctuation tokens. */
export function basicTokenize(text: string): string[] {
  return text.normalize('NFKC').toLowerCase().match(TOKEN_RE) ?? [];
}

export class Tokenizer {
  readonly padId = PAD_ID;
  readonly unkId = UNK_ID;
  readonly clsId = CLS_ID;
  readonly sepId = SEP_ID;
  readonly maskId = MASK_ID;
  private readonly tokens: string[];
  private readonly ids: Map<string, number>;

  private constructor(tokens: string[]) {
    this.tokens = tokens;
    this.ids = new Map(tokens.map((t, i) => [t, i]));
  }

  /** Vocabulary size including the five special tokens. */
  get size(): number {
    return this.tokens.length;
  }

  /**
   * Keep the most frequent words (ties broken alphabetically, so training is deterministic) that
   * occur at least `minCount` times, up to `vocabSize` entries including the specials.
   */
  static train(texts: string[], opts: { vocabSize?: number; minCount?: number } = {}): Tokenizer {
    const vocabSize = opts.vocabSize ?? 8000;
    const minCount = opts.minCount ?? 2;
    if (!Number.isInteger(vocabSize) || vocabSize < SPECIAL_TOKENS.length) {
      throw new UsageError(`Tokenizer.train: vocabSize must be an integer >= ${SPECIAL_TOKENS.length} (got ${vocabSize})`);
    }
    if (!Number.isInteger(minCount) || minCount < 1) throw new UsageError(`Tokenizer.train: minCount must be an integer >= 1 (got ${minCount})`);
    const counts = new Map<string, number>();
    for (const text of texts) for (const w of basicTokenize(text)) counts.set(w, (counts.get(w) ?? 0) + 1);
    const special = new Set<string>(SPECIAL_TOKENS);
    const words = [...counts.entries()]
      .filter(([w, c]) => c >= minCount && !special.has(w))
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, vocabSize - SPECIAL_TOKENS.length)
      .map(([w]) => w);
    return new Tokenizer([...SPECIAL_TOKENS, ...words]);
  }

  /** Token ids of `text`, truncated to `maxLen` and right-padded with [PAD] = 0. No [CLS]/[SEP]. */
  encode(text: string, maxLen: number): Int32Array {
    if (!Number.isInteger(maxLen) || maxLen < 0) throw new UsageError(`Tokenizer.encode: maxLen must be a non-negative integer (got ${maxLen})`);
    const out = new Int32Array(maxLen);
    const words = basicTokenize(text);
    const n = Math.min(words.length, maxLen);
    for (let i = 0; i < n; i++) out[i] = this.ids.get(words[i] as string) ?? this.unkId;
    return out;
  }

  /** Ids back to text; [PAD] is skipped, punctuation re-attached to its neighbour. */
  decode(ids: ArrayLike<number>): string {
    let out = '';
    let glue = true; // no space before the first token or after an opening bracket
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as number;
      if (id === this.padId) continue;
      const tok = this.tokens[id] ?? '[UNK]';
      if (!glue && !CLOSE_PUNCT.has(tok)) out += ' ';
      out += tok;
      glue = OPEN_PUNCT.has(tok);
    }
    return out;
  }

  /** The token string of one id (undefined if out of range). */
  token(id: number): string | undefined {
    return this.tokens[id];
  }

  /** The id of one normalised token, or [UNK]. */
  id(token: string): number {
    return this.ids.get(token) ?? this.unkId;
  }

  /** `vocab.txt` contents: one token per line, line index = id. */
  toVocab(): string {
    return this.tokens.join('\n') + '\n';
  }

  static fromVocab(text: string, source = 'vocab.txt'): Tokenizer {
    const lines = text.split('\n');
    if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    for (let i = 0; i < SPECIAL_TOKENS.length; i++) {
      if (lines[i] !== SPECIAL_TOKENS[i]) {
        throw new CheckpointError(`line ${i + 1} must be ${SPECIAL_TOKENS[i]} (got ${JSON.stringify(lines[i] ?? '<end of file>')})`, source);
      }
    }
    const seen = new Set<string>();
    lines.forEach((tok, i) => {
      if (tok === '' || /\s/.test(tok)) throw new CheckpointError(`line ${i + 1} is empty or contains whitespace`, source);
      if (seen.has(tok)) throw new CheckpointError(`line ${i + 1} repeats the token ${JSON.stringify(tok)}`, source);
      seen.add(tok);
    });
    return new Tokenizer(lines);
  }
}
