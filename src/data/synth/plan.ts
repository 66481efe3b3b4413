/**
 * Planning: turning a seed into track parameters. An album gets a "prototype" (its sound: tempo,
 * key, progression, band, mix) drawn from its genre; each of its tracks draws a fresh prototype
 * and keeps each attribute group from the album with probability `cohesion`. Every group may also
 * be drawn from a neighbouring genre's style (probability `overlap`), which is what makes genres
 * overlap the way real ones do (a rock track with a blues shuffle, a pop track with disco drums).
 *
 * Within its genre a track also has a mood it leans toward (`Mood`, drawn per album and per
 * track; affect.ts). The mood does not set the labels; it tilts the draws the way songwriters and
 * producers do: happier tracks pick major modes and brighter progressions, sit higher, play more
 * detached, on brighter instruments and in a clearer mix; more energetic ones are faster, busier,
 * louder and brighter, with driving patterns. Steered continuous values keep their genre's range
 * and uniform spread (affect.ts `steer`), and discrete choices keep their genre's options, only
 * reweighted, so genres stay recognisable while mood-related attributes become correlated. That
 * is what makes the labels (computed from the attributes in labels.ts) audible through several
 * cues at once rather than through one switch the audio barely shows (major vs minor).
 */
import type { Rng } from '../../util/rng.js';
import { GENRE_STYLES, genreStyle, type GenreStyle, type Range, type Weighted } from './styles.js';
import type { DrumParams, InstrumentName, MixParams, PartParams, Role, Timbre, TrackParams } from './types.js';
import { isMajorMode } from './theory.js';
import { harmonicColour } from './labels.js';
import { INSTRUMENT_AFFECT, PATTERN_AFFECT, affinity, drawMood, steer, type Affect, type Mood } from './affect.js';

export interface PlanKnobs {
  /** Probability that an attribute group comes from a neighbouring genre. */
  overlap: number;
  /** Probability that a track keeps an attribute group from its album. */
  cohesion: number;
}

export const DEFAULT_KNOBS: Readonly<PlanKnobs> = { overlap: 0.08, cohesion: 0.3 };

/** A weighted pick whose weights are tilted by exp(gain * score(value)). */
function pickTilted<T>(rng: Rng, items: Weighted<T>, score: (v: T) => number, gain: number): T {
  return pick(rng, items.map(([v, w]) => [v, w * Math.exp(gain * score(v))] as const));
}

/** How strongly instrument and pattern choices follow the mood (log-weight per unit affinity). */
const AFFECT_GAIN = 2;

/** A genre's instrument or pattern choice, tilted toward those that suit the mood. */
function pickFor<T extends string>(rng: Rng, items: Weighted<T>, mood: Mood, table: Readonly<Partial<Record<T, Affect>>>): T {
  return pickTilted(rng, items, (v) => affinity(mood, table[v]), AFFECT_GAIN);
}

/** Register shift (semitones) of melodic parts: happier tracks sit higher. */
function register(rng: Rng, mood: Mood): number {
  return Math.round(clamp(4.5 * mood.valence + 1 * mood.arousal + rng.normal(0, 2), -10, 12));
}

export function pick<T>(rng: Rng, items: Weighted<T>): T {
  let total = 0;
  for (const [, w] of items) total += w;
  let u = rng.next() * total;
  for (const [v, w] of items) {
    u -= w;
    if (u < 0) return v;
  }
  return (items[items.length - 1] as readonly [T, number])[0];
}

