/**
 * The whole per-file path on real files: ../shared/data/real_dev MP3s (32 kHz stereo) and a real
 * 44.1 kHz stereo file (the first such Ogg Vorbis clip of ../shared/data/real_clips, as is and
 * transcoded to a 44.1 kHz MP3 in a temp directory). Per file, one core: decode, downmix,
 * resample to 16 kHz, log-mel, the front end as `index` runs it (logMelFromFile: decode → log-mel,
 * streamed) and the whole embedding with the `small` preset's shapes (encoder + model, random
 * weights: speed does not depend on training). Then all cores as `index --jobs` runs it: the front
 * end on availableParallelism() worker threads, the model on the calling thread (embedBatch).
 * Peer in the same run: `ffmpeg -i FILE -ac 1 -ar 16000 -f f32le -` (decode and resample).
 *
 * "× real time per core" is audio seconds per CPU second of the process (process.cpuUsage; for
 * ffmpeg its own `-benchmark` utime + stime), so a loaded machine (another job on the cores)
 * perturbs it far less than wall time; wall-time figures are printed beside, with the load
 * average. REAL_BENCH_FILES sets the MP3 count (default 10).
 *
 * Core scaling: `index` itself (indexCatalogue into a fresh store, --ann off) over the first
 * REAL_BENCH_INDEX_FILES real_dev MP3s (default 40) with --jobs 1 and --jobs 2, its tracks/s and
 * the ratio, with the cores the run kept busy (CPU s per wall s) and the load before each run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import samplerate from '@alexanderolsen/libsamplerate-js';
import { decodeAudio } from '../src/audio/decode.js';
import { FrontEndPool } from '../src/audio/frontEndPool.js';
import { logMel } from '../src/audio/logmel.js';
import { toMono } from '../src/audio/mono.js';
import { audioBackend, useAudioNative } from '../src/audio/native.js';
import { designPolyphase } from '../src/audio/polyphase.js';
import { resample } from '../src/audio/resample.js';
import { logMelFromFile } from '../src/audio/stream.js';
import { embedBatch, indexCatalogue, type CatalogueItem } from '../src/search/indexer.js';
import { ready } from '../src/tensor/backend.js';
import type { Benchmark } from './benchmarks.js';
import { sharedDir } from './peers.js';
import { smallSpace } from './search.js';

const r1 = (x: number): number => +x.toFixed(1);
const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');

function filesUnder(dir: string, ext: string, n: number): string[] {
  const out: string[] = [];
  const visit = (d: string): void => {
    for (const e of readdirSync(d).sort()) {
      if (out.length >= n) return;
      const p = join(d, e);
      if (statSync(p).isDirectory()) visit(p);
      else if (e.endsWith(ext)) out.push(p);
    }
  };
  if (existsSync(dir)) visit(dir);
  return out;
}

function probe(path: string): { rate: number; channels: number } | undefined {
  const r = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'a:0', '-show_entries', 'stream=sample_rate,channels', '-of', 'csv=p=0', path], { encoding: 'utf8' });
  const [rate, channels] = (r.stdout ?? '').trim().split(',').map(Number);
  return r.status === 0 && rate && channels ? { rate, channels } : undefined;
}

async function libsamplerateMedium(x: Float32Array, from: number): Promise<number> {
  const src = await samplerate.create(1, from, 16000, { converterType: samplerate.ConverterType.SRC_SINC_MEDIUM_QUALITY });
  try {
    let n = 0;
    for (let o = 0; o < x.length; o += 16384) n += src.full(x.subarray(o, Math.min(x.length, o + 16384))).length;
    return n;
  } finally {
    src.destroy();
  }
}

/** CPU seconds (this process, every thread) and wall seconds of one call. */
async function timeIt<T>(fn: () => Promise<T> | T): Promise<{ cpu: number; wall: number; value: T }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { cpu: (c.user + c.system) / 1e6, wall, value };
}

/** ffmpeg's own CPU time (-benchmark utime + stime) and the wall time of the whole process. */
function ffmpeg(path: string): { cpu: number; wall: number } | undefined {
  const t0 = performance.now();
  const r = spawnSync('ffmpeg', ['-nostdin', '-hide_banner', '-benchmark', '-i', path, '-ac', '1', '-ar', '16000', '-f', 'f32le', '-'], { maxBuffer: 1 << 28, encoding: 'buffer' });
  const wall = (performance.now() - t0) / 1000;
  if (r.status !== 0) return undefined;
  const m = /utime=([\d.]+)s stime=([\d.]+)s/.exec(r.stderr.toString());
  return m ? { cpu: Number(m[1]) + Number(m[2]), wall } : undefined;
}

