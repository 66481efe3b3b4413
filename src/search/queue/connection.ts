/**
 * Where the indexing queue lives: a Redis URL `redis://[user:pass@]HOST:PORT[/DB[/QUEUE]]`
 * (`rediss://` for TLS). The queue name defaults to `musicbert-index`; use one queue per catalogue
 * being indexed at a time.
 *
 * Every connection retries forever after the first successful connect (`maxRetriesPerRequest:
 * null`, as BullMQ requires), so a Redis restart pauses the writer and the workers instead of
 * failing them; the first connect is bounded, so a wrong address is a clear error, not a hang.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { IoError, UsageError } from '../../util/errors.js';

export const DEFAULT_QUEUE = 'musicbert-index';

export interface QueueAddress {
  /** ioredis options (host, port, db, credentials, tls). */
  redis: RedisOptions;
  /** BullMQ queue name. */
  name: string;
  /** The URL without credentials, for messages. */
  display: string;
}

export function parseQueueUrl(url: string): QueueAddress {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`--queue ${url}: not a URL (expected redis://HOST:PORT[/DB[/QUEUE]])`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new UsageError(`--queue ${url}: the scheme must be redis:// or rediss://`);
  if (!u.hostname) throw new UsageError(`--queue ${url}: no host`);
  const parts = u.pathname.split('/').filter((p) => p.length > 0);
  if (parts.length > 2) throw new UsageError(`--queue ${url}: the path is /DB[/QUEUE], got ${u.pathname}`);
  const db = parts[0] === undefined ? 0 : Number(parts[0]);
  if (!Number.isInteger(db) || db < 0) throw new UsageError(`--queue ${url}: the database must be a non-negative integer, got "${parts[0]}"`);
  const name = parts[1] === undefined ? DEFAULT_QUEUE : decodeURIComponent(parts[1]);
  if (!/^[\w.-]+$/.test(name)) throw new UsageError(`--queue ${url}: queue names are letters, digits, "_", "." and "-" (got "${name}")`);
  const port = u.port ? Number(u.port) : 6379;
  const redis: RedisOptions = { host: u.hostname.replace(/^\[|\]$/g, ''), port, db, maxRetriesPerRequest: null, connectTimeout: 5000 };
  if (u.username) redis.username = decodeURIComponent(u.username);
  if (u.password) redis.password = decodeURIComponent(u.password);
  if (u.protocol === 'rediss:') redis.tls = {};
  return { redis, name, display: `${u.protocol}//${u.host}/${db}/${name}` };
}

/**
 * Check that Redis answers within `timeoutMs` (IoError otherwise). BullMQ then opens its own
 * connections from `addr.redis` (it bundles its own ioredis, so instances are not shared).
 */
export async function checkRedis(addr: QueueAddress, timeoutMs = 5000): Promise<void> {
  const conn = new Redis({ ...addr.redis, lazyConnect: true });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      conn.connect().then(() => conn.ping()),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (err) {
    conn.disconnect();
    throw new IoError(`cannot reach Redis (${(err as Error).message}); is redis-server running there?`, addr.display, { cause: err });
  } finally {
    clearTimeout(timer);
  }
  conn.disconnect();
}
