/**
 * Labels derived from a track's parameters: continuous valence/arousal (as in the Deezer mood
 * dataset, standardised) and multi-label concept tags. The mood model follows the usual findings
 * of music-emotion research: arousal rises with tempo, density, loudness, brightness and
 * distortion; valence with major mode, consonant harmony, high register and detached (staccato)
 * playing, falling with distortion and a wet, distant mix. Noise stands
 * in for listener disagreement, so the targets are learnable but not a deterministic function.
 */
import type { Rng } from '../../util/rng.js';
import type { InstrumentName, TrackParams } from './types.js';
import { isMajorMode, parseChord } from './theory.js';

/** The concept vocabulary, in a fixed order (a tag's index is stable across corpora). */
export const TAG_VOCABULARY = [
  'piano', 'organ', 'acoustic_guitar', 'electric_guitar', 'distorted_guitar', 'bass', 'strings', 'brass',
  'synth', 'flute', 'drums', 'vocals', 'rap',
  'distortion', 'acoustic', 'electronic', 'slow', 'medium', 'fast', 'major', 'minor', 'swing', 'triple_meter',
  'reverb', 'lofi', 'happy', 'sad', 'energetic', 'calm',
] as const;
export type Tag = (typeof TAG_VOCABULARY)[number];

const INSTRUMENT_TAGS: Readonly<Record<InstrumentName, readonly Tag[]>> = {
  acousticGuitar: ['acoustic_guitar'],
  cleanGuitar: ['electric_guitar'],
  distGuitar: ['electric_guitar', 'distorted_guitar'],
  piano: ['piano'],
  epiano: ['piano'],
  organ: ['organ'],
  brass: ['brass'],
  sax: ['brass'],
  strings: ['strings'],
  fiddle: ['strings'],
  pad: ['synth'],
  synthLead: ['synth'],
  flute: ['flute'],
  vocal: ['vocals'],
  rapVocal: ['vocals', 'rap'],
  electricBass: ['bass'],
  uprightBass: ['bass'],
  synthBass: ['bass', 'synth'],
  sub808: ['bass', 'synth'],
  bowedBass: ['bass', 'strings'],
};

const ELECTRONIC: ReadonlySet<InstrumentName> = new Set(['pad', 'synthLead', 'synthBass', 'sub808']);
const ACOUSTIC: ReadonlySet<InstrumentName> = new Set(['acousticGuitar', 'piano', 'brass', 'sax', 'strings', 'fiddle', 'flute', 'vocal', 'uprightBass', 'bowedBass']);

/** The beat a listener taps: 6/8 is counted in dotted quarters, felt about 1.5x faster. */
export function perceivedBpm(p: TrackParams): number {
  return p.meter === 6 ? p.tempo * 1.5 : p.tempo;
}

export function tempoClass(p: TrackParams): 'slow' | 'medium' | 'fast' {
  const bpm = perceivedBpm(p);
  return bpm < 92 ? 'slow' : bpm <= 128 ? 'medium' : 'fast';
}

function maxDrive(p: TrackParams): number {
  return Math.max(p.mix.busDrive, ...p.parts.map((q) => q.drive));
}

/** -1 (dark, dissonant) .. 1 (bright, consonant) from the chord qualities of the progression. */
const QUALITY_COLOUR: Readonly<Record<string, number>> = {
  maj: 0.5, '7': 0.3, '9': 0.4, '6': 0.6, add9: 0.6, maj7: 0.6, maj9: 0.6, sus4: 0.2,
  min: -0.5, m7: -0.3, m9: -0.2, dim: -1, m7b5: -0.9, '5': 0,
};

export function harmonicColour(progression: readonly string[]): number {
  let s = 0;
  for (const sym of progression) s += QUALITY_COLOUR[parseChord(sym).quality] ?? 0;
  return s / Math.max(1, progression.length);
}

/** Mean register shift of the melodic (non-bass) parts, in octaves. */
export function registerOctaves(p: TrackParams): number {
  const melodic = p.parts.filter((q) => q.role !== 'bass');
  return melodic.reduce((a, q) => a + q.octave, 0) / Math.max(1, melodic.length) / 12;
}

/** Unstandardised valence and arousal; `rng` supplies the listener noise. */
export function rawMood(p: TrackParams, rng: Rng): { valence: number; arousal: number } {
  const tempoZ = (perceivedBpm(p) - 115) / 35;
  const loud = (p.mix.loudnessDb + 16) / 4;
  const meanBright = p.parts.reduce((a, q) => a + q.timbre.brightness, 0) / Math.max(1, p.parts.length) - 0.5;
  // A band limit is only heard below the top of the hearing model's range (7.5 kHz, where the
  // VGGish front end stops); above that it changes nothing a 16 kHz file can carry.
  const bright = 0.6 * p.mix.tilt + meanBright + (Math.min(p.mix.lowpassHz, 7500) - 6000) / 3000;
  const dist = maxDrive(p);
  const drums = p.drums ? 1 : 0;
  const major = isMajorMode(p.mode) ? 1 : -1;
  const staccato = p.articulation - 0.5;
  const arousal = 0.9 * tempoZ + 2 * (p.density - 0.5) + 0.5 * loud + 0.35 * bright + 1.1 * dist + 0.4 * drums - 0.6 * (p.mix.reverb - 0.3) + 0.3 * staccato + rng.normal(0, 0.7);
  const valence = 0.5 * major + 0.3 * harmonicColour(p.progression) + 0.25 * tempoZ + 0.6 * bright - 1.4 * dist + 1.5 * registerOctaves(p) + 0.5 * staccato
    + 0.3 * p.swing + 0.2 * (p.density - 0.5) - 0.5 * (p.mix.reverb - 0.3) + rng.normal(0, 0.45);
  return { valence, arousal };
}

export interface MoodNorm {
  valence: { mean: number; std: number };
  arousal: { mean: number; std: number };
}

/** Multi-label tags; valence/arousal are the standardised values (for the mood tags). */
export function tagsOf(p: TrackParams, valence: number, arousal: number): Tag[] {
  const tags = new Set<Tag>();
  for (const q of p.parts) for (const t of INSTRUMENT_TAGS[q.instrument]) tags.add(t);
  if (p.drums) tags.add('drums');
  const electronic = p.parts.some((q) => ELECTRONIC.has(q.instrument)) || p.drums?.kit === 'machine';
  const distorted = maxDrive(p) >= 0.45;
  if (distorted) tags.add('distortion');
  if (electronic) tags.add('electronic');
  if (!electronic && !distorted && p.parts.every((q) => ACOUSTIC.has(q.instrument))) tags.add('acoustic');
  tags.add(tempoClass(p));
  tags.add(isMajorMode(p.mode) ? 'major' : 'minor');
  if (p.swing >= 0.3) tags.add('swing');
  if (p.meter !== 4) tags.add('triple_meter');
  if (p.mix.reverb >= 0.35) tags.add('reverb');
  if (p.mix.noiseDb >= -36 || p.mix.lowpassHz < 5500) tags.add('lofi');
  if (valence > 0.5) tags.add('happy');
  if (valence < -0.5) tags.add('sad');
  if (arousal > 0.5) tags.add('energetic');
  if (arousal < -0.5) tags.add('calm');
  return TAG_VOCABULARY.filter((t) => tags.has(t));
}
