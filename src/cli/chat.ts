/**
 * `musicbert chat`: a conversation about music over an indexed catalogue. Interactive at a
 * terminal; otherwise one turn per line of stdin, so a script can pipe a conversation in. Each turn
 * prints the list on screen and why (the query's terms and weights), or its answer; --json prints
 * one JSON object per turn, one per line.
 */
import { createInterface } from 'node:readline';
import { Catalogue } from '../search/catalogue.js';
import { Conversation, type TurnResult } from '../search/conversation.js';
import { MusicBertError } from '../util/errors.js';
import { opt, parseOptions, type Command } from './command.js';
import { formatAnswer, formatHits } from './search.js';

const USAGE = `usage: musicbert chat --db PATH [--model DIR] [--k 10] [--clip FILE] [--json]

A conversation over the catalogue at --db: start from words ("slow sad piano ballad"), a track id,
or --clip FILE; refine what is on screen ("slower", "more energetic", "with piano", "without drums",
"not metal", "more like the second one", "like this but calmer", "something new"); ask about the
track in focus ("is it danceable?", "what instruments play?") or the list ("which of these is the
fastest?"); "play the third one" moves the focus, "back" undoes a turn, "reset" starts over.
Turns come from the terminal, or one per line of stdin. --json prints one JSON object per turn.`;

/** A turn as text: the answer or the list, then the query's terms, filters, unknown words, notes. */
export function formatTurn(r: TurnResult): string {
  const lines: string[] = [];
  if (r.answer) lines.push(`answer about ${r.focus?.id ?? 'the focus'}: ${formatAnswer(r.answer)}`);
  if (r.listAnswer) {
    const a = r.listAnswer;
    lines.push(`answer: the ${a.rank}. one, ${a.answer} (by ${a.criterion})`);
    for (const c of a.candidates) lines.push(`  ${String(c.rank).padStart(3)}. ${c.score.toFixed(3)}  ${c.id}`);
  }
  if (r.kind === 'results' || r.kind === 'back' || r.kind === 'reset') {
    lines.push(r.results.length > 0 ? formatHits(r.results.map((h) => ({ ...h, path: '' }))) : '(no list yet)');
  }
  if (r.kind === 'focus' && r.focus) lines.push(`focus: ${r.focus.id}${r.focus.rank ? ` (${r.focus.rank}. on screen)` : ''}`);
  const e = r.explanation;
  for (const op of e.operations) lines.push(`  · ${op}`);
  if (e.terms.length > 0) lines.push(`  query: ${e.terms.map((t) => `${t.weight >= 0 ? '+' : '−'}${Math.abs(t.weight)} × ${t.label}`).join('  ')}`);
  if (e.excludedLabels.length > 0) lines.push(`  left out: ${e.excludedLabels.map((l) => `${l.label} (${l.tracks})`).join(', ')}`);
  if (r.unknownWords.length > 0) lines.push(`  not in the model's vocabulary (read as unknown): ${r.unknownWords.join(', ')}`);
  for (const n of r.notes) lines.push(`  note: ${n}`);
  return lines.join('\n');
}

export const chatCommand: Command = {
  name: 'chat',
  summary: 'a conversation: search, refine ("slower", "not metal", "like this but calmer"), ask',
  usage: USAGE,
  async run(argv) {
    const { values: o } = parseOptions(
      argv,
      { db: opt.string({ required: true, meta: 'PATH' }), model: opt.string(), k: opt.int({ min: 1, max: 100, default: 10 }), clip: opt.string(), json: opt.flag() },
      USAGE,
    );
    const { db, model, k, clip, json } = o;
    const cat = await Catalogue.open(model ? { db, model } : { db });
    let failed = 0;
    const print = (r: TurnResult): void => {
      process.stdout.write(json ? `${JSON.stringify(r)}\n` : `${formatTurn(r)}\n\n`);
    };
    try {
      const chat = await Conversation.open(cat, { k });
      if (clip) print(await chat.startFromClip(clip, clip.split('/').pop() ?? clip));
      const interactive = process.stdin.isTTY === true && !json;
      const rl = createInterface({ input: process.stdin, ...(interactive ? { output: process.stdout, prompt: 'you> ' } : {}), terminal: interactive });
      if (interactive) {
        process.stdout.write(`${await cat.store.count()} tracks. Describe some music, or "quit".\n`);
        rl.prompt();
      }
      for await (const line of rl) {
        const text = line.trim();
        if (text === 'quit' || text === 'exit') break;
        if (text !== '' && !text.startsWith('#')) {
          try {
            print(await chat.turn(text));
          } catch (err) {
            if (!(err instanceof MusicBertError)) throw err;
            failed++;
            if (json) process.stdout.write(`${JSON.stringify({ input: text, error: err.message, code: err.code })}\n`);
            else process.stderr.write(`musicbert chat: error [${err.code}]: ${err.message}\n`);
          }
        }
        if (interactive) rl.prompt();
      }
      rl.close();
    } finally {
      cat.close();
    }
    // A script whose turns failed should notice; at a terminal the errors were seen as they came.
    return failed > 0 && process.stdin.isTTY !== true ? 1 : 0;
  },
};
