/**
 * The composer: turns a track's parameters into a score (note events per part and drum hits) on
 * a sixteenth-note grid with swing and human timing. Every choice below the plan (which chord tone,
 * which fill) is drawn from the track's own seed, so the score is a pure function of the plan.
 */
import type { Rng } from '../../util/rng.js';
import type { PartParams, TrackParams } from './types.js';
import { BLUES_SCALE, MAJOR_PENTATONIC, MINOR_PENTATONIC, MODE_STEPS, isMajorMode, parseChord, voiceChord, type Chord } from './theory.js';
import { HOME_PITCH } from './instruments.js';
import { DRUM_PATTERNS, type DrumName } from './drums.js';

export interface NoteEvent {
  /** Onset, seconds from the start of the clip. */
  t: number;
  dur: number;
  midi: number;
  vel: number;
}

export interface DrumHit {
  t: number;
  drum: DrumName;
  vel: number;
}

export interface PartScore {
  part: PartParams;
  notes: NoteEvent[];
}

export interface Score {
  parts: PartScore[];
  drums: DrumHit[];
}

/** The metric grid: bars of beats of sixteenth steps (six per dotted-quarter beat in 6/8). */
export interface Grid {
  beatsPerBar: number;
  stepsPerBeat: number;
  stepsPerBar: number;
  beatS: number;
  stepS: number;
  barS: number;
  swing: number;
  nBars: number;
}

export function makeGrid(p: TrackParams, seconds: number): Grid {
  const beatsPerBar = p.meter === 6 ? 2 : p.meter;
  const stepsPerBeat = p.meter === 6 ? 6 : 4;
  const beatS = 60 / p.tempo;
  const barS = beatS * beatsPerBar;
  return {
    beatsPerBar, stepsPerBeat, stepsPerBar: beatsPerBar * stepsPerBeat, beatS, stepS: beatS / stepsPerBeat, barS,
    swing: stepsPerBeat === 4 ? p.swing : 0, nBars: Math.ceil(seconds / barS) + 1,
  };
}

/** Onset time of a step; swing delays the off-beat eighth toward the triplet position. */
export function stepTime(g: Grid, bar: number, step: number): number {
  const beat = Math.floor(step / g.stepsPerBeat);
  const s = step - beat * g.stepsPerBeat;
  let frac = s / g.stepsPerBeat;
  if (g.swing > 0 && g.stepsPerBeat === 4) {
    const off = 0.5 + g.swing / 6;
    frac = s === 0 ? 0 : s === 1 ? off / 2 : s === 2 ? off : (off + 1) / 2;
  }
  return bar * g.barS + (beat + frac) * g.beatS;
}

interface Ctx {
  p: TrackParams;
  g: Grid;
  rng: Rng;
  chords: Chord[];
  /** Steps per chord. */
  chordSteps: number;
  hasBass: boolean;
}

function chordAt(c: Ctx, bar: number, step: number): Chord {
  const abs = bar * c.g.stepsPerBar + step;
  const idx = Math.floor(abs / c.chordSteps) + c.p.startBar;
  return c.chords[idx % c.chords.length] as Chord;
}

/** Whether a chord change happens at this step. */
function chordStarts(c: Ctx, bar: number, step: number): boolean {
  return (bar * c.g.stepsPerBar + step) % c.chordSteps === 0;
}

/** Steps until the next chord change. */
function stepsToChange(c: Ctx, bar: number, step: number): number {
  const abs = bar * c.g.stepsPerBar + step;
  return c.chordSteps - (abs % c.chordSteps);
}

/** A pitch with pitch class (key + interval) nearest above `low`. */
function placeAbove(pc: number, low: number): number {
  return low + ((((pc - low) % 12) + 12) % 12);
}

function rootNear(c: Ctx, chord: Chord, center: number): number {
  return placeAbove(c.p.key + chord.root, center - 6);
}

function note(c: Ctx, bar: number, step: number, durSteps: number, midi: number, vel: number): NoteEvent {
  const t = stepTime(c.g, bar, step);
  const end = stepTime(c.g, bar, step + durSteps);
  return { t, dur: Math.max(0.03, end - t), midi, vel };
}

/** The chord's third, or for a chord without one (power chord, sus4) the mode's third above its root. */
function chordThird(c: Ctx, chord: Chord): number {
  if (chord.tones.includes(3)) return 3;
  if (chord.tones.includes(4)) return 4;
  return MODE_STEPS[c.p.mode].includes((chord.root + 3) % 12) ? 3 : 4;
}

