/**
 * The front end's C kernels (native/frontend.c via src/audio/native.ts) against their JS/wasm
 * twins, which stay the definition and the fallback. Stated tolerances, native vs JS:
 *   FIR resampler output   |Δ| ≤ 1e-5 (C sums the float products in float with AVX2, JS in double)
 *   log-mel                |Δ| ≤ 1e-3 (the numpy reference's tolerance; a radix-2 FFT vs radix-4)
 *   MP3 decode             same length and rate, |Δ| ≤ 1e-5 (libmpg123's x86 synth vs its wasm build)
 *   Ogg Vorbis decode      same length, rate and channel order, |Δ| ≤ 1e-5 (libvorbisfile vs the wasm libvorbis)
 * and both paths meet the numpy VGGish reference to 1e-3. Without libvorbisfile (or with
 * MUSICBERT_NATIVE_AUDIO=0) Ogg decodes in wasm exactly as before. Skips without the addon.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeAudio } from '../src/audio/decode.js';
import { logMel, LogMelStream } from '../src/audio/logmel.js';
import { audioBackend, audioNative, nativeMp3, nativeOgg, useAudioNative } from '../src/audio/native.js';
import { resample } from '../src/audio/resample.js';
import { logMelFromFile } from '../src/audio/stream.js';
import { HOP, MEL_BANDS, WINDOW, frameCount } from '../src/audio/constants.js';
import { melFilterbank, periodicHann } from '../src/audio/mel.js';
import { InvalidAudioError } from '../src/util/errors.js';
import { Rng } from '../src/util/rng.js';
import { hasShared, readF32, repoRoot, sharedDir, tempDir } from './shared.js';

useAudioNative(true);
const built = audioNative() !== undefined;
const skip = built ? false : 'native addon (frontend.c) not built';
const mp3Skip = nativeMp3() ? false : 'libmpg123.so.0 not available to the addon';
const oggSkip = nativeOgg() ? false : 'libvorbisfile.so.3 not available to the addon';
const hasFfmpeg = spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).status === 0;
const tmp = tempDir('mb-native-');
const realClips = join(sharedDir, 'data', 'real_clips', 'audio');
after(() => useAudioNative(undefined));

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>, what: string): number {
  assert.equal(a.length, b.length, `${what}: lengths differ (${a.length} vs ${b.length})`);
  let e = 0;
  for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs((a[i] as number) - (b[i] as number)));
  return e;
}

function noise(n: number, seed: number, scale = 0.3): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: n }, () => scale * r.normal());
}

/** Run `fn` with the native kernels on, then off; returns both results. */
async function both<T>(fn: () => T | Promise<T>): Promise<{ native: T; js: T }> {
  try {
    useAudioNative(true);
    assert.equal(audioBackend().kernels, 'native', 'native kernels selected');
    const native = await fn();
    useAudioNative(false);
    assert.equal(audioBackend().kernels, 'js', 'JS kernels selected');
    const js = await fn();
    return { native, js };
  } finally {
    useAudioNative(true);
  }
}

test('native FIR resampler equals the JS polyphase loop to 1e-5 at 32, 44.1 and 48 kHz', { skip }, async () => {
  for (const rate of [32000, 44100, 48000, 22050]) {
    const x = noise(rate * 3 + 17, rate);
    const { native, js } = await both(() => resample(x, rate, 16000));
    const err = maxAbsDiff(native, js, `${rate} Hz`);
    assert.ok(err <= 1e-5, `${rate} Hz → 16 kHz: native vs JS max |Δ| ${err}`);
    assert.ok(native.some((v) => v !== 0), `${rate} Hz: output is not all zeros`);
  }
});

test('native log-mel equals the JS log-mel to 1e-3, whole and streamed in odd chunks', { skip }, async () => {
  const x = noise(16000 * 4 + 123, 7);
  const { native, js } = await both(() => logMel(x, 16000));
  assert.equal(native.frames, js.frames, 'frame counts');
  const err = maxAbsDiff(native.data, js.data, 'log-mel');
  assert.ok(err <= 1e-3, `native vs JS log-mel max |Δ| ${err}`);
  useAudioNative(true);
  const s = new LogMelStream();
  for (let o = 0, k = 1; o < x.length; k = (k * 7 + 3) % 2000) {
    s.push(x.subarray(o, Math.min(x.length, o + k)));
    o += k;
  }
  const streamed = s.finish();
  assert.equal(maxAbsDiff(streamed.data, native.data, 'streamed'), 0, 'native stream cut anywhere equals native whole');
});

