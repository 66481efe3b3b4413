/**
 * Small node:http helpers: JSON replies, bounded request bodies, query parameters with clear 400s,
 * and the mapping from toolkit errors to HTTP statuses. No framework: the API is a handful of
 * routes and every byte of input passes through these checks.
 */
import { open } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { asDiskFull, AudioTooLongError, MusicBertError, UsageError } from '../util/errors.js';

/** Bad client input that maps to a specific status (404, 405, 413, 415, 400). */
export class HttpError extends UsageError {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
} as const;

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.writableEnded) return;
  const data = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', 'content-length': data.length });
  res.end(data);
}

export function sendHtml(res: ServerResponse, html: string): void {
  const data = Buffer.from(html, 'utf8');
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'content-type': 'text/html; charset=utf-8',
    'content-length': data.length,
    // The page is self-contained: inline style and script, audio from this origin only.
    'content-security-policy': "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; media-src 'self' blob:; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'",
  });
  res.end(data);
}

/** The HTTP status for an error thrown while handling a request. */
export function statusOf(err: unknown): number {
  if (err instanceof HttpError) return err.status;
  if (err instanceof AudioTooLongError) return 413;
  if (err instanceof MusicBertError) {
    switch (err.code) {
      case 'USAGE': return 400;
      case 'AUDIO_DECODE': return 415;
      case 'AUDIO_INVALID': return 422;
      case 'DISK_FULL': return 507;
      default: return 500;
    }
  }
  return 500;
}

/** What the client is told: our own messages (they name the input), never an internal stack. */
export function publicMessage(err: unknown): string {
  if (err instanceof MusicBertError) return err.message;
  return 'internal error (see the server log)';
}

/**
 * The request body, at most `limit` bytes. A declared Content-Length over the limit is refused
 * before reading; a body that grows past it is cut off (413) without buffering the rest.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new HttpError(413, `upload of ${declared} bytes exceeds the ${formatBytes(limit)} limit`));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        reject(new HttpError(413, `upload exceeds the ${formatBytes(limit)} limit`));
        req.resume(); // drain and discard the rest so the reply can still be sent
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      resolve(Buffer.concat(chunks, size));
    });
    req.on('error', (err) => {
      if (done) return;
      done = true;
      reject(new HttpError(400, `could not read the request body (${err.message})`));
    });
  });
}

/** Bytes of an upload looked at to tell its format before the rest is accepted. */
const SNIFF_BYTES = 4096;

/**
 * Stream the request body into the file `path` (created), at most `limit` bytes, never holding
 * more than one chunk in memory. `check` sees the first bytes (up to 4 KB) before anything past
 * them is kept, so a non-audio upload is refused early; an empty body is a 400. Resolves with
 * the byte count; on a refusal the rest of the body is drained and discarded.
 */
export function saveBody(req: IncomingMessage, limit: number, path: string, check: (head: Uint8Array) => void): Promise<number> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.reject(new HttpError(413, `upload of ${declared} bytes exceeds the ${formatBytes(limit)} limit`));
  }
  return open(path, 'w').then(
    (fh) =>
      new Promise<number>((resolve, reject) => {
        let size = 0;
        let done = false;
        let head: Buffer[] | undefined = [];
        let writing: Promise<unknown> = Promise.resolve();
        const finish = (err: unknown): void => {
          if (done) return;
          done = true;
          if (err !== undefined) req.resume(); // drain and discard the rest so the reply can still be sent
          void writing
            .catch(() => undefined)
            .then(() => fh.close())
            .then(
              () => (err !== undefined ? reject(err) : resolve(size)),
              (closeErr: unknown) => reject(err ?? closeErr),
            );
        };
        const sniff = (): boolean => {
          const bytes = Buffer.concat(head as Buffer[]);
          head = undefined;
          try {
            check(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length));
            return true;
          } catch (err) {
            finish(err);
            return false;
          }
        };
        req.on('data', (chunk: Buffer) => {
          if (done) return;
          size += chunk.length;
          if (size > limit) return finish(new HttpError(413, `upload exceeds the ${formatBytes(limit)} limit`));
          if (head) {
            head.push(chunk);
            if (size >= SNIFF_BYTES && !sniff()) return;
          }
          req.pause();
          writing = writing.then(() => fh.write(chunk)).then(
            () => {
              if (!done) req.resume();
            },
            (err: unknown) => finish(asDiskFull(err, 'the upload temp file') ?? err),
          );
        });
        req.on('end', () => {
          if (done) return;
          if (size === 0) return finish(new HttpError(400, 'the request body is empty: send the audio file as the body'));
          if (head && !sniff()) return;
          void writing.then(() => finish(undefined));
        });
        req.on('error', (err) => finish(new HttpError(400, `could not read the request body (${err.message})`)));
      }),
  );
}

export function formatBytes(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(n % (1 << 20) ? 1 : 0)} MB` : n >= 1024 ? `${Math.round(n / 1024)} kB` : `${n} bytes`;
}

/** A required, non-empty text parameter (trimmed), at most `max` characters. */
export function textParam(params: URLSearchParams, name: string, max = 1000): string {
  const v = params.get(name);
  if (v === null || v.trim().length === 0) throw new HttpError(400, `query parameter "${name}" is required and must not be empty`);
  if (v.length > max) throw new HttpError(400, `query parameter "${name}" is longer than ${max} characters`);
  return v.trim();
}

/** An integer parameter within [min, max], or the fallback when absent. */
export function intParam(params: URLSearchParams, name: string, fallback: number, min: number, max: number): number {
  const v = params.get(name);
  if (v === null || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new HttpError(400, `query parameter "${name}" must be an integer from ${min} to ${max} (got ${JSON.stringify(v.slice(0, 20))})`);
  return n;
}