type Stage = 'decode' | 'downmix' | 'resample' | 'logmel' | 'frontEnd' | 'wholePath' | 'ffmpeg' | 'resampleJs' | 'resampleLibsamplerateMedium';

async function perCore(files: string[], space: ReturnType<typeof smallSpace>) {
  const cpu: Record<Stage, number> = { decode: 0, downmix: 0, resample: 0, logmel: 0, frontEnd: 0, wholePath: 0, ffmpeg: 0, resampleJs: 0, resampleLibsamplerateMedium: 0 };
  const wall: Record<Stage, number> = { ...cpu };
  let audio = 0;
  let ffmpegOk = true;
  const rates: Record<string, number> = {};
  const add = (s: Stage, t: { cpu: number; wall: number }): void => {
    cpu[s] += t.cpu;
    wall[s] += t.wall;
  };
  await logMelFromFile(files[0] as string); // warm-up: wasm/addon loads, JIT
  // The front end and the whole path each in a pass of their own, as `index` runs them (the
  // stage-by-stage pass below holds whole decoded files, whose garbage would land on them).
  for (const f of files) add('frontEnd', await timeIt(() => logMelFromFile(f)));
  await space.embedAudio(files[0] as string);
  for (const f of files) add('wholePath', await timeIt(() => space.embedAudio(f)));
  for (const f of files) {
    const dec = await timeIt(() => decodeAudio(f));
    const { channels, sampleRate } = dec.value;
    rates[`${sampleRate} Hz x${channels.length}`] = (rates[`${sampleRate} Hz x${channels.length}`] ?? 0) + 1;
    const mono = await timeIt(() => toMono(channels));
    const rs = await timeIt(() => resample(mono.value, sampleRate, 16000));
    const lm = await timeIt(() => logMel(rs.value, 16000));
    useAudioNative(false);
    const rsJs = await timeIt(() => resample(mono.value, sampleRate, 16000));
    useAudioNative(undefined);
    const lsr = await timeIt(() => libsamplerateMedium(mono.value, sampleRate));
    const ff = ffmpeg(f);
    if (!ff) ffmpegOk = false;
    add('decode', dec); add('downmix', mono); add('resample', rs); add('logmel', lm);
    add('resampleJs', rsJs); add('resampleLibsamplerateMedium', lsr);
    if (ff) add('ffmpeg', ff);
    audio += mono.value.length / sampleRate;
  }
  const x = (t: Record<Stage, number>) => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, k === 'ffmpeg' && !ffmpegOk ? 'ffmpeg unavailable' : r1(audio / v)]));
  return {
    files: files.length,
    formats: rates,
    audioSeconds: r1(audio),
    xRealTimePerCore: x(cpu),
    xRealTimeWall: x(wall),
    ratios: {
      frontEnd_over_ffmpegDecodeResample: ffmpegOk ? +(cpu.ffmpeg / cpu.frontEnd).toFixed(2) : null,
      resample_native_over_js: r1(cpu.resampleJs / cpu.resample),
      resample_native_over_libsamplerateMedium: r1(cpu.resampleLibsamplerateMedium / cpu.resample),
    },
    tracksPerSecondOneCore: +(files.length / cpu.wholePath).toFixed(2),
  };
}

/** `index --jobs` without the store: the front end on worker threads, the model here, in batches of 8. */
async function allCores(files: string[], space: ReturnType<typeof smallSpace>, audioSeconds: number) {
  const jobs = availableParallelism();
  const items: CatalogueItem[] = files.map((path, i) => ({ id: String(i), path, tags: [] }));
  const pool = new FrontEndPool(jobs);
  try {
    await Promise.all(files.slice(0, 2 * jobs).map((f) => pool.logMel(f))); // every worker started and warm
    const fe = await timeIt(async () => {
      const feed = pool.prefetch(files);
      for (let i = 0; i < files.length; i++) await feed.get(i);
    });
    const whole = await timeIt(async () => {
      const feed = pool.prefetch(files);
      for (let s = 0; s < items.length; s += 8) await embedBatch(space, items.slice(s, s + 8), undefined, (_, i) => feed.get(s + i));
    });
    // coresBusy: CPU seconds of the whole process (workers included) per wall second; on a machine
    // another job keeps busy it stays low however many threads run.
    const fig = (t: { cpu: number; wall: number }) => ({ tracksPerSecond: +(files.length / t.wall).toFixed(2), xRealTime: r1(audioSeconds / t.wall), coresBusy: +(t.cpu / t.wall).toFixed(2) });
    return { frontEndThreads: jobs, frontEnd: fig(fe), wholePath: fig(whole) };
  } finally {
    await pool.close();
  }
}

