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
 *   GET  /audio/:id             the catalogue file of a stored id (Range supported)
 *
 * Every input is checked (sizes, content, parameters) and every failure is a JSON
 * `{ error }` with a 4xx/5xx status; a bad request never takes the server down. Model work runs
 * one request at a time (it is CPU-bound, so running requests side by side would only slow each),
 * with a bounded queue and a per-request time limit.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname } from 'node:path';
import { GTZAN_GENRES } from '../data/datasets/gtzan.js';
import { sniffFormat } from '../audio/formats.js';
import type { Catalogue } from '../search/catalogue.js';
import type { SearchHit } from '../search/store.js';
import { parseLabels } from '../search/zeroShot.js';
import { formatBytes, HttpError, intParam, publicMessage, readBody, sendHtml, sendJson, statusOf, textParam } from './http.js';
import { pageHtml } from './page.js';

export interface ServeLimits {
  /** Largest accepted upload. */
  maxUploadBytes: number;
  /** Time one request may take, queueing included, before a 503. */
  requestTimeoutMs: number;
  maxK: number;
  /** Model requests allowed to wait; more get a 503 "busy". */
  maxQueue: number;
  maxLabels: number;
}

export const DEFAULT_LIMITS: Readonly<ServeLimits> = { maxUploadBytes: 20 << 20, requestTimeoutMs: 60_000, maxK: 100, maxQueue: 16, maxLabels: 64 };

export interface ServeOptions {
  catalogue: Catalogue;
  limits?: Partial<ServeLimits>;
  /** Labels for uploads when the request names none (default: the genres the model was trained with). */
  labels?: readonly string[];
  /** One line per request (e.g. to stderr); silent when absent. */
  log?: (line: string) => void;
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

/** Runs model work one task at a time, refusing new work past `maxQueue` waiting tasks. */
class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;
  constructor(private readonly maxQueue: number) {}

  run<T>(task: () => Promise<T>): Promise<T> {
    if (this.waiting >= this.maxQueue) return Promise.reject(new HttpError(503, 'the server is busy; try again shortly'));
    this.waiting++;
    const next = this.tail.then(
      () => {
        this.waiting--;
        return task();
      },
      () => {
        this.waiting--;
        return task();
      },
    );
    this.tail = next.catch(() => undefined);
    return next;
  }
}

/** A hit as the API shows it: no filesystem path, an /audio URL instead. */
function publicHit(h: SearchHit): Record<string, unknown> {
  return { id: h.id, score: h.score, genre: h.genre ?? null, tags: h.tags, durationS: h.durationS, albumId: h.albumId ?? null, audio: `/audio/${encodeURIComponent(h.id)}` };
}

