/**
 * The whole per-file path on real files: ../shared/data/real_dev MP3s (32 kHz stereo) and a 30 s
 * 44.1 kHz stereo WAV. Per file, one core: decode, downmix, resample to 16 kHz (the polyphase FIR,
 * beside libsamplerate SINC_MEDIUM, the converter it replaced), log-mel, then the front end as
 * `index` runs it (logMelFromFile: decode → log-mel, streamed) and the whole embedding with the
 * `small` preset's shapes (encoder + model, random weights: speed does not depend on training).
 * Peer in the same run: `ffmpeg -i FILE -ac 1 -ar 16000 -f f32le -` (decode and resample).
 * Every figure is × real time (audio seconds per wall second). REAL_BENCH_FILES sets the count (default 5).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import samplerate from '@alexanderolsen/libsamplerate-js';
import { decodeAudio } from '../src/audio/decode.js';
import { logMel } from '../src/audio/logmel.js';
import { toMono } from '../src/audio/mono.js';
import { resample } from '../src/audio/resample.js';
import { logMelFromFile } from '../src/audio/stream.js';
import { encodeWav } from '../src/audio/wavWrite.js';
import { ready } from '../src/tensor/backend.js';
import { Rng } from '../src/util/rng.js';
import type { Benchmark } from './benchmarks.js';
import { sharedDir } from './peers.js';
import { smallSpace } from './search.js';

const r1 = (x: number) => +x.toFixed(1);

function mp3s(dir: string, n: number): string[] {
  const out: string[] = [];
  const visit = (d: string) => {
    for (const e of readdirSync(d).sort()) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) visit(p);
      else if (e.endsWith('.mp3')) out.push(p);
      if (out.length >= n) return;
    }
  };
  if (existsSync(dir)) visit(dir);
  return out.slice(0, n);
}

async function libsamplerateMedium(x: Float32Array, from: number): Promise<Float32Array> {
  const src = await samplerate.create(1, from, 16000, { converterType: samplerate.ConverterType.SRC_SINC_MEDIUM_QUALITY });
  try {
    const out: Float32Array[] = [];
    for (let o = 0; o < x.length; o += 16384) out.push(src.full(x.subarray(o, Math.min(x.length, o + 16384))).slice());
    return Float32Array.from(out.flatMap((a) => [...a]));
  } finally {
    src.destroy();
  }
}

async function timeIt<T>(fn: () => Promise<T> | T): Promise<[number, T]> {
  const t0 = performance.now();
  const v = await fn();
  return [(performance.now() - t0) / 1000, v];
}

async function measure(files: string[], space: ReturnType<typeof smallSpace>) {
  const s = { audio: 0, decode: 0, downmix: 0, fir: 0, libsamplerate: 0, logmel: 0, frontEnd: 0, embed: 0, ffmpeg: 0 };
  let ffmpegOk = true;
  for (const f of files) {
    const [td, dec] = await timeIt(() => decodeAudio(f));
    const [tm, mono] = await timeIt(() => toMono(dec.channels));
    const [tr, y] = await timeIt(() => resample(mono, dec.sampleRate, 16000));
    const [tl] = await timeIt(() => libsamplerateMedium(mono, dec.sampleRate));
    const [tg] = await timeIt(() => logMel(y, 16000));
    const [tf] = await timeIt(() => logMelFromFile(f));
    const [te] = await timeIt(() => space.embedAudio(f));
    const [tp, r] = await timeIt(() => spawnSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-i', f, '-ac', '1', '-ar', '16000', '-f', 'f32le', '-'], { maxBuffer: 1 << 28 }));
    if (r.status !== 0) ffmpegOk = false;
    s.audio += mono.length / dec.sampleRate;
    s.decode += td; s.downmix += tm; s.fir += tr; s.libsamplerate += tl; s.logmel += tg; s.frontEnd += tf; s.embed += te; s.ffmpeg += tp;
  }
  const rtf = (t: number) => r1(s.audio / t);
  return {
    files: files.length, audioSeconds: r1(s.audio),
    rtf: { decode: rtf(s.decode), downmix: rtf(s.downmix), resampleFir: rtf(s.fir), resampleLibsamplerateMedium: rtf(s.libsamplerate), logmel: rtf(s.logmel), frontEndStreamed: rtf(s.frontEnd), wholeEmbedding: rtf(s.embed), ffmpegDecodeResample: ffmpegOk ? rtf(s.ffmpeg) : 'ffmpeg unavailable' },
    ratios: { fir_over_libsamplerate: r1(s.libsamplerate / s.fir), frontEnd_over_ffmpeg: ffmpegOk ? +(s.ffmpeg / s.frontEnd).toFixed(2) : null },
    tracksPerSecondOneCore: +(files.length / s.embed).toFixed(2),
  };
}

export const realFilesBenchmark: Benchmark = {
  name: 'realFiles',
  summary: 'per-file path on real_dev MP3s and a 44.1 kHz WAV: decode, downmix, resample (FIR vs libsamplerate), log-mel, embed vs ffmpeg',
  async run() {
    await ready();
    const space = smallSpace(1);
    const dir = mkdtempSync(join(tmpdir(), 'mb-real-bench-'));
    try {
      const result: Record<string, unknown> = {};
      const files = mp3s(join(sharedDir, 'data', 'real_dev'), Number(process.env.REAL_BENCH_FILES ?? 5));
      if (files.length > 0) result.realDevMp3 = await measure(files, space);
      else result.realDevMp3 = 'skipped: ../shared/data/real_dev not found';
      const rng = new Rng(1);
      const l = Float32Array.from({ length: 30 * 44100 }, (_, i) => 0.3 * Math.sin((2 * Math.PI * 440 * i) / 44100) + 0.05 * rng.normal());
      const wav = join(dir, 'cd.wav');
      writeFileSync(wav, encodeWav([l, Float32Array.from(l, (v) => -0.5 * v)], 44100, 'pcm16'));
      result.wav44100Stereo = await measure([wav], space);
      return result;
    } finally {
      space.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