test('native log-mel: frames computed four at a time (AVX2) equal frames computed one by one, bit for bit', { skip }, () => {
  const k = audioNative();
  assert.ok(k, 'addon present');
  const x = noise(16000 * 2 + 77, 11);
  x.fill(0, 4000, 9000); // silent frames: the log floor
  const mel = melFilterbank(), hann = periodicHann(WINDOW);
  const n = frameCount(x.length);
  const all = new Float32Array(n * MEL_BANDS), single = new Float32Array(n * MEL_BANDS);
  assert.equal(k.logMelFrames(x, 0, n, all, 0, hann, mel.rise, mel.segStart), -1, 'all frames finite');
  for (let f = 0; f < n; f++) k.logMelFrames(x, f * HOP, 1, single, f, hann, mel.rise, mel.segStart);
  assert.equal(maxAbsDiff(all, single, 'four at a time vs one'), 0, 'identical');
  // The first non-finite frame is found inside a group of four as well.
  const y = x.slice();
  y[1300] = Number.POSITIVE_INFINITY; // in frames 6, 7 and 8 (windows of 400, hop 160): lane 2 of the group 4-7
  assert.equal(k.logMelFrames(y, 0, n, all, 0, hann, mel.rise, mel.segStart), 6, 'frame 6 is the first with the Infinity');
});

test('both log-mel paths match every numpy VGGish reference to 1e-3', { skip: skip || (!hasShared && 'no ../shared/reference') }, async () => {
  const refDir = join(sharedDir, 'reference');
  for (const name of ['sine440', 'chirp', 'chord_noise', 'clicks', 'silence', 'short']) {
    const x = readF32(join(refDir, `signal_${name}.f32`));
    const ref = readF32(join(refDir, `logmel_${name}.f32`));
    const { native, js } = await both(() => logMel(x, 16000).data);
    assert.ok(maxAbsDiff(native, ref, name) <= 1e-3, `${name}: native vs numpy ${maxAbsDiff(native, ref, name)}`);
    assert.ok(maxAbsDiff(js, ref, name) <= 1e-3, `${name}: JS vs numpy ${maxAbsDiff(js, ref, name)}`);
  }
});

test('native log-mel names the first non-finite frame as the JS path does', { skip }, async () => {
  const x = noise(16000, 3);
  x[5000] = Number.NaN;
  const messages: string[] = [];
  for (const on of [true, false]) {
    useAudioNative(on);
    assert.throws(() => logMel(x, 16000), (e: unknown) => e instanceof InvalidAudioError && (messages.push(e.message), true), `native=${on}: NaN refused`);
  }
  useAudioNative(true);
  assert.equal(messages.length, 2, 'both paths threw');
  assert.equal(messages[0], messages[1], 'same message from both paths');
  assert.match(messages[0] as string, /log-mel frame 29,/, 'first frame holding sample 5000');
});

test('native kernels refuse out-of-range windows with a RangeError, not a crash', { skip }, () => {
  const k = audioNative();
  assert.ok(k, 'addon present');
  const table = new Float32Array(150), buf = new Float32Array(100), out = new Float32Array(10);
  const fir = k.firDesign(table, 1, 150);
  assert.throws(() => k.firRun(fir, 2, buf, 0, 0, 1, out), RangeError, 'FIR window past the buffer');
  assert.throws(() => k.firRun(fir, 2, new Float32Array(1000), -5, 0, 1, out), RangeError, 'FIR window before the buffer');
  assert.throws(() => k.firDesign(table, 2, 150), RangeError, 'table not [up, taps]');
  assert.throws(() => k.firRun(fir, 2, buf, 0, 0, 20, out), RangeError, 'more outputs than out holds');
  const hann = new Float64Array(400), rise = new Float64Array(257), seg = new Int32Array(MEL_BANDS + 2).fill(1);
  assert.throws(() => k.logMelFrames(new Float32Array(500), 0, 2, new Float32Array(128), 0, hann, rise, seg), RangeError, 'second frame past the samples');
  assert.throws(() => k.logMelFrames(new Float32Array(400), 0, 1, new Float32Array(64), 0, new Float64Array(10), rise, seg), RangeError, 'wrong table size');
});