export function createMusicServer(opts: ServeOptions): Server {
  const limits: ServeLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const cat = opts.catalogue;
  const queue = new SerialQueue(limits.maxQueue);
  // The model's own genres (labels.json); the generator's ten only for models saved before it.
  const saved = cat.space.vocabulary?.genres ?? [];
  const defaultLabels = opts.labels && opts.labels.length > 0 ? [...opts.labels] : saved.length > 1 ? [...saved] : [...GTZAN_GENRES];
  const page = pageHtml({ maxUploadBytes: limits.maxUploadBytes });

  const labelsOf = (params: URLSearchParams): string[] => {
    const raw = params.get('labels');
    if (raw === null || raw.trim() === '') return defaultLabels;
    if (raw.length > 4000) throw new HttpError(400, 'query parameter "labels" is too long');
    const labels = parseLabels(raw);
    if (labels.length > limits.maxLabels) throw new HttpError(400, `at most ${limits.maxLabels} labels per request (got ${labels.length})`);
    return labels;
  };

  /** An uploaded clip: bounded, non-empty, and recognisably audio before any decoding. */
  const upload = async (req: IncomingMessage): Promise<Uint8Array> => {
    const body = await readBody(req, limits.maxUploadBytes);
    if (body.length === 0) throw new HttpError(400, 'the request body is empty: send the audio file as the body');
    try {
      sniffFormat(body.subarray(0, 4096), 'upload');
    } catch (err) {
      throw new HttpError(415, `${publicMessage(err)} — upload a WAV, MP3, FLAC or Ogg Vorbis file`);
    }
    return new Uint8Array(body.buffer, body.byteOffset, body.length);
  };

  const api = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const p = url.searchParams;
    const route = `${req.method} ${url.pathname}`;
    switch (route) {
      case 'GET /api/info':
        return sendJson(res, 200, { tracks: await cat.store.count(), dim: cat.store.dim, approximateIndex: cat.store.ann !== undefined, maxUploadBytes: limits.maxUploadBytes, labels: defaultLabels });
      case 'GET /api/search': {
        const q = textParam(p, 'q');
        const k = intParam(p, 'k', 10, 1, limits.maxK);
        const hits = await queue.run(() => cat.searchText(q, k));
        return sendJson(res, 200, { query: q, k, hits: hits.map(publicHit), unknownWords: cat.space.unknownWords(q) });
      }
      case 'GET /api/similar': {
        const id = textParam(p, 'id', 4000);
        const k = intParam(p, 'k', 10, 1, limits.maxK);
        if (!(await cat.store.get(id))) throw new HttpError(404, `no track with id ${JSON.stringify(id)} in the catalogue`);
        const r = await queue.run(() => cat.similar(id, k));
        return sendJson(res, 200, { id, k, hits: r.hits.map(publicHit) });
      }
      case 'POST /api/tags': {
        const labels = labelsOf(p);
        const audio = await upload(req);
        const scores = await queue.run(() => cat.labels(audio, labels));
        return sendJson(res, 200, { labels: scores, unknownWords: cat.space.unknownWords(labels) });
      }
      case 'POST /api/ask': {
        const q = textParam(p, 'q');
        const choices = p.get('choices');
        const audio = await upload(req);
        const answer = await queue.run(() => cat.ask(audio, q, choices ? { choices: parseLabels(choices) } : {}));
        return sendJson(res, 200, { ...answer, unknownWords: cat.space.unknownWords(Object.values(answer.prompts)) });
      }
      case 'POST /api/upload': {
        const labels = labelsOf(p);
        const k = intParam(p, 'k', 10, 1, limits.maxK);
        const audio = await upload(req);
        const r = await queue.run(() => cat.analyse(audio, labels, k));
        return sendJson(res, 200, { durationS: r.durationS, labels: r.labels, neighbours: r.neighbours.map(publicHit), unknownWords: cat.space.unknownWords(labels) });
      }
    }
    const known = ['/api/info', '/api/search', '/api/similar', '/api/tags', '/api/ask', '/api/upload'];
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

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/' || url.pathname === '/index.html') {
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, `${req.method} is not allowed on /`);
      return sendHtml(res, page);
    }
    if (url.pathname.startsWith('/api/')) return api(req, res, url);
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
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      // Only until the reply starts: a long audio stream to a slow client is not cut off.
      timer = setTimeout(() => {
        if (!res.headersSent) reject(new HttpError(503, `the request took longer than ${(limits.requestTimeoutMs / 1000).toFixed(0)} s`));
      }, limits.requestTimeoutMs);
    });
    Promise.race([handle(req, res), timeout])
      .catch((err: unknown) => {
        const status = statusOf(err);
        if (status >= 500 && !(err instanceof HttpError)) opts.log?.(`error: ${(err as Error)?.stack ?? String(err)}`);
        if (res.headersSent) res.destroy();
        else sendJson(res, status, { error: publicMessage(err), status });
        // A refused upload is not read to the end; close so the client does not keep sending.
        if (status === 413) res.once('finish', () => req.destroy());
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
  const server = createMusicServer(opts);
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    server,
    port,
    url: `http://${shown === '0.0.0.0' ? '127.0.0.1' : shown}:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

export { formatBytes };