/** `index --jobs 1` and `--jobs 2` on the same files (a LIST input, a fresh store each, no ANN). */
async function indexScaling(files: string[], space: ReturnType<typeof smallSpace>, dir: string) {
  const list = join(dir, 'index-files.txt');
  writeFileSync(list, files.join('\n') + '\n');
  for (const f of files) readFileSync(f); // every file in the page cache before either run
  await indexCatalogue({ space, input: list, db: join(dir, 'index-warm'), ann: 'off', quiet: true, jobs: 2 }); // JIT, addon, workers' first start
  const runs: Record<string, { tracksPerSecond: number; seconds: number; coresBusy: number; loadBefore: string }> = {};
  for (const jobs of [1, 2]) {
    const loadBefore = load();
    const t = await timeIt(() => indexCatalogue({ space, input: list, db: join(dir, `index-jobs${jobs}`), ann: 'off', quiet: true, jobs }));
    if (t.value.added !== files.length) throw new Error(`index --jobs ${jobs} stored ${t.value.added} of ${files.length} tracks (${t.value.failed.map((x) => x.problem).join('; ')})`);
    runs[`jobs${jobs}`] = { tracksPerSecond: +t.value.tracksPerSecond.toFixed(2), seconds: +t.wall.toFixed(1), coresBusy: +(t.cpu / t.wall).toFixed(2), loadBefore };
  }
  const one = runs.jobs1 as { tracksPerSecond: number }, two = runs.jobs2 as { tracksPerSecond: number };
  return { files: files.length, cores: availableParallelism(), ...runs, jobs2_over_jobs1: +(two.tracksPerSecond / one.tracksPerSecond).toFixed(2) };
}

export const realFilesBenchmark: Benchmark = {
  name: 'realFiles',
  summary: 'per-file path on real_dev MP3s and a real 44.1 kHz stereo file: decode, downmix, resample, log-mel, front end, embed; all cores; vs ffmpeg',
  async run() {
    await ready();
    const space = smallSpace(1);
    const dir = mkdtempSync(join(tmpdir(), 'mb-real-bench-'));
    try {
      const d32 = designPolyphase(32000, 16000), d44 = designPolyphase(44100, 16000);
      const result: Record<string, unknown> = {
        loadBefore: load(),
        frontEnd: audioBackend(),
        converter: `polyphase Kaiser-windowed sinc FIR (src/audio/polyphase.ts): passband 0-${d32?.passbandHz} Hz, stopband from ${d32?.stopbandHz} Hz at ${d32?.attenuationDb} dB; ${d32?.taps} taps at 32 kHz, ${d44?.taps} taps x ${d44?.up} phases at 44.1 kHz`,
      };
      const n = Number(process.env.REAL_BENCH_FILES ?? 10);
      const files = filesUnder(join(sharedDir, 'data', 'real_dev'), '.mp3', n);
      if (files.length > 0) {
        const one = await perCore(files, space);
        result.realDevMp3 = one;
        result.realDevMp3AllCores = await allCores(files, space, one.audioSeconds);
        const indexFiles = filesUnder(join(sharedDir, 'data', 'real_dev'), '.mp3', Number(process.env.REAL_BENCH_INDEX_FILES ?? 40));
        result.realDevIndexScaling = await indexScaling(indexFiles, space, dir);
      } else {
        result.realDevMp3 = 'skipped: ../shared/data/real_dev not found';
        result.realDevIndexScaling = 'skipped: ../shared/data/real_dev not found';
      }
      const ogg = filesUnder(join(sharedDir, 'data', 'real_clips'), '.ogg', 40).find((f) => {
        const p = probe(f);
        return p?.rate === 44100 && p.channels === 2;
      });
      if (ogg) {
        // One clip, decoded three times over, so first-call costs do not dominate its figures.
        result.realClip44100StereoOgg = await perCore([ogg, ogg, ogg], space);
        const mp3 = join(dir, 'clip44100.mp3');
        const enc = spawnSync('ffmpeg', ['-v', 'error', '-y', '-i', ogg, '-ar', '44100', '-ac', '2', '-c:a', 'libmp3lame', '-b:a', '192k', mp3]);
        result.realClip44100StereoMp3 = enc.status === 0 ? await perCore([mp3, mp3, mp3], space) : 'skipped: ffmpeg could not encode MP3';
      } else result.realClip44100StereoOgg = 'skipped: no 44.1 kHz stereo Ogg in ../shared/data/real_clips';
      result.loadAfter = load();
      return result;
    } finally {
      space.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
