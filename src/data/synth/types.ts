/**
 * The generator's plan for one track: everything the renderer needs besides the sample rate and
 * length. Plans are plain JSON (stored in manifest.json) so a track can be re-rendered, inspected
 * or audited from the manifest alone.
 */

/** Beats per bar: 4 = 4/4, 3 = 3/4, 6 = 6/8 (two dotted-quarter beats of three eighths). */
export type Meter = 3 | 4 | 6;

export type ModeName = 'major' | 'minor' | 'dorian' | 'mixolydian' | 'phrygian' | 'harmonicMinor';

export type Role = 'bass' | 'chords' | 'lead' | 'pad';

export type InstrumentName =
  | 'acousticGuitar' | 'cleanGuitar' | 'distGuitar' | 'piano' | 'epiano' | 'organ' | 'brass' | 'sax'
  | 'strings' | 'fiddle' | 'pad' | 'synthLead' | 'flute' | 'vocal' | 'rapVocal'
  | 'electricBass' | 'uprightBass' | 'synthBass' | 'sub808' | 'bowedBass';

export type KitName = 'acoustic' | 'brush' | 'machine' | 'heavy';

export type NoiseType = 'white' | 'pink' | 'vinyl' | 'hum' | 'tape';

export type BassPattern = 'root' | 'rootEighths' | 'walking' | 'boogie' | 'boomChick' | 'octave' | 'sub' | 'reggae' | 'syncopated' | 'gallop';

export type ChordPattern = 'sustain' | 'strum' | 'skank' | 'comp' | 'stabs' | 'arp' | 'alberti' | 'power' | 'pump';

export type LeadPattern = 'melody' | 'riff' | 'sparse' | 'rap' | 'solo';

export type DrumPattern =
  | 'rock' | 'rockB' | 'disco' | 'boombap' | 'trap' | 'metal' | 'metalHalf' | 'jazzRide' | 'shuffle'
  | 'onedrop' | 'steppers' | 'train' | 'pop' | 'halftime' | 'waltz' | 'ballad68';

/** Per-part timbre controls, each in [0, 1]; each instrument reads them its own way. */
export interface Timbre {
  brightness: number;
  decay: number;
  attack: number;
  vibrato: number;
  character: number;
}

export interface PartParams {
  role: Role;
  instrument: InstrumentName;
  pattern: BassPattern | ChordPattern | LeadPattern;
  /** Register shift in semitones from the instrument's home range. */
  octave: number;
  gainDb: number;
  /** Amp-style distortion, 0 clean .. 1 saturated. */
  drive: number;
  timbre: Timbre;
}

export interface DrumParams {
  kit: KitName;
  pattern: DrumPattern;
  gainDb: number;
  /** Probability of a fill at the end of each 4-bar phrase. */
  fills: number;
  timbre: Timbre;
}

export interface MixParams {
  /** Reverb wet level, 0..1. */
  reverb: number;
  /** Reverb room size, 0..1. */
  room: number;
  /** Spectral tilt of the master, -1 dark .. 1 bright. */
  tilt: number;
  compression: number;
  noiseType: NoiseType;
  /** Noise level relative to the music, dB. */
  noiseDb: number;
  /** Target RMS level of the master, dBFS. */
  loudnessDb: number;
  /** Band limit of the master (lo-fi / old recordings), Hz. */
  lowpassHz: number;
  /** Master-bus saturation, 0..1. */
  busDrive: number;
  /** Low-shelf gain of the master, dB. */
  bassDb: number;
  /** Mid (900 Hz) and presence (3 kHz) gains of the master, dB. */
  midDb: number;
  presenceDb: number;
}

export interface TrackParams {
  id: string;
  genre: string;
  albumId: string;
  /** Seed of the note-level choices and of every noise source in the renderer. */
  seed: number;
  tempo: number;
  meter: Meter;
  /** 0 straight .. 1 full triplet swing. */
  swing: number;
  /** Tonic pitch class, 0 = C. */
  key: number;
  mode: ModeName;
  /** Chord symbols relative to the tonic, e.g. ["I7", "IV7", "bVII"]. */
  progression: string[];
  chordBars: number;
  /** Bar of the progression the excerpt starts on (GTZAN clips start mid-song). */
  startBar: number;
  /** 0..1: how busy the parts are. */
  density: number;
  /** 0 legato (notes held into the next) .. 1 staccato (short, detached notes). */
  articulation: number;
  /** Timing and velocity looseness, 0..1. */
  humanize: number;
  drums: DrumParams | null;
  parts: PartParams[];
  mix: MixParams;
}

/** What the generator says about a track: the regression targets and concept tags. */
export interface TrackLabels {
  valence: number;
  arousal: number;
  tags: string[];
}