function bassLine(c: Ctx, part: PartParams): NoteEvent[] {
  const { g, rng } = c;
  const home = HOME_PITCH[part.instrument] + part.octave;
  const out: NoteEvent[] = [];
  const eighth = 2;
  const pattern = part.pattern;
  const boogie = [0, 0, 4, 4, 7, 7, 9, 9, 10, 10, 9, 9, 7, 7, 4, 4];
  const reggaeTemplates = ['..x.x.x...x.x...', '..x.xx....x..x..', '....x.x.x...x.x.'];
  const template = pattern === 'reggae' ? rng.pick(reggaeTemplates) : 'x..x..x.x..x..x.';
  let walkPitch = home;
  for (let bar = 0; bar < g.nBars; bar++) {
    for (let step = 0; step < g.stepsPerBar; step++) {
      const chord = chordAt(c, bar, step);
      const root = rootNear(c, chord, home);
      const third = chordThird(c, chord);
      const seventh = chord.tones.includes(11) ? 11 : 10;
      const onBeat = step % g.stepsPerBeat === 0;
      switch (pattern) {
        case 'root':
          if (step === 0 || chordStarts(c, bar, step)) out.push(note(c, bar, step, Math.min(stepsToChange(c, bar, step), g.stepsPerBar - step) * 0.95, root, 0.9));
          break;
        case 'rootEighths':
          if (step % eighth === 0) {
            const last = step === g.stepsPerBar - eighth && rng.bool(0.3);
            out.push(note(c, bar, step, eighth * 0.8, last ? root + (rng.bool() ? 7 : 12) : root, onBeat ? 0.95 : 0.8));
          }
          break;
        case 'gallop':
          if ('x.xxx.xxx.xxx.xx'[step % 16] === 'x') out.push(note(c, bar, step, 0.9, root, onBeat ? 1 : 0.8));
          break;
        case 'walking':
          if (onBeat) {
            let m: number;
            if (chordStarts(c, bar, step)) m = root;
            else if (stepsToChange(c, bar, step) <= g.stepsPerBeat) {
              const next = rootNear(c, chordAt(c, bar, step + g.stepsPerBeat), walkPitch);
              m = next + (rng.bool() ? 1 : -1);
            } else {
              const tones = chord.tones.filter((t) => t < 12).map((t) => placeAbove(c.p.key + chord.root + t, walkPitch - 6));
              m = rng.pick(tones);
            }
            if (m > home + 9) m -= 12;
            if (m < home - 8) m += 12;
            walkPitch = m;
            out.push(note(c, bar, step, g.stepsPerBeat * 0.92, m, 0.85 + 0.1 * rng.next()));
          }
          break;
        case 'boogie':
          if (step % eighth === 0) {
            const k = ((bar % 2) * g.stepsPerBar + step) / eighth;
            const iv = (boogie[k % boogie.length] as number) === 4 ? third : (boogie[k % boogie.length] as number);
            out.push(note(c, bar, step, eighth * 0.9, root + iv, onBeat ? 0.95 : 0.75));
          }
          break;
        case 'boomChick':
          if (step === 0) out.push(note(c, bar, step, g.stepsPerBeat * 0.9, root, 0.95));
          else if (g.beatsPerBar >= 4 && step === 2 * g.stepsPerBeat) out.push(note(c, bar, step, g.stepsPerBeat * 0.9, root - 5, 0.85));
          else if (g.beatsPerBar === 3 && step === 2 * g.stepsPerBeat && rng.bool(0.3)) out.push(note(c, bar, step, g.stepsPerBeat * 0.8, root + 7, 0.7));
          break;
        case 'octave':
          if (step % eighth === 0) out.push(note(c, bar, step, eighth * 0.6, (step / eighth) % 2 ? root + 12 : root, (step / eighth) % 2 ? 0.8 : 0.95));
          break;
        case 'sub':
          if (step === 0) out.push(note(c, bar, step, g.stepsPerBeat * 1.5, root, 1));
          else if ((step === 7 || step === 10) && g.stepsPerBar === 16 && rng.bool(0.3 + 0.5 * c.p.density)) out.push(note(c, bar, step, g.stepsPerBeat * 0.75, root, 0.85));
          break;
        case 'reggae':
        case 'syncopated':
          if (template[step % 16] === 'x' && g.stepsPerBar === 16) {
            const iv = rng.pick([0, 0, 7, 12, third, seventh]);
            out.push(note(c, bar, step, pattern === 'reggae' ? 2.5 : 1.8, root + iv, onBeat ? 0.95 : 0.8));
          } else if (g.stepsPerBar !== 16 && (step === 0 || step === g.stepsPerBar / 2)) {
            out.push(note(c, bar, step, g.stepsPerBeat, root, 0.9));
          }
          break;
        default:
          if (step === 0) out.push(note(c, bar, step, g.stepsPerBar * 0.95, root, 0.9));
      }
    }
  }
  return out;
}

