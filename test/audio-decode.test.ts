/**
 * Decoding, downmix, resampling and loading, including every kind of bad input. Compressed
 * fixtures in test/fixtures/ were made once from generated tones (Debian lame 3.100, flac 1.4.2,
 * vorbis-tools 1.4.2):
 *   sox -D -n -r 22050 -c 1 -b 16 a.wav synth 0.5 sine 880 vol 0.5 && lame -b 32 -m m a.wav audio-tone880.mp3
 *   sox -D -n -r 22050 -c 2 -b 16 b.wav synth 0.3 sine 1000 vol 0.5 && flac -8 b.wav -o audio-tone1000.flac
 *   sox -D -n -r 22050 -c 1 -b 16 c.wav synth 0.5 sine 660 vol 0.5 && oggenc -q 0 c.wav -o audio-tone660.ogg
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeAudio } from '../src/audio/decode.js';
import { loadAudio } from '../src/audio/load.js';
import { toMono } from '../src/audio/mono.js';
import { resample, StreamResampler } from '../src/audio/resample.js';
import { logMel } from '../src/audio/logmel.js';
import { logMelFromFile, patchesFromFile } from '../src/audio/stream.js';
import { RealFft } from '../src/audio/fft.js';
import { periodicHann } from '../src/audio/mel.js';
import { encodeWav, type WavFormat } from '../src/audio/wavWrite.js';
import { AudioDecodeError, InvalidAudioError } from '../src/util/errors.js';
import { Rng } from '../src/util/rng.js';
import { hasShared, readF32, repoRoot, sharedDir, tempDir } from './shared.js';

const tmp = tempDir('mb-audio-');
const fixtures = join(repoRoot, 'test', 'fixtures');

function tone(hz: number, rate: number, seconds: number, amp = 0.5): Float32Array {
  return Float32Array.from({ length: Math.round(rate * seconds) }, (_, i) => amp * Math.sin((2 * Math.PI * hz * i) / rate));
}

function writeTmp(name: string, bytes: Uint8Array | string): string {
  const p = join(tmp, name);
  writeFileSync(p, bytes);
  return p;
}

/** Frequency of the strongest FFT bin of 4096 samples from the middle of a 16 kHz signal. */
function dominantHz(x: Float32Array): number {
  const n = 4096;
  assert.ok(x.length >= n, `signal too short for the FFT (${x.length})`);
  const fft = new RealFft(n);
  const mag = new Float64Array(n / 2 + 1);
  fft.windowedMagnitudes(x, (x.length - n) >> 1, periodicHann(n), mag, 1, n / 2);
  let best = 1;
  for (let k = 1; k <= n / 2; k++) if (mag[k]! > mag[best]!) best = k;
  return (best * 16000) / n;
}

function rms(x: Float32Array, from = 0, to = x.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s / (to - from));
}

/** Both the whole-file and the streaming path reject `path` with `cls`, naming the file and matching `re`. */
async function rejectsBoth(path: string, cls: typeof AudioDecodeError | typeof InvalidAudioError, re: RegExp): Promise<void> {
  const check = (e: unknown): boolean => {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    assert.ok(e.message.includes(path), `message names the file: ${e.message}`);
    assert.match(e.message, re);
    return true;
  };
  await assert.rejects(loadAudio(path), check);
  await assert.rejects(logMelFromFile(path), check);
}

test('WAV: 8/16/24/32-bit PCM and 32/64-bit float, stereo, decode to the written samples', async () => {
  const l = tone(440, 22050, 0.2), r = l.map((v) => -0.5 * v);
  const tol: Record<WavFormat, number> = { pcm8: 1 / 100, pcm16: 5e-5, pcm24: 1e-6, pcm32: 1e-7, float32: 0, float64: 0 };
  for (const format of Object.keys(tol) as WavFormat[]) {
    const d = await decodeAudio(encodeWav([l, r], 22050, format), `x.${format}.wav`);
    assert.equal(d.sampleRate, 22050, format);
    assert.equal(d.channels.length, 2, format);
    assert.equal(d.channels[0]!.length, l.length, format);
    let err = 0;
    for (let i = 0; i < l.length; i++) err = Math.max(err, Math.abs(d.channels[0]![i]! - l[i]!), Math.abs(d.channels[1]![i]! - r[i]!));
    assert.ok(err <= tol[format], `${format}: error ${err}`);
  }
});

