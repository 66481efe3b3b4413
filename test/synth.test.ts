/**
 * The corpus generator: layout and WAV format, determinism across worker counts, resume after an
 * interruption, refusal to mix options, labels and splits, review text that carries signal, the
 * renderer's tuning and levels, and the CLI. Corpora are tiny (20 tracks x 1 s) to stay fast.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, readlink, rm, stat, unlink, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { synthesizeCorpus, GENRES, TAG_VOCABULARY, renderTrack, planCorpus } from '../src/data/synth/index.js';
import type { SynthManifest } from '../src/data/synth/manifest.js';
import { loadCorpus, type Corpus } from '../src/data/datasets/index.js';
import { DatasetError, UsageError } from '../src/util/errors.js';
import { Rng } from '../src/util/rng.js';
import { parseChord, voiceChord, snapToScale, midiToHz } from '../src/data/synth/theory.js';
import { makeGrid, stepTime } from '../src/data/synth/compose.js';
import { VOICES } from '../src/data/synth/instruments.js';
import { tempoClass } from '../src/data/synth/labels.js';
import { main } from '../src/cli.js';
import { spawnSync } from 'node:child_process';
import { repoRoot } from './shared.js';

let root = '';
let dir = '';
let corpus: Corpus;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'mb-synth-'));
  dir = join(root, 'a');
  corpus = await synthesizeCorpus({ out: dir, tracks: 20, seconds: 1, seed: 3, workers: 0, quiet: true });
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Every file under `d` (symlinks as "-> target"), path -> bytes. */
async function snapshot(d: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const walk = async (sub: string): Promise<void> => {
    for (const e of await readdir(join(d, sub), { withFileTypes: true })) {
      const rel = join(sub, e.name);
      if (e.isDirectory()) await walk(rel);
      else if (e.isSymbolicLink()) out.set(rel, Buffer.from(`-> ${await readlink(join(d, rel))}`));
      else out.set(rel, await readFile(join(d, rel)));
    }
  };
  await walk('');
  return out;
}

function wavInfo(b: Buffer): { rate: number; channels: number; bits: number; samples: Int16Array } {
  assert.equal(b.toString('ascii', 0, 4), 'RIFF');
  assert.equal(b.toString('ascii', 8, 12), 'WAVE');
  const dataBytes = b.readUInt32LE(40);
  return {
    rate: b.readUInt32LE(24), channels: b.readUInt16LE(22), bits: b.readUInt16LE(34),
    samples: new Int16Array(b.buffer.slice(b.byteOffset + 44, b.byteOffset + 44 + dataBytes)),
  };
}

test('writes the GTZAN, Deezer and MuMu layouts and a complete manifest', async () => {
  for (const g of GENRES) {
    assert.deepEqual((await readdir(join(dir, 'genres', g))).sort(), [`${g}.00000.wav`, `${g}.00001.wav`]);
  }
  const info = wavInfo(await readFile(join(dir, 'genres', 'jazz', 'jazz.00001.wav')));
  assert.deepEqual([info.rate, info.channels, info.bits, info.samples.length], [16000, 1, 16, 16000]);
  const m = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as SynthManifest;
  assert.equal(m.complete, true);
  assert.equal(m.tracks.length, 20);
  assert.deepEqual(m.options, { tracks: 20, seconds: 1, seed: 3, sampleRate: 16000, tracksPerAlbum: 5 });
  assert.equal(m.tagVocabulary.length, TAG_VOCABULARY.length);
  assert.ok(TAG_VOCABULARY.length >= 15 && TAG_VOCABULARY.length <= 30, `${TAG_VOCABULARY.length} tags`);
  for (const t of m.tracks) {
    assert.equal(t.path, `genres/${t.genre}/${t.id}.wav`);
    assert.ok(t.params.tempo >= 25 && t.params.tempo <= 240, `tempo ${t.params.tempo}`);
    assert.ok(t.params.parts.length > 0);
  }
  const deezer = (await readFile(join(dir, 'deezer', 'train.csv'), 'utf8')).split('\n');
  assert.equal(deezer[0], 'dzr_sng_id,MSD_sng_id,MSD_track_id,valence,arousal,artist_name,track_name');
  const nDeezer = (await Promise.all(['train.csv', 'validation.csv', 'test.csv'].map(async (f) => (await readFile(join(dir, 'deezer', f), 'utf8')).trim().split('\n').length - 1))).reduce((a, b) => a + b, 0);
  assert.equal(nDeezer, 20);
  const link = await readlink(join(dir, 'deezer', 'audio', `${m.tracks[0]!.dzrId}.wav`));
  assert.equal(link, `../../${m.tracks[0]!.path}`);
  const albums = JSON.parse(await readFile(join(dir, 'mumu', 'albums.json'), 'utf8')) as Array<{ amazon_id: string; reviews: Array<{ reviewText: string; overall: number }>; tracks: unknown[] }>;
  assert.equal(albums.length, m.albums.length);
  for (const a of albums) {
    assert.ok(a.reviews.length >= 1 && a.reviews.every((r) => r.reviewText.length > 40 && r.overall >= 1 && r.overall <= 5));
  }
  assert.equal((await readFile(join(dir, 'gtzan_split.csv'), 'utf8')).split('\n')[0], 'track_id,split,genre');
  // No temp files left behind by the atomic writes.
  assert.deepEqual([...(await snapshot(dir)).keys()].filter((p) => p.split('/').some((s) => s.startsWith('.'))), []);
});