test('libmpg123 decodes MP3s as the wasm mpg123 does: same length and rate, samples to 1e-5', { skip: skip || mp3Skip }, async () => {
  const files = [join(repoRoot, 'test', 'fixtures', 'audio-tone880.mp3')];
  const q1 = join(sharedDir, 'data', 'real_dev', 'Q1');
  if (existsSync(q1)) files.push(...readdirSync(q1).filter((f) => f.endsWith('.mp3')).sort().slice(0, 2).map((f) => join(q1, f)));
  for (const f of files) {
    const bytes = new Uint8Array(readFileSync(f));
    const { native, js } = await both(() => decodeAudio(bytes, f));
    assert.equal(native.sampleRate, js.sampleRate, `${f}: rate`);
    assert.equal(native.channels[0]?.length, js.channels[0]?.length, `${f}: length (gapless trimming alike)`);
    for (let c = 0; c < Math.max(native.channels.length, js.channels.length); c++) {
      // A mono source may come back as 1 channel from one decoder and 2 equal ones from the other.
      const a = native.channels[c % native.channels.length] as Float32Array, b = js.channels[c % js.channels.length] as Float32Array;
      const err = maxAbsDiff(a, b, `${f} channel ${c}`);
      assert.ok(err <= 1e-5, `${f} channel ${c}: libmpg123 vs wasm max |Δ| ${err}`);
    }
    const mel = await both(() => logMelFromFile(f));
    const err = maxAbsDiff(mel.native.data, mel.js.data, `${f} log-mel`);
    assert.ok(err <= 1e-3, `${f}: whole front end native vs JS max |Δ| ${err}`);
  }
});

/** Decode `bytes` with the native decoders, then with the wasm ones; check they agree (lengths, rate, channels, samples to 1e-5). */
async function decodersAgree(bytes: Uint8Array, name: string): Promise<{ channels: number; frames: number }> {
  const { native, js } = await both(() => decodeAudio(bytes, name));
  assert.equal(native.sampleRate, js.sampleRate, `${name}: rate`);
  assert.equal(native.channels.length, js.channels.length, `${name}: channels`);
  assert.equal(native.channels[0]?.length, js.channels[0]?.length, `${name}: length (granule trimming alike)`);
  for (let c = 0; c < js.channels.length; c++) {
    const err = maxAbsDiff(native.channels[c] as Float32Array, js.channels[c] as Float32Array, `${name} channel ${c}`);
    assert.ok(err <= 1e-5, `${name} channel ${c}: libvorbisfile vs wasm max |Δ| ${err}`);
  }
  return { channels: js.channels.length, frames: (js.channels[0] as Float32Array).length };
}

/** `ffmpeg args` → an Ogg Vorbis file in the temp dir. */
function ffmpegOgg(name: string, args: string[]): Uint8Array {
  const out = join(tmp, name);
  const r = spawnSync('ffmpeg', ['-v', 'error', '-y', ...args, '-c:a', 'libvorbis', '-q:a', '3', out], { encoding: 'utf8' });
  assert.equal(r.status, 0, `ffmpeg made ${name}: ${r.stderr}`);
  return new Uint8Array(readFileSync(out));
}

test('libvorbisfile decodes Ogg Vorbis as the wasm libvorbis does: same length, rate and channels, samples to 1e-5', { skip: skip || oggSkip }, async () => {
  const files = [join(repoRoot, 'test', 'fixtures', 'audio-tone660.ogg')];
  if (existsSync(realClips)) {
    const oggs = readdirSync(realClips).filter((f) => f.endsWith('.ogg')).sort();
    // A 44.1 kHz stereo clip (.hq) and a 22.05 kHz mono one.
    for (const f of [oggs.find((f) => f.endsWith('.hq.ogg')), oggs.find((f) => !f.endsWith('.hq.ogg'))]) if (f) files.push(join(realClips, f));
  }
  for (const f of files) {
    await decodersAgree(new Uint8Array(readFileSync(f)), f);
    const mel = await both(() => logMelFromFile(f));
    const err = maxAbsDiff(mel.native.data, mel.js.data, `${f} log-mel`);
    assert.ok(err <= 1e-3, `${f}: whole front end native vs JS max |Δ| ${err}`);
  }
});

