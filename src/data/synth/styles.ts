/**
 * What each of the ten genres sounds like, as ranges and weighted choices the planner draws from.
 * The ranges overlap on purpose (blues and rock share tempi and guitars, disco and pop share
 * drums and synths, hip-hop and reggae share tempi and bass weight) so that genre is learnable
 * but not trivially separable by timbre statistics.
 */
import { GTZAN_GENRES, type GtzanGenre } from '../datasets/index.js';
import type {
  BassPattern, ChordPattern, DrumPattern, InstrumentName, KitName, LeadPattern, Meter, ModeName, NoiseType,
} from './types.js';

/** A weighted choice list: [value, relative weight]. */
export type Weighted<T> = ReadonlyArray<readonly [T, number]>;
export type Range = readonly [number, number];

export interface GenreStyle {
  tempo: Range;
  meters: Weighted<Meter>;
  /** Probability that a track swings, and how much when it does. */
  swing: { prob: number; amount: Range };
  modes: Weighted<ModeName>;
  /** Progressions for major-sounding and minor-sounding modes. */
  progressions: { major: ReadonlyArray<readonly string[]>; minor: ReadonlyArray<readonly string[]> };
  chordBars: Weighted<number>;
  density: Range;
  drums: { prob: number; patterns: Weighted<DrumPattern>; kits: Weighted<KitName> };
  bass: { prob: number; instruments: Weighted<InstrumentName>; patterns: Weighted<BassPattern> };
  chords: { count: Weighted<number>; instruments: Weighted<InstrumentName>; patterns: Weighted<ChordPattern> };
  lead: { prob: number; instruments: Weighted<InstrumentName>; patterns: Weighted<LeadPattern> };
  pad: { prob: number; instruments: Weighted<InstrumentName> };
  /** Guitar amp drive range. */
  drive: Range;
  /** Range of the instruments' brightness (a genre's usual tone: dark jazz guitar, bright pop synths). */
  brightness: Range;
  mix: {
    reverb: Range; room: Range; tilt: Range; compression: Range; loudnessDb: Range;
    lowpassHz: Range; busDrive: Range; noise: Weighted<NoiseType>; noiseDb: Range;
    /** Low-shelf gain of the master: the genre's bass weight. */
    bassDb: Range;
    /** Mid (900 Hz) and presence (3 kHz) EQ of the master: a genre's production colour (scooped metal, warm jazz). */
    midDb: Range;
    presenceDb: Range;
  };
  humanize: Range;
  /** Level offsets (dB) per role: the genre's usual balance (hip-hop's loud bass and voice, metal's guitars). */
  balance: { bass: number; chords: number; lead: number; pad: number; drums: number };
  /** Genres this one borrows instruments, grooves and tempi from. */
  neighbours: readonly GtzanGenre[];
}

const P = (s: string): string[] => s.split(' ');