test('returns the loaded corpus with labels, tags, albums and a genre-stratified split', () => {
  assert.equal(corpus.tracks.length, 20);
  assert.deepEqual(corpus.genres, [...GENRES]);
  assert.deepEqual(corpus.problems, []);
  const splits = { train: 0, valid: 0, test: 0 };
  for (const t of corpus.tracks) {
    splits[t.split]++;
    assert.ok(GENRES.includes(t.genre!));
    assert.ok(Number.isFinite(t.valence) && Number.isFinite(t.arousal));
    assert.ok(t.tags.length >= 4 && t.tags.every((g) => corpus.tagVocabulary.includes(g)), t.tags.join(','));
    assert.equal(t.durationS, 1);
    assert.ok(t.albumId && corpus.albums.some((a) => a.id === t.albumId && a.trackIds.includes(t.id)));
  }
  assert.deepEqual(splits, { train: 14, valid: 3, test: 3 });
  assert.equal(corpus.albums.length, 10);
  for (const a of corpus.albums) assert.ok(a.reviews.length >= 1 && a.genres.length >= 1 && GENRES.includes(a.genres[0]!));
});

test('audio is finite, audible and not clipped', async () => {
  for (const t of corpus.tracks) {
    const { samples } = wavInfo(await readFile(t.audioPath));
    let s2 = 0, peak = 0, clipped = 0;
    for (const v of samples) {
      s2 += v * v;
      peak = Math.max(peak, Math.abs(v));
      if (Math.abs(v) >= 32700) clipped++;
    }
    const rmsDb = 20 * Math.log10(Math.sqrt(s2 / samples.length) / 32768);
    assert.ok(rmsDb > -35 && rmsDb < -6, `${t.id} rms ${rmsDb.toFixed(1)} dBFS`);
    assert.ok(clipped / samples.length < 0.005, `${t.id} clipped ${clipped}`);
  }
});

test('is byte-identical across worker counts and differs across seeds', async () => {
  const b = join(root, 'b');
  await synthesizeCorpus({ out: b, tracks: 20, seconds: 1, seed: 3, workers: 2, quiet: true });
  const sa = await snapshot(dir);
  const sb = await snapshot(b);
  assert.deepEqual([...sb.keys()].sort(), [...sa.keys()].sort());
  for (const [k, v] of sa) assert.ok(v.equals(sb.get(k)!), `${k} differs`);
  const c = join(root, 'c');
  await synthesizeCorpus({ out: c, tracks: 20, seconds: 1, seed: 4, workers: 0, quiet: true });
  const wav = 'genres/rock/rock.00000.wav';
  assert.ok(!(await readFile(join(c, wav))).equals(sa.get(wav)!));
});