test('native Ogg: 3 channels in the wasm order, headers larger than the read-ahead, any cut of the input, blocks of at most 2^18 samples', { skip: skip || oggSkip || (!hasFfmpeg && 'ffmpeg not installed') }, async () => {
  // Three channels, each its own tone: the order must match the wasm decoder's (WAV order).
  const three = ffmpegOgg('three.ogg', ['-f', 'lavfi', '-i', 'aevalsrc=0.5*sin(2*PI*300*t)|0.3*sin(2*PI*500*t)|0.2*sin(2*PI*700*t):s=44100:d=3']);
  assert.equal((await decodersAgree(three, 'three.ogg')).channels, 3, 'three channels decoded');
  // A 400 kB comment: the headers span many pages, past the first open attempt and the 256 kB read-ahead.
  const meta = join(tmp, 'meta.txt');
  writeFileSync(meta, `;FFMETADATA1\ncomment=${'x'.repeat(400_000)}\n`);
  const big = ffmpegOgg('bigheader.ogg', ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=22050:duration=20', '-i', meta, '-map_metadata', '1']);
  assert.ok(big.length > 400_000, `the comment made it into the file (${big.length} bytes)`);
  const { frames } = await decodersAgree(big, 'bigheader.ogg');
  assert.equal(frames, 22050 * 20, 'every sample of the 20 s tone');
  // The decoder fed in random cuts (1 byte to 80 kB) returns the same samples as fed whole, in blocks of at most 2^18 samples.
  const k = nativeOgg();
  assert.ok(k, 'libvorbisfile loaded');
  const run = (cuts: (i: number) => number): Float32Array => {
    const h = k.oggOpen();
    const parts: Float32Array[] = [];
    const drain = (bytes: Uint8Array, end: boolean): void => {
      for (let r = k.oggDecode(h, bytes, end, true); ; r = k.oggDecode(h, new Uint8Array(0), end, true)) {
        assert.equal(r.errors, 0, `no decoder error (${r.firstError})`);
        if (r.channels.length > 0) parts.push((r.channels[0] as Float32Array).slice());
        assert.ok((r.channels[0]?.length ?? 0) <= 1 << 18, `block of ${r.channels[0]?.length} samples`);
        if (!r.more) return;
      }
    };
    for (let at = 0, i = 0; at < big.length; i++) {
      const n = cuts(i);
      drain(big.subarray(at, at + n), false);
      at += n;
    }
    drain(new Uint8Array(0), true);
    const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
    parts.reduce((o, p) => (out.set(p, o), o + p.length), 0);
    return out;
  };
  const whole = run(() => big.length);
  const rng = new Rng(5);
  const cut = run(() => (rng.uniform(0, 1) < 0.3 ? rng.int(1, 64) : rng.int(1, 80_000)));
  assert.equal(whole.length, frames, 'whole: every sample');
  assert.equal(maxAbsDiff(cut, whole, 'cut vs whole'), 0, 'cut anywhere equals fed whole');
  // A 5-minute silence in a few kB: many capped blocks from one push.
  const silence = ffmpegOgg('silence.ogg', ['-f', 'lavfi', '-i', 'anullsrc=r=44100:cl=stereo', '-t', '300']);
  const h = k.oggOpen();
  let calls = 0, total = 0;
  for (let r = k.oggDecode(h, silence, true, false); ; r = k.oggDecode(h, new Uint8Array(0), true, false), calls++) {
    total += r.channels[0]?.length ?? 0;
    assert.ok((r.channels.length === 0 ? 0 : (r.channels[0] as Float32Array).length * r.channels.length) <= 1 << 18, 'a block holds at most 2^18 samples');
    if (!r.more) break;
  }
  assert.equal(total, 44100 * 300, 'the silence decodes in full');
  const least = Math.ceil((44100 * 300 * 2) / (1 << 18));
  assert.ok(calls + 1 >= least, `${silence.length} bytes came out in ${calls + 1} capped blocks (at least ${least})`);
});

test('without libvorbisfile, or with MUSICBERT_NATIVE_AUDIO=0, Ogg decodes in wasm, sample for sample as before', { skip }, async () => {
  const f = join(repoRoot, 'test', 'fixtures', 'audio-tone660.ogg');
  useAudioNative(false);
  const wasm = await decodeAudio(f);
  useAudioNative(true);
  const script = `
    const { audioBackend } = await import('./src/audio/native.ts');
    const { decodeAudio } = await import('./src/audio/decode.ts');
    const { writeFileSync } = await import('node:fs');
    const d = await decodeAudio(${JSON.stringify(f)});
    writeFileSync(process.env.OUT, new Uint8Array(d.channels[0].buffer, d.channels[0].byteOffset, d.channels[0].byteLength));
    process.stdout.write(JSON.stringify(audioBackend()));`;
  for (const [label, env] of [
    ['library missing', { MUSICBERT_LIBVORBISFILE: 'libvorbisfile-missing.so.3' }],
    ['MUSICBERT_NATIVE_AUDIO=0', { MUSICBERT_NATIVE_AUDIO: '0' }],
  ] as const) {
    const out = join(tmp, `fallback-${label.length}.f32`);
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, ...env, OUT: out } });
    assert.equal(r.status, 0, `${label}: child exited 0 (${r.stderr})`);
    const backend = JSON.parse(r.stdout) as ReturnType<typeof audioBackend>;
    assert.equal(backend.ogg, 'wasm libvorbis', `${label}: the wasm decoder is used`);
    if (label === 'library missing') assert.equal(backend.kernels, 'native', `${label}: the other native kernels stay on`);
    const got = readF32(out);
    assert.equal(maxAbsDiff(got, wasm.channels[0] as Float32Array, label), 0, `${label}: the same samples as the wasm decoder here`);
  }
  const k = audioNative();
  assert.ok(k, 'addon present');
  if (!nativeOgg()) assert.match(k.oggAvailable('x'), /not found|lacks/, 'a reason is given');
});
