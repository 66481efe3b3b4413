/**
 * The HTTP server: a JSON API over a Catalogue and the web page that uses it.
 *
 *   GET  /                      the page
 *   GET  /api/info              catalogue size and vector width
 *   GET  /api/search?q=&k=      text → music
 *   GET  /api/similar?id=&k=    music → music, from a stored track
 *   POST /api/tags?labels=      zero-shot labels of an uploaded clip (raw audio body)
 *   POST /api/ask?q=&choices=   a question about an uploaded clip
 *   POST /api/upload?k=&labels= an uploaded clip's labels and nearest catalogue tracks
 *   POST /api/chat              a conversation turn (see chat.ts)
 *   GET  /audio/:id             the catalogue file of a stored id (Range supported)
 *
 * Every input is checked (sizes, content, parameters, the Host header) and every failure is a JSON
 * `{ error }` with a 4xx/5xx status; a bad request never takes the server down. Model work
 * (decoding uploads, model passes) runs on worker threads behind the ServeModel interface
 * (model.ts, workerPool.ts), so the event loop that answers requests never waits on it; an upload
 * is streamed to a temp file and decoded block by block under a duration limit, and a request
 * over its time limit stops its work and gets a 503.
 *
 * Search throughput (issue 14): text vectors are cached (LRU, keyed by model + token ids, so a
 * cached vector is bit-identical to a fresh one), concurrent new texts go to the workers together
 * (one message, still one text per model pass), the store searches an in-memory view (no LanceDB
 * query per request), and a search's hits are cached per store generation (any commit, here or by
 * another process, starts a new one).
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { GTZAN_GENRES } from '../data/datasets/gtzan.js';
import { sniffFormat } from '../audio/formats.js';
import { askTrack } from '../search/ask.js';
import { TextCache, type Catalogue } from '../search/catalogue.js';
import type { SearchHit } from '../search/store.js';
import { parseLabels, zeroShotLabels } from '../search/zeroShot.js';
import { Lru } from '../util/lru.js';
import { formatBytes, HttpError, intParam, publicMessage, saveBody, sendHtml, sendJson, statusOf, textParam } from './http.js';
import { InProcessModel, type FileEmbedding, type ServeModel } from './model.js';
import { pageHtml } from './page.js';
import { WorkerModel } from './workerPool.js';
import { chatRoute } from './chat.js';

export interface ServeLimits {
  /** Largest accepted upload. */
  maxUploadBytes: number;
  /** Time one request may take, queueing included, before a 503. */
  requestTimeoutMs: number;
  maxK: number;
  /** Model requests allowed to wait; more get a 503 "busy". */
  maxQueue: number;
  /** Labels (tags) or answer choices (ask) per request. */
  maxLabels: number;
  /** Seconds of decoded audio an upload may hold (checked while decoding: 413 past it). */
  maxDurationS: number;
  /** Characters of a request's path and query string (414 past it). */
  maxUrlChars: number;
}

export const DEFAULT_LIMITS: Readonly<ServeLimits> = { maxUploadBytes: 20 << 20, requestTimeoutMs: 60_000, maxK: 100, maxQueue: 16, maxLabels: 64, maxDurationS: 20 * 60, maxUrlChars: 8192 };

/** Characters of a comma-separated list parameter (labels, choices). */
const MAX_LIST_CHARS = 4000;
/** Text vectors kept in the server's cache (queries and label prompts repeat). */
export const TEXT_CACHE_ENTRIES = 4096;
/** Search results kept (query key, k, filters → hits), for the current store generation. */
export const RESULT_CACHE_ENTRIES = 1024;

export interface ServeOptions {
  catalogue: Catalogue;
  limits?: Partial<ServeLimits>;
  /** Labels for uploads when the request names none (default: the genres the model was trained with). */
  labels?: readonly string[];
  /** One line per request (e.g. to stderr); silent when absent. */
  log?: (line: string) => void;
  /**
   * Host names (Host header, without port) answered besides 127.0.0.1, localhost and [::1] (and
   * the bound host, under startServer); "*" allows any. Anything else gets a 421, which keeps a
   * browser page on another site from reaching a loopback server through DNS rebinding.
   */
  allowHosts?: readonly string[];
  /** The model work; default: worker threads over the catalogue's model directory (see model.ts). */
  model?: ServeModel;
  /** Worker threads when `model` is not given (default: cores, at most 4; 0 = in-process). */
  workers?: number;
}

export interface RunningServer {
  server: Server;
  url: string;
  port: number;
  close(): Promise<void>;
}

const AUDIO_TYPES: Record<string, string> = {
  '.wav': 'audio/wav', '.mp3': 'audio/mpeg', '.flac': 'audio/flac', '.ogg': 'audio/ogg', '.oga': 'audio/ogg',
  '.au': 'audio/basic', '.aif': 'audio/aiff', '.aiff': 'audio/aiff', '.m4a': 'audio/mp4',
};

