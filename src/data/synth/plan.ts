/**
 * Planning: turning a seed into track parameters. An album gets a "prototype" (its sound: tempo,
 * key, progression, band, mix) drawn from its genre; each of its tracks draws a fresh prototype
 * and keeps each attribute group from the album with probability `cohesion`. Every group may also
 * be drawn from a neighbouring genre's style (probability `overlap`), which is what makes genres
 * overlap the way real ones do (a rock track with a blues shuffle, a pop track with disco drums).
 */
import type { Rng } from '../../util/rng.js';
import { GENRE_STYLES, genreStyle, type GenreStyle, type Range, type Weighted } from './styles.js';
import type { DrumParams, InstrumentName, MixParams, PartParams, Role, Timbre, TrackParams } from './types.js';
import { isMajorMode } from './theory.js';

export interface PlanKnobs {
  /** Probability that an attribute group comes from a neighbouring genre. */
  overlap: number;
  /** Probability that a track keeps an attribute group from its album. */
  cohesion: number;
}

export const DEFAULT_KNOBS: Readonly<PlanKnobs> = { overlap: 0.08, cohesion: 0.3 };

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

function timbre(rng: Rng, brightness: Range = [0, 1]): Timbre {
  return { brightness: round(uni(rng, brightness)), decay: round(rng.next()), attack: round(rng.next()), vibrato: round(rng.next()), character: round(rng.next()) };
}

const DRIVEN: ReadonlySet<InstrumentName> = new Set(['cleanGuitar', 'organ', 'electricBass', 'synthLead']);
const ROLE_GAIN: Readonly<Record<Role, number>> = { bass: -5, chords: -7, lead: -3, pad: -12 };

/** Which style an attribute group is drawn from: the genre's own, or now and then a neighbour's. */
function source(rng: Rng, genre: string, knobs: PlanKnobs): GenreStyle {
  const own = genreStyle(genre);
  if (rng.bool(knobs.overlap)) return GENRE_STYLES[rng.pick(own.neighbours)];
  return own;
}

function part(rng: Rng, role: Role, instrument: InstrumentName, pattern: PartParams['pattern'], style: GenreStyle, extraGainDb = 0): PartParams {
  let drive = 0;
  if (instrument === 'distGuitar') drive = clamp(uni(rng, [Math.max(0.5, style.drive[0]), Math.max(0.65, style.drive[1])]), 0, 1);
  else if (DRIVEN.has(instrument)) drive = rng.bool(0.5) ? uni(rng, [0, style.drive[1] * 0.6]) : 0;
  const octave = role === 'lead' || role === 'chords' ? pick(rng, [[0, 6], [12, 1], [-12, 1]]) : 0;
  return {
    role, instrument, pattern, octave,
    gainDb: round(ROLE_GAIN[role] + style.balance[role] + extraGainDb + rng.uniform(-2, 2), 2),
    drive: round(drive),
    timbre: timbre(rng, style.brightness),
  };
}