export function uni(rng: Rng, r: Range): number {
  return rng.uniform(r[0], r[1]);
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function timbre(rng: Rng, mood: Mood, brightness: Range = [0, 1]): Timbre {
  return { brightness: round(steer(rng, brightness, mood, 0.45, 0.45)), decay: round(rng.next()), attack: round(rng.next()), vibrato: round(rng.next()), character: round(rng.next()) };
}

const DRIVEN: ReadonlySet<InstrumentName> = new Set(['cleanGuitar', 'organ', 'electricBass', 'synthLead']);
const ROLE_GAIN: Readonly<Record<Role, number>> = { bass: -5, chords: -7, lead: -3, pad: -12 };

/** Which style an attribute group is drawn from: the genre's own, or now and then a neighbour's. */
function source(rng: Rng, genre: string, knobs: PlanKnobs): GenreStyle {
  const own = genreStyle(genre);
  if (rng.bool(knobs.overlap)) return GENRE_STYLES[rng.pick(own.neighbours)];
  return own;
}

function part(rng: Rng, role: Role, instrument: InstrumentName, pattern: PartParams['pattern'], style: GenreStyle, mood: Mood, extraGainDb = 0): PartParams {
  let drive = 0;
  if (instrument === 'distGuitar') drive = clamp(steer(rng, [Math.max(0.5, style.drive[0]), Math.max(0.65, style.drive[1])], mood, -0.3, 0.5), 0, 1);
  else if (DRIVEN.has(instrument)) drive = rng.bool(0.5) ? steer(rng, [0, style.drive[1] * 0.6], mood, -0.3, 0.5) : 0;
  const octave = role === 'bass' ? 0 : register(rng, mood);
  return {
    role, instrument, pattern, octave,
    gainDb: round(ROLE_GAIN[role] + style.balance[role] + extraGainDb + rng.uniform(-2, 2), 2),
    drive: round(drive),
    timbre: timbre(rng, mood, style.brightness),
  };
}

/** The parts a genre's band would play, drawn independently of any album. */
function drawPrototype(rng: Rng, id: string, genre: string, albumId: string, knobs: PlanKnobs, mood: Mood): TrackParams {
  let s = source(rng, genre, knobs);
  const meter = pick(rng, s.meters);
  s = source(rng, genre, knobs);
  let tempo = steer(rng, s.tempo, mood, 0.3, 0.75);
  if (meter === 6) tempo *= 0.55; // 6/8 counts dotted quarters; keep the eighth-note pulse in range
  s = source(rng, genre, knobs);
  const swing = rng.bool(s.swing.prob) ? uni(rng, s.swing.amount) : 0;
  s = source(rng, genre, knobs);
  const mode = pickTilted(rng, s.modes, (m) => (isMajorMode(m) ? 1 : -1), 2 * mood.valence);
  const family = isMajorMode(mode) ? s.progressions.major : s.progressions.minor;
  const progression = [...pickTilted(rng, family.map((f) => [f, 1] as const), (f) => harmonicColour(f), 3 * mood.valence)];
  const chordBars = pick(rng, s.chordBars);
  s = source(rng, genre, knobs);
  const density = steer(rng, s.density, mood, 0.2, 0.75);
  const articulation = steer(rng, [0, 1], mood, 0.6, 0.35);
  const humanize = uni(rng, s.humanize);

  s = source(rng, genre, knobs);
  let drums: DrumParams | null = null;
  if (rng.bool(s.drums.prob)) {
    let pattern = pick(rng, s.drums.patterns);
    if (meter === 3) pattern = 'waltz';
    else if (meter === 6) pattern = 'ballad68';
    drums = { kit: pick(rng, s.drums.kits), pattern, gainDb: round(s.balance.drums + steer(rng, [-4, 2], mood, 0, 0.6), 2), fills: round(rng.uniform(0.1, 0.8)), timbre: timbre(rng, mood, s.brightness) };
  }
  const parts: PartParams[] = [];
  s = source(rng, genre, knobs);
  if (rng.bool(s.bass.prob)) parts.push(part(rng, 'bass', pickFor(rng, s.bass.instruments, mood, INSTRUMENT_AFFECT), pickFor(rng, s.bass.patterns, mood, PATTERN_AFFECT), s, mood));
  s = source(rng, genre, knobs);
  const nChords = pick(rng, s.chords.count);
  const used = new Set<InstrumentName>();
  for (let k = 0; k < nChords; k++) {
    const inst = pickFor(rng, s.chords.instruments, mood, INSTRUMENT_AFFECT);
    if (used.has(inst)) continue;
    used.add(inst);
    parts.push(part(rng, 'chords', inst, pickFor(rng, s.chords.patterns, mood, PATTERN_AFFECT), s, mood, k > 0 ? -2 : 0));
  }
  s = source(rng, genre, knobs);
  if (rng.bool(s.lead.prob)) parts.push(part(rng, 'lead', pickFor(rng, s.lead.instruments, mood, INSTRUMENT_AFFECT), pickFor(rng, s.lead.patterns, mood, PATTERN_AFFECT), s, mood));
  s = source(rng, genre, knobs);
  if (rng.bool(s.pad.prob)) parts.push(part(rng, 'pad', pickFor(rng, s.pad.instruments, mood, INSTRUMENT_AFFECT), 'sustain', s, mood));
  if (parts.length === 0) parts.push(part(rng, 'chords', 'piano', 'sustain', s, mood));

  s = source(rng, genre, knobs);
  const m = s.mix;
  const mix: MixParams = {
    reverb: round(steer(rng, m.reverb, mood, -0.35, -0.45)), room: round(uni(rng, m.room)), tilt: round(steer(rng, m.tilt, mood, 0.55, 0.45)),
    compression: round(steer(rng, m.compression, mood, 0, 0.6)), noiseType: pick(rng, m.noise), noiseDb: round(uni(rng, m.noiseDb), 2),
    loudnessDb: round(steer(rng, m.loudnessDb, mood, 0, 0.75), 2), lowpassHz: Math.round(steer(rng, m.lowpassHz, mood, 0.6, 0.3)), busDrive: round(steer(rng, m.busDrive, mood, -0.25, 0.5)), bassDb: round(uni(rng, m.bassDb), 2),
    midDb: round(uni(rng, m.midDb), 2), presenceDb: round(uni(rng, m.presenceDb), 2),
  };
  return {
    id, genre, albumId, seed: rng.nextU32(),
    tempo: round(tempo, 2), meter, swing: round(swing), key: rng.int(0, 11), mode, progression, chordBars,
    startBar: 0, density: round(density), articulation: round(articulation), humanize: round(humanize),
    drums, parts, mix,
  };
}

/** An album's shared sound (a prototype of its genre) and the mood its tracks lean toward. */
export function planAlbumSound(rng: Rng, albumId: string, genre: string, knobs: PlanKnobs = DEFAULT_KNOBS): { sound: TrackParams; mood: Mood } {
  const mood = drawMood(rng);
  return { sound: drawPrototype(rng, albumId, genre, albumId, { ...knobs, overlap: knobs.overlap * 0.5 }, mood), mood };
}

/**
 * One track of an album: a fresh prototype whose attribute groups are replaced by the album's
 * (slightly varied) with probability `cohesion`.
 */
export function planTrack(rng: Rng, id: string, genre: string, albumSound: { sound: TrackParams; mood: Mood }, knobs: PlanKnobs = DEFAULT_KNOBS): TrackParams {
  const album = albumSound.sound;
  const t = drawPrototype(rng, id, genre, album.albumId, knobs, drawMood(rng, albumSound.mood));
  const keep = () => rng.bool(knobs.cohesion);
  if (keep()) { t.meter = album.meter; t.tempo = round(clamp(album.tempo * rng.uniform(0.92, 1.08), 30, 240), 2); }
  if (keep()) t.swing = album.swing;
  if (keep()) { t.mode = album.mode; t.progression = [...album.progression]; t.chordBars = album.chordBars; }
  if (keep()) t.key = album.key;
  if (keep()) {
    t.density = round(clamp(album.density + rng.uniform(-0.1, 0.1), 0, 1));
    t.articulation = round(clamp(album.articulation + rng.uniform(-0.1, 0.1), 0, 1));
  }
  if (keep()) t.drums = album.drums ? { ...album.drums, timbre: { ...album.drums.timbre } } : null;
  if (t.drums && t.meter === 3) t.drums.pattern = 'waltz';
  else if (t.drums && t.meter === 6) t.drums.pattern = 'ballad68';
  else if (t.drums && (t.drums.pattern === 'waltz' || t.drums.pattern === 'ballad68')) t.drums.pattern = 'pop';
  for (const role of ['bass', 'chords', 'lead', 'pad'] as const) {
    if (!keep()) continue;
    const mine = t.parts.filter((p) => p.role !== role);
    const theirs = album.parts.filter((p) => p.role === role).map((p) => ({ ...p, timbre: { ...p.timbre }, gainDb: round(p.gainDb + rng.uniform(-1.5, 1.5), 2) }));
    t.parts = [...mine, ...theirs].sort((a, b) => ROLE_ORDER.indexOf(a.role) - ROLE_ORDER.indexOf(b.role));
  }
  if (t.parts.length === 0) t.parts = album.parts.map((p) => ({ ...p, timbre: { ...p.timbre } }));
  if (keep()) {
    const a = album.mix;
    t.mix = {
      ...a,
      reverb: round(clamp(a.reverb + rng.uniform(-0.05, 0.05), 0, 1)),
      tilt: round(clamp(a.tilt + rng.uniform(-0.1, 0.1), -1, 1)),
      loudnessDb: round(a.loudnessDb + rng.uniform(-1.5, 1.5), 2),
      noiseDb: round(a.noiseDb + rng.uniform(-3, 3), 2),
    };
  }
  t.startBar = rng.int(0, Math.max(0, t.progression.length - 1));
  return t;
}

const ROLE_ORDER: readonly Role[] = ['bass', 'chords', 'lead', 'pad'];