test('resumes: renders only missing tracks, removes stale temp files, same bytes', async () => {
  const before = await snapshot(dir);
  await unlink(join(dir, 'genres', 'pop', 'pop.00001.wav'));
  await writeFile(join(dir, 'genres', 'metal', 'metal.00000.wav'), Buffer.alloc(100)); // a truncated file
  await writeFile(join(dir, 'genres', 'pop', '.pop.00001.wav.123.abcd.tmp'), 'half');
  const m = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as SynthManifest;
  await writeFile(join(dir, 'manifest.json'), JSON.stringify({ ...m, complete: false }));
  const damaged = await loadCorpus(dir, { quiet: true });
  assert.equal(damaged.tracks.length, 18, 'a missing and a header-less file are skipped, not fatal');
  assert.equal(damaged.problems.length, 2);
  const progress: Array<[number, number]> = [];
  await synthesizeCorpus({ out: dir, tracks: 20, seconds: 1, seed: 3, workers: 0, quiet: true, onProgress: (d, t) => progress.push([d, t]) });
  assert.deepEqual(progress, [[18, 20], [19, 20], [20, 20]]);
  const after = await snapshot(dir);
  assert.deepEqual([...after.keys()].sort(), [...before.keys()].sort());
  for (const [k, v] of before) assert.ok(v.equals(after.get(k)!), `${k} differs after resume`);
});

test('refuses other options on an existing corpus, and foreign directories', async () => {
  await assert.rejects(
    synthesizeCorpus({ out: dir, tracks: 20, seconds: 1, seed: 5, workers: 0, quiet: true }),
    (e: unknown) => e instanceof DatasetError && /seed 3/.test(e.message) && /seed 5/.test(e.message) && e.message.includes('manifest.json'),
  );
  await assert.rejects(synthesizeCorpus({ out: dir, tracks: 21, seconds: 1, seed: 3, workers: 0, quiet: true }), DatasetError);
  const foreign = join(root, 'foreign');
  await mkdir(foreign);
  await writeFile(join(foreign, 'notes.txt'), 'mine');
  await assert.rejects(synthesizeCorpus({ out: foreign, tracks: 2, seconds: 1, seed: 1, quiet: true }), /not empty and has no manifest/);
  await assert.rejects(synthesizeCorpus({ out: join(root, 'x'), tracks: 0, seconds: 1, seed: 1 }), UsageError);
  await assert.rejects(synthesizeCorpus({ out: join(root, 'x'), tracks: 2, seconds: -1, seed: 1 }), UsageError);
  await assert.rejects(synthesizeCorpus({ out: join(root, 'x'), tracks: 2, seconds: 1, seed: 1, sampleRate: 44100 as 16000 }), UsageError);
});

test('renders at 22.05 kHz on request', async () => {
  const d = join(root, 'sr22');
  const c = await synthesizeCorpus({ out: d, tracks: 2, seconds: 0.5, seed: 9, sampleRate: 22050, workers: 0, quiet: true });
  const info = wavInfo(await readFile(c.tracks[0]!.audioPath));
  assert.deepEqual([info.rate, info.samples.length], [22050, 11025]);
});

