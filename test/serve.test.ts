import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { encodeWav } from '../src/audio/wavWrite.js';
import { loadCorpus, type Corpus } from '../src/data/datasets/index.js';
import { Catalogue } from '../src/search/catalogue.js';
import { startServer, type RunningServer } from '../src/serve/server.js';
import { searchFixture, FIXTURE_TRACKS } from './search-fixture.js';

let cat: Catalogue;
let srv: RunningServer;
let corpus: Corpus;
let wav: Uint8Array;

const LIMIT = 512 * 1024;

before(async () => {
  const fx = await searchFixture();
  corpus = await loadCorpus(fx.data, { quiet: true });
  cat = await Catalogue.open({ db: fx.db });
  srv = await startServer({ catalogue: cat, port: 0, limits: { maxUploadBytes: LIMIT } });
  wav = new Uint8Array(await readFile(corpus.tracks[3]!.audioPath));
});

after(async () => {
  await srv?.close();
  cat?.close();
});

async function get(path: string, init?: RequestInit): Promise<{ status: number; body: Record<string, unknown>; res: Response }> {
  const res = await fetch(srv.url + path, init);
  const text = await res.text();
  let body: Record<string, unknown> = {};
  if ((res.headers.get('content-type') ?? '').includes('json')) body = JSON.parse(text);
  return { status: res.status, body, res };
}

const post = (path: string, body: Uint8Array | string) => get(path, { method: 'POST', body });

test('GET / serves the page with a strict content policy', async () => {
  const res = await fetch(srv.url + '/');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type')!, /text\/html/);
  assert.match(res.headers.get('content-security-policy')!, /default-src 'none'/);
  const html = await res.text();
  assert.match(html, /<input id="q" type="search"/);
  assert.match(html, /id="file" type="file"/);
  assert.match(html, /up to 512 kB/);
});

test('search: results with audio links and no filesystem paths; unicode queries work', async () => {
  const r = await get('/api/search?q=' + encodeURIComponent('slow sad piano ballad') + '&k=4');
  assert.equal(r.status, 200);
  const hits = r.body.hits as Array<Record<string, unknown>>;
  assert.equal(hits.length, 4);
  for (const h of hits) {
    assert.equal(h.path, undefined);
    assert.equal(h.audio, `/audio/${encodeURIComponent(h.id as string)}`);
    assert.ok(typeof h.score === 'number' && Array.isArray(h.tags));
  }
  const u = await get('/api/search?q=' + encodeURIComponent('música très calme 音楽 🎹'));
  assert.equal(u.status, 200);
  assert.equal(u.body.query, 'música très calme 音楽 🎹');
  assert.equal((u.body.hits as unknown[]).length, 10);
  const info = await get('/api/info');
  assert.equal(info.body.tracks, FIXTURE_TRACKS);
});

test('bad parameters are 400s with a JSON message; unknown routes 404, wrong methods 405', async () => {
  for (const path of ['/api/search', '/api/search?q=', '/api/search?q=%20%20', '/api/search?q=x&k=0', '/api/search?q=x&k=abc', '/api/search?q=x&k=101', '/api/search?q=' + 'a'.repeat(1001)]) {
    const r = await get(path);
    assert.equal(r.status, 400, path);
    assert.equal(typeof r.body.error, 'string', path);
    assert.equal(r.body.status, 400);
  }
  assert.match((await get('/api/search?q=')).body.error as string, /"q" is required/);
  assert.equal((await get('/api/nope')).status, 404);
  assert.equal((await get('/nope')).status, 404);
  assert.equal((await get('/api/search?q=x', { method: 'DELETE' })).status, 405);
  assert.equal((await get('/api/upload')).status, 405);
});

test('similar: neighbours of a stored id, 404 for an unknown one', async () => {
  const id = corpus.tracks[2]!.id;
  const r = await get(`/api/similar?id=${encodeURIComponent(id)}&k=3`);
  assert.equal(r.status, 200);
  const ids = (r.body.hits as Array<{ id: string }>).map((h) => h.id);
  assert.equal(ids.length, 3);
  assert.ok(!ids.includes(id));
  assert.equal((await get('/api/similar?id=nope')).status, 404);
});

test('audio: streams stored files by id only, with ranges; paths and traversal get 404', async () => {
  const t = corpus.tracks[1]!;
  const bytes = await readFile(t.audioPath);
  const r = await fetch(`${srv.url}/audio/${encodeURIComponent(t.id)}`);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'audio/wav');
  assert.ok(Buffer.from(await r.arrayBuffer()).equals(bytes));
  const part = await fetch(`${srv.url}/audio/${encodeURIComponent(t.id)}`, { headers: { range: 'bytes=10-19' } });
  assert.equal(part.status, 206);
  assert.equal(part.headers.get('content-range'), `bytes 10-19/${bytes.length}`);
  assert.ok(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(10, 20)));
  assert.equal((await fetch(`${srv.url}/audio/${encodeURIComponent(t.id)}`, { headers: { range: `bytes=${bytes.length}-` } })).status, 416);
  for (const p of [encodeURIComponent(t.audioPath), '..%2F..%2F..%2Fetc%2Fpasswd', encodeURIComponent('/etc/passwd'), '', 'x%00y']) {
    assert.equal((await get(`/audio/${p}`)).status, 404, p);
  }
  // A raw ../ in the request line never reaches the handler as a path either.
  const raw = await new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: srv.port, path: '/audio/../../etc/passwd', method: 'GET' }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(raw, 404);
  assert.equal((await get('/audio/%E0%A4%A')).status, 400);
});

