/**
 * Zero-shot labels: each label becomes a sentence ("a jazz track": "track" rather than "song" because the review vocabulary has it), the sentence and the track go
 * to the joint space, and the labels are ranked by cosine similarity. Scores are a softmax over the
 * labels at the alignment objective's temperature, the same scale the model was trained to
 * separate matching from non-matching text at, so they read as "which of these fits best".
 */
import { DEFAULT_ALIGN_TEMPERATURE } from '../model/config.js';
import { UsageError } from '../util/errors.js';
import { dot, softmax } from './vectors.js';

export interface LabelScore {
  label: string;
  /** Softmax share among the given labels (sums to 1). */
  score: number;
  /** Raw cosine similarity between the track and the label's prompt. */
  similarity: number;
}

/** What ranking needs from a joint space (JointSpace, or a caching wrapper around it). */
export interface TextEmbedder {
  embedText(texts: string | readonly string[]): Promise<Float32Array[]>;
  /** The model's alignment temperature (MusicBertConfig.alignTemperature); scores use it when given. */
  readonly alignTemperature?: number;
  /** Words the model's text vocabulary lacks; when given, templates are fitted to the vocabulary (fitTemplate). */
  unknownWords?(texts: string | readonly string[]): string[];
}

/**
 * A prompt template cut to the words the model knows. A template word outside the vocabulary
 * reads as [UNK] and only blurs the label: a model trained on a real catalogue's mood words and
 * genres has no "a" or "track", so there "a {label} track" becomes "{label}". The label itself is
 * never cut (its unknown words are the caller's to report).
 */
export function fitTemplate(space: Pick<TextEmbedder, 'unknownWords'>, template: string): string {
  if (!template.includes('{label}')) throw new UsageError(`prompt template ${JSON.stringify(template)} has no {label} placeholder`);
  if (!space.unknownWords) return template;
  const kept = template.split(/\s+/).filter((w) => w.includes('{label}') || (w.length > 0 && space.unknownWords!(w).length === 0));
  return kept.join(' ');
}

export const DEFAULT_TEMPLATE = 'a {label} track';
/** The temperature for an embedder that does not say its own (the models' default alignment temperature). */
export const DEFAULT_TEMPERATURE = DEFAULT_ALIGN_TEMPERATURE;

/** The softmax temperature for scoring with `space`: the caller's, else the model's alignment temperature. */
export function temperatureFor(space: TextEmbedder, given?: number): number {
  return given ?? space.alignTemperature ?? DEFAULT_TEMPERATURE;
}

/** "jazz, rock,,Hip hop" → ["jazz", "rock", "Hip hop"]: trimmed, empty and repeated names dropped. */
export function parseLabels(text: string): string[] {
  const labels = [...new Set(text.split(',').map((s) => s.trim()).filter((s) => s.length > 0))];
  if (labels.length === 0) throw new UsageError(`no labels in ${JSON.stringify(text)} (give a comma-separated list, e.g. "jazz,rock,pop")`);
  return labels;
}

/** "a" or "an" before `word` (by its first letter: good enough for label names). */
export function article(word: string): 'a' | 'an' {
  return /^[aeiou]/i.test(word) ? 'an' : 'a';
}

/** Label ids that people write differently in prose (GTZAN's "hiphop" is "hip hop" in a review). */
const LABEL_WORDS: Readonly<Record<string, string>> = { hiphop: 'hip hop' };

/** A label id as words: "acoustic_guitar" → "acoustic guitar", "hiphop" → "hip hop". */
export function labelText(label: string): string {
  return LABEL_WORDS[label.toLowerCase()] ?? label.replace(/_/g, ' ');
}

/**
 * The sentence for one label: `{label}` in the template replaced by the label as words (see
 * labelText), with "a {label}" becoming "an {label}" before a vowel.
 */
export function promptFor(label: string, template: string = DEFAULT_TEMPLATE): string {
  if (!template.includes('{label}')) throw new UsageError(`prompt template ${JSON.stringify(template)} has no {label} placeholder`);
  const name = labelText(label);
  return template.replace(/\ba \{label\}/g, `${article(name)} {label}`).split('{label}').join(name);
}

/**
 * Rank labels for one track vector given each label's prompt vectors (several templates are
 * averaged, as in CLIP's prompt ensembling). Pure: vectors in, sorted scores out.
 */
export function rankLabels(track: Float32Array, labels: readonly string[], promptVectors: readonly Float32Array[][], temperature = DEFAULT_TEMPERATURE): LabelScore[] {
  if (labels.length !== promptVectors.length) throw new UsageError(`rankLabels: ${labels.length} labels but ${promptVectors.length} prompt sets`);
  const sims = promptVectors.map((vs) => {
    if (vs.length === 0) throw new UsageError('rankLabels: a label has no prompt vectors');
    return vs.reduce((s, v) => s + dot(track, v), 0) / vs.length;
  });
  const p = softmax(sims, temperature);
  return labels
    .map((label, i) => ({ label, score: p[i] as number, similarity: sims[i] as number }))
    .sort((a, b) => b.score - a.score || (a.label < b.label ? -1 : 1));
}

export interface ZeroShotOptions {
  /** Prompt templates with a `{label}` placeholder; several are averaged. */
  templates?: readonly string[];
  temperature?: number;
}

/** Labels for one track vector, best first. */
export async function zeroShotLabels(space: TextEmbedder, track: Float32Array, labels: readonly string[], opts: ZeroShotOptions = {}): Promise<LabelScore[]> {
  if (labels.length === 0) throw new UsageError('zero-shot labels: give at least one label');
  const templates = [...new Set((opts.templates && opts.templates.length > 0 ? opts.templates : [DEFAULT_TEMPLATE]).map((t) => fitTemplate(space, t)))];
  const prompts = labels.flatMap((l) => templates.map((t) => promptFor(l, t)));
  const vecs = await space.embedText(prompts);
  const perLabel = labels.map((_, i) => vecs.slice(i * templates.length, (i + 1) * templates.length));
  return rankLabels(track, labels, perLabel, temperatureFor(space, opts.temperature));
}
