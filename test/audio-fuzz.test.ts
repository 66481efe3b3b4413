/**
 * A seeded mutation fuzz of the decoders (issue 14): a few hundred mutants of small WAV, MP3,
 * Ogg Vorbis and FLAC files (the generated fixtures, plus the head of a real clip from
 * ../shared/data when present) — bit flips, overwritten runs, cuts, insertions, duplicated
 * stretches, absurd header fields. Every mutant must decode or fail with a MusicBertError, within
 * a time bound, on the in-memory path, and a sample of them on the streamed file path as well.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeAudio } from '../src/audio/decode.js';
import { samplesFromFile } from '../src/audio/stream.js';
import { encodeWav } from '../src/audio/wavWrite.js';
import { MusicBertError } from '../src/util/errors.js';
import { Rng } from '../src/util/rng.js';
import { repoRoot, sharedDir, tempDir } from './shared.js';

const tmp = tempDir('mb-fuzz-');
const fixtures = join(repoRoot, 'test', 'fixtures');
/** Per-mutant bound: far above any real decode of these small files; a hang shows as a failure. */
const MUTANT_LIMIT_MS = 10_000;
const opts = { maxSeconds: 120, onWarning: () => undefined };

function seeds(): Array<{ name: string; bytes: Uint8Array }> {
  const tone = Float32Array.from({ length: 4000 }, (_, i) => 0.4 * Math.sin(i * 0.11));
  const out = [
    { name: 'gen.wav', bytes: encodeWav([tone, tone.map((v) => -v)], 22050, 'pcm16') },
    { name: 'gen-float.wav', bytes: encodeWav([tone], 16000, 'float32') },
    ...['audio-tone880.mp3', 'audio-tone660.ogg', 'audio-tone1000.flac'].map((f) => ({ name: f, bytes: new Uint8Array(readFileSync(join(fixtures, f))) })),
  ];
  // Real audio where ../shared is present: the first 16 KB of one clip (a truncated but real stream).
  const real = join(sharedDir, 'data', 'real_clips', 'audio');
  if (existsSync(real)) {
    const ogg = readdirSync(real).filter((f) => f.endsWith('.ogg')).sort()[0];
    if (ogg) out.push({ name: `real:${ogg}`, bytes: new Uint8Array(readFileSync(join(real, ogg)).subarray(0, 16 * 1024)) });
  }
  return out;
}

/** One mutant of `b`, its kind chosen by `rng`. */
function mutate(b: Uint8Array, rng: Rng): { kind: string; bytes: Uint8Array } {
  const m = b.slice();
  const at = rng.int(0, b.length - 1);
  switch (rng.int(0, 6)) {
    case 0: {
      for (let k = rng.int(1, 8); k > 0; k--) {
        const i = rng.int(0, m.length - 1);
        m[i] = (m[i] as number) ^ (1 << rng.int(0, 7));
      }
      return { kind: 'bit flips', bytes: m };
    }
    case 1: {
      const n = rng.int(1, 256);
      for (let i = at; i < Math.min(m.length, at + n); i++) m[i] = rng.int(0, 255);
      return { kind: 'random run', bytes: m };
    }
    case 2:
      return { kind: 'cut', bytes: b.slice(0, at) };
    case 3: {
      const ins = Uint8Array.from({ length: rng.int(1, 512) }, () => rng.int(0, 255));
      const out = new Uint8Array(b.length + ins.length);
      out.set(b.subarray(0, at));
      out.set(ins, at);
      out.set(b.subarray(at), at + ins.length);
      return { kind: 'insertion', bytes: out };
    }
    case 4: {
      const len = rng.int(1, Math.min(4096, b.length - at));
      const out = new Uint8Array(b.length + len);
      out.set(b.subarray(0, at + len));
      out.set(b.subarray(at, at + len), at + len);
      out.set(b.subarray(at + len), at + 2 * len);
      return { kind: 'duplicated stretch', bytes: out };
    }
    case 5: {
      // Header fields: 0x00 / 0xff runs in the first 64 bytes (sizes, rates, channel counts).
      const i = rng.int(4, Math.min(60, m.length - 1));
      const v = rng.bool() ? 0xff : 0x00;
      for (let k = i; k < Math.min(m.length, i + rng.int(1, 4)); k++) m[k] = v;
      return { kind: 'header field', bytes: m };
    }
    default: {
      const n = rng.int(1, 64);
      for (let i = at; i < Math.min(m.length, at + n); i++) m[i] = 0;
      return { kind: 'zeroed run', bytes: m };
    }
  }
}

function bounded<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hang: ${what} took over ${MUTANT_LIMIT_MS} ms`)), MUTANT_LIMIT_MS);
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

test('seeded mutation fuzz: every mutant decodes or fails with a typed error, none hangs', async () => {
  const rng = new Rng(14);
  const files = seeds();
  const perFile = Math.ceil(320 / files.length);
  let decoded = 0;
  let refused = 0;
  const codes = new Map<string, number>();
  for (const f of files) {
    for (let k = 0; k < perFile; k++) {
      const { kind, bytes } = mutate(f.bytes, rng);
      const what = `${f.name} mutant ${k} (${kind}, ${bytes.length} bytes)`;
      const paths: Array<() => Promise<unknown>> = [() => decodeAudio(bytes, what, opts)];
      if (k % 6 === 0) {
        const path = join(tmp, `m${k}-${f.name.replace(/[^\w.]/g, '_')}`);
        writeFileSync(path, bytes);
        paths.push(() => samplesFromFile(path, opts));
      }
      for (const run of paths) {
        try {
          await bounded(run(), what);
          decoded++;
        } catch (err) {
          assert.ok(err instanceof MusicBertError, `${what}: untyped ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`);
          codes.set(err.code, (codes.get(err.code) ?? 0) + 1);
          refused++;
        }
      }
    }
  }
  assert.ok(decoded + refused >= 300, `${decoded + refused} runs`);
  assert.ok(decoded > 0 && refused > 0, `decoded ${decoded}, refused ${refused}`);
  for (const code of codes.keys()) assert.ok(['AUDIO_DECODE', 'AUDIO_INVALID'].includes(code), code);
});
