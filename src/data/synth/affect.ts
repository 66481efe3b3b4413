/**
 * Mood as the planner sees it: a track's lean within its genre (`Mood`, standard-normal units)
 * and what each instrument and playing pattern tends to convey. The planner tilts its choices
 * toward the lean (see plan.ts); the labels are still computed from the resulting parameters
 * (labels.ts), so the lean is never a label itself, only the reason the parameters agree.
 *
 * Affect scores are rough consensus from music-emotion research: bright, high, detached sounds
 * (flute, brass, strummed acoustic guitar, bouncy bass) read as happier; dark sustained ones
 * (pads, low strings, bowed bass, long root notes) as sadder or calmer; distortion, synths, fast
 * riffs and gallops as energetic.
 */
import type { Rng } from '../../util/rng.js';
import type { Range } from './styles.js';
import type { BassPattern, ChordPattern, InstrumentName, LeadPattern } from './types.js';

/** A track's mood lean within its genre, in standard-normal units (0 = the genre's usual). */
export interface Mood {
  valence: number;
  arousal: number;
}

/** Valence and arousal an instrument or pattern conveys, each in [-1, 1]. */
export interface Affect {
  valence: number;
  arousal: number;
}

/** How much a track's mood follows its album's: track = r * album + sqrt(1 - r^2) * fresh. */
const ALBUM_MOOD_SHARE = 0.6;

/** An album's lean (no `album`) or one of its tracks' (correlated with the album's). */
export function drawMood(rng: Rng, album?: Mood): Mood {
  const r = album ? ALBUM_MOOD_SHARE : 0;
  const s = Math.sqrt(1 - r * r);
  return { valence: r * (album?.valence ?? 0) + s * rng.normal(), arousal: r * (album?.arousal ?? 0) + s * rng.normal() };
}

/** Standard normal CDF (Abramowitz-Stegun 7.1.26, |error| < 1.5e-7): deterministic and cheap. */
export function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const erf = 1 - ((((1.061405429 * t - 1.453152073) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-z * z);
  return x >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/**
 * A value in `r` pulled by the mood with loadings `wv` (valence) and `wa` (arousal), the rest
 * fresh noise: a Gaussian copula, so the value stays uniform over `r` across the tracks of a
 * genre (the mood is standard normal) while its correlation with each mood axis follows the
 * loadings. Loadings must satisfy wv² + wa² < 1.
 */
export function steer(rng: Rng, r: Range, mood: Mood, wv: number, wa: number): number {
  const rest = Math.sqrt(Math.max(0.05, 1 - wv * wv - wa * wa));
  return r[0] + (r[1] - r[0]) * normalCdf(wv * mood.valence + wa * mood.arousal + rest * rng.normal());
}

/** How well a sound with affect `a` suits `mood` (a dot product; 0 = indifferent). */
export function affinity(mood: Mood, a: Affect | undefined): number {
  return a ? mood.valence * a.valence + mood.arousal * a.arousal : 0;
}

export const INSTRUMENT_AFFECT: Readonly<Record<InstrumentName, Affect>> = {
  acousticGuitar: { valence: 0.5, arousal: 0 },
  cleanGuitar: { valence: 0.2, arousal: 0.2 },
  distGuitar: { valence: -0.5, arousal: 1 },
  piano: { valence: 0.2, arousal: -0.2 },
  epiano: { valence: 0.1, arousal: -0.4 },
  organ: { valence: -0.1, arousal: 0.1 },
  brass: { valence: 0.6, arousal: 0.7 },
  sax: { valence: -0.2, arousal: 0 },
  strings: { valence: -0.6, arousal: -0.4 },
  fiddle: { valence: 0.5, arousal: 0.4 },
  pad: { valence: -0.5, arousal: -0.8 },
  synthLead: { valence: 0.3, arousal: 0.8 },
  flute: { valence: 0.7, arousal: -0.3 },
  vocal: { valence: 0, arousal: 0 },
  rapVocal: { valence: -0.2, arousal: 0.5 },
  electricBass: { valence: 0, arousal: 0.1 },
  uprightBass: { valence: 0, arousal: -0.3 },
  synthBass: { valence: 0.1, arousal: 0.4 },
  sub808: { valence: -0.3, arousal: 0.3 },
  bowedBass: { valence: -0.5, arousal: -0.5 },
};

export const PATTERN_AFFECT: Readonly<Partial<Record<BassPattern | ChordPattern | LeadPattern, Affect>>> = {
  // bass
  root: { valence: -0.3, arousal: -0.7 },
  rootEighths: { valence: 0, arousal: 0.6 },
  walking: { valence: 0.3, arousal: 0.1 },
  boogie: { valence: 0.4, arousal: 0.4 },
  boomChick: { valence: 0.6, arousal: 0.2 },
  octave: { valence: 0.5, arousal: 0.7 },
  sub: { valence: -0.2, arousal: -0.2 },
  reggae: { valence: 0.3, arousal: -0.1 },
  syncopated: { valence: 0.2, arousal: 0.4 },
  gallop: { valence: -0.3, arousal: 1 },
  // chords
  sustain: { valence: -0.4, arousal: -0.8 },
  strum: { valence: 0.3, arousal: 0.3 },
  skank: { valence: 0.4, arousal: 0.2 },
  comp: { valence: 0, arousal: 0 },
  stabs: { valence: 0.5, arousal: 0.6 },
  arp: { valence: 0.1, arousal: -0.2 },
  alberti: { valence: 0.3, arousal: 0 },
  power: { valence: -0.3, arousal: 0.9 },
  pump: { valence: 0.2, arousal: 0.7 },
  // lead
  melody: { valence: 0.2, arousal: 0 },
  riff: { valence: 0, arousal: 0.6 },
  sparse: { valence: -0.4, arousal: -0.7 },
  rap: { valence: 0, arousal: 0.3 },
  solo: { valence: 0, arousal: 0.5 },
};