/** The parts a genre's band would play, drawn independently of any album. */
function drawPrototype(rng: Rng, id: string, genre: string, albumId: string, knobs: PlanKnobs): TrackParams {
  let s = source(rng, genre, knobs);
  const meter = pick(rng, s.meters);
  s = source(rng, genre, knobs);
  let tempo = uni(rng, s.tempo);
  if (meter === 6) tempo *= 0.55; // 6/8 counts dotted quarters; keep the eighth-note pulse in range
  s = source(rng, genre, knobs);
  const swing = rng.bool(s.swing.prob) ? uni(rng, s.swing.amount) : 0;
  s = source(rng, genre, knobs);
  const mode = pick(rng, s.modes);
  const family = isMajorMode(mode) ? s.progressions.major : s.progressions.minor;
  const progression = [...rng.pick(family)];
  const chordBars = pick(rng, s.chordBars);
  s = source(rng, genre, knobs);
  const density = uni(rng, s.density);
  const humanize = uni(rng, s.humanize);

  s = source(rng, genre, knobs);
  let drums: DrumParams | null = null;
  if (rng.bool(s.drums.prob)) {
    let pattern = pick(rng, s.drums.patterns);
    if (meter === 3) pattern = 'waltz';
    else if (meter === 6) pattern = 'ballad68';
    drums = { kit: pick(rng, s.drums.kits), pattern, gainDb: round(s.balance.drums + rng.uniform(-4, 2), 2), fills: round(rng.uniform(0.1, 0.8)), timbre: timbre(rng, s.brightness) };
  }
  const parts: PartParams[] = [];
  s = source(rng, genre, knobs);
  if (rng.bool(s.bass.prob)) parts.push(part(rng, 'bass', pick(rng, s.bass.instruments), pick(rng, s.bass.patterns), s));
  s = source(rng, genre, knobs);
  const nChords = pick(rng, s.chords.count);
  const used = new Set<InstrumentName>();
  for (let k = 0; k < nChords; k++) {
    const inst = pick(rng, s.chords.instruments);
    if (used.has(inst)) continue;
    used.add(inst);
    parts.push(part(rng, 'chords', inst, pick(rng, s.chords.patterns), s, k > 0 ? -2 : 0));
  }
  s = source(rng, genre, knobs);
  if (rng.bool(s.lead.prob)) parts.push(part(rng, 'lead', pick(rng, s.lead.instruments), pick(rng, s.lead.patterns), s));
  s = source(rng, genre, knobs);
  if (rng.bool(s.pad.prob)) parts.push(part(rng, 'pad', pick(rng, s.pad.instruments), 'sustain', s));
  if (parts.length === 0) parts.push(part(rng, 'chords', 'piano', 'sustain', s));

  s = source(rng, genre, knobs);
  const m = s.mix;
  const mix: MixParams = {
    reverb: round(uni(rng, m.reverb)), room: round(uni(rng, m.room)), tilt: round(uni(rng, m.tilt)),
    compression: round(uni(rng, m.compression)), noiseType: pick(rng, m.noise), noiseDb: round(uni(rng, m.noiseDb), 2),
    loudnessDb: round(uni(rng, m.loudnessDb), 2), lowpassHz: Math.round(uni(rng, m.lowpassHz)), busDrive: round(uni(rng, m.busDrive)), bassDb: round(uni(rng, m.bassDb), 2),
    midDb: round(uni(rng, m.midDb), 2), presenceDb: round(uni(rng, m.presenceDb), 2),
  };
  return {
    id, genre, albumId, seed: rng.nextU32(),
    tempo: round(tempo, 2), meter, swing: round(swing), key: rng.int(0, 11), mode, progression, chordBars,
    startBar: 0, density: round(density), humanize: round(humanize),
    drums, parts, mix,
  };
}

/** An album's shared sound: a prototype of its genre. */
export function planAlbumSound(rng: Rng, albumId: string, genre: string, knobs: PlanKnobs = DEFAULT_KNOBS): TrackParams {
  return drawPrototype(rng, albumId, genre, albumId, { ...knobs, overlap: knobs.overlap * 0.5 });
}

/**
 * One track of an album: a fresh prototype whose attribute groups are replaced by the album's
 * (slightly varied) with probability `cohesion`.
 */
export function planTrack(rng: Rng, id: string, genre: string, album: TrackParams, knobs: PlanKnobs = DEFAULT_KNOBS): TrackParams {
  const t = drawPrototype(rng, id, genre, album.albumId, knobs);
  const keep = () => rng.bool(knobs.cohesion);
  if (keep()) { t.meter = album.meter; t.tempo = round(clamp(album.tempo * rng.uniform(0.92, 1.08), 30, 240), 2); }
  if (keep()) t.swing = album.swing;
  if (keep()) { t.mode = album.mode; t.progression = [...album.progression]; t.chordBars = album.chordBars; }
  if (keep()) t.key = album.key;
  if (keep()) t.density = round(clamp(album.density + rng.uniform(-0.1, 0.1), 0, 1));
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