test('uploads: tags, questions and neighbours of a clip', async () => {
  const tags = await post('/api/tags?labels=' + encodeURIComponent('jazz, rock ,blues'), wav);
  assert.equal(tags.status, 200, JSON.stringify(tags.body));
  const labels = tags.body.labels as Array<{ label: string; score: number }>;
  assert.deepEqual(labels.map((l) => l.label).sort(), ['blues', 'jazz', 'rock']);
  assert.ok(Math.abs(labels.reduce((s, l) => s + l.score, 0) - 1) < 1e-6);
  assert.ok(labels.every((l, i) => i === 0 || l.score <= labels[i - 1]!.score));
  assert.deepEqual(tags.body.unknownWords, ['jazz', 'rock', 'blues'].filter((w) => cat.space.unknownWords(w).length > 0));
  const def = await post('/api/tags', wav);
  assert.equal((def.body.labels as unknown[]).length, 10, 'default labels: the GTZAN genres');
  const ask = await post('/api/ask?q=' + encodeURIComponent('Is this danceable?'), wav);
  assert.equal(ask.status, 200);
  assert.ok(ask.body.answer === 'yes' || ask.body.answer === 'no');
  const choice = await post('/api/ask?q=' + encodeURIComponent('which one?') + '&choices=' + encodeURIComponent('waltz,polka'), wav);
  assert.equal(choice.status, 200);
  assert.ok(['waltz', 'polka'].includes(choice.body.answer as string));
  const up = await post('/api/upload?k=3', wav);
  assert.equal(up.status, 200);
  assert.ok(Math.abs((up.body.durationS as number) - 3) < 0.01);
  const nb = up.body.neighbours as Array<{ id: string; score: number }>;
  assert.equal(nb[0]!.id, corpus.tracks[3]!.id, 'a catalogue clip finds itself first');
  assert.ok(nb[0]!.score > 0.9999);
});

test('bad uploads get clear 4xx JSON, and the server keeps serving', async () => {
  const html = await post('/api/upload', '<html><body>not audio</body></html>');
  assert.equal(html.status, 415);
  assert.match(html.body.error as string, /upload a WAV, MP3, FLAC or Ogg Vorbis file/);
  assert.equal((await post('/api/tags', new Uint8Array(0))).status, 400);
  const big = new Uint8Array(LIMIT + 1);
  big.set(wav.subarray(0, 44));
  const tooBig = await post('/api/upload', big);
  assert.equal(tooBig.status, 413);
  assert.match(tooBig.body.error as string, /512 kB limit/);
  // Without a Content-Length (chunked), the body is cut off once it passes the limit.
  const chunks = [wav.subarray(0, 44), new Uint8Array(300 * 1024), new Uint8Array(300 * 1024)];
  const stream = new ReadableStream<Uint8Array>({ pull(c) { const next = chunks.shift(); if (next) c.enqueue(next); else c.close(); } });
  const chunked = await fetch(srv.url + '/api/upload', { method: 'POST', body: stream, duplex: 'half' } as RequestInit).catch((e: Error) => e);
  if (chunked instanceof Response) assert.equal(chunked.status, 413);
  else assert.match(String(chunked.cause ?? chunked), /socket|reset|closed|EPIPE/i, 'or the connection is closed on the sender');
  const short = await post('/api/tags', encodeWav([new Float32Array(4000)], 16000));
  assert.equal(short.status, 422);
  assert.match(short.body.error as string, /shorter than one 0\.96 s patch/);
  const truncated = await post('/api/upload', wav.subarray(0, 30));
  assert.ok(truncated.status === 415 || truncated.status === 400, String(truncated.status));
  assert.equal((await post('/api/ask', wav)).status, 400, 'a question is required');
  assert.equal((await post('/api/ask?q=' + encodeURIComponent('why?'), wav)).status, 400);
  assert.equal((await post('/api/tags?labels=' + encodeURIComponent(' , '), wav)).status, 400);
  assert.equal((await post('/api/tags?labels=' + Array.from({ length: 65 }, (_, i) => `l${i}`).join(','), wav)).status, 400);
  // Still alive and correct.
  const ok = await get('/api/search?q=jazz&k=2');
  assert.equal(ok.status, 200);
  assert.equal((ok.body.hits as unknown[]).length, 2);
});

test('a request over the time limit gets a 503 and the server goes on', async () => {
  const slow = await startServer({ catalogue: cat, port: 0, limits: { requestTimeoutMs: 1 } });
  try {
    const r = await fetch(`${slow.url}/api/upload`, { method: 'POST', body: wav });
    assert.equal(r.status, 503);
    assert.match(((await r.json()) as { error: string }).error, /took longer than/);
    await new Promise((res) => setTimeout(res, 300)); // let the abandoned work finish
    const page = await fetch(`${slow.url}/`);
    assert.equal(page.status, 200);
  } finally {
    await slow.close();
  }
  assert.equal((await get('/api/search?q=calm')).status, 200);
});
