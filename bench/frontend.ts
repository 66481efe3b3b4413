/**
 * The audio front end's speed: real-time factor (audio seconds per wall second, one core) of
 * logMel on 30 s of 16 kHz noise against the numpy peer in the same run, and of the whole-file
 * path (decode + downmix + resample + log-mel) on a 30 s 44.1 kHz stereo WAV.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeAudio } from '../src/audio/decode.js';
import { loadAudio } from '../src/audio/load.js';
import { logMel } from '../src/audio/logmel.js';
import { toMono } from '../src/audio/mono.js';
import { resample } from '../src/audio/resample.js';
import { logMelFromFile } from '../src/audio/stream.js';
import { encodeWav } from '../src/audio/wavWrite.js';
import { Rng } from '../src/util/rng.js';
import type { Benchmark } from './benchmarks.js';
import { runPeer } from './peers.js';

const SECONDS = 30;

/** Median wall time of `runs` calls after `warmup` untimed ones, in seconds. */
async function medianSeconds(fn: () => unknown, runs: number, warmup = 2): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push((performance.now() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1] as number;
}

const round = (x: number, d = 1): number => Number(x.toFixed(d));

export const frontendBenchmark: Benchmark = {
  name: 'frontend',
  summary: `logMel real-time factor on ${SECONDS} s of 16 kHz noise vs numpy; whole-file path RTF on a 44.1 kHz stereo WAV`,
  async run() {
    const rng = new Rng(0);
    const noise = Float32Array.from({ length: SECONDS * 16000 }, () => rng.normal());
    const logmelS = await medianSeconds(() => logMel(noise, 16000), 7);
    const logmelRtf = SECONDS / logmelS;

    const peer = runPeer('numpy_logmel_rtf.py', [String(SECONDS)]);
    const result: Record<string, unknown> = {
      logmel_median_s: round(logmelS, 5),
      logmel_rtf: round(logmelRtf),
    };
    if (peer.ok) {
      const peerRtf = Number(peer.result.rtf);
      result.peer = peer.result.peer;
      result.numpy_rtf = peerRtf;
      result.logmel_vs_numpy = round(logmelRtf / peerRtf, 2);
    } else {
      result.peer_unavailable = peer.reason;
      process.stderr.write(`frontend: numpy peer unavailable: ${peer.reason}\n`);
    }

    // Whole-file path on CD-format audio: 30 s, 44.1 kHz, stereo, 16-bit.
    const dir = mkdtempSync(join(tmpdir(), 'mb-bench-frontend-'));
    try {
      const l = Float32Array.from({ length: SECONDS * 44100 }, (_, i) => 0.3 * Math.sin((2 * Math.PI * 440 * i) / 44100) + 0.05 * rng.normal());
      const r = Float32Array.from(l, (v) => -v);
      const path = join(dir, 'cd.wav');
      writeFileSync(path, encodeWav([l, r], 44100, 'pcm16'));
      const decoded = await decodeAudio(path);
      const mono = toMono(decoded.channels);
      const decodeS = await medianSeconds(() => decodeAudio(path), 3, 1);
      const resampleS = await medianSeconds(() => resample(mono, 44100, 16000), 3, 1);
      const streamS = await medianSeconds(() => logMelFromFile(path), 3, 1);
      const wholeS = await medianSeconds(async () => logMel(await loadAudio(path), 16000), 3, 1);
      Object.assign(result, {
        file_stream_rtf: round(SECONDS / streamS),
        file_whole_rtf: round(SECONDS / wholeS),
        file_decode_rtf: round(SECONDS / decodeS),
        file_resample_rtf: round(SECONDS / resampleS),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return result;
  },
};