test('reference WAVs (float, fact chunk) decode bit-exact and give the reference log-mel', { skip: !hasShared && 'no ../shared/reference' }, async () => {
  for (const name of ['sine440', 'chirp', 'chord_noise', 'clicks', 'silence', 'short']) {
    const wav = join(sharedDir, 'reference', `signal_${name}.wav`);
    const want = readF32(join(sharedDir, 'reference', `signal_${name}.f32`));
    const x = await loadAudio(wav);
    assert.deepEqual(new Uint32Array(x.buffer, x.byteOffset, x.length), new Uint32Array(want.buffer), `${name} samples`);
    const ref = readF32(join(sharedDir, 'reference', `logmel_${name}.f32`));
    const { data } = logMel(x, 16000);
    let err = 0;
    for (let i = 0; i < ref.length; i++) err = Math.max(err, Math.abs(ref[i]! - data[i]!));
    assert.ok(err <= 1e-3, `${name}: ${err}`);
  }
});

test('MP3, FLAC and Ogg Vorbis fixtures: duration, rate, channels and dominant frequency', async () => {
  const cases = [
    { file: 'audio-tone880.mp3', hz: 880, channels: 1, seconds: 0.5, tol: 0.1 }, // MP3 adds encoder delay/padding
    { file: 'audio-tone1000.flac', hz: 1000, channels: 2, seconds: 0.3, tol: 0 },
    { file: 'audio-tone660.ogg', hz: 660, channels: 1, seconds: 0.5, tol: 0.01 },
  ];
  for (const c of cases) {
    const path = join(fixtures, c.file);
    const d = await decodeAudio(path);
    assert.equal(d.sampleRate, 22050, c.file);
    assert.equal(d.channels.length, c.channels, c.file);
    const secs = d.channels[0]!.length / d.sampleRate;
    assert.ok(Math.abs(secs - c.seconds) <= c.tol + 1e-9, `${c.file}: ${secs} s`);
    const x = await loadAudio(path);
    assert.equal(x.length, Math.round((d.channels[0]!.length * 16000) / 22050), `${c.file} resampled length`);
    assert.ok(Math.abs(dominantHz(x) - c.hz) < 8, `${c.file}: dominant ${dominantHz(x)} Hz`);
    assert.ok(Math.abs(rms(x, 2000, x.length - 2000) - 0.5 / Math.SQRT2) < 0.05, `${c.file}: rms ${rms(x)}`);
    // Same file from bytes, named by the caller.
    const fromBytes = await loadAudio(readFileSync(path), { source: c.file });
    assert.deepEqual(fromBytes, x);
  }
});

test('loadAudio of 16 kHz mono is a bit-exact passthrough (no resampling)', async () => {
  const r = new Rng(11);
  const x = Float32Array.from({ length: 8000 }, () => r.uniform(-1, 1));
  const y = await loadAudio(writeTmp('mono16k.wav', encodeWav([x], 16000, 'float32')));
  assert.deepEqual(new Uint32Array(y.buffer, y.byteOffset, y.length), new Uint32Array(x.buffer));
});

test('loadAudio of 44.1 kHz stereo: downmixed, resampled to 16 kHz, pitch and level kept', async () => {
  const l = tone(1000, 44100, 1.0, 0.6), r = tone(1000, 44100, 1.0, 0.2);
  const y = await loadAudio(writeTmp('st44.wav', encodeWav([l, r], 44100, 'pcm16')));
  assert.equal(y.length, 16000);
  assert.ok(Math.abs(dominantHz(y) - 1000) < 4);
  assert.ok(Math.abs(rms(y, 500, 15500) - 0.4 / Math.SQRT2) < 0.004, `rms ${rms(y, 500, 15500)}`);
});

