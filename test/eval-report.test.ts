import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderMarkdown, summariseRow, writeReport, type RunResult, type Table1 } from '../src/eval/report.js';
import type { TaskResult } from '../src/eval/probes.js';
import type { TaskName } from '../src/eval/types.js';

function task(name: TaskName, score: number): TaskResult {
  return {
    task: name,
    metric: name === 'genre' ? 'accuracy' : 'r2',
    score,
    foldScores: [score],
    chosen: [{ kernel: 'rbf', C: 2, gamma: 0.1 }],
    cvScores: [score - 0.01],
    nTrain: 30,
    nTest: 10,
    baseline: name === 'genre' ? 0.25 : 0,
  };
}

function run(seed: number, g: number, v: number, a: number): RunResult {
  return { seed, cached: false, seconds: 1, tasks: { genre: task('genre', g), valence: task('valence', v), arousal: task('arousal', a) } };
}

/** Minimal well-formedness: every opened element is closed in order; returns element names. */
function xmlElements(svg: string): string[] {
  const stack: string[] = [];
  const names: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z][\w:-]*)([^>]*?)(\/?)>/g)) {
    const [, close, name, , self] = m as unknown as [string, string, string, string, string];
    if (close) assert.equal(stack.pop(), name, `closing </${name}> does not match`);
    else {
      names.push(name);
      if (!self) stack.push(name);
    }
  }
  assert.deepEqual(stack, [], 'unclosed elements');
  return names;
}

test('report writes table1.md/json/svg atomically, and the three agree', async () => {
  const rows = [
    summariseRow('mfcc', 80, false, [run(0, 0.5, 0.2, 0.3)]),
    summariseRow('tlm', 160, true, [run(0, 0.6, 0.1, 0.4), run(1, 0.7, -0.1, 0.5), run(2, 0.8, 0.0, 0.6)]),
  ];
  // mean ± sample std over seeds
  assert.ok(Math.abs((rows[1]?.scores.genre?.mean ?? 0) - 0.7) < 1e-12);
  assert.ok(Math.abs((rows[1]?.scores.genre?.std ?? 0) - 0.1) < 1e-12);
  assert.equal(rows[0]?.scores.genre?.std, 0);
  const table: Table1 = {
    format: 'musicbert-table1',
    version: 1,
    data: '/data/x & <y>',
    split: 'ff',
    quick: false,
    seeds: 3,
    corpus: { tracks: 40, train: 30, test: 10, genres: ['a', 'b'] },
    tasks: ['genre', 'valence', 'arousal'],
    baselines: { genre: 0.25, valence: 0, arousal: 0 },
    rows,
  };
  const dir = await mkdtemp(join(tmpdir(), 'mb-report-'));
  try {
    const paths = await writeReport(dir, table);
    assert.deepEqual((await readdir(dir)).sort(), ['table1.json', 'table1.md', 'table1.svg'], 'no temp files left behind');
    const json = JSON.parse(await readFile(paths.json, 'utf8')) as Table1;
    assert.deepEqual(json.rows.map((r) => r.rep), ['mfcc', 'tlm']);
    assert.equal(json.rows[1]?.runs.length, 3);

    const md = await readFile(paths.md, 'utf8');
    assert.equal(md, renderMarkdown(json));
    const tlmLine = md.split('\n').find((l) => l.includes('`tlm`')) as string;
    const cells = tlmLine.split('|').map((c) => c.trim());
    assert.equal(cells[2], '160');
    assert.equal(cells[3], `${json.rows[1]?.scores.genre?.mean.toFixed(3)} ± ${json.rows[1]?.scores.genre?.std.toFixed(3)}`);
    assert.equal(cells[4], '0.000 ± 0.100');
    assert.ok(md.includes('| MFCC statistics (`mfcc`) | 80 | 0.500 | 0.200 | 0.300 | 1 |'), md);

    const svg = await readFile(paths.svg, 'utf8');
    const elements = xmlElements(svg);
    assert.equal(elements[0], 'svg');
    for (const r of json.rows) assert.ok(svg.includes(`>${r.label}</text>`), `row label ${r.label} in the chart`);
    // one bar per (row, task), carrying the JSON values; error bars only for multi-seed rows
    const bars = [...svg.matchAll(/data-rep="(\w+)" data-task="(\w+)" data-mean="([^"]+)" data-std="([^"]+)"/g)];
    assert.equal(bars.length, 6);
    for (const [, rep, t, mean, std] of bars) {
      const s = json.rows.find((r) => r.rep === rep)?.scores[t as TaskName];
      assert.equal(Number(mean), s?.mean);
      assert.equal(Number(std), s?.std);
    }
    assert.equal((svg.match(/class="errorbar"/g) ?? []).length, 3);
    assert.ok(!svg.includes('& <y>'), 'text is escaped');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('feature cache key: a learned row is recomputed when what its training tracks carry changes', async () => {
  const { cacheKey } = await import('../src/eval/representations/cache.js');
  const { fullRepresentation, localRepresentation } = await import('../src/eval/representations/modelReps.js');
  const track = { id: 'a', audioPath: '/nonexistent/a.mp3', split: 'train', tags: ['calm'], genre: 'Jazz', labels: { quadrant: 'Q3' }, texts: ['calm'], albumId: 'al' };
  const corpus = { root: '/x', tracks: [track], albums: [{ id: 'al', reviews: ['soft piano'], genres: [], trackIds: ['a'] }], genres: ['Jazz'], tagVocabulary: ['calm'], problems: [] };
  const ctx = (train: object) => ({ corpus, trainCorpus: train, allowLabelTargets: true, seed: 0, quick: false, cacheDir: '/tmp/none', frontend: {}, verbose: false }) as never;
  const base = await cacheKey(fullRepresentation, ctx(corpus));
  const changed = async (t: object, albums = corpus.albums) => cacheKey(fullRepresentation, ctx({ ...corpus, albums, tracks: [{ ...track, ...t }] }));
  assert.equal(await cacheKey(fullRepresentation, ctx(corpus)), base, 'the key is deterministic');
  assert.notEqual(await changed({ texts: ['dark'] }), base, 'text of a training track');
  assert.notEqual(await changed({ genre: 'Rock' }), base, 'genre of a training track');
  assert.notEqual(await changed({ labels: { quadrant: 'Q1' } }), base, 'a label column of a training track');
  assert.notEqual(await changed({}, [{ ...corpus.albums[0]!, reviews: ['loud drums'] }]), base, 'a review of its album');
  assert.notEqual(await cacheKey(localRepresentation, ctx(corpus)), base, 'another row');
  // The audio is keyed by its bytes: a re-mounted or copied dataset (new mtimes) keeps its runs.
  const dir = await mkdtemp(join(tmpdir(), 'mb-key-'));
  try {
    const audioPath = join(dir, 'a.wav');
    await writeFile(audioPath, Uint8Array.of(1, 2, 3, 4));
    const real = { ...corpus, tracks: [{ ...track, audioPath }] };
    const onDisk = await cacheKey(fullRepresentation, ctx(real));
    await utimes(audioPath, new Date(), new Date(Date.now() + 10_000));
    assert.equal(await cacheKey(fullRepresentation, ctx(real)), onDisk, 'a new mtime on the same bytes keeps the key');
    await writeFile(join(dir, 'b.wav'), Uint8Array.of(1, 2, 3, 5));
    await rename(join(dir, 'b.wav'), audioPath);
    assert.notEqual(await cacheKey(fullRepresentation, ctx(real)), onDisk, 'other bytes at the same path change the key');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
