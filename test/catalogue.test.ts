/**
 * The catalogue layout (folder + tracks.csv/jsonl sidecar, or embedded tags), its problem
 * reporting, symlinked folders, artist-grouped folds and the grouped evaluation. Fixtures are tiny
 * generated WAVs in a temp dir; real clips are read from ../shared/data and skipped where absent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeWav } from '../src/audio/wavWrite.js';
import type { Corpus } from '../src/data/corpus.js';
import { loadCorpus } from '../src/data/datasets/index.js';
import { asSentences, parseColumnMapping, readColumnMapping } from '../src/data/datasets/catalogue.js';
import { walkAudioFiles } from '../src/data/datasets/audioFiles.js';
import { assignGroupedFolds } from '../src/eval/folds.js';
import { catalogueFolds, evaluateGrouped, foldTrainingCorpus, groupCodes, zeroShotChoices, zeroShotFigures } from '../src/eval/grouped.js';
import { balancedAccuracy, macroF1 } from '../src/eval/metrics.js';
import { QUICK_GRID } from '../src/eval/probes.js';
import { listCatalogue } from '../src/search/indexer.js';
import { averagePrecision, chanceAveragePrecision, tagRetrievalMetrics } from '../src/search/metrics.js';
import { DatasetError } from '../src/util/errors.js';
import { loadVocabulary, modelVocabulary, saveVocabulary } from '../src/model/vocabulary.js';
import { parseQuestion } from '../src/search/ask.js';
import { sharedDir, tempDir } from './shared.js';

const realDev = join(sharedDir, 'data', 'real_dev');
const realClips = join(sharedDir, 'data', 'real_clips', 'audio');

/** A 16 kHz mono WAV: a sine of `hz` with a little noise, `seconds` long. */
function tone(hz: number, seconds = 1.2, seed = 1): Uint8Array {
  const n = Math.round(16000 * seconds);
  const x = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    x[i] = 0.5 * Math.sin((2 * Math.PI * hz * i) / 16000) + 0.02 * (s / 2147483648 - 0.5);
  }
  return encodeWav([x], 16000);
}

async function writeTones(dir: string, names: string[]): Promise<void> {
  for (const [k, name] of names.entries()) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), tone(220 + 110 * k, 1.2, k + 1));
  }
}

const kinds = (c: Corpus) => c.problems.map((p) => p.problem.split(':')[0]).sort();

test('a catalogue sidecar loads paths, ids, several texts, tags, groups and typed labels', async () => {
  const dir = tempDir('mb-cat-');
  await writeTones(dir, ['a/one.wav', 'a/two.wav', 'b/three.wav', 'four.wav']);
  await writeFile(
    join(dir, 'tracks.csv'),
    [
      'path,id,text,text,tags,artist,mood,energy',
      'a/one.wav,t1,"calm, slow",a quiet song,Calm;Slow,Ann,sad,0.5',
      'a/two.wav,t2,bright|happy,,Happy,Ann,happy,1.5',
      'b/three.wav,t3,loud,,Loud;Happy,Bob,happy,-2',
      'four.wav,,,,,Cy,sad,3',
    ].join('\n'),
  );
  const c = await loadCorpus(dir, { columns: { group: 'artist' }, quiet: true });
  assert.deepEqual(c.problems, []);
  assert.deepEqual(c.tracks.map((t) => t.id), ['t1', 't2', 't3', 'four']);
  const t1 = c.tracks[0]!;
  assert.deepEqual(t1.texts, ['calm, slow', 'a quiet song'].flatMap((s) => s.split(/[;|]/)));
  assert.deepEqual(c.tracks[1]!.texts, ['bright', 'happy']);
  assert.deepEqual(t1.tags, ['Calm', 'Slow']);
  assert.equal(t1.group, 'Ann');
  assert.deepEqual(c.labelColumns, [{ name: 'mood', kind: 'categorical' }, { name: 'energy', kind: 'numeric' }]);
  assert.deepEqual(c.tracks.map((t) => t.labels?.energy), [0.5, 1.5, -2, 3]);
  assert.deepEqual(c.tagVocabulary, ['Calm', 'Happy', 'Loud', 'Slow']);
  // Text reaches pre-training as each track's own one-track album, one sentence per text.
  assert.equal(c.albums.find((a) => a.id === t1.albumId)?.reviews[0], 'calm, slow. a quiet song.');
  assert.equal(asSentences(['Loud!', ' a song. ', '', 'Pop/Rock']), 'Loud. a song. Pop/Rock.', 'one end mark per text, empty texts dropped');
  assert.equal(c.tracks[3]!.albumId, undefined, 'no text, no album');
  // Two mapped text columns are two reviews: stage 2 draws its text views from each equally often.
  const m = await loadCorpus(dir, { columns: { group: 'artist', text: ['text', 'mood'], labels: { energy: 'numeric' } }, quiet: true });
  const m1 = m.tracks.find((t) => t.id === 't1')!;
  assert.deepEqual(m1.texts, ['calm, slow', 'a quiet song', 'sad']);
  assert.deepEqual(m.albums.find((a) => a.id === m1.albumId)?.reviews, ['calm, slow. a quiet song.', 'sad.']);
  assert.deepEqual(m.albums.find((a) => a.id === m.tracks[3]!.albumId)?.reviews, ['sad.'], 'an empty text column adds no review');
  // Every track of one artist lands in one split.
  assert.equal(new Set(c.tracks.filter((t) => t.group === 'Ann').map((t) => t.split)).size, 1);
});