function chordPart(c: Ctx, part: PartParams): NoteEvent[] {
  const { g, rng, p } = c;
  const home = HOME_PITCH[part.instrument] + part.octave;
  const low = home - 5;
  const out: NoteEvent[] = [];
  const pattern = part.pattern;
  const stabTemplate = rng.pick(['x..x..x...x.x...', '..x...x...x..x..', 'x.x...x.x.x...x.']);
  const arpRate = p.density > 0.55 ? 1 : 2;
  const strumRate = p.density > 0.5 ? 2 : g.stepsPerBeat;
  const strumDelay = 0.008 + 0.01 * part.timbre.attack;
  const voicing = (chord: Chord): number[] => {
    let v = voiceChord(chord, p.key, low);
    if (pattern === 'comp' && c.hasBass && v.length > 3) v = v.filter((m) => (m - p.key - chord.root + 120) % 12 !== 0);
    return v;
  };
  const hit = (bar: number, step: number, durSteps: number, notes: number[], vel: number, spread = 0, up = false) => {
    const ordered = up ? [...notes].reverse() : notes;
    ordered.forEach((m, k) => {
      const e = note(c, bar, step, durSteps, m, vel * (1 - 0.04 * k));
      e.t += k * spread;
      out.push(e);
    });
  };
  for (let bar = 0; bar < g.nBars; bar++) {
    const compHits = new Set<number>();
    if (pattern === 'comp') {
      const slots = g.stepsPerBar === 16 ? [0, 2, 3, 4, 6, 7, 8, 10, 11, 12, 14] : Array.from({ length: g.stepsPerBar / 2 }, (_, k) => k * 2);
      const n = 1 + Math.floor(p.density * 3 * rng.next() + 0.5);
      for (let k = 0; k < n; k++) compHits.add(rng.pick(slots));
    }
    for (let step = 0; step < g.stepsPerBar; step++) {
      const chord = chordAt(c, bar, step);
      const onBeat = step % g.stepsPerBeat === 0;
      const v = voicing(chord);
      switch (pattern) {
        case 'sustain':
          if (step === 0 || chordStarts(c, bar, step)) hit(bar, step, Math.min(stepsToChange(c, bar, step), g.stepsPerBar - step), v, 0.7);
          break;
        case 'strum':
          if (step % strumRate === 0) {
            const up = strumRate === 2 && (step / 2) % 2 === 1;
            hit(bar, step, strumRate * 0.95, up ? v.slice(-3) : v, up ? 0.6 : onBeat ? 0.9 : 0.75, strumDelay, up);
          }
          break;
        case 'pump':
          if (step % 2 === 0) hit(bar, step, 1.6, v, onBeat ? 0.8 : 0.65);
          break;
        case 'skank':
          if (step % g.stepsPerBeat === g.stepsPerBeat / 2) hit(bar, step, 1.3, v, 0.8, 0.004);
          break;
        case 'comp':
          if (compHits.has(step)) hit(bar, step, 1 + Math.floor(rng.next() * 4), v, 0.6 + 0.3 * rng.next(), 0.006);
          break;
        case 'stabs':
          if (stabTemplate[step % 16] === 'x') hit(bar, step, 1, v, 0.8);
          break;
        case 'arp':
        case 'alberti': {
          if (step % arpRate !== 0) break;
          const k = step / arpRate;
          const ext = [...v, ...v.map((m) => m + 12)];
          let m: number;
          if (pattern === 'alberti') {
            const seq = [0, v.length - 1, Math.min(1, v.length - 1), v.length - 1];
            m = v[seq[k % 4] as number] as number;
          } else {
            const cyc = ext.length * 2 - 2;
            const i = k % cyc;
            m = ext[i < ext.length ? i : cyc - i] as number;
          }
          out.push(note(c, bar, step, arpRate * 1.8, m, onBeat ? 0.75 : 0.6));
          break;
        }
        case 'power': {
          const root = placeAbove(p.key + chord.root, HOME_PITCH.distGuitar - 12 + part.octave);
          const pc = [root, root + 7, root + 12];
          if (p.density < 0.55 && rng.bool(0.1) && step === 0) hit(bar, 0, g.stepsPerBar, pc, 0.9, 0.004);
          else if (step % 2 === 0) hit(bar, step, 1.2, pc, onBeat ? 1 : 0.8, 0.003);
          break;
        }
        default:
          if (step === 0) hit(bar, step, g.stepsPerBar, v, 0.7);
      }
    }
  }
  return out;
}

