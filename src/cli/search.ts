/**
 * `musicbert search | similar | tags | ask | retrieval-eval`: the joint space from the command
 * line. Every command prints a readable table, or JSON with --json.
 */
import { loadCorpus } from '../data/datasets/index.js';
import { Catalogue } from '../search/catalogue.js';
import { JointSpace } from '../search/jointSpace.js';
import { askTrack, type Answer } from '../search/ask.js';
import { evaluateRetrieval, type RetrievalEval } from '../search/metrics.js';
import type { SearchHit } from '../search/store.js';
import { parseLabels, zeroShotLabels, type LabelScore } from '../search/zeroShot.js';
import type { Split } from '../data/corpus.js';
import { UsageError } from '../util/errors.js';
import { opt, parseOptions, type Command } from './command.js';

function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** Say on stderr which words the model cannot read: results for them are not meaningful. */
function warnUnknown(words: string[]): void {
  if (words.length > 0) process.stderr.write(`musicbert: not in the model's vocabulary (read as unknown): ${words.join(', ')}\n`);
}

/** Results to return (search, similar). */
const kOption = () => opt.int({ min: 1, max: 1000, default: 10 });

export function formatHits(hits: readonly SearchHit[]): string {
  if (hits.length === 0) return '(no results: the store is empty)';
  const w = Math.max(2, ...hits.map((h) => h.id.length));
  return hits
    .map((h, i) => {
      const info = [h.genre, h.tags.slice(0, 5).join(', ')].filter(Boolean).join(' | ');
      return `${String(i + 1).padStart(3)}. ${h.score.toFixed(3)}  ${h.id.padEnd(w)}  ${h.durationS.toFixed(1).padStart(6)}s  ${info}`;
    })
    .join('\n');
}

export function formatLabels(labels: readonly LabelScore[]): string {
  const w = Math.max(5, ...labels.map((l) => l.label.length));
  return labels.map((l) => `${l.label.padEnd(w)}  ${l.score.toFixed(3)}  ${'#'.repeat(Math.round(l.score * 30))}`).join('\n');
}

const SEARCH_USAGE = `usage: musicbert search --db PATH "text query" [--k 10] [--model DIR] [--genre G] [--tag T] [--group ID] [--exact] [--json]

Tracks of an indexed catalogue (musicbert index) best matching a free-text description, ranked by
cosine similarity in the joint space. --model defaults to the model the store was indexed with;
--genre, --tag and --group (album / artist id) keep only matching tracks; --exact skips the
approximate index (a brute-force scan).`;

export const searchCommand: Command = {
  name: 'search',
  summary: 'text → music: find catalogue tracks matching a description',
  usage: SEARCH_USAGE,
  async run(argv) {
    const a = parseOptions(argv, { db: opt.string({ required: true, meta: 'PATH' }), model: opt.string(), k: kOption(), genre: opt.string(), tag: opt.string(), group: opt.string(), exact: opt.flag(), json: opt.flag() }, SEARCH_USAGE, {});
    const { db, k, model } = a.values;
    const query = a.positionals.join(' ').trim();
    if (!query) throw new UsageError(`give a text query\n\n${SEARCH_USAGE}`);
    const cat = await Catalogue.open(model ? { db, model } : { db });
    try {
      warnUnknown(cat.space.unknownWords(query));
      const { genre, tag, group, exact } = a.values;
      const hits = await cat.searchText(query, k, { exact, genre, tag, group });
      if (cat.store.annProblem) process.stderr.write(`warning: ${cat.store.annProblem}\n`);
      out(a.values.json ? JSON.stringify({ query, k, hits }, null, 2) : formatHits(hits));
    } finally {
      cat.close();
    }
  },
};

const SIMILAR_USAGE = `usage: musicbert similar --db PATH <track-id | audio-file> [--k 10] [--model DIR] [--json]

Catalogue tracks that sound like a stored track (by id; the track itself is left out) or like an
audio file (embedded with the store's model).`;

export const similarCommand: Command = {
  name: 'similar',
  summary: 'music → music: catalogue tracks that sound like a track or a file',
  usage: SIMILAR_USAGE,
  async run(argv) {
    const a = parseOptions(argv, { db: opt.string({ required: true, meta: 'PATH' }), model: opt.string(), k: kOption(), json: opt.flag() }, SIMILAR_USAGE, {});
    const { db, k, model } = a.values;
    if (a.positionals.length !== 1) throw new UsageError(`give one track id or audio file\n\n${SIMILAR_USAGE}`);
    const query = a.positionals[0] as string;
    const cat = await Catalogue.open(model ? { db, model } : { db });
    try {
      const r = await cat.similar(query, k);
      out(a.values.json ? JSON.stringify({ query, stored: r.query.id !== undefined, hits: r.hits }, null, 2) : formatHits(r.hits));
    } finally {
      cat.close();
    }
  },
};

const TAGS_USAGE = `usage: musicbert tags --model DIR <audio-file> --labels "jazz,rock,..." [--template "a {label} track"] [--json]

Zero-shot labels: each label becomes a sentence from the template, and the labels are ranked by how
close their sentence lies to the track in the joint space (scores are a softmax over the labels).`;