test('a JSONL sidecar takes text arrays and numbers as JSON values', async () => {
  const dir = tempDir('mb-catj-');
  await writeTones(dir, ['x.wav', 'y.wav']);
  await writeFile(
    join(dir, 'tracks.jsonl'),
    [
      JSON.stringify({ path: 'x.wav', text: ['a slow ballad', 'piano'], tags: 'slow;piano', group: 'A', valence: 0.25 }),
      '{not json',
      JSON.stringify({ path: 'y.wav', text: 'fast', group: 'B', valence: -1 }),
    ].join('\n'),
  );
  const c = await loadCorpus(dir, { quiet: true });
  assert.deepEqual(c.tracks.map((t) => t.texts), [['a slow ballad', 'piano'], ['fast']]);
  assert.deepEqual(c.tracks[0]!.tags, ['slow', 'piano']);
  assert.deepEqual(c.labelColumns, [{ name: 'valence', kind: 'numeric' }]);
  assert.equal(c.tracks[1]!.labels?.valence, -1);
  assert.deepEqual(c.problems.map((p) => [p.path.endsWith('tracks.jsonl:2'), p.problem.split(':')[0]]), [[true, 'bad row']]);
});

test('bad sidecar rows are each named with their line; the rest loads', async () => {
  const dir = tempDir('mb-catbad-');
  await writeTones(dir, ['ok.wav', 'dup.wav', 'num.wav']);
  await writeFile(join(dir, 'notes.txt'), 'not audio');
  await writeFile(join(dir, 'empty.wav'), '');
  await writeFile(
    join(dir, 'tracks.csv'),
    [
      'path,id,score,kind,extra',
      'ok.wav,a,1.0,x,e', //             2
      'dup.wav,a,2.0,y,e', //            3 duplicate id
      'num.wav,b,lots,x,e', //           4 bad number (the row still loads)
      '../outside.wav,c,1,x,e', //       5 outside the folder
      'notes.txt,d,1,x,e', //            6 not audio
      'gone.wav,e,1,x,e', //             7 missing
      'empty.wav,f,1,x,e', //            8 unreadable
      'ok.wav,g,1,x', //                 9 bad row (4 fields)
      'ok.wav,h,1,y,e', //              10 same file twice
    ].join('\n'),
  );
  const columns = parseColumnMapping({ labels: { score: 'numeric', kind: 'categorical' } }, 'inline');
  const c = await loadCorpus(dir, { columns, quiet: true });
  assert.deepEqual(c.tracks.map((t) => t.id), ['a', 'b']);
  assert.equal(c.tracks[1]!.labels?.score, undefined, 'a bad number leaves the label out');
  assert.equal(c.tracks[1]!.labels?.kind, 'x');
  assert.deepEqual(kinds(c), ['bad number', 'bad row', 'duplicate id', 'duplicate path', 'missing', 'not audio', 'outside folder', 'unknown column', 'unreadable']);
  const line = (n: number) => c.problems.find((p) => p.path.endsWith(`tracks.csv:${n}`))?.problem ?? '';
  assert.match(line(3), /^duplicate id: "a" already on line 2/);
  assert.match(line(4), /^bad number: column "score" is "lots"/);
  assert.match(line(5), /^outside folder/);
  assert.match(line(6), /^not audio/);
  assert.match(line(7), /^missing/);
  assert.match(line(8), /^unreadable: empty file/);
  assert.match(line(9), /^bad row: expected 5 fields, got 4/);
  assert.ok(c.problems.some((p) => /unknown column: "extra"/.test(p.problem)));
});

