/** Pitch, scales and chord symbols: the small amount of music theory the composer needs. */
import type { ModeName } from './types.js';

export const MODE_STEPS: Readonly<Record<ModeName, readonly number[]>> = {
  major: [0, 2, 4, 5, 7, 9, 11],
  minor: [0, 2, 3, 5, 7, 8, 10],
  dorian: [0, 2, 3, 5, 7, 9, 10],
  mixolydian: [0, 2, 4, 5, 7, 9, 10],
  phrygian: [0, 1, 3, 5, 7, 8, 10],
  harmonicMinor: [0, 2, 3, 5, 7, 8, 11],
};

/** Modes with a major third over the tonic; the rest are heard as minor. */
export function isMajorMode(mode: ModeName): boolean {
  return mode === 'major' || mode === 'mixolydian';
}

/** The blues scale (minor pentatonic + flat five), used by blues/rock leads over major chords. */
export const BLUES_SCALE: readonly number[] = [0, 3, 5, 6, 7, 10];
export const MAJOR_PENTATONIC: readonly number[] = [0, 2, 4, 7, 9];
export const MINOR_PENTATONIC: readonly number[] = [0, 3, 5, 7, 10];

export function midiToHz(midi: number): number {
  return 440 * Math.pow(2, (midi - 69) / 12);
}

export interface Chord {
  /** Root in semitones above the tonic. */
  root: number;
  /** Chord tones in semitones above the root. */
  tones: number[];
  quality: string;
}

const NUMERALS: Record<string, number> = { I: 0, II: 2, III: 4, IV: 5, V: 7, VI: 9, VII: 11 };

const QUALITIES: Record<string, number[]> = {
  maj: [0, 4, 7],
  min: [0, 3, 7],
  '7': [0, 4, 7, 10],
  maj7: [0, 4, 7, 11],
  m7: [0, 3, 7, 10],
  '9': [0, 4, 7, 10, 14],
  maj9: [0, 4, 7, 11, 14],
  m9: [0, 3, 7, 10, 14],
  dim: [0, 3, 6],
  m7b5: [0, 3, 6, 10],
  '5': [0, 7, 12],
  sus4: [0, 5, 7],
  '6': [0, 4, 7, 9],
  add9: [0, 4, 7, 14],
};

/**
 * Parse a roman-numeral chord relative to the tonic: case gives the triad (IV major, iv minor),
 * an optional b/# prefix shifts the root, and a suffix names extensions: 7, maj7, 9, maj9, dim,
 * m7b5, 5 (power chord), sus4, 6, add9. On a lower-case numeral, 7 and 9 mean minor 7/9.
 */
export function parseChord(symbol: string): Chord {
  const m = /^([b#]?)([ivIV]+)(.*)$/.exec(symbol);
  if (!m) throw new RangeError(`bad chord symbol "${symbol}"`);
  const [, acc, numeral, suffix] = m as unknown as [string, string, string, string];
  const base = NUMERALS[numeral.toUpperCase()];
  if (base === undefined) throw new RangeError(`bad chord numeral in "${symbol}"`);
  const root = (base + (acc === 'b' ? -1 : acc === '#' ? 1 : 0) + 12) % 12;
  const minor = numeral === numeral.toLowerCase();
  let quality: string;
  if (suffix === '') quality = minor ? 'min' : 'maj';
  else if (suffix === '7' || suffix === '9') quality = minor ? `m${suffix}` : suffix;
  else quality = suffix;
  const tones = QUALITIES[quality];
  if (!tones) throw new RangeError(`unknown chord quality "${suffix}" in "${symbol}"`);
  return { root, tones: [...tones], quality };
}

/** Nearest scale pitch (midi) to `midi` for a scale given as pitch classes above `key`. */
export function snapToScale(midi: number, key: number, scale: readonly number[]): number {
  for (let d = 0; d < 12; d++) {
    for (const cand of [midi - d, midi + d]) {
      const pc = (((cand - key) % 12) + 12) % 12;
      if (scale.includes(pc)) return cand;
    }
  }
  return midi;
}

/** Midi pitches of a chord voiced within [low, low + 12) (closed position), ascending. */
export function voiceChord(chord: Chord, key: number, low: number): number[] {
  const out = chord.tones.map((t) => {
    const pc = (key + chord.root + t) % 12;
    let m = low + ((((pc - low) % 12) + 12) % 12);
    if (t >= 12) m += 12;
    return m;
  });
  return [...new Set(out)].sort((a, b) => a - b);
}