/** A hit as the API shows it: no filesystem path, an /audio URL instead. */
function publicHit(h: SearchHit): Record<string, unknown> {
  return { id: h.id, score: h.score, genre: h.genre ?? null, tags: h.tags, durationS: h.durationS, albumId: h.albumId ?? null, audio: `/audio/${encodeURIComponent(h.id)}` };
}

/** "Host: a.b:8080" → "a.b"; "[::1]:80" → "[::1]"; lower case. */
export function hostName(header: string): string {
  const h = header.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1 || h.length);
  const colon = h.lastIndexOf(':');
  return colon >= 0 ? h.slice(0, colon) : h;
}

/** The Host names a server bound to `host` answers by default. */
export function defaultHostNames(host: string | undefined): string[] {
  const names = ['127.0.0.1', 'localhost', '[::1]'];
  if (!host) return names;
  const h = host.toLowerCase();
  names.push(h.includes(':') ? `[${h}]` : h);
  if (h === '0.0.0.0' || h === '::') {
    // Every interface: its own addresses are names of this server too (names need --allow-host).
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) names.push(a.family === 'IPv6' ? `[${a.address.toLowerCase()}]` : a.address);
  }
  return names;
}

/** A comma-separated list parameter, capped in characters and entries. */
function listParam(params: URLSearchParams, name: string, max: number, what: string): string[] | undefined {
  const raw = params.get(name);
  if (raw === null || raw.trim() === '') return undefined;
  if (raw.length > MAX_LIST_CHARS) throw new HttpError(400, `query parameter "${name}" is longer than ${MAX_LIST_CHARS} characters`);
  const list = parseLabels(raw);
  if (list.length > max) throw new HttpError(400, `at most ${max} ${what} per request (got ${list.length})`);
  return list;
}