test('toMono averages channels; one channel passes through as is', () => {
  const a = Float32Array.from([1, 0.5, -1]), b = Float32Array.from([0, 0.5, 1]), c = Float32Array.from([0.5, 0.5, 0.5]);
  assert.deepEqual(toMono([a, b]), Float32Array.from([0.5, 0.5, 0]));
  assert.deepEqual(toMono([a, b, c]), Float32Array.from([0.5, 0.5, 0.5 / 3]));
  assert.equal(toMono([a]), a);
  assert.throws(() => toMono([]), InvalidAudioError);
  assert.throws(() => toMono([a, new Float32Array(2)]), InvalidAudioError);
});

test('resample: libsamplerate sinc removes content above the new Nyquist (no decimation aliasing)', async () => {
  // A 10 kHz tone cannot exist at 16 kHz; plain decimation would fold it to 6 kHz at full level.
  const y = await resample(tone(10000, 48000, 1.0), 48000, 16000);
  assert.equal(y.length, 16000);
  assert.ok(rms(y, 200, 15800) < 1e-3, `leak rms ${rms(y, 200, 15800)}`);
  // Passband: 3 kHz keeps its level, 8 kHz → 16 kHz upsampling keeps pitch.
  const p = await resample(tone(3000, 44100, 1.0), 44100, 16000);
  assert.ok(Math.abs(rms(p, 200, 15800) - 0.5 / Math.SQRT2) < 0.005);
  const u = await resample(tone(500, 8000, 1.0), 8000, 16000);
  assert.equal(u.length, 16000);
  assert.ok(Math.abs(dominantHz(u) - 500) < 4);
});

test('resample: equal rates return the input; chunked StreamResampler equals whole-signal resample exactly', async () => {
  const r = new Rng(3);
  const x = Float32Array.from({ length: 44100 * 2 + 17 }, () => 0.3 * r.normal());
  assert.equal(await resample(x, 16000, 16000), x);
  for (const from of [44100, 22050, 8000]) {
    const whole = await resample(x, from, 16000);
    assert.equal(whole.length, Math.round((x.length * 16000) / from));
    const s = await StreamResampler.create(from, 16000);
    const parts: Float32Array[] = [];
    let o = 0;
    while (o < x.length) {
      const n = r.pick([1, 100, 1000, 4097, 20000, 70000]);
      parts.push(s.push(x.subarray(o, Math.min(x.length, o + n))).slice()); // push returns a reused buffer
      o += n;
    }
    parts.push(s.finish());
    const got = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
    let p = 0;
    for (const part of parts) { got.set(part, p); p += part.length; }
    assert.deepEqual(got, whole, `${from} Hz`);
  }
  await assert.rejects(resample(x, 0, 16000), InvalidAudioError);
  await assert.rejects(resample(x, 44100.5, 16000), InvalidAudioError);
});

test('a WAV whose data chunk claims more than the file holds decodes the samples present', async () => {
  const x = tone(440, 16000, 0.5);
  const wav = encodeWav([x], 16000, 'pcm16');
  new DataView(wav.buffer).setUint32(40, 0x7ffffff0, true); // ~2 GB declared, 16 KB present
  const path = writeTmp('overlong.wav', wav);
  const y = await loadAudio(path);
  assert.equal(y.length, x.length);
  assert.deepEqual(await logMelFromFile(path), logMel(y, 16000));
});

// ---- bad input: one test per case, through both the whole-file and the streaming path ----

test('bad input: empty file', async () => {
  await rejectsBoth(writeTmp('empty.wav', new Uint8Array(0)), AudioDecodeError, /empty file/);
  await assert.rejects(decodeAudio(new Uint8Array(0), 'upload.wav'), (e: unknown) => e instanceof AudioDecodeError && /upload\.wav: empty/.test(e.message));
});

test('bad input: missing file and a directory', async () => {
  await rejectsBoth(join(tmp, 'does-not-exist.wav'), AudioDecodeError, /file not found/);
  await assert.rejects(loadAudio(tmp), AudioDecodeError);
});

test('bad input: truncated WAV header', async () => {
  const wav = encodeWav([tone(440, 16000, 0.1)], 16000);
  await rejectsBoth(writeTmp('trunc30.wav', wav.subarray(0, 30)), AudioDecodeError, /truncated WAV header/);
  await rejectsBoth(writeTmp('trunc10.wav', wav.subarray(0, 10)), AudioDecodeError, /not a recognised audio file/);
});

