/**
 * Rendering a planned track to samples: compose the score, synthesise each part into its own
 * buffer (with the part's insert effects), balance the parts by level, add the drum bus, then run
 * the master chain (tilt EQ, compression, saturation, reverb, band limit, loudness, noise, limiter).
 */
import { Rng } from '../../util/rng.js';
import type { PartParams, TrackParams } from './types.js';
import { compose } from './compose.js';
import { VOICES } from './instruments.js';
import { buildKit } from './drums.js';
import { midiToHz } from './theory.js';
import { applyBiquad, applyOnePoleHighpass, dbToGain, highpass, lowShelf, mixInto, peaking } from './dsp.js';
import { bandLimit, compress, distort, makeNoise, reverb, saturate, softLimit, tiltEq, tremolo } from './effects.js';

/**
 * Level of the louder passages: the 75th percentile of block RMS, so a part that rests half the
 * time is balanced by how loud it plays, not diluted by its silences.
 */
export function activeLevel(buf: Float32Array, block = 2048): number {
  const levels: number[] = [];
  for (let s = 0; s < buf.length; s += block) {
    let acc = 0;
    const e = Math.min(buf.length, s + block);
    for (let i = s; i < e; i++) acc += (buf[i] as number) * (buf[i] as number);
    levels.push(Math.sqrt(acc / Math.max(1, e - s)));
  }
  levels.sort((a, b) => a - b);
  return levels.length ? (levels[Math.floor(levels.length * 0.75)] as number) : 0;
}

/** Insert effects that belong to the instrument (body resonances, amp, rotary speaker). */
function insertEffects(buf: Float32Array, part: PartParams, sr: number): void {
  switch (part.instrument) {
    case 'strings': case 'fiddle': case 'bowedBass':
      applyBiquad(buf, peaking(450, 1.2, 3, sr));
      applyBiquad(buf, peaking(2800, 1.5, 4, sr));
      break;
    case 'acousticGuitar':
      applyBiquad(buf, peaking(220, 1, 4, sr));
      applyOnePoleHighpass(buf, 70, sr);
      break;
    case 'organ':
      tremolo(buf, 5.5 + 1.5 * part.timbre.vibrato, 0.1 + 0.25 * part.timbre.vibrato, sr);
      break;
    case 'vocal': case 'rapVocal':
      applyBiquad(buf, highpass(90, 0.7, sr));
      applyBiquad(buf, peaking(3000, 1, 3, sr));
      break;
    case 'sax':
      applyBiquad(buf, peaking(1200, 1.5, 4, sr));
      break;
    default:
  }
  if (part.drive > 0) distort(buf, part.drive, sr);
}

function fadeEdges(buf: Float32Array, sr: number): void {
  const n = Math.min(Math.round(0.01 * sr), Math.floor(buf.length / 2));
  for (let i = 0; i < n; i++) {
    const g = i / n;
    buf[i] = (buf[i] as number) * g;
    buf[buf.length - 1 - i] = (buf[buf.length - 1 - i] as number) * g;
  }
}

/** Render a track to mono samples in [-1, 1]: `seconds` long at `sampleRate`. Deterministic for a plan. */
export function renderTrack(p: TrackParams, sampleRate: number, seconds: number): Float32Array {
  const sr = sampleRate;
  const n = Math.max(1, Math.round(seconds * sr));
  const rng = new Rng(p.seed);
  const score = compose(p, seconds, rng.fork());
  const master = new Float32Array(n); // [n]
  for (const ps of score.parts) {
    const buf = new Float32Array(n);
    const voice = VOICES[ps.part.instrument];
    const vr = rng.fork();
    for (const e of ps.notes) {
      const start = Math.round(e.t * sr);
      if (start >= n) continue;
      voice(buf, { start, gate: Math.max(1, Math.round(e.dur * sr)), freq: midiToHz(e.midi), vel: e.vel }, ps.part.timbre, sr, vr);
    }
    insertEffects(buf, ps.part, sr);
    const level = activeLevel(buf);
    if (level > 0) mixInto(master, buf, 0, (0.1 * dbToGain(ps.part.gainDb)) / level);
  }
  if (p.drums) {
    const kit = buildKit(p.drums.kit, p.drums.timbre, sr, rng.fork());
    const bus = new Float32Array(n);
    for (const h of score.drums) mixInto(bus, kit[h.drum], Math.round(h.t * sr), h.vel);
    compress(bus, 0.3, sr);
    const level = activeLevel(bus);
    if (level > 0) mixInto(master, bus, 0, (0.12 * dbToGain(p.drums.gainDb)) / level);
  }
  const m = p.mix;
  applyOnePoleHighpass(master, 30, sr);
  tiltEq(master, m.tilt, sr);
  if (m.bassDb !== 0) applyBiquad(master, lowShelf(150, m.bassDb, sr));
  if (m.midDb !== 0) applyBiquad(master, peaking(900, 0.8, m.midDb, sr));
  if (m.presenceDb !== 0) applyBiquad(master, peaking(3000, 1, m.presenceDb, sr));
  compress(master, m.compression, sr);
  const pre = activeLevel(master) || 1;
  for (let i = 0; i < n; i++) master[i] = (master[i] as number) * (0.3 / pre);
  saturate(master, m.busDrive);
  reverb(master, m.reverb, m.room, sr);
  bandLimit(master, m.lowpassHz, sr);
  let acc = 0;
  for (let i = 0; i < n; i++) acc += (master[i] as number) * (master[i] as number);
  const r = Math.sqrt(acc / n) || 1;
  const target = dbToGain(m.loudnessDb);
  const noise = makeNoise(m.noiseType, n, sr, rng.fork());
  const noiseGain = target * dbToGain(m.noiseDb);
  for (let i = 0; i < n; i++) master[i] = ((master[i] as number) * target) / r + (noise[i] as number) * noiseGain;
  softLimit(master);
  fadeEdges(master, sr);
  return master;
}