/**
 * A scale note that rubs a semitone against a chord tone the mode does not contain (dorian's 6th
 * over a borrowed bVI, natural minor's b7 over a major V) takes that chord tone instead, so the
 * melody follows the harmony that is sounding rather than clashing with it.
 */
function fitToChord(c: Ctx, bar: number, step: number, midi: number, scale: readonly number[]): number {
  const chord = chordAt(c, bar, step);
  const rel = (m: number) => (((m - c.p.key) % 12) + 12) % 12;
  const tones = chord.tones.map((t) => (chord.root + t) % 12);
  const pc = rel(midi);
  if (tones.includes(pc)) return midi;
  for (const d of [1, -1]) {
    const t = (pc + d + 12) % 12;
    if (tones.includes(t) && !scale.includes(t)) return midi + d;
  }
  return midi;
}

function leadScale(c: Ctx, part: PartParams): readonly number[] {
  const p = c.p;
  const dominant = p.progression.some((s) => /7$|9$/.test(s) && /^[b#]?[IV]+/.test(s));
  if (part.pattern === 'solo' && dominant && isMajorMode(p.mode)) return BLUES_SCALE;
  if (part.pattern === 'riff') return isMajorMode(p.mode) ? (c.rng.bool() ? MAJOR_PENTATONIC : BLUES_SCALE) : MINOR_PENTATONIC;
  return MODE_STEPS[p.mode];
}

/** Pitches of a scale within [lo, hi], ascending. */
function scalePitches(key: number, scale: readonly number[], lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let m = lo; m <= hi; m++) if (scale.includes((((m - key) % 12) + 12) % 12)) out.push(m);
  return out;
}

function nearestIndex(pitches: number[], midi: number): number {
  let best = 0;
  for (let k = 1; k < pitches.length; k++) if (Math.abs((pitches[k] as number) - midi) < Math.abs((pitches[best] as number) - midi)) best = k;
  return best;
}

function leadLine(c: Ctx, part: PartParams): NoteEvent[] {
  const { g, rng, p } = c;
  const home = HOME_PITCH[part.instrument] + part.octave;
  const scale = leadScale(c, part);
  const pitches = scalePitches(p.key, scale, home - 8, home + 10);
  const out: NoteEvent[] = [];
  const d = p.density;
  const chordTone = (bar: number, step: number, near: number): number => {
    const chord = chordAt(c, bar, step);
    const cands = chord.tones.map((t) => placeAbove(p.key + chord.root + t, near - 6));
    return cands.reduce((a, b) => (Math.abs(b - near) < Math.abs(a - near) ? b : a));
  };
  if (part.pattern === 'rap') {
    let pitch = home;
    for (let bar = 0; bar < g.nBars; bar++) {
      const breath = bar % 2 === 1 ? 2 + rng.int(0, 3) : 0;
      for (let step = 0; step < g.stepsPerBar - breath; step++) {
        const strong = step % 2 === 0;
        if (!rng.bool((strong ? 0.55 : 0.3) + 0.35 * d)) continue;
        pitch = Math.max(home - 3, Math.min(home + 4, pitch + rng.int(-1, 1)));
        out.push(note(c, bar, step, rng.bool(0.3) ? 1.8 : 0.9, pitch, step % g.stepsPerBeat === 0 ? 0.95 : 0.75));
      }
    }
    return out;
  }
  if (part.pattern === 'riff') {
    const steps = g.stepsPerBar;
    const rate = d > 0.7 ? 1 : 2;
    const motif: Array<{ step: number; deg: number; len: number }> = [];
    let deg = rng.int(0, 2);
    for (let s = 0; s < steps; s += rate) {
      if (s > 0 && !rng.bool(0.45 + 0.4 * d)) continue;
      deg = Math.max(-3, Math.min(6, deg + rng.int(-2, 2)));
      motif.push({ step: s, deg, len: rate * (rng.bool(0.3) ? 2 : 1) });
    }
    const base = scalePitches(p.key, scale, home - 12, home + 24);
    const b0 = nearestIndex(base, home - 2);
    for (let bar = 0; bar < g.nBars; bar++) {
      const chord = chordAt(c, bar, 0);
      const shift = ((chord.root + 6) % 12) - 6;
      for (const m of motif) {
        const midi = (base[Math.max(0, Math.min(base.length - 1, b0 + m.deg))] as number) + (Math.abs(shift) <= 5 ? shift : 0);
        out.push(note(c, bar, m.step, m.len * 0.9, midi, m.step % g.stepsPerBeat === 0 ? 0.95 : 0.8));
      }
    }
    return out;
  }
  // melody / sparse / solo: two-bar phrases, motif repetition A A' B A', phrase-end rests.
  const phraseBars = 2;
  const rate = part.pattern === 'solo' ? (d > 0.6 ? 1 : 2) : part.pattern === 'sparse' ? g.stepsPerBeat : 2;
  const onsetP = part.pattern === 'solo' ? 0.55 + 0.35 * d : part.pattern === 'sparse' ? 0.35 : 0.3 + 0.45 * d;
  const makeRhythm = (): number[] => {
    const onsets: number[] = [];
    const total = phraseBars * g.stepsPerBar;
    const stop = total - (part.pattern === 'solo' ? g.stepsPerBeat : 2 * g.stepsPerBeat);
    for (let s = 0; s < stop; s += rate) {
      const strong = s % g.stepsPerBeat === 0;
      if (s === 0 || rng.bool(strong ? Math.min(0.95, onsetP + 0.2) : onsetP)) onsets.push(s);
    }
    return onsets;
  };
  const makeMoves = (n: number): number[] => Array.from({ length: n }, () => (rng.bool(0.75) ? rng.pick([-1, 1, -2, 2, 1, -1]) : rng.pick([-4, -3, 3, 4])));
  const A = { rhythm: makeRhythm(), moves: [] as number[] };
  A.moves = makeMoves(A.rhythm.length);
  const B = { rhythm: makeRhythm(), moves: [] as number[] };
  B.moves = makeMoves(B.rhythm.length);
  const restPhrase = part.instrument === 'vocal' ? 0.25 : 0.12;
  let idx = nearestIndex(pitches, home);
  const nPhrases = Math.ceil(g.nBars / phraseBars);
  for (let ph = 0; ph < nPhrases; ph++) {
    if (ph > 0 && rng.bool(restPhrase)) continue;
    const src = ph % 4 === 2 ? B : A;
    const variant = ph % 2 === 1;
    const startBar = ph * phraseBars;
    idx = nearestIndex(pitches, chordTone(startBar, 0, pitches[idx] as number));
    src.rhythm.forEach((s, k) => {
      const bar = startBar + Math.floor(s / g.stepsPerBar);
      const step = s % g.stepsPerBar;
      let move = src.moves[k] as number;
      if (variant && k >= src.rhythm.length - 2) move = rng.int(-2, 2);
      if (k > 0) idx = Math.max(0, Math.min(pitches.length - 1, idx + move));
      let midi = pitches[idx] as number;
      if (step % g.stepsPerBeat === 0 && part.pattern !== 'solo') {
        midi = chordTone(bar, step, midi);
        idx = nearestIndex(pitches, midi);
      } else if (scale !== BLUES_SCALE) {
        midi = fitToChord(c, bar, step, midi, scale);
      }
      const next = src.rhythm[k + 1] ?? phraseBars * g.stepsPerBar;
      const lenSteps = Math.min(next - s, 2 * g.stepsPerBeat) * (part.pattern === 'solo' ? 0.85 : 0.92);
      const vel = (step % g.stepsPerBeat === 0 ? 0.9 : 0.75) + 0.1 * rng.next();
      if (part.pattern === 'solo' && rng.bool(0.12) && lenSteps >= 2) {
        // A bent note: a short grace a semitone or tone below, sliding into the target.
        out.push(note(c, bar, step, 0.4, midi - rng.int(1, 2), vel * 0.8));
        const e = note(c, bar, step, lenSteps, midi, vel);
        e.t += g.stepS * 0.4;
        e.dur = Math.max(0.03, e.dur - g.stepS * 0.4);
        out.push(e);
      } else {
        out.push(note(c, bar, step, lenSteps, midi, vel));
      }
    });
  }
  return out;
}

function drumPart(c: Ctx): DrumHit[] {
  const { p, g, rng } = c;
  if (!p.drums) return [];
  const lanes = DRUM_PATTERNS[p.drums.pattern] ?? (DRUM_PATTERNS.rock as NonNullable<(typeof DRUM_PATTERNS)[string]>);
  const hits: DrumHit[] = [];
  const d = p.density;
  const crashPhrases = p.drums.kit !== 'brush' && rng.bool(0.6);
  const busyHats = d > 0.72 && rng.bool(0.6);
  const ghosts = p.drums.kit !== 'heavy' && rng.bool(0.3 + 0.5 * d);
  const rolls = p.drums.pattern === 'trap';
  for (let bar = 0; bar < g.nBars; bar++) {
    const fill = bar % 4 === 3 && rng.bool(p.drums.fills);
    const fillFrom = g.stepsPerBar - g.stepsPerBeat;
    for (let step = 0; step < g.stepsPerBar; step++) {
      if (fill && step >= fillFrom) {
        const k = step - fillFrom;
        const drum: DrumName = k < g.stepsPerBeat / 2 ? 'snare' : k % 2 ? 'tomL' : 'tomH';
        hits.push({ t: stepTime(g, bar, step), drum, vel: 0.6 + 0.3 * (k / g.stepsPerBeat) });
        if (step === fillFrom) hits.push({ t: stepTime(g, bar, step), drum: 'kick', vel: 0.9 });
        continue;
      }
      for (const [name, lane] of Object.entries(lanes) as Array<[DrumName, string]>) {
        const ch = lane[step % lane.length];
        if (ch === 'x' || ch === 'o') hits.push({ t: stepTime(g, bar, step), drum: name, vel: ch === 'x' ? 0.9 : 0.5 });
        else if (name === 'hatC' && busyHats && step % 2 === 1) hits.push({ t: stepTime(g, bar, step), drum: 'hatC', vel: 0.35 });
        else if (name === 'snare' && ghosts && rng.bool(0.08 + 0.1 * d)) hits.push({ t: stepTime(g, bar, step), drum: 'snare', vel: 0.25 });
        if (rolls && name === 'hatC' && rng.bool(0.08)) hits.push({ t: stepTime(g, bar, step) + g.stepS / 2, drum: 'hatC', vel: 0.5 });
      }
      if (crashPhrases && bar % 4 === 0 && step === 0) hits.push({ t: stepTime(g, bar, 0), drum: 'crash', vel: 0.8 });
    }
  }
  return hits;
}

/** Compose the whole clip. */
export function compose(p: TrackParams, seconds: number, rng: Rng): Score {
  const g = makeGrid(p, seconds);
  const chords = p.progression.map(parseChord);
  const chordSteps = Math.max(1, Math.round(p.chordBars * g.stepsPerBar));
  const ctx: Ctx = { p, g, rng, chords, chordSteps, hasBass: p.parts.some((q) => q.role === 'bass') };
  const jitter = 0.014 * p.humanize;
  const humanize = <T extends { t: number; vel: number }>(events: T[]): T[] =>
    events
      .map((e) => ({ ...e, t: Math.max(0, e.t + rng.normal(0, jitter)), vel: Math.min(1, Math.max(0.05, e.vel * (1 + rng.normal(0, 0.15 * p.humanize)))) }))
      .filter((e) => e.t < seconds);
  // Articulation scales how much of each written note is held: legato slightly overlaps the next
  // note, staccato keeps about a third. Pads always sustain.
  const held = 1.1 - 0.75 * p.articulation;
  const parts = p.parts.map((part) => {
    let notes: NoteEvent[];
    if (part.role === 'bass') notes = bassLine(ctx, part);
    else if (part.role === 'lead') notes = leadLine(ctx, part);
    else notes = chordPart(ctx, part);
    if (part.role !== 'pad') for (const e of notes) e.dur = Math.max(0.03, e.dur * held);
    return { part, notes: humanize(notes) };
  });
  return { parts, drums: humanize(drumPart(ctx)) };
}