test('labels: standardised mood that follows the music, consistent tags, album-grouped stratified split', () => {
  const plan = planCorpus({ tracks: 400, seed: 11, tracksPerAlbum: 5 });
  const val = plan.tracks.map((t) => t.labels.valence);
  const aro = plan.tracks.map((t) => t.labels.arousal);
  const mean = (x: number[]) => x.reduce((a, b) => a + b, 0) / x.length;
  const std = (x: number[]) => Math.sqrt(mean(x.map((v) => (v - mean(x)) ** 2)));
  assert.ok(Math.abs(mean(val)) < 0.4 && std(val) > 0.6 && std(val) < 1.5, `valence ${mean(val)} ± ${std(val)}`);
  assert.ok(Math.abs(mean(aro)) < 0.4 && std(aro) > 0.6 && std(aro) < 1.5, `arousal ${mean(aro)} ± ${std(aro)}`);
  const byGenre = (g: string, f: (t: (typeof plan.tracks)[number]) => number) => mean(plan.tracks.filter((t) => t.params.genre === g).map(f));
  assert.ok(byGenre('metal', (t) => t.labels.arousal) > byGenre('classical', (t) => t.labels.arousal) + 1);
  assert.ok(byGenre('country', (t) => t.labels.valence) > byGenre('metal', (t) => t.labels.valence) + 0.5);
  // Major-mode tracks are happier on average than minor ones.
  const maj = plan.tracks.filter((t) => t.labels.tags.includes('major')).map((t) => t.labels.valence);
  const min = plan.tracks.filter((t) => t.labels.tags.includes('minor')).map((t) => t.labels.valence);
  assert.ok(mean(maj) > mean(min) + 0.5);
  const used = new Set<string>();
  for (const t of plan.tracks) {
    for (const g of t.labels.tags) used.add(g);
    assert.equal(t.labels.tags.includes('drums'), t.params.drums !== null);
    assert.ok(t.labels.tags.includes(tempoClass(t.params)));
    assert.equal(t.labels.tags.includes('rap'), t.params.parts.some((p) => p.instrument === 'rapVocal'));
    assert.ok(!(t.labels.tags.includes('acoustic') && t.labels.tags.includes('electronic')));
  }
  assert.equal(used.size, TAG_VOCABULARY.length, 'every tag occurs');
  // Every genre in every split; no album straddles two splits.
  for (const g of GENRES) for (const s of ['train', 'valid', 'test']) assert.ok(plan.tracks.some((t) => t.params.genre === g && t.split === s), `${g} ${s}`);
  const albumSplit = new Map<string, string>();
  for (const t of plan.tracks) {
    const prev = albumSplit.get(t.params.albumId);
    assert.ok(prev === undefined || prev === t.split, `album ${t.params.albumId} straddles splits`);
    albumSplit.set(t.params.albumId, t.split);
  }
  // Genres overlap: some tracks borrow grooves from other genres (a blues-style rock track, ...).
  const borrowed = plan.tracks.filter((t) => t.params.drums && t.params.genre === 'rock' && ['shuffle', 'train', 'pop', 'metal'].includes(t.params.drums.pattern));
  assert.ok(borrowed.length > 0);
});

test('the default corpus size tests every genre: one whole album per genre at least', () => {
  // 200 tracks = 4 albums a genre: 15% of a genre is under one album, so the test share is reserved per genre.
  const plan = planCorpus({ tracks: 200, seed: 1, tracksPerAlbum: 5 });
  const count = (s: string) => plan.tracks.filter((t) => t.split === s).length;
  assert.deepEqual([count('train'), count('valid'), count('test')], [130, 20, 50]);
  for (const g of GENRES) {
    const albums = plan.albums.filter((a) => a.genres[0] === g);
    const splits = albums.map((a) => plan.tracks.find((t) => t.params.albumId === a.id)!.split);
    assert.equal(splits.filter((s) => s === 'test').length, 1, `${g}: ${splits.join(',')}`);
    assert.ok(splits.includes('train'), `${g} has a training album`);
  }
});

test('reviews name genres and danceability in the words prompts use', () => {
  const plan = planCorpus({ tracks: 400, seed: 3, tracksPerAlbum: 5 });
  const names: Record<string, RegExp> = { hiphop: /\bhip[ -]hop\b/i };
  const ownShares: number[] = [];
  for (const g of GENRES) {
    const re = names[g] ?? new RegExp(`\\b${g}\\b`, 'i');
    const own = plan.albums.filter((a) => a.genres[0] === g).flatMap((a) => a.reviews.map((r) => r.reviewText));
    const other = plan.albums.filter((a) => !a.genres.includes(g)).flatMap((a) => a.reviews.map((r) => r.reviewText));
    const share = (xs: string[]) => xs.filter((x) => re.test(x)).length / xs.length;
    assert.ok(share(own) > 0.35, `${g} named in ${(share(own) * 100).toFixed(0)}% of its reviews`);
    ownShares.push(share(own));
    assert.ok(share(other) < share(own) / 3, `${g} named in ${(share(other) * 100).toFixed(0)}% of other genres' reviews`);
  }
  assert.ok(ownShares.reduce((a, b) => a + b, 0) / ownShares.length > 0.6, `genres named in ${ownShares.map((x) => x.toFixed(2)).join(' ')} of their reviews`);
  const texts = plan.albums.flatMap((a) => a.reviews.map((r) => r.reviewText));
  assert.ok(texts.some((t) => /very danceable|dance to every track/i.test(t)));
  assert.ok(texts.some((t) => /not danceable|not music to dance to/i.test(t)));
  // Danceable claims follow the music: never about albums with no drums.
  for (const a of plan.albums) {
    const drums = a.trackIds.filter((id) => plan.tracks.find((t) => t.params.id === id)!.params.drums !== null).length;
    if (drums < a.trackIds.length / 2) for (const r of a.reviews) assert.ok(!/very danceable|dance to every track|danceable from start/i.test(r.reviewText), r.reviewText);
  }
  for (const t of texts) assert.ok(!/\ba [aeiou]/i.test(t.replace(/\ba (one|unique|u\w*)/gi, '')), t);
});