export const tagsCommand: Command = {
  name: 'tags',
  summary: 'zero-shot labels for an audio file from free-text label names',
  usage: TAGS_USAGE,
  async run(argv) {
    const a = parseOptions(argv, { model: opt.string({ required: true, meta: 'DIR' }), labels: opt.string({ required: true }), template: opt.strings(), json: opt.flag() }, TAGS_USAGE, {});
    const { model, template: templates } = a.values;
    const labels = parseLabels(a.values.labels);
    if (a.positionals.length !== 1) throw new UsageError(`give one audio file\n\n${TAGS_USAGE}`);
    const audio = a.positionals[0] as string;
    const space = await JointSpace.load(model);
    try {
      warnUnknown(space.unknownWords(labels));
      const scores = await zeroShotLabels(space, await space.embedAudio(audio), labels, { templates });
      out(a.values.json ? JSON.stringify({ audio, labels: scores }, null, 2) : formatLabels(scores));
    } finally {
      space.dispose();
    }
  },
};

const ASK_USAGE = `usage: musicbert ask --model DIR <audio-file> "question" [--choices "a,b,c"] [--template "a {label} track"] [--json]

Answers a question about a track by ranking candidate answers in the joint space: yes/no questions
("is this danceable?", "does it have vocals?") compare a sentence and its negation; "what
instruments play?", "what genre is this?", "what is the mood?", "how fast is it?" rank the known
names; --choices gives your own candidates.`;

export function formatAnswer(r: Answer): string {
  return `${r.answer} (${(r.confidence * 100).toFixed(0)}%)\n${formatLabels(r.candidates)}`;
}

export const askCommand: Command = {
  name: 'ask',
  summary: 'answer a question about an audio file by ranking answers in the joint space',
  usage: ASK_USAGE,
  async run(argv) {
    const a = parseOptions(argv, { model: opt.string({ required: true, meta: 'DIR' }), choices: opt.string(), template: opt.string(), json: opt.flag() }, ASK_USAGE, {});
    const { model, choices, template } = a.values;
    if (a.positionals.length !== 2) throw new UsageError(`give an audio file and a question\n\n${ASK_USAGE}`);
    const [audio, question] = a.positionals as [string, string];
    const space = await JointSpace.load(model);
    try {
      const r = await askTrack(space, await space.embedAudio(audio), question, {
        ...(choices !== undefined ? { choices: parseLabels(choices) } : {}),
        ...(template !== undefined ? { template } : {}),
        ...(space.vocabulary ? { genres: space.vocabulary.genres } : {}),
      });
      warnUnknown(space.unknownWords(Object.values(r.prompts)));
      out(a.values.json ? JSON.stringify(r, null, 2) : formatAnswer(r));
    } finally {
      space.dispose();
    }
  },
};

const EVAL_USAGE = `usage: musicbert retrieval-eval --model DIR --data DIR [--split test|valid|train] [--template "a {label} track"] [--json]

Measures the joint space on a corpus's held-out split: text→music retrieval (each album review
retrieves its album's tracks among all held-out tracks: R@1/5/10 and median rank) and zero-shot
genre accuracy, each beside its chance level.`;

export function formatEval(r: RetrievalEval): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const lines = [`split ${r.split}: ${r.tracks} tracks embedded${r.skipped ? `, ${r.skipped} skipped` : ''}`];
  if (r.retrieval) {
    const m = r.retrieval;
    lines.push(`text→music (${m.queries} reviews, ${m.candidates} candidates)   model     chance`);
    lines.push(`  R@1                                           ${pct(m.r1).padStart(6)}   ${pct(m.chance.r1).padStart(6)}`);
    lines.push(`  R@5                                           ${pct(m.r5).padStart(6)}   ${pct(m.chance.r5).padStart(6)}`);
    lines.push(`  R@10                                          ${pct(m.r10).padStart(6)}   ${pct(m.chance.r10).padStart(6)}`);
    lines.push(`  median rank                                   ${String(m.medianRank).padStart(6)}   ${String(m.chance.medianRank).padStart(6)}`);
  } else lines.push('text→music: no album reviews for the held-out tracks');
  if (r.genre) lines.push(`zero-shot genre (${r.genre.tracks} tracks, ${r.genre.genres.length} genres)     ${pct(r.genre.accuracy).padStart(6)}   ${pct(r.genre.chance).padStart(6)}`);
  else lines.push('zero-shot genre: the held-out tracks have no genres');
  return lines.join('\n');
}

export const retrievalEvalCommand: Command = {
  name: 'retrieval-eval',
  summary: 'text→music R@1/5/10, median rank and zero-shot genre accuracy on held-out tracks',
  usage: EVAL_USAGE,
  async run(argv) {
    const a = parseOptions(
      argv,
      { model: opt.string({ required: true, meta: 'DIR' }), data: opt.string({ required: true, meta: 'DIR' }), split: opt.string({ choices: ['train', 'valid', 'test'] }), template: opt.string(), json: opt.flag() },
      EVAL_USAGE,
    );
    const { model, data, split, template } = a.values;
    const corpus = await loadCorpus(data);
    const space = await JointSpace.load(model);
    try {
      const r = await evaluateRetrieval(space, corpus, {
        ...(split ? { split: split as Split } : {}),
        ...(template ? { template } : {}),
      });
      out(a.values.json ? JSON.stringify(r, null, 2) : formatEval(r));
    } finally {
      space.dispose();
    }
  },
};
