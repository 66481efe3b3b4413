/**
 * `POST /api/chat`: conversations over the served catalogue, one per session id.
 *
 *   POST /api/chat            JSON {"text": "...", "session"?: id, "k"?: n} → the turn, with the session id
 *   POST /api/chat?session=ID an audio body (no JSON content type): start that session from the clip
 *
 * Sessions live in memory, expire after `ttlMs` idle, are bounded in number (a full table refuses
 * new sessions with a 503 rather than evicting someone's live conversation) and in turns. Bad input
 * is a 4xx and changes nothing: a Conversation turn that fails leaves its session as it was, and
 * sessions share only the read-only catalogue view.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Catalogue } from '../search/catalogue.js';
import { loadCatalogueView, type CatalogueView } from '../search/catalogueView.js';
import { Conversation, type ResultTrack, type TurnResult } from '../search/conversation.js';
import { HttpError, readBody, sendJson } from './http.js';

export interface ChatLimits {
  maxSessions: number;
  /** Idle time after which a session is forgotten. */
  ttlMs: number;
  maxTurnsPerSession: number;
  /** Longest turn text, in characters. */
  maxText: number;
  maxK: number;
}

export const DEFAULT_CHAT_LIMITS: Readonly<ChatLimits> = { maxSessions: 200, ttlMs: 30 * 60_000, maxTurnsPerSession: 500, maxText: 500, maxK: 100 };

export interface ChatRouteOptions {
  catalogue: Catalogue;
  /** Reads, checks and embeds an uploaded clip (the server's own upload rules and model worker): its joint-space vector. */
  upload(req: IncomingMessage, signal: AbortSignal): Promise<Float32Array>;
  limits?: Partial<ChatLimits>;
  now?: () => number;
}

interface Session {
  chat: Conversation;
  lastUsed: number;
}

/** A result as the API shows it: an /audio URL, no filesystem path (there is none in a ResultTrack). */
function publicResult(r: ResultTrack): ResultTrack & { audio: string } {
  return { ...r, audio: `/audio/${encodeURIComponent(r.id)}` };
}

export function publicTurn(t: TurnResult): Omit<TurnResult, 'results'> & { results: (ResultTrack & { audio: string })[] } {
  return { ...t, results: t.results.map(publicResult) };
}

/** The chat sessions of one server, and the handler of POST /api/chat. */
export function chatRoute(opts: ChatRouteOptions): (req: IncomingMessage, res: ServerResponse, url: URL, signal: AbortSignal) => Promise<void> {
  const limits: ChatLimits = { ...DEFAULT_CHAT_LIMITS, ...opts.limits };
  const now = opts.now ?? Date.now;
  const sessions = new Map<string, Session>();
  let view: Promise<CatalogueView> | undefined;

  const sweep = (): void => {
    const t = now();
    for (const [id, s] of sessions) if (t - s.lastUsed > limits.ttlMs) sessions.delete(id);
  };

  /** The session `id`, or a new one (registered only once its first turn succeeds, so a failed turn leaves nothing behind). */
  const open = async (id: string | undefined, k: number): Promise<{ id: string; session: Session; fresh: boolean }> => {
    sweep();
    if (id !== undefined) {
      const s = sessions.get(id);
      if (!s) throw new HttpError(404, `no chat session ${JSON.stringify(id.slice(0, 64))} (it may have expired after ${Math.round(limits.ttlMs / 60_000)} idle minutes); start a new one by leaving "session" out`);
      return { id, session: s, fresh: false };
    }
    if (sessions.size >= limits.maxSessions) throw new HttpError(503, `too many open chat sessions (${limits.maxSessions}); try again later`);
    view ??= loadCatalogueView(opts.catalogue.store);
    const v = await view.catch((err: unknown) => {
      view = undefined; // a failed load is retried by the next session
      throw err;
    });
    const session: Session = { chat: await Conversation.open(opts.catalogue, { view: v, k, maxInput: limits.maxText }), lastUsed: now() };
    return { id: randomUUID(), session, fresh: true };
  };

  const reply = (res: ServerResponse, o: { id: string; session: Session; fresh: boolean }, turn: TurnResult): void => {
    const { id, session: s } = o;
    s.lastUsed = now();
    if (o.fresh) sessions.set(id, s);
    sendJson(res, 200, { session: id, expiresInS: Math.round(limits.ttlMs / 1000), ...publicTurn(turn) });
  };

  const checkTurns = (s: Session): void => {
    if (s.chat.turnCount >= limits.maxTurnsPerSession) throw new HttpError(429, `this chat session has reached ${limits.maxTurnsPerSession} turns; start a new one`);
  };

  return async (req, res, url, signal) => {
    const type = String(req.headers['content-type'] ?? '').toLowerCase();
    const sessionParam = url.searchParams.get('session') ?? undefined;
    if (!type.startsWith('application/json')) {
      // An uploaded clip starts (or restarts) a session from its sound.
      const name = (url.searchParams.get('name') ?? 'clip').slice(0, 80).replace(/[^\p{L}\p{N}._ -]/gu, '_') || 'clip';
      const k = kOf(url.searchParams.get('k'), limits.maxK);
      const vector = await opts.upload(req, signal);
      const o = await open(sessionParam, k);
      checkTurns(o.session);
      return reply(res, o, await o.session.chat.startFromVector(vector, name));
    }
    const raw = await readBody(req, 16 * 1024);
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new HttpError(400, 'the request body is not valid JSON: send {"text": "...", "session": "..."}');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'the request body must be a JSON object {"text": "...", "session": "..."}');
    const b = body as Record<string, unknown>;
    if (typeof b.text !== 'string' || b.text.trim() === '') throw new HttpError(400, '"text" is required and must be a non-empty string');
    if (b.text.length > limits.maxText) throw new HttpError(400, `"text" is longer than ${limits.maxText} characters`);
    if (b.session !== undefined && typeof b.session !== 'string') throw new HttpError(400, '"session" must be a string (the id a previous reply gave)');
    const k = kOf(b.k === undefined ? null : String(b.k), limits.maxK);
    const text = b.text;
    const sid = (b.session as string | undefined) ?? sessionParam;
    const o = await open(sid, k);
    checkTurns(o.session);
    reply(res, o, await o.session.chat.turn(text));
  };
}

function kOf(v: string | null, maxK: number): number {
  if (v === null || v === '') return 10;
  const k = Number(v);
  if (!Number.isInteger(k) || k < 1 || k > maxK) throw new HttpError(400, `"k" must be an integer from 1 to ${maxK} (got ${JSON.stringify(v.slice(0, 20))})`);
  return k;
}