export const GENRE_STYLES: Readonly<Record<GtzanGenre, GenreStyle>> = {
  blues: {
    tempo: [58, 132],
    meters: [[4, 8], [6, 2], [3, 0.5]],
    swing: { prob: 0.8, amount: [0.5, 1] },
    modes: [['mixolydian', 4], ['major', 2], ['minor', 2], ['dorian', 1]],
    progressions: {
      major: [P('I7 IV7 I7 I7 IV7 IV7 I7 I7 V7 IV7 I7 V7'), P('I7 IV7 I7 I7 IV7 IV7 I7 I7 V7 IV7 I7 I7'), P('I7 V7 IV7 IV7 I7 V7 I7 V7'), P('I7 I7 IV7 I7')],
      minor: [P('i7 i7 i7 i7 iv7 iv7 i7 i7 bVI7 V7 i7 V7'), P('i7 iv7 i7 V7')],
    },
    chordBars: [[1, 1]],
    density: [0.3, 0.7],
    drums: { prob: 0.85, patterns: [['shuffle', 4], ['jazzRide', 1], ['rock', 1], ['halftime', 1]], kits: [['acoustic', 3], ['brush', 2]] },
    bass: { prob: 0.9, instruments: [['electricBass', 3], ['uprightBass', 2]], patterns: [['boogie', 3], ['walking', 2], ['root', 1]] },
    chords: { count: [[1, 3], [2, 2]], instruments: [['piano', 3], ['organ', 2], ['cleanGuitar', 3], ['acousticGuitar', 1], ['epiano', 0.5]], patterns: [['comp', 2], ['strum', 1], ['sustain', 1], ['pump', 1]] },
    lead: { prob: 0.85, instruments: [['cleanGuitar', 4], ['vocal', 3], ['sax', 0.5], ['brass', 0.5], ['distGuitar', 1]], patterns: [['solo', 2], ['melody', 2], ['sparse', 1]] },
    pad: { prob: 0.1, instruments: [['organ', 1]] },
    drive: [0, 0.5],
    brightness: [0.2, 0.7],
    mix: { reverb: [0.1, 0.4], room: [0.3, 0.7], tilt: [-0.4, 0], compression: [0.2, 0.6], loudnessDb: [-20, -13], lowpassHz: [3500, 9000], busDrive: [0, 0.3], noise: [['tape', 2], ['vinyl', 2], ['hum', 1], ['white', 1]], bassDb: [0, 3], midDb: [1, 4], presenceDb: [-3, 0], noiseDb: [-52, -30] },
    humanize: [0.3, 0.7],
    balance: { bass: 0, chords: 0, lead: 2, pad: 0, drums: -2 },
    neighbours: ['jazz', 'rock', 'country'],
  },
  classical: {
    tempo: [50, 150],
    meters: [[4, 3], [3, 3], [6, 1]],
    swing: { prob: 0, amount: [0, 0] },
    modes: [['major', 4], ['minor', 3], ['harmonicMinor', 2]],
    progressions: {
      major: [P('I IV V I'), P('I vi IV V'), P('I ii V I'), P('I V vi iii IV I IV V'), P('I IV viidim iii vi ii V I')],
      minor: [P('i iv V i'), P('i iv bVII bIII bVI iidim V i'), P('i bVI bIII bVII'), P('i V i iv')],
    },
    chordBars: [[1, 2], [2, 2], [0.5, 1]],
    density: [0.2, 0.8],
    drums: { prob: 0.03, patterns: [['waltz', 1], ['ballad68', 1]], kits: [['brush', 1]] },
    bass: { prob: 0.8, instruments: [['bowedBass', 4], ['piano', 2], ['uprightBass', 1]], patterns: [['root', 4], ['syncopated', 1]] },
    chords: { count: [[1, 2], [2, 3], [3, 1]], instruments: [['strings', 4], ['piano', 4], ['organ', 1], ['flute', 1], ['brass', 1]], patterns: [['sustain', 3], ['arp', 3], ['alberti', 2]] },
    lead: { prob: 0.8, instruments: [['fiddle', 3], ['flute', 3], ['piano', 2], ['brass', 1], ['strings', 1]], patterns: [['melody', 4], ['sparse', 1]] },
    pad: { prob: 0.3, instruments: [['strings', 3], ['organ', 1]] },
    drive: [0, 0],
    brightness: [0.15, 0.6],
    mix: { reverb: [0.3, 0.7], room: [0.6, 1], tilt: [-0.6, -0.2], compression: [0, 0.2], loudnessDb: [-26, -17], lowpassHz: [6000, 11000], busDrive: [0, 0.05], noise: [['tape', 2], ['white', 1], ['hum', 0.5]], bassDb: [-3, 0], midDb: [-1, 1], presenceDb: [-4, -1], noiseDb: [-60, -35] },
    humanize: [0.3, 0.8],
    balance: { bass: -2, chords: 2, lead: 0, pad: 0, drums: -6 },
    neighbours: ['jazz', 'pop', 'country'],
  },
  country: {
    tempo: [85, 160],
    meters: [[4, 6], [3, 1]],
    swing: { prob: 0.2, amount: [0.1, 0.4] },
    modes: [['major', 6], ['mixolydian', 2], ['minor', 1]],
    progressions: {
      major: [P('I I IV IV V V I I'), P('I IV I V'), P('I V vi IV'), P('I IV V IV'), P('I I IV I V IV I I')],
      minor: [P('i bVII bVI bVII'), P('i iv bVII bIII')],
    },
    chordBars: [[1, 3], [2, 2]],
    density: [0.3, 0.7],
    drums: { prob: 0.8, patterns: [['train', 3], ['rock', 2], ['pop', 1]], kits: [['acoustic', 3], ['brush', 3]] },
    bass: { prob: 0.95, instruments: [['electricBass', 3], ['uprightBass', 2]], patterns: [['boomChick', 5], ['walking', 1], ['root', 1]] },
    chords: { count: [[1, 2], [2, 3]], instruments: [['acousticGuitar', 6], ['piano', 2], ['cleanGuitar', 2], ['organ', 0.5]], patterns: [['strum', 5], ['arp', 1], ['pump', 1]] },
    lead: { prob: 0.9, instruments: [['vocal', 5], ['fiddle', 4], ['cleanGuitar', 2]], patterns: [['melody', 4], ['solo', 1]] },
    pad: { prob: 0.15, instruments: [['strings', 1], ['organ', 1]] },
    drive: [0, 0.35],
    brightness: [0.6, 1],
    mix: { reverb: [0.1, 0.35], room: [0.3, 0.6], tilt: [0.1, 0.5], compression: [0.2, 0.5], loudnessDb: [-20, -13], lowpassHz: [6000, 11000], busDrive: [0, 0.15], noise: [['tape', 2], ['white', 1], ['vinyl', 1]], bassDb: [-3, 0], midDb: [0, 2], presenceDb: [2, 5], noiseDb: [-58, -34] },
    humanize: [0.2, 0.6],
    balance: { bass: -1, chords: 2, lead: 1, pad: 0, drums: -3 },
    neighbours: ['blues', 'rock', 'pop'],
  },
  disco: {
    tempo: [105, 132],
    meters: [[4, 1]],
    swing: { prob: 0.1, amount: [0.05, 0.2] },
    modes: [['minor', 3], ['dorian', 3], ['major', 3]],
    progressions: {
      major: [P('ii7 V7 Imaj7 Imaj7'), P('Imaj7 ii7 iii7 ii7'), P('vi7 ii7 V7 Imaj7'), P('IVmaj7 iii7 ii7 Imaj7')],
      minor: [P('i7 i7 iv7 iv7'), P('i9 bVII i9 bVII'), P('i7 bVII7 bVI7 V7'), P('i7 iv7 bVII7 bIIImaj7')],
    },
    chordBars: [[1, 3], [2, 2]],
    density: [0.55, 0.9],
    drums: { prob: 1, patterns: [['disco', 6], ['pop', 1]], kits: [['acoustic', 2], ['machine', 2]] },
    bass: { prob: 1, instruments: [['electricBass', 3], ['synthBass', 3]], patterns: [['octave', 5], ['syncopated', 2]] },
    chords: { count: [[2, 3], [3, 2]], instruments: [['strings', 3], ['cleanGuitar', 3], ['epiano', 2], ['brass', 2], ['piano', 1], ['pad', 1]], patterns: [['stabs', 4], ['sustain', 2], ['pump', 2]] },
    lead: { prob: 0.8, instruments: [['vocal', 4], ['synthLead', 2], ['brass', 1], ['strings', 1]], patterns: [['melody', 3], ['riff', 2]] },
    pad: { prob: 0.4, instruments: [['strings', 2], ['pad', 2]] },
    drive: [0, 0.15],
    brightness: [0.5, 1],
    mix: { reverb: [0.1, 0.35], room: [0.3, 0.7], tilt: [0.1, 0.5], compression: [0.4, 0.8], loudnessDb: [-16, -10], lowpassHz: [8000, 11000], busDrive: [0, 0.2], noise: [['vinyl', 1], ['white', 1], ['tape', 1]], bassDb: [3, 6], midDb: [-4, -1], presenceDb: [0, 3], noiseDb: [-60, -35] },
    humanize: [0.05, 0.35],
    balance: { bass: 2, chords: 0, lead: 0, pad: 0, drums: 3 },
    neighbours: ['pop', 'hiphop', 'reggae'],
  },
  hiphop: {
    tempo: [75, 102],
    meters: [[4, 1]],
    swing: { prob: 0.7, amount: [0.2, 0.7] },
    modes: [['minor', 4], ['dorian', 3], ['phrygian', 1], ['major', 1]],
    progressions: {
      major: [P('Imaj7 IVmaj7'), P('ii7 V7'), P('vi7 IVmaj7')],
      minor: [P('i7 i7 bVImaj7 bVImaj7'), P('i9 iv9'), P('i bVII bVI bVII'), P('i7 v7')],
    },
    chordBars: [[1, 2], [2, 3]],
    density: [0.4, 0.8],
    drums: { prob: 1, patterns: [['boombap', 4], ['trap', 3], ['halftime', 1]], kits: [['machine', 5], ['acoustic', 2]] },
    bass: { prob: 0.95, instruments: [['sub808', 4], ['synthBass', 2], ['electricBass', 1]], patterns: [['sub', 4], ['syncopated', 2], ['root', 1]] },
    chords: { count: [[1, 3], [2, 2]], instruments: [['epiano', 3], ['piano', 3], ['pad', 2], ['strings', 1], ['brass', 1], ['organ', 1]], patterns: [['sustain', 3], ['comp', 2], ['stabs', 1], ['arp', 1]] },
    lead: { prob: 0.9, instruments: [['rapVocal', 8], ['vocal', 1], ['synthLead', 1]], patterns: [['rap', 8], ['sparse', 1]] },
    pad: { prob: 0.3, instruments: [['pad', 2], ['strings', 1]] },
    drive: [0, 0.2],
    brightness: [0.1, 0.6],
    mix: { reverb: [0.05, 0.25], room: [0.2, 0.5], tilt: [-0.5, 0], compression: [0.4, 0.9], loudnessDb: [-17, -10], lowpassHz: [5000, 11000], busDrive: [0, 0.35], noise: [['vinyl', 4], ['tape', 2], ['white', 1]], bassDb: [5, 9], midDb: [-4, -1], presenceDb: [-2, 1], noiseDb: [-48, -28] },
    humanize: [0.05, 0.4],
    balance: { bass: 5, chords: -4, lead: 3, pad: -2, drums: 4 },
    neighbours: ['reggae', 'disco', 'pop', 'jazz'],
  },
  jazz: {
    tempo: [70, 230],
    meters: [[4, 6], [3, 1], [6, 0.5]],
    swing: { prob: 0.85, amount: [0.5, 1] },
    modes: [['major', 3], ['dorian', 3], ['minor', 2], ['mixolydian', 1]],
    progressions: {
      major: [P('ii7 V7 Imaj7 Imaj7'), P('Imaj7 vi7 ii7 V7'), P('iii7 vi7 ii7 V7'), P('Imaj9 IV9 iii7 VI7 ii7 V7 Imaj7 V7')],
      minor: [P('iim7b5 V7 i7 i7'), P('i7 iv7 bVII7 bIIImaj7'), P('i7 bVI7 iim7b5 V7')],
    },
    chordBars: [[1, 3], [0.5, 1], [2, 1]],
    density: [0.3, 0.8],
    drums: { prob: 0.9, patterns: [['jazzRide', 8], ['shuffle', 1]], kits: [['brush', 3], ['acoustic', 4]] },
    bass: { prob: 0.95, instruments: [['uprightBass', 6], ['electricBass', 1]], patterns: [['walking', 6], ['root', 1]] },
    chords: { count: [[1, 3], [2, 2]], instruments: [['piano', 7], ['epiano', 1], ['cleanGuitar', 1.5], ['organ', 0.5], ['brass', 0.5]], patterns: [['comp', 5], ['sustain', 1]] },
    lead: { prob: 0.9, instruments: [['sax', 4], ['brass', 3], ['piano', 2], ['cleanGuitar', 2], ['vocal', 2], ['flute', 1]], patterns: [['solo', 4], ['melody', 2]] },
    pad: { prob: 0.1, instruments: [['strings', 1]] },
    drive: [0, 0.1],
    brightness: [0, 0.5],
    mix: { reverb: [0.15, 0.45], room: [0.3, 0.8], tilt: [-0.6, -0.2], compression: [0.1, 0.4], loudnessDb: [-23, -15], lowpassHz: [4000, 9000], busDrive: [0, 0.1], noise: [['tape', 2], ['vinyl', 2], ['hum', 1], ['white', 1]], bassDb: [0, 2], midDb: [2, 5], presenceDb: [-5, -2], noiseDb: [-56, -32] },
    humanize: [0.3, 0.8],
    balance: { bass: 1, chords: 0, lead: 1, pad: 0, drums: -1 },
    neighbours: ['blues', 'classical', 'hiphop'],
  },
  metal: {
    tempo: [95, 210],
    meters: [[4, 8], [6, 1], [3, 0.5]],
    swing: { prob: 0, amount: [0, 0] },
    modes: [['minor', 4], ['phrygian', 3], ['harmonicMinor', 2], ['dorian', 1]],
    progressions: {
      major: [P('I5 bVII5 IV5 I5'), P('I5 bIII5 IV5 I5')],
      minor: [P('i5 bVI5 bVII5 i5'), P('i5 i5 bII5 i5'), P('i5 bVII5 bVI5 bVII5'), P('i5 iv5 bVI5 V5'), P('i5 bIII5 bVII5 iv5')],
    },
    chordBars: [[1, 3], [2, 2], [0.5, 1]],
    density: [0.6, 1],
    drums: { prob: 1, patterns: [['metal', 4], ['metalHalf', 2], ['rockB', 2], ['rock', 1]], kits: [['heavy', 5], ['acoustic', 2]] },
    bass: { prob: 1, instruments: [['electricBass', 4], ['synthBass', 0.5]], patterns: [['rootEighths', 4], ['gallop', 2]] },
    chords: { count: [[1, 2], [2, 3]], instruments: [['distGuitar', 10], ['organ', 0.5], ['strings', 0.5]], patterns: [['power', 8], ['sustain', 1]] },
    lead: { prob: 0.7, instruments: [['distGuitar', 4], ['vocal', 3], ['synthLead', 0.5]], patterns: [['riff', 2], ['solo', 2], ['melody', 2]] },
    pad: { prob: 0.15, instruments: [['strings', 1], ['pad', 1], ['organ', 1]] },
    drive: [0.8, 1],
    brightness: [0.5, 1],
    mix: { reverb: [0.05, 0.3], room: [0.3, 0.7], tilt: [0.1, 0.5], compression: [0.5, 1], loudnessDb: [-14, -9], lowpassHz: [8000, 11000], busDrive: [0.1, 0.5], noise: [['white', 1], ['hum', 1], ['tape', 1]], bassDb: [0, 3], midDb: [-6, -3], presenceDb: [3, 6], noiseDb: [-60, -35] },
    humanize: [0.05, 0.3],
    balance: { bass: -1, chords: 4, lead: 0, pad: 0, drums: 2 },
    neighbours: ['rock'],
  },
  pop: {
    tempo: [85, 130],
    meters: [[4, 10], [6, 1], [3, 0.5]],
    swing: { prob: 0.15, amount: [0.1, 0.3] },
    modes: [['major', 6], ['minor', 3], ['mixolydian', 1]],
    progressions: {
      major: [P('I V vi IV'), P('vi IV I V'), P('I vi IV V'), P('I IV vi V'), P('IV I V vi')],
      minor: [P('i bVI bIII bVII'), P('i iv bVI bVII'), P('i bVII bVI bVII')],
    },
    chordBars: [[1, 4], [2, 1]],
    density: [0.4, 0.8],
    drums: { prob: 0.95, patterns: [['pop', 5], ['rock', 2], ['disco', 1], ['halftime', 1]], kits: [['machine', 3], ['acoustic', 3]] },
    bass: { prob: 0.95, instruments: [['synthBass', 3], ['electricBass', 3]], patterns: [['syncopated', 3], ['rootEighths', 2], ['root', 1], ['octave', 1]] },
    chords: { count: [[1, 2], [2, 3], [3, 1]], instruments: [['piano', 3], ['pad', 2], ['acousticGuitar', 2], ['cleanGuitar', 2], ['epiano', 1], ['strings', 1], ['synthLead', 1]], patterns: [['pump', 3], ['strum', 2], ['sustain', 2], ['arp', 2], ['stabs', 1]] },
    lead: { prob: 0.95, instruments: [['vocal', 8], ['synthLead', 2], ['flute', 0.5]], patterns: [['melody', 6], ['riff', 1]] },
    pad: { prob: 0.4, instruments: [['pad', 3], ['strings', 1]] },
    drive: [0, 0.3],
    brightness: [0.5, 1],
    mix: { reverb: [0.2, 0.45], room: [0.3, 0.7], tilt: [0.3, 0.7], compression: [0.4, 0.8], loudnessDb: [-16, -10], lowpassHz: [9000, 11000], busDrive: [0, 0.2], noise: [['white', 2], ['tape', 1]], bassDb: [0, 3], midDb: [0, 2], presenceDb: [3, 6], noiseDb: [-65, -40] },
    humanize: [0.05, 0.35],
    balance: { bass: 1, chords: -1, lead: 3, pad: 0, drums: 1 },
    neighbours: ['disco', 'rock', 'country', 'hiphop'],
  },
  reggae: {
    tempo: [62, 100],
    meters: [[4, 1]],
    swing: { prob: 0.6, amount: [0.2, 0.6] },
    modes: [['major', 5], ['minor', 2], ['dorian', 1], ['mixolydian', 1.5]],
    progressions: {
      major: [P('I IV'), P('I V vi IV'), P('I IV V IV'), P('ii7 V7'), P('I I IV V')],
      minor: [P('i bVII'), P('i iv'), P('i bVI bVII i'), P('i7 iv7')],
    },
    chordBars: [[1, 2], [2, 3]],
    density: [0.35, 0.7],
    drums: { prob: 0.95, patterns: [['onedrop', 5], ['steppers', 2], ['halftime', 1]], kits: [['acoustic', 4], ['machine', 1]] },
    bass: { prob: 1, instruments: [['electricBass', 4], ['synthBass', 1], ['sub808', 0.5]], patterns: [['reggae', 6], ['syncopated', 1]] },
    chords: { count: [[1, 2], [2, 3]], instruments: [['cleanGuitar', 4], ['organ', 4], ['piano', 2], ['epiano', 1]], patterns: [['skank', 8], ['comp', 1]] },
    lead: { prob: 0.7, instruments: [['vocal', 5], ['brass', 2], ['sax', 1], ['synthLead', 0.5], ['flute', 0.5]], patterns: [['melody', 4], ['sparse', 2]] },
    pad: { prob: 0.15, instruments: [['organ', 1], ['pad', 1]] },
    drive: [0, 0.2],
    brightness: [0.2, 0.6],
    mix: { reverb: [0.2, 0.55], room: [0.4, 0.9], tilt: [-0.5, -0.1], compression: [0.2, 0.6], loudnessDb: [-19, -12], lowpassHz: [4500, 9000], busDrive: [0, 0.2], noise: [['tape', 2], ['vinyl', 2], ['hum', 1]], bassDb: [4, 8], midDb: [-1, 2], presenceDb: [-4, -1], noiseDb: [-52, -30] },
    humanize: [0.15, 0.5],
    balance: { bass: 6, chords: -2, lead: 0, pad: 0, drums: 0 },
    neighbours: ['hiphop', 'pop', 'disco'],
  },
  rock: {
    tempo: [90, 175],
    meters: [[4, 10], [6, 1], [3, 0.5]],
    swing: { prob: 0.1, amount: [0.1, 0.4] },
    modes: [['major', 3], ['mixolydian', 3], ['minor', 3], ['dorian', 1]],
    progressions: {
      major: [P('I IV V IV'), P('I bVII IV I'), P('I V IV I'), P('I IV I V'), P('I bIII IV I')],
      minor: [P('i bVII bVI bVII'), P('i bIII bVII iv'), P('i iv bVII i')],
    },
    chordBars: [[1, 3], [2, 2], [0.5, 1]],
    density: [0.5, 0.9],
    drums: { prob: 1, patterns: [['rock', 5], ['rockB', 3], ['halftime', 1], ['metalHalf', 0.3]], kits: [['acoustic', 6], ['heavy', 1]] },
    bass: { prob: 1, instruments: [['electricBass', 6], ['synthBass', 0.3]], patterns: [['rootEighths', 5], ['root', 1], ['syncopated', 1]] },
    chords: { count: [[1, 2], [2, 3]], instruments: [['distGuitar', 5], ['cleanGuitar', 3], ['acousticGuitar', 1], ['organ', 1.5], ['piano', 1]], patterns: [['power', 4], ['strum', 3], ['pump', 1], ['sustain', 1]] },
    lead: { prob: 0.85, instruments: [['vocal', 6], ['distGuitar', 3], ['cleanGuitar', 1], ['organ', 0.5]], patterns: [['melody', 4], ['solo', 2], ['riff', 1]] },
    pad: { prob: 0.15, instruments: [['organ', 1], ['strings', 1]] },
    drive: [0.3, 0.65],
    brightness: [0.4, 0.9],
    mix: { reverb: [0.1, 0.35], room: [0.3, 0.7], tilt: [0, 0.4], compression: [0.4, 0.8], loudnessDb: [-16, -10], lowpassHz: [6000, 11000], busDrive: [0, 0.35], noise: [['tape', 2], ['white', 1], ['hum', 1]], bassDb: [0, 3], midDb: [1, 4], presenceDb: [1, 4], noiseDb: [-60, -32] },
    humanize: [0.15, 0.5],
    balance: { bass: 0, chords: 3, lead: 1, pad: 0, drums: 1 },
    neighbours: ['metal', 'blues', 'pop', 'country'],
  },
};

export function genreStyle(genre: string): GenreStyle {
  const s = (GENRE_STYLES as Record<string, GenreStyle>)[genre];
  if (!s) throw new RangeError(`unknown genre "${genre}" (expected one of ${GTZAN_GENRES.join(', ')})`);
  return s;
}