test('reviews describe rather than list, vary, and carry genre signal a bag of words can find', () => {
  const plan = planCorpus({ tracks: 600, seed: 5, tracksPerAlbum: 3 });
  const reviews = plan.albums.flatMap((a) => a.reviews.map((r) => ({ genre: a.genres[0]!, text: r.reviewText })));
  const sentences = new Set(reviews.flatMap((r) => r.text.split(/(?<=[.!?])\s+/)));
  assert.ok(sentences.size > 500, `${sentences.size} distinct sentences`);
  assert.ok(new Set(reviews.map((r) => r.text)).size === reviews.length, 'no two reviews are identical');
  for (const r of reviews) assert.ok(!/\b(acoustic_guitar|distorted_guitar|triple_meter)\b/.test(r.text), r.text);
  // Nearest-centroid genre classifier over word counts: train on even albums, test on odd ones.
  const words = (s: string) => s.toLowerCase().match(/[a-z][a-z'-]+/g) ?? [];
  const centroids = new Map<string, Map<string, number>>();
  const test: typeof reviews = [];
  reviews.forEach((r, k) => {
    if (k % 2) { test.push(r); return; }
    const c = centroids.get(r.genre) ?? new Map<string, number>();
    for (const w of words(r.text)) c.set(w, (c.get(w) ?? 0) + 1);
    centroids.set(r.genre, c);
  });
  const df = new Map<string, number>();
  for (const c of centroids.values()) for (const w of c.keys()) df.set(w, (df.get(w) ?? 0) + 1);
  let ok = 0;
  for (const r of test) {
    let best = '', bestScore = -Infinity;
    for (const [g, c] of centroids) {
      const total = [...c.values()].reduce((a, b) => a + b, 0);
      let s = 0;
      for (const w of words(r.text)) s += Math.log(((c.get(w) ?? 0) + 0.1) / total) * Math.log(1 + 10 / (df.get(w) ?? 10));
      if (s > bestScore) { bestScore = s; best = g; }
    }
    if (best === r.genre) ok++;
  }
  assert.ok(ok / test.length > 0.5, `text genre accuracy ${(ok / test.length).toFixed(2)} (chance 0.1)`);
});

test('renderTrack is deterministic and lands near its loudness target', () => {
  const plan = planCorpus({ tracks: 10, seed: 2, tracksPerAlbum: 5 });
  for (const t of plan.tracks.slice(0, 4)) {
    const a = renderTrack(t.params, 16000, 2);
    const b = renderTrack(t.params, 16000, 2);
    assert.equal(a.length, 32000);
    assert.deepEqual(a, b);
    let s2 = 0;
    for (const v of a) { assert.ok(Number.isFinite(v) && Math.abs(v) <= 1); s2 += v * v; }
    const db = 10 * Math.log10(s2 / a.length);
    assert.ok(Math.abs(db - t.params.mix.loudnessDb) < 4, `${t.params.id}: ${db.toFixed(1)} vs target ${t.params.mix.loudnessDb}`);
  }
});

test('plucked and sustained voices are in tune', () => {
  const sr = 16000;
  // Period from the autocorrelation peak (parabolic interpolation) over the steady part.
  const pitch = (x: Float32Array, lo: number, hi: number): number => {
    const seg = x.subarray(2000, 10000);
    const ac = (lag: number) => { let s = 0; for (let i = 0; i + lag < seg.length; i++) s += seg[i]! * seg[i + lag]!; return s; };
    let best = 0, bestV = -Infinity;
    for (let lag = Math.floor(sr / hi); lag <= Math.ceil(sr / lo); lag++) { const v = ac(lag); if (v > bestV) { bestV = v; best = lag; } }
    const a = ac(best - 1), b = ac(best), c = ac(best + 1);
    return sr / (best + (0.5 * (a - c)) / (a - 2 * b + c));
  };
  const tb = { brightness: 0.5, decay: 0.8, attack: 0.2, vibrato: 0, character: 0.3 };
  for (const [inst, f] of [['acousticGuitar', 440], ['acousticGuitar', 196], ['cleanGuitar', 659.3], ['organ', 261.6], ['brass', 392], ['electricBass', 82.4], ['uprightBass', 55], ['piano', 523], ['vocal', 220]] as const) {
    const buf = new Float32Array(sr);
    VOICES[inst](buf, { start: 0, gate: sr, freq: f, vel: 0.8 }, tb, sr, new Rng(1));
    const got = pitch(buf, f * 0.8, f * 1.25);
    assert.ok(Math.abs(1200 * Math.log2(got / f)) < 5, `${inst} ${f} Hz rendered at ${got.toFixed(1)} Hz`);
  }
});

test('music theory and timing helpers', () => {
  assert.deepEqual(parseChord('bVII7'), { root: 10, tones: [0, 4, 7, 10], quality: '7' });
  assert.deepEqual(parseChord('ii7').tones, [0, 3, 7, 10]);
  assert.equal(parseChord('iim7b5').quality, 'm7b5');
  assert.throws(() => parseChord('H7'), RangeError);
  assert.deepEqual(voiceChord(parseChord('IV'), 0, 60), [60, 65, 69]); // F major over C, closed from C4
  assert.equal(snapToScale(61, 0, [0, 2, 4, 5, 7, 9, 11]), 60);
  assert.ok(Math.abs(midiToHz(69) - 440) < 1e-9);
  const params = planCorpus({ tracks: 1, seed: 1, tracksPerAlbum: 1 }).tracks[0]!.params;
  const g = makeGrid({ ...params, tempo: 120, meter: 4, swing: 1 }, 4);
  assert.equal(g.barS, 2);
  assert.ok(Math.abs(stepTime(g, 1, 2) - (2 + (2 / 3) * 0.5)) < 1e-9, 'full swing puts the off-beat eighth on the triplet');
  assert.equal(stepTime({ ...g, swing: 0 }, 0, 2), 0.25);
});

test('CLI: synth prints a JSON summary and rejects bad arguments', async () => {
  const out = join(root, 'cli');
  const cli = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'src', 'cli.ts'), 'synth', ...args], { cwd: repoRoot, encoding: 'utf8' });
  const r = cli(['--out', out, '--tracks', '10', '--seconds', '0.5', '--seed', '2', '--workers', '0', '--json', '--quiet']);
  assert.equal(r.status, 0, r.stderr);
  const summary = JSON.parse(r.stdout.trim()) as { tracks: number; albums: number; splits: Record<string, number>; reviews: number };
  assert.equal(summary.tracks, 10);
  assert.equal(summary.splits.train! + summary.splits.valid! + summary.splits.test!, 10);
  assert.ok(summary.reviews >= summary.albums);
  assert.ok((await stat(join(out, 'manifest.json'))).size > 0);
  const errWrite = process.stderr.write.bind(process.stderr);
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    assert.equal(await main(['synth', '--tracks', '10', '--seconds', '1', '--seed', '1']), 2, 'missing --out is a usage error');
    assert.equal(await main(['synth', '--out', out, '--tracks', 'ten', '--seconds', '1', '--seed', '1']), 2);
    assert.equal(await main(['synth', '--out', out, '--tracks', '10', '--seconds', '0.5', '--seed', '3', '--workers', '0', '--quiet']), 1, 'a different seed on the same directory fails');
  } finally {
    process.stderr.write = errWrite;
  }
});