test('a sidecar without the mapped columns is a DatasetError naming the file and column', async () => {
  const dir = tempDir('mb-catcol-');
  await writeTones(dir, ['a.wav']);
  await writeFile(join(dir, 'tracks.csv'), 'file,artist\na.wav,Ann\n');
  await assert.rejects(loadCorpus(dir, { quiet: true }), (e: unknown) => e instanceof DatasetError && /tracks\.csv: .*no "path" column/.test(e.message));
  await assert.rejects(loadCorpus(dir, { columns: { path: 'file', group: 'band' }, quiet: true }), (e: unknown) => e instanceof DatasetError && /no column "band" \(mapped as group\)/.test(e.message));
  const c = await loadCorpus(dir, { columns: { path: 'file', group: 'artist' }, quiet: true });
  assert.equal(c.tracks[0]?.group, 'Ann');
  assert.throws(() => parseColumnMapping({ labels: { x: 'ordinal' } }, 'm.json'), /m\.json: .*"categorical" or "numeric"/);
  assert.throws(() => parseColumnMapping({ grup: 'artist' }, 'm.json'), /unknown key "grup"/);
  await writeFile(join(dir, 'bad.json'), '{"path": ');
  await assert.rejects(readColumnMapping(join(dir, 'bad.json')), DatasetError);
});

test('symlinked files and folders are followed once, loop-safe; index lists them', async () => {
  const lib = tempDir('mb-lib-');
  await writeTones(lib, ['album/s1.wav', 'album/s2.wav', 'single.wav']);
  const cat = tempDir('mb-links-');
  await symlink(join(lib, 'single.wav'), join(cat, 'single.wav'));
  await symlink(join(lib, 'album'), join(cat, 'album'));
  await symlink(cat, join(cat, 'loop')); // a folder that contains itself
  await symlink(join(lib, 'nowhere.wav'), join(cat, 'dangling.wav'));
  const found = await walkAudioFiles(cat);
  assert.deepEqual(found.map((f) => f.rel), ['album/s1.wav', 'album/s2.wav', 'single.wav']);
  const listing = await listCatalogue(cat);
  assert.deepEqual(listing.items.map((i) => i.id).sort(), ['album/s1', 'album/s2', 'single']);
  const c = await loadCorpus(cat, { quiet: true });
  assert.equal(c.tracks.length, 3);
});

test('grouped folds never split a group, are deterministic and stratify where groups allow', () => {
  const n = 300;
  const groups = Int32Array.from({ length: n }, (_, i) => Math.floor((i * 7919) % 97));
  const classes = Int32Array.from({ length: n }, (_, i) => (groups[i]! % 3 === 0 ? 0 : i % 2 === 0 ? 1 : 2));
  const fold = assignGroupedFolds(groups, 5, 3, classes);
  const foldOf = new Map<number, number>();
  groups.forEach((g, i) => {
    if (foldOf.has(g)) assert.equal(foldOf.get(g), fold[i], `group ${g} split across folds`);
    foldOf.set(g, fold[i]!);
  });
  assert.deepEqual(assignGroupedFolds(groups, 5, 3, classes), fold);
  assert.notDeepEqual(assignGroupedFolds(groups, 5, 4, classes), fold);
  for (let f = 0; f < 5; f++) {
    const inF = [...fold.keys()].filter((i) => fold[i] === f);
    assert.ok(inF.length >= 50 && inF.length <= 70, `fold ${f} has ${inF.length} of 300`);
    const share0 = inF.filter((i) => classes[i] === 0).length / inF.length;
    assert.ok(Math.abs(share0 - 0.34) < 0.1, `fold ${f}: class-0 share ${share0}`);
  }
  assert.throws(() => assignGroupedFolds(Int32Array.from([1, 1, 2, 2]), 3, 0), /at least 3 groups/);
});

