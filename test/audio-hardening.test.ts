/**
 * Issue 14's audio cases: an MP3 whose sample rate changes mid-stream is refused with the same
 * typed error by every path (bytes in memory, a file whole or streamed, at any size); mpg123's
 * per-frame error lines become one line per file; damaged Ogg pages are dropped by their CRC and
 * counted. The rate-change MP3s are made by ffmpeg at test time (skipped without it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeAudio } from '../src/audio/decode.js';
import { loadAudio } from '../src/audio/load.js';
import { oggPageCrc, OggPageFilter } from '../src/audio/oggPages.js';
import { logMelFromFile, samplesFromFile } from '../src/audio/stream.js';
import { InvalidAudioError } from '../src/util/errors.js';
import { repoRoot, tempDir } from './shared.js';

const tmp = tempDir('mb-audio-hard-');
const fixtures = join(repoRoot, 'test', 'fixtures');
const hasFfmpeg = spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).status === 0;

function mp3Tone(name: string, rate: number, seconds: number, hz: number): Uint8Array {
  const out = join(tmp, name);
  const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `sine=frequency=${hz}:sample_rate=${rate}:duration=${seconds}`, '-c:a', 'libmp3lame', '-b:a', '64k', out]);
  assert.equal(r.status, 0, String(r.stderr));
  return new Uint8Array(readFileSync(out));
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

test('an MP3 whose sample rate changes mid-stream is refused alike by every path, small or large', { skip: !hasFfmpeg && 'ffmpeg not installed' }, async () => {
  for (const seconds of [3, 10]) {
    const bytes = concat(mp3Tone(`a${seconds}.mp3`, 22050, seconds, 440), mp3Tone(`b${seconds}.mp3`, 44100, seconds, 660));
    if (seconds === 3) assert.ok(bytes.length < 65536, 'under one 64 KB read');
    else assert.ok(bytes.length > 65536, 'over one 64 KB read');
    const path = join(tmp, `change${seconds}.mp3`);
    writeFileSync(path, bytes);
    const check = (e: unknown): boolean => {
      assert.ok(e instanceof InvalidAudioError, String(e));
      assert.equal(e.code, 'AUDIO_INVALID');
      assert.match(e.message, /sample rate changes mid-stream \(22050 Hz, then 44100 Hz/);
      return true;
    };
    await assert.rejects(loadAudio(bytes, { source: 'upload' }), check, `${seconds} s, bytes`);
    await assert.rejects(loadAudio(path), check, `${seconds} s, whole file`);
    await assert.rejects(logMelFromFile(path), check, `${seconds} s, streamed`);
    await assert.rejects(samplesFromFile(path), check, `${seconds} s, streamed samples (the server's path)`);
  }
});

test('an MP3 of one rate joined to itself is not a rate change', { skip: !hasFfmpeg && 'ffmpeg not installed' }, async () => {
  const one = mp3Tone('same.mp3', 22050, 2, 440);
  const path = join(tmp, 'same2.mp3');
  writeFileSync(path, concat(one, one));
  const x = await samplesFromFile(path, { onWarning: () => undefined });
  assert.ok(Math.abs(x.length / 16000 - 4) < 0.2, String(x.length / 16000));
});

test('mpg123 frame errors become one warning line per file, not one console line per frame', async () => {
  const mp3 = new Uint8Array(readFileSync(join(fixtures, 'audio-tone880.mp3')));
  const bad = mp3.slice();
  for (let i = 400; i < 1400; i++) bad[i] = (i * 7919) & 0xff;
  const printed: string[] = [];
  const write = process.stderr.write;
  const warnings: string[] = [];
  process.stderr.write = ((chunk: string | Uint8Array) => (printed.push(String(chunk)), true)) as typeof process.stderr.write;
  try {
    const d = await decodeAudio(bad, 'bad.mp3', { onWarning: (l) => warnings.push(l) });
    assert.ok(d.channels[0]!.length > 0);
  } finally {
    process.stderr.write = write;
  }
  assert.deepEqual(printed.filter((l) => l.includes('mpg123')), [], 'nothing printed per frame');
  assert.equal(warnings.length, 1, warnings.join('\n'));
  assert.match(warnings[0]!, /^bad\.mp3: \d+ MP3 frames? could not be decoded and (was|were) skipped \(mpg123: /);
  // An intact file warns nothing.
  const clean: string[] = [];
  await decodeAudio(mp3, 'ok.mp3', { onWarning: (l) => clean.push(l) });
  assert.deepEqual(clean, []);
});

/** Byte offsets of the Ogg pages of `b`. */
function pageOffsets(b: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i + 27 <= b.length; ) {
    assert.equal(String.fromCharCode(...b.subarray(i, i + 4)), 'OggS');
    out.push(i);
    const n = b[i + 26]!;
    let body = 0;
    for (let s = 0; s < n; s++) body += b[i + 27 + s]!;
    i += 27 + n + body;
  }
  return out;
}

test('Ogg pages: checksums verified, a damaged page dropped and counted, the rest decoded', { skip: !hasFfmpeg && 'ffmpeg not installed' }, async () => {
  const path = join(tmp, 'pages.ogg');
  const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=500:sample_rate=22050:duration=6', '-c:a', 'libvorbis', '-q:a', '2', path]);
  assert.equal(r.status, 0, String(r.stderr));
  const ogg = new Uint8Array(readFileSync(path));
  const pages = pageOffsets(ogg);
  assert.ok(pages.length >= 5, `${pages.length} pages`);
  for (const [k, at] of pages.entries()) {
    const end = pages[k + 1] ?? ogg.length;
    const page = ogg.subarray(at, end);
    assert.equal(oggPageCrc(page), (page[22]! | (page[23]! << 8) | (page[24]! << 16) | (page[25]! << 24)) >>> 0, `page ${k}`);
  }
  const intact = new OggPageFilter();
  assert.equal(intact.push(ogg).length, ogg.length);
  intact.finish();
  assert.equal(intact.damaged, 0);
  // Damage one byte inside an audio page's body (the first pages hold the codec headers).
  const hit = pages[pages.length - 2]!;
  const bad = ogg.slice();
  bad[hit + 40] ^= 0x5a;
  const warnings: string[] = [];
  const good = await decodeAudio(ogg, 'good.ogg', { onWarning: (l) => warnings.push(l) });
  assert.equal(warnings.length, 0);
  const d = await decodeAudio(bad, 'bad.ogg', { onWarning: (l) => warnings.push(l) });
  assert.deepEqual(warnings, ['bad.ogg: 1 damaged Ogg page (checksum mismatch or cut off) skipped']);
  assert.ok(d.channels[0]!.length < good.channels[0]!.length, 'the damaged page was not decoded');
  // The streamed path reports the same.
  const badPath = join(tmp, 'bad.ogg');
  writeFileSync(badPath, bad);
  const streamed: string[] = [];
  await logMelFromFile(badPath, { onWarning: (l) => streamed.push(l) });
  assert.deepEqual(streamed, [`${badPath}: 1 damaged Ogg page (checksum mismatch or cut off) skipped`]);
  // Fed byte by byte, the filter finds the same pages.
  const slow = new OggPageFilter();
  let n = 0;
  for (let i = 0; i < bad.length; i++) n += slow.push(bad.subarray(i, i + 1)).length;
  slow.finish();
  assert.equal(slow.damaged, 1);
  assert.equal(n, ogg.length - ((pages[pages.length - 1] ?? 0) - hit));
});
