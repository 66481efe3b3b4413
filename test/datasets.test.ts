/**
 * Real-data loaders: the CSV reader, GTZAN folders (with the fault-filtered split or a seeded
 * stratified one), Deezer mood CSVs with audio looked up by id, MuMu-style albums, and
 * loadCorpus over each layout. Fixtures are a tiny generated corpus (20 tracks x 1 s) plus the
 * real metadata in ../shared/data (skipped cleanly when absent).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { synthesizeCorpus } from '../src/data/synth/index.js';
import type { SynthManifest } from '../src/data/synth/manifest.js';
import { loadCorpus, formatProblems, type Corpus } from '../src/data/datasets/index.js';
import { parseCsv, csvTableFromText, formatCsv } from '../src/data/datasets/csv.js';
import { GTZAN_GENRES, loadGtzan, readGtzanSplit } from '../src/data/datasets/gtzan.js';
import { loadDeezer, readDeezerCsv, readDeezerSplits } from '../src/data/datasets/deezer.js';
import { parseMumuAlbums, readMumuAlbums } from '../src/data/datasets/mumu.js';
import { stratifiedSplit } from '../src/data/datasets/split.js';
import { sniffAudio } from '../src/data/datasets/audioFiles.js';
import { DatasetError } from '../src/util/errors.js';
import { sharedDir } from './shared.js';

const realData = join(sharedDir, 'data');
const deezerDir = join(realData, 'deezer_mood');
const ffSplit = join(realData, 'gtzan_ff', 'split.csv');
const hasDeezer = existsSync(join(deezerDir, 'train.csv'));
const hasFf = existsSync(ffSplit);

let root = '';
let gen = '';
let synth: Corpus;
let manifest: SynthManifest;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'mb-datasets-'));
  gen = join(root, 'gen');
  synth = await synthesizeCorpus({ out: gen, tracks: 20, seconds: 1, seed: 21, workers: 0, quiet: true });
  manifest = JSON.parse(await readFile(join(gen, 'manifest.json'), 'utf8')) as SynthManifest;
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

function expectDatasetError(file: string, line?: number) {
  return (e: unknown) => e instanceof DatasetError && e.message.includes(file) && (line === undefined || e.message.includes(`line ${line}:`));
}

test('CSV: quotes, doubled quotes, embedded commas and newlines, CRLF, BOM', () => {
  const text = '\ufeffa,b,c\r\n1,"x, y","say ""hi"""\r\n\r\n2,"two\nlines",\n3,plain,"last"';
  const rows = parseCsv(text, 'mem.csv');
  assert.deepEqual(rows.map((r) => r.line), [1, 2, 4, 6]);
  assert.deepEqual(rows[1]!.fields, ['1', 'x, y', 'say "hi"']);
  assert.deepEqual(rows[2]!.fields, ['2', 'two\nlines', '']);
  assert.deepEqual(rows[3]!.fields, ['3', 'plain', 'last']);
  assert.throws(() => parseCsv('a,b\n1,"open\n2,3\n', 'bad.csv'), expectDatasetError('bad.csv', 2));
  assert.throws(() => parseCsv('a,b\n1,"x"y\n', 'bad.csv'), expectDatasetError('bad.csv', 2));
  assert.throws(() => csvTableFromText('a,b,c\n1,2,3\n4,5\n', 'short.csv', ['a']), expectDatasetError('short.csv', 3));
  assert.throws(() => csvTableFromText('a,b\n1,2\n', 'hdr.csv', ['a', 'z']), /lacks column\(s\) z/);
  const round = parseCsv(formatCsv(['id', 'title'], [[1, 'Theme From "Titanic", live']]), 'rt.csv');
  assert.deepEqual(round[1]!.fields, ['1', 'Theme From "Titanic", live']);
});

test('real Deezer mood CSVs: 11,267 / 3,863 / 3,514 rows; missing audio reported once, not fatal', { skip: !hasDeezer && 'no ../shared/data/deezer_mood' }, async () => {
  const rows = await readDeezerSplits(deezerDir);
  const count = (s: string) => rows.filter((r) => r.split === s).length;
  assert.deepEqual([count('train'), count('valid'), count('test')], [11267, 3863, 3514]);
  const first = rows[0]!;
  assert.equal(first.dzrId, '213754');
  assert.equal(first.artist, 'Dark Tranquillity');
  assert.ok(Math.abs(first.valence - -0.682725080497) < 1e-12);
  const quoted = rows.find((r) => r.dzrId === '546090')!;
  assert.equal(quoted.title, 'I Will Find You (Theme From "The Last Of The Mohicans")');
  const vs = rows.map((r) => r.valence);
  assert.ok(Math.min(...vs) < -1.5 && Math.max(...vs) > 1.5, 'roughly -2..2');
  // No audio folder: every track is skipped and listed, none is fatal.
  const empty = join(root, 'no-audio');
  await mkdir(empty);
  const r = await loadDeezer(deezerDir, { audioDir: empty });
  assert.equal(r.tracks.length, 0);
  assert.equal(r.problems.length, 18644);
  assert.match(formatProblems(r.problems), /^18644 loading problem\(s\) \(18644 missing\); the rest loaded:\n/);
  assert.match(formatProblems(r.problems), /\.\.\. and 18634 more$/);
  // Audio for two ids: those two load, the rest are reported.
  await writeFile(join(empty, '213754.wav'), await readFile(synth.tracks[0]!.audioPath));
  await writeFile(join(empty, '216752.mp3'), Buffer.from('<html>not audio</html>'));
  const r2 = await loadDeezer(deezerDir, { audioDir: empty });
  assert.deepEqual(r2.tracks.map((t) => t.id), ['213754']);
  assert.equal(r2.problems.length, 18643);
  assert.ok(r2.problems.some((p) => p.path.endsWith('216752.mp3') && /bad header/.test(p.problem)));
  const kept = await loadDeezer(deezerDir, { audioDir: empty, keepMissing: true });
  assert.equal(kept.tracks.length, 18644);
});

test('real fault-filtered GTZAN split: 443 / 197 / 290, applied to a GTZAN folder', { skip: !hasFf && 'no ../shared/data/gtzan_ff' }, async () => {
  const rows = await readGtzanSplit(ffSplit);
  const count = (s: string) => rows.filter((r) => r.split === s).length;
  assert.deepEqual([rows.length, count('train'), count('valid'), count('test')], [930, 443, 197, 290]);
  for (const g of GTZAN_GENRES) for (const s of ['train', 'valid', 'test']) assert.ok(rows.some((r) => r.genre === g && r.split === s));
  // On the generated folder (GTZAN names) the listed tracks take the file's split; listed tracks
  // that are not on disk are reported, unlisted ones are left out.
  const r = await loadGtzan(gen, { splitFile: ffSplit });
  const listed = new Map(rows.map((x) => [x.trackId, x.split]));
  const present = synth.tracks.filter((t) => listed.has(t.id));
  assert.equal(r.tracks.length, present.length);
  for (const t of r.tracks) assert.equal(t.split, listed.get(t.id));
  assert.equal(r.problems.length, 930 - present.length);
  assert.deepEqual(r.excluded.sort(), synth.tracks.filter((t) => !listed.has(t.id)).map((t) => t.id).sort());
  const c = await loadCorpus(gen, { gtzanSplit: ffSplit, quiet: true });
  assert.deepEqual(c.tracks.map((t) => [t.id, t.split]).sort(), r.tracks.map((t) => [t.id, t.split]).sort());
});

test('GTZAN folders: seeded stratified split without a split file, or the corpus split file', async () => {
  const a = await loadGtzan(gen, { seed: 1 });
  const b = await loadGtzan(gen, { seed: 1 });
  assert.equal(a.tracks.length, 20);
  assert.deepEqual(a.tracks, b.tracks);
  assert.deepEqual(a.problems, []);
  const splits = (ts: typeof a.tracks) => ts.map((t) => t.split).join();
  const other = await Promise.all([2, 3, 4].map((s) => loadGtzan(gen, { seed: s })));
  assert.ok(other.some((o) => splits(o.tracks) !== splits(a.tracks)), 'the seed changes the split');
  assert.deepEqual(['train', 'valid', 'test'].map((s) => a.tracks.filter((t) => t.split === s).length), [14, 3, 3]);
  const byFile = await loadGtzan(gen, { splitFile: join(gen, 'gtzan_split.csv') });
  const want = new Map(manifest.tracks.map((t) => [t.id, t.split]));
  for (const t of byFile.tracks) assert.equal(t.split, want.get(t.id));
  for (const t of a.tracks) assert.equal(t.genre, t.id.split('.')[0]);
});

test('missing, empty and corrupt audio files are skipped and summarised; malformed rows name file and line', async () => {
  const copy = join(root, 'damaged');
  await cp(join(gen, 'genres'), join(copy, 'genres'), { recursive: true });
  await unlink(join(copy, 'genres', 'blues', 'blues.00000.wav'));
  await writeFile(join(copy, 'genres', 'jazz', 'jazz.00001.wav'), '');
  await writeFile(join(copy, 'genres', 'rock', 'rock.00000.wav'), 'garbage bytes, not a RIFF file');
  await writeFile(join(copy, 'genres', 'rock', 'notes.txt'), 'ignored');
  const r = await loadGtzan(copy, { splitFile: join(gen, 'gtzan_split.csv') });
  assert.equal(r.tracks.length, 17);
  assert.deepEqual(r.problems.map((p) => p.problem.split(':')[0]).sort(), ['missing', 'unreadable', 'unreadable']);
  assert.ok(r.problems.some((p) => p.path.endsWith('jazz.00001.wav') && /empty file/.test(p.problem)));
  assert.ok(r.problems.some((p) => p.path.endsWith('rock.00000.wav') && /bad header/.test(p.problem)));
  const summary = formatProblems(r.problems);
  assert.match(summary, /^3 loading problem\(s\) \((1 missing, 2 unreadable|2 unreadable, 1 missing)\)/);
  const c = await loadCorpus(copy, { quiet: true });
  assert.equal(c.tracks.length, 17, 'without a split file, the deleted track is simply absent');
  assert.equal(c.problems.length, 2);

  const badSplit = join(root, 'bad-split.csv');
  await writeFile(badSplit, 'track_id,split,genre\nblues.00000,train,blues\nblues.00001,training,blues\n');
  await assert.rejects(readGtzanSplit(badSplit), expectDatasetError(badSplit, 3));
  await writeFile(badSplit, 'track_id,split,genre\nblues.00000,train,jazz\n');
  await assert.rejects(readGtzanSplit(badSplit), expectDatasetError(badSplit, 2));
  const badDeezer = join(root, 'train.csv');
  await writeFile(badDeezer, 'dzr_sng_id,MSD_sng_id,MSD_track_id,valence,arousal,artist_name,track_name\n1,S,T,0.1,0.2,a,b\n2,S,T,0.3,0.4,a,b\n3,S,T,abc,0.4,a,b\n');
  await assert.rejects(readDeezerCsv(badDeezer, 'train'), (e: unknown) => expectDatasetError(badDeezer, 4)(e) && /valence "abc"/.test((e as Error).message));
  await writeFile(badDeezer, 'dzr_sng_id,MSD_sng_id,MSD_track_id,valence,arousal,artist_name,track_name\n1,S,T,0.1,0.2,a\n');
  await assert.rejects(readDeezerCsv(badDeezer, 'train'), expectDatasetError(badDeezer, 2));
});

test('Deezer layout of the generated corpus: values match the manifest, audio found by id', async () => {
  const r = await loadDeezer(join(gen, 'deezer'));
  assert.equal(r.tracks.length, 20);
  assert.deepEqual(r.problems, []);
  const byDzr = new Map(manifest.tracks.map((t) => [t.dzrId, t]));
  for (const t of r.tracks) {
    const m = byDzr.get(t.id)!;
    assert.ok(Math.abs(t.valence! - m.valence) < 1e-6 && Math.abs(t.arousal! - m.arousal) < 1e-6);
    assert.equal(t.split, m.split);
    assert.ok(t.audioPath.endsWith(`${t.id}.wav`));
    assert.deepEqual(await readFile(t.audioPath), await readFile(join(gen, m.path)));
  }
});

test('MuMu albums: parsed, linked to tracks directly or through MSD ids; bad JSON is a DatasetError', async () => {
  const albums = await readMumuAlbums(join(gen, 'mumu', 'albums.json'));
  assert.equal(albums.length, manifest.albums.length);
  assert.deepEqual(albums.map((a) => a.reviews), manifest.albums.map((a) => a.reviews.map((r) => r.reviewText)));
  // GTZAN + MuMu: albums link by track id.
  const g = await loadCorpus(gen, { layouts: ['gtzan', 'mumu'], quiet: true });
  assert.equal(g.tracks.length, 20);
  assert.equal(g.albums.length, manifest.albums.length);
  for (const a of g.albums) assert.deepEqual(a.trackIds, manifest.albums.find((m) => m.id === a.id)!.trackIds);
  for (const t of g.tracks) assert.equal(t.albumId, manifest.tracks.find((m) => m.id === t.id)!.albumId);
  // Deezer + MuMu: albums link through the MSD track ids to Deezer ids.
  const d = await loadCorpus(gen, { layouts: ['deezer', 'mumu'], quiet: true });
  const dzrOf = new Map(manifest.tracks.map((t) => [t.id, t.dzrId]));
  for (const a of d.albums) assert.deepEqual(a.trackIds, manifest.albums.find((m) => m.id === a.id)!.trackIds.map((id) => dzrOf.get(id)));
  // Plain alternatives of the field names, genres as a comma list.
  const alt = parseMumuAlbums(JSON.stringify({ albums: [{ id: 'x1', genre: 'Rock, Pop', reviews: ['Great.', { text: 'Loud.' }], track_ids: ['rock.00000'] }] }), 'alt.json');
  assert.deepEqual(alt[0], { id: 'x1', genres: ['Rock', 'Pop'], reviews: ['Great.', 'Loud.'], trackRefs: [['rock.00000']] });
  assert.throws(() => parseMumuAlbums('{"albums": [', 'broken.json'), expectDatasetError('broken.json'));
  assert.throws(() => parseMumuAlbums('[{"reviews": []}]', 'noid.json'), (e: unknown) => expectDatasetError('noid.json')(e) && /album #0 has no id/.test((e as Error).message));
  assert.throws(() => parseMumuAlbums('[{"id": "a"}, {"id": "a"}]', 'dup.json'), /appears twice/);
});

test('loadCorpus: manifest corpora, errors for missing or empty directories', async () => {
  const c = await loadCorpus(gen, { quiet: true });
  assert.deepEqual(c.tracks, synth.tracks);
  assert.equal(c.tagVocabulary.length, synth.tagVocabulary.length);
  await assert.rejects(loadCorpus(join(root, 'nope')), (e: unknown) => e instanceof DatasetError && /does not exist/.test((e as Error).message));
  const empty = join(root, 'empty');
  await mkdir(empty);
  await assert.rejects(loadCorpus(empty), /no corpus found/);
  const badManifest = join(root, 'bad-manifest');
  await mkdir(badManifest);
  await writeFile(join(badManifest, 'manifest.json'), '{"format": "something-else"}');
  await assert.rejects(loadCorpus(badManifest), (e: unknown) => e instanceof DatasetError && /not a musicbert synth manifest/.test((e as Error).message));
});

test('stratified split: proportions, determinism, whole groups', () => {
  const items = Array.from({ length: 300 }, (_, k) => ({ genre: `g${k % 10}`, album: `g${k % 10}-a${Math.floor(k / 10) % 6}` }));
  const s1 = stratifiedSplit(items, (t) => t.genre, 7);
  assert.deepEqual(s1, stratifiedSplit(items, (t) => t.genre, 7));
  assert.notDeepEqual(s1, stratifiedSplit(items, (t) => t.genre, 8));
  assert.deepEqual(['train', 'valid', 'test'].map((s) => s1.filter((x) => x === s).length), [210, 45, 45]);
  for (let g = 0; g < 10; g++) {
    const mine = s1.filter((_, k) => k % 10 === g);
    assert.ok(Math.abs(mine.filter((x) => x === 'train').length - 21) <= 1);
  }
  const grouped = stratifiedSplit(items, (t) => t.genre, 7, { group: (t) => t.album, ratios: { train: 0.6, valid: 0.2, test: 0.2 } });
  const albumSplit = new Map<string, string>();
  items.forEach((t, k) => {
    const prev = albumSplit.get(t.album);
    assert.ok(prev === undefined || prev === grouped[k]);
    albumSplit.set(t.album, grouped[k]!);
  });
  const trainShare = grouped.filter((x) => x === 'train').length / 300;
  assert.ok(Math.abs(trainShare - 0.6) < 0.08, `train share ${trainShare}`);
});

test('audio sniffing recognises the containers', () => {
  const b = (s: string, extra: number[] = []) => new Uint8Array([...Buffer.from(s, 'latin1'), ...extra]);
  assert.equal(sniffAudio(b('RIFF\x00\x00\x00\x00WAVE')), 'wav');
  assert.equal(sniffAudio(b('fLaC')), 'flac');
  assert.equal(sniffAudio(b('OggS')), 'ogg');
  assert.equal(sniffAudio(b('ID3\x04')), 'mp3');
  assert.equal(sniffAudio(new Uint8Array([0xff, 0xfb, 0x90, 0x00])), 'mp3');
  assert.equal(sniffAudio(b('.snd')), 'au');
  assert.equal(sniffAudio(b('<html>')), undefined);
});