test('macro-F1, balanced accuracy and average precision match hand-worked values', () => {
  // truth 0 0 1 1 2, pred 0 1 1 1 0: F1 per class 0.5, 0.8, 0
  assert.ok(Math.abs(macroF1([0, 0, 1, 1, 2], [0, 1, 1, 1, 0]) - 1.3 / 3) < 1e-12);
  assert.ok(Math.abs(balancedAccuracy([0, 0, 1, 1, 2], [0, 1, 1, 1, 0]) - 0.5) < 1e-12);
  // ranking 0,1,2,3 with relevant {0, 2}: (1/1 + 2/3) / 2
  assert.ok(Math.abs(averagePrecision([4, 3, 2, 1], new Set([0, 2])) - (1 + 2 / 3) / 2) < 1e-12);
  // chance AP: brute force over every ranking of 5 candidates with 2 relevant
  const perms = (xs: number[]): number[][] => (xs.length <= 1 ? [xs] : xs.flatMap((x, i) => perms([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p])));
  const all = perms([0, 1, 2, 3, 4]);
  const mean = all.reduce((s, p) => s + averagePrecision(p.map((r) => -r), new Set([0, 1])), 0) / all.length;
  assert.ok(Math.abs(chanceAveragePrecision(5, 2) - mean) < 1e-12);
  const m = tagRetrievalMetrics([Float32Array.from([1, 0])], [Float32Array.from([1, 0]), Float32Array.from([0, 1]), Float32Array.from([0.8, 0.6])], [[0, 2]]);
  assert.equal(m.mAP, 1);
  assert.ok(Math.abs(m.pAt10 - 2 / 3) < 1e-12);
  assert.ok(Math.abs(m.chance.pAt10 - 2 / 3) < 1e-12);
});

test('grouped evaluation: tasks from label columns, MFCC row separates tones by artist-grouped folds', async () => {
  const dir = tempDir('mb-cateval-');
  const rows = ['path,artist,pitch,hz'];
  for (let k = 0; k < 12; k++) {
    const low = k % 2 === 0;
    const hz = low ? 200 + 10 * k : 2000 + 50 * k;
    const name = `c${k}.wav`;
    await writeFile(join(dir, name), tone(hz, 1.1, k + 1));
    rows.push(`${name},artist${Math.floor(k / 2)},${low ? 'low' : 'high'},${hz}`);
  }
  await writeFile(join(dir, 'tracks.csv'), rows.join('\n') + '\n');
  const corpus = await loadCorpus(dir, { columns: { group: 'artist', labels: { pitch: 'categorical', hz: 'numeric' } }, quiet: true });
  const { fold } = catalogueFolds(corpus, 3, 0);
  const g = groupCodes(corpus.tracks);
  for (let i = 0; i < g.length; i++) for (let j = 0; j < g.length; j++) if (g[i] === g[j]) assert.equal(fold[i], fold[j]);
  const train = foldTrainingCorpus(corpus, fold, 0, 0);
  assert.ok(train.tracks.every((t) => fold[corpus.tracks.findIndex((u) => u.id === t.id)] !== 0), 'fold 0 never reaches its own pre-training');
  const out = join(dir, 'report');
  const r = await evaluateGrouped({ data: dir, corpus, out, folds: 3, reps: ['mfcc'], grid: QUICK_GRID, innerFolds: 2, joint: false });
  const pitch = r.rows[0]!.tasks.find((t) => t.task === 'pitch')!;
  assert.equal(pitch.kind, 'classification');
  assert.equal(pitch.foldScores.length, 3);
  assert.ok(pitch.scores.accuracy! >= 0.9, `pitch accuracy ${pitch.scores.accuracy}`);
  assert.ok(pitch.scores.macroF1! >= 0.9);
  const hz = r.rows[0]!.tasks.find((t) => t.task === 'hz')!;
  assert.equal(hz.kind, 'regression');
  assert.ok(Number.isFinite(hz.scores.r2));
  assert.ok(existsSync(join(out, 'real.md')) && existsSync(join(out, 'real.json')));
});

test('real_clips as a catalogue without a sidecar: embedded Vorbis tags, every clip loads', { skip: !existsSync(realClips) && 'no ../shared/data/real_clips' }, async () => {
  const c = await loadCorpus(realClips, { layouts: ['catalogue'], quiet: true });
  assert.equal(c.tracks.length, 28);
  assert.deepEqual(c.problems, []);
  assert.ok(c.tracks.every((t) => t.audioPath.endsWith('.ogg') && t.labels !== undefined));
});