test('bad input: a text file renamed .wav', async () => {
  await rejectsBoth(writeTmp('notes.wav', 'These are my notes, not audio.\n'.repeat(20)), AudioDecodeError, /not a recognised audio file/);
});

test('bad input: unsupported codecs (MP3-in-WAV, Ogg Opus, AIFF)', async () => {
  const wav = encodeWav([tone(440, 16000, 0.1)], 16000);
  new DataView(wav.buffer).setUint16(20, 0x55, true);
  await rejectsBoth(writeTmp('mp3inwav.wav', wav), AudioDecodeError, /unsupported WAV codec 0x0055 \(MPEG Layer 3\)/);
  const opus = new Uint8Array(200);
  opus.set(Buffer.from('OggS'), 0);
  opus.set(Buffer.from('OpusHead'), 28);
  await rejectsBoth(writeTmp('voice.ogg', opus), AudioDecodeError, /unsupported codec: Ogg Opus/);
  const aiff = new Uint8Array(64);
  aiff.set(Buffer.from('FORM'), 0);
  await rejectsBoth(writeTmp('x.aiff', aiff), AudioDecodeError, /unsupported format AIFF/);
});

test('bad input: zero channels', async () => {
  const wav = encodeWav([tone(440, 16000, 0.1)], 16000);
  new DataView(wav.buffer).setUint16(22, 0, true);
  await rejectsBoth(writeTmp('zero-ch.wav', wav), InvalidAudioError, /0 channels/);
});

test('bad input: NaN and Infinity samples', async () => {
  const x = tone(440, 16000, 0.5);
  x[1234] = NaN;
  await rejectsBoth(writeTmp('nan.wav', encodeWav([x], 16000, 'float32')), InvalidAudioError, /sample 1234 \(0\.077 s\) of channel 0 is NaN/);
  const y = tone(440, 44100, 0.5);
  y[20000] = -Infinity;
  await rejectsBoth(writeTmp('inf.wav', encodeWav([tone(440, 44100, 0.5), y], 44100, 'float64')), InvalidAudioError, /sample 20000 .* channel 1 is -Infinity/);
});

test('bad input: absurd sample rates (0, 1 Hz, 10 MHz)', async () => {
  for (const rate of [0, 1, 10_000_000]) {
    const wav = encodeWav([tone(440, 16000, 0.1)], 16000);
    new DataView(wav.buffer).setUint32(24, rate, true);
    await rejectsBoth(writeTmp(`rate${rate}.wav`, wav), InvalidAudioError, new RegExp(`unsupported sample rate ${rate} Hz`));
  }
});

test('short input: audio shorter than one window gives 0 frames and 0 patches', async () => {
  for (const [name, n, rate] of [['short300.wav', 300, 16000], ['short44k.wav', 1000, 44100], ['nodata.wav', 0, 22050]] as const) {
    const path = writeTmp(name, encodeWav([tone(440, rate, n / rate)], rate));
    const x = await loadAudio(path);
    assert.equal(x.length, Math.round((n * 16000) / rate), name);
    assert.deepEqual(logMel(x, 16000), { data: new Float32Array(0), frames: 0 });
    assert.deepEqual(await logMelFromFile(path), { data: new Float32Array(0), frames: 0 });
    assert.deepEqual(await patchesFromFile(path), { data: new Float32Array(0), count: 0 });
  }
});

test('bad input: corrupt compressed data is an AudioDecodeError, not a crash', async () => {
  const flac = readFileSync(join(fixtures, 'audio-tone1000.flac'));
  await rejectsBoth(writeTmp('cut.flac', flac.subarray(0, 200)), AudioDecodeError, /no audio could be decoded from this FLAC file/);
  const ogg = readFileSync(join(fixtures, 'audio-tone660.ogg'));
  await rejectsBoth(writeTmp('cut.ogg', ogg.subarray(0, 20)), AudioDecodeError, /truncated Ogg file/);
});