export function createMusicServer(opts: ServeOptions): Server {
  const limits: ServeLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const cat = opts.catalogue;
  const model: ServeModel = opts.model ?? new InProcessModel(cat.space);
  const text = new TextCache({ embedText: (t) => model.embedText(typeof t === 'string' ? [t] : t) }, TEXT_CACHE_ENTRIES, (t) => cat.space.textKey(t));
  const results = new Lru<string, Record<string, unknown>[]>(RESULT_CACHE_ENTRIES);
  /** An optional exact-match filter parameter. */
  const filterParam = (p: URLSearchParams, name: string): string | undefined => {
    const v = p.get(name);
    if (v === null || v === '') return undefined;
    if (v.length > 200) throw new HttpError(400, `query parameter "${name}" is longer than 200 characters`);
    return v;
  };
  // The model's own genres (labels.json); the generator's ten only for models saved before it.
  const saved = cat.space.vocabulary?.genres ?? [];
  const defaultLabels = opts.labels && opts.labels.length > 0 ? [...opts.labels] : saved.length > 1 ? [...saved] : [...GTZAN_GENRES];
  const page = pageHtml({ maxUploadBytes: limits.maxUploadBytes });
  const allowed = new Set([...defaultHostNames(undefined), ...(opts.allowHosts ?? []).map((h) => hostName(h.includes(':') && !h.startsWith('[') ? `[${h}]` : h))]);
  const anyHost = opts.allowHosts?.includes('*') ?? false;

  const labelsOf = (params: URLSearchParams): string[] => listParam(params, 'labels', limits.maxLabels, 'labels') ?? defaultLabels;

  /**
   * An uploaded clip → its vector: the body is streamed to a temp file (bounded, non-empty, and
   * recognisably audio from its first bytes), then decoded block by block by the model worker
   * under the duration limit. The temp file is removed whatever happens.
   */
  const embedUpload = async (req: IncomingMessage, signal: AbortSignal): Promise<FileEmbedding> => {
    const dir = await mkdtemp(join(tmpdir(), 'musicbert-upload-'));
    try {
      const path = join(dir, 'upload');
      await saveBody(req, limits.maxUploadBytes, path, (head) => {
        try {
          sniffFormat(head, 'upload');
        } catch (err) {
          throw new HttpError(415, `${publicMessage(err)} — upload a WAV, MP3, FLAC or Ogg Vorbis file`);
        }
      });
      return await model.embedFile(path, { maxSeconds: limits.maxDurationS, signal });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };

  // Chat turns rank in the conversation's in-memory view; an uploaded clip is embedded by the model worker.
  const chat = chatRoute({ catalogue: cat, upload: async (req, signal) => (await embedUpload(req, signal)).vector });

  const api = async (req: IncomingMessage, res: ServerResponse, url: URL, signal: AbortSignal): Promise<void> => {
    const p = url.searchParams;
    const route = `${req.method} ${url.pathname}`;
    switch (route) {
      case 'GET /api/info':
        // From the in-memory view: a LanceDB count per request costs milliseconds under load.
        return sendJson(res, 200, { tracks: await cat.store.searchableRows(), dim: cat.store.dim, approximateIndex: await cat.store.usesApproximateIndex(), maxUploadBytes: limits.maxUploadBytes, maxDurationS: limits.maxDurationS, labels: defaultLabels });
      case 'GET /api/search': {
        const q = textParam(p, 'q');
        const k = intParam(p, 'k', 10, 1, limits.maxK);
        const filter = { genre: filterParam(p, 'genre'), tag: filterParam(p, 'tag'), group: filterParam(p, 'group') };
        const generation = await cat.store.sync();
        const key = JSON.stringify([generation, cat.space.textKey(q), k, filter.genre, filter.tag, filter.group]);
        let hits = results.get(key);
        if (!hits) {
          const [v] = await text.embedText(q);
          hits = (await cat.store.search(v as Float32Array, k, filter)).map(publicHit);
          // Only if the rows did not change while this request waited on the model.
          if (cat.store.generation === generation) results.set(key, hits);
        }
        return sendJson(res, 200, { query: q, k, hits, unknownWords: cat.space.unknownWords(q) });
      }
      case 'GET /api/similar': {
        const id = textParam(p, 'id', 4000);
        const k = intParam(p, 'k', 10, 1, limits.maxK);
        if (!(await cat.store.get(id))) throw new HttpError(404, `no track with id ${JSON.stringify(id)} in the catalogue`);
        const r = await cat.similar(id, k);
        return sendJson(res, 200, { id, k, hits: r.hits.map(publicHit) });
      }
      case 'POST /api/tags': {
        const labels = labelsOf(p);
        const e = await embedUpload(req, signal);
        const scores = await zeroShotLabels(text, e.vector, labels);
        return sendJson(res, 200, { labels: scores, unknownWords: cat.space.unknownWords(labels) });
      }
      case 'POST /api/ask': {
        const q = textParam(p, 'q');
        const choices = listParam(p, 'choices', limits.maxLabels, 'choices');
        const e = await embedUpload(req, signal);
        const answer = await askTrack(text, e.vector, q, choices ? { choices } : {});
        return sendJson(res, 200, { ...answer, unknownWords: cat.space.unknownWords(Object.values(answer.prompts)) });
      }
      case 'POST /api/upload': {
        const labels = labelsOf(p);
        const k = intParam(p, 'k', 10, 1, limits.maxK);
        const e = await embedUpload(req, signal);
        const [scores, neighbours] = await Promise.all([zeroShotLabels(text, e.vector, labels), cat.store.search(e.vector, k)]);
        return sendJson(res, 200, { durationS: e.durationS, labels: scores, neighbours: neighbours.map(publicHit), unknownWords: cat.space.unknownWords(labels) });
      }
      case 'POST /api/chat':
        return chat(req, res, url, signal);
    }
    const known = ['/api/info', '/api/search', '/api/similar', '/api/tags', '/api/ask', '/api/upload', '/api/chat'];
    if (known.includes(url.pathname)) throw new HttpError(405, `${req.method} is not allowed on ${url.pathname}`);
    throw new HttpError(404, `no such endpoint: ${url.pathname}`);
  };

  /** Stream a stored track's file; the id is looked up in the store, never used as a path. */
  const audio = async (req: IncomingMessage, res: ServerResponse, rawId: string): Promise<void> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, `${req.method} is not allowed on /audio`);
    let id: string;
    try {
      id = decodeURIComponent(rawId);
    } catch {
      throw new HttpError(400, 'malformed track id in the URL');
    }
    const meta = id ? await cat.store.get(id) : undefined;
    if (!meta) throw new HttpError(404, `no track with id ${JSON.stringify(id)} in the catalogue`);
    let size: number;
    try {
      const s = await stat(meta.path);
      if (!s.isFile()) throw new Error('not a file');
      size = s.size;
    } catch {
      throw new HttpError(404, `the audio file of track ${JSON.stringify(id)} is no longer on disk`);
    }
    const type = AUDIO_TYPES[extname(meta.path).toLowerCase()] ?? 'application/octet-stream';
    let start = 0;
    let end = size - 1;
    let status = 200;
    const range = req.headers.range;
    if (range) {
      const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
      if (!m || (m[1] === '' && m[2] === '')) throw new HttpError(416, `unsupported Range header ${JSON.stringify(range.slice(0, 40))}`);
      if (m[1] === '') start = Math.max(0, size - Number(m[2]));
      else {
        start = Number(m[1]);
        if (m[2] !== '') end = Math.min(end, Number(m[2]));
      }
      if (start > end || start >= size) {
        res.writeHead(416, { 'content-range': `bytes */${size}` });
        res.end();
        return;
      }
      status = 206;
    }
    const headers: Record<string, string | number> = {
      'content-type': type,
      'content-length': end - start + 1,
      'accept-ranges': 'bytes',
      'x-content-type-options': 'nosniff',
      'cache-control': 'private, max-age=3600',
    };
    if (status === 206) headers['content-range'] = `bytes ${start}-${end}/${size}`;
    res.writeHead(status, headers);
    if (req.method === 'HEAD' || size === 0) {
      res.end();
      return;
    }
    await new Promise<void>((resolve) => {
      const stream = createReadStream(meta.path, { start, end });
      stream.on('error', () => {
        res.destroy();
        resolve();
      });
      res.on('close', () => {
        stream.destroy();
        resolve();
      });
      stream.pipe(res);
    });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<void> => {
    const host = req.headers.host;
    if (!anyHost && (host === undefined || !allowed.has(hostName(host)))) {
      const shown = JSON.stringify((host ?? '').slice(0, 100));
      throw new HttpError(421, host === undefined ? 'the request has no Host header' : `host ${shown} is not served here (allowed: ${[...allowed].slice(0, 6).join(', ')}; start the server with --allow-host NAME to add one)`);
    }
    if ((req.url ?? '').length > limits.maxUrlChars) throw new HttpError(414, `the request URL is longer than ${limits.maxUrlChars} characters`);
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/' || url.pathname === '/index.html') {
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, `${req.method} is not allowed on /`);
      return sendHtml(res, page);
    }
    if (url.pathname.startsWith('/api/')) return api(req, res, url, signal);
    if (url.pathname.startsWith('/audio/')) return audio(req, res, url.pathname.slice('/audio/'.length));
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204);
      res.end();
      return;
    }
    throw new HttpError(404, `not found: ${url.pathname}`);
  };

  const server = createServer((req, res) => {
    const started = Date.now();
    // The time limit aborts the request's model work (its worker is stopped) and answers 503;
    // only until the reply starts: a long audio stream to a slow client is not cut off.
    const abort = new AbortController();
    const timeout = new Promise<never>((_, reject) => {
      abort.signal.addEventListener('abort', () => reject(abort.signal.reason), { once: true });
    });
    const timer = setTimeout(() => {
      if (!res.headersSent) abort.abort(new HttpError(503, `the request took longer than the ${+(limits.requestTimeoutMs / 1000).toFixed(1)} s limit and was stopped`));
    }, limits.requestTimeoutMs);
    // A client that goes away stops its work too.
    res.once('close', () => {
      if (!res.writableFinished) abort.abort(new HttpError(499, 'the client closed the connection'));
    });
    Promise.race([handle(req, res, abort.signal), timeout])
      .catch((err: unknown) => {
        const status = statusOf(err);
        if (status >= 500 && !(err instanceof HttpError)) opts.log?.(`error: ${(err as Error)?.stack ?? String(err)}`);
        if (res.headersSent) res.destroy();
        else sendJson(res, status, { error: publicMessage(err), status });
        // A refused upload is not read to the end; close so the client does not keep sending.
        if (status === 413 || status === 415) res.once('finish', () => req.destroy());
      })
      .finally(() => {
        clearTimeout(timer);
        opts.log?.(`${req.method} ${(req.url ?? '').slice(0, 200)} ${res.statusCode} ${Date.now() - started}ms`);
      });
  });
  // Slow-loris protection for the upload itself; the handler has its own limit.
  server.requestTimeout = limits.requestTimeoutMs + 5000;
  server.headersTimeout = Math.min(30_000, server.requestTimeout);
  return server;
}

/** Listen on `port` (0 = any free port) and resolve once accepting connections. */
export async function startServer(opts: ServeOptions & { port?: number; host?: string }): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1';
  const modelDir = opts.catalogue.space.modelDir;
  // Worker threads need a model they can load from disk; a model built in memory stays in-process.
  const model = opts.model ?? (modelDir && opts.workers !== 0 ? await WorkerModel.start({ modelDir, maxQueue: (opts.limits?.maxQueue ?? DEFAULT_LIMITS.maxQueue), ...(opts.workers !== undefined ? { workers: opts.workers } : {}) }) : undefined);
  const server = createMusicServer({ ...opts, ...(model ? { model } : {}), allowHosts: [...defaultHostNames(host), ...(opts.allowHosts ?? [])] });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    if (model && model !== opts.model) await model.close();
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    server,
    port,
    url: `http://${shown === '0.0.0.0' ? '127.0.0.1' : shown}:${port}`,
    close: async () => {
      await new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
      if (model && model !== opts.model) await model.close();
    },
  };
}

export { formatBytes };