test('real_dev loads unmodified through a column mapping; a few clips via symlinks read their ID3 tags', { skip: !existsSync(join(realDev, 'labels.csv')) && 'no ../shared/data/real_dev' }, async () => {
  const columns = parseColumnMapping(
    { file: 'labels.csv', id: 'song_id', group: 'artist', title: 'title', genre: 'genre9', text: ['moods'], tags: ['moods'], labels: { quadrant: 'categorical', valence_sign: 'categorical', arousal_sign: 'categorical', genre9: 'categorical' } },
    'inline',
  );
  const c = await loadCorpus(realDev, { columns, checkAudio: 'exists', quiet: true });
  assert.equal(c.tracks.length, 380);
  assert.equal(new Set(c.tracks.map((t) => t.group)).size, 288);
  assert.equal(c.tracks.filter((t) => t.labels?.genre9 !== undefined).length, 152);
  assert.equal(c.genres.length, 9);
  assert.ok(c.tracks.every((t) => (t.tags.length ?? 0) >= 3 && /^Q[1-4]$/.test(String(t.labels?.quadrant))));
  assert.deepEqual(kinds(c), ['unknown column', 'unknown column'], 'single_genre and genres have no role');
  const links = tempDir('mb-realdev-');
  for (const t of c.tracks.slice(0, 3)) await symlink(t.audioPath, join(links, `${t.id}.mp3`));
  const e = await loadCorpus(links, { quiet: true });
  assert.equal(e.tracks.length, 3);
  assert.deepEqual(e.problems, []);
});

test('label vocabularies travel with the model and become the zero-shot defaults', async () => {
  const dir = tempDir('mb-vocab-');
  assert.equal(await loadVocabulary(dir), undefined, 'older models have none');
  await saveVocabulary(dir, modelVocabulary(['Blues', 'Pop/Rock'], ['Calm', 'Fierce']));
  const v = await loadVocabulary(dir);
  assert.deepEqual(v?.genres, ['Blues', 'Pop/Rock']);
  assert.deepEqual(v?.tags, ['Calm', 'Fierce']);
  const plan = parseQuestion('what genre is this?', { genres: v!.genres });
  assert.equal(plan.kind, 'choice');
  assert.deepEqual(plan.kind === 'choice' ? plan.options : [], ['Blues', 'Pop/Rock']);
  await writeFile(join(dir, 'labels.json'), '{"format":"other"}');
  await assert.rejects(loadVocabulary(dir), /labels\.json: not a musicbert label vocabulary/);
});

test('zero-shot choices: standardising each label over the clips stops one prompt near every clip from taking them all', () => {
  // Label 0's prompt sits near every clip (0.9 + noise); the clips' own labels show as a small lift.
  const truth = [0, 1, 1, 2, 2, 0, 1, 2];
  const sims = truth.map((t, i) => [0.9 + (t === 0 ? 0.05 : 0) + (i % 3) * 0.001, 0.3 + (t === 1 ? 0.05 : 0), 0.2 + (t === 2 ? 0.05 : 0)]);
  assert.deepEqual(zeroShotChoices(sims, false), truth.map(() => 0), 'raw: label 0 everywhere');
  assert.deepEqual(zeroShotChoices(sims, true), truth, 'standardised: each clip its own label');
  assert.deepEqual(zeroShotChoices([[0.1, 0.1]], true), [0], 'a constant column (no spread) does not divide by zero');
});

test('zero-shot figures: naming the majority genre everywhere reaches the majority rate but only chance balanced accuracy', () => {
  const truth = ['Pop', 'Pop', 'Pop', 'Jazz', 'Rap'];
  const all = zeroShotFigures(['Jazz', 'Pop', 'Rap'], truth, truth.map(() => 'Pop'), ['Pop', 'Jazz', 'Pop', 'Jazz', 'Rap']);
  assert.equal(all.accuracy, 0.6);
  assert.equal(all.majority, 0.6);
  assert.ok(Math.abs(all.balancedAccuracy - 1 / 3) < 1e-12, 'Pop recall 1, Jazz 0, Rap 0');
  assert.ok(Math.abs(all.balancedChance - 1 / 3) < 1e-12);
  assert.equal(all.standardisedAccuracy, 0.8, 'the standardised choices hit 4 of 5');
  assert.deepEqual(all.predicted, { Pop: 5 });
  assert.equal(all.tracks, 5);
  assert.throws(() => zeroShotFigures([], [], [], []), RangeError);
  assert.throws(() => zeroShotFigures(['Pop'], ['Pop'], [], ['Pop']), RangeError);
});
